"""Path integration on the torus: the speed response, its gain and a tracked path (16 x 16 sheets, 1 s)."""
import pytest
import torch

from circuitlib.experiments import path_integration
from circuitlib.sim import torus


@pytest.fixture(scope="module")
def response():
    return path_integration.speed_response("lnp", (16, 16), [0.0, 0.5, 1.0], seconds=1.0, seeds=[0, 1])


def test_speed_grows_with_the_command_along_each_axis(response):
    v = response["velocity"].mean(2)                      # [axis, command, (rows, cols)]
    assert response["velocity"].shape == (2, 3, 2, 2)
    for axis in range(2):
        assert v[axis, 0, axis] < v[axis, 1, axis] < v[axis, 2, axis]
        assert v[axis, 2, 1 - axis].abs() < 0.2 * v[axis, 2, axis]
    assert 10 < path_integration.response_gain(response) < 40      # measured about 22 neurons/s per unit


def test_response_gain_is_the_slope_through_the_origin():
    velocity = torch.zeros(2, 3, 1, 2, dtype=torch.float64)
    velocity[0, :, 0, 0] = torch.tensor([0.0, 10.0, 20.0])
    velocity[1, :, 0, 1] = torch.tensor([0.0, 10.0, 20.0])
    velocity[1, :, 0, 0] = 5.0                                    # across the axis: ignored
    found = {"command": torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), "velocity": velocity}
    assert path_integration.response_gain(found) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="non-zero"):
        path_integration.response_gain(found | {"command": torch.zeros(3, dtype=torch.float64)})


def test_tracked_path_follows_the_integrated_command(response):
    command = torus.smooth_velocity(2.0, speed=0.5, timescale=0.5, seed=1)
    path = path_integration.track_path("lnp", (16, 16), command, path_integration.response_gain(response))
    assert path["pattern"].shape == path["command"].shape == (200, 2)
    assert path["length"][-1] > 10
    assert path["error"][-1] < 0.35 * path["length"][-1]
    still = path_integration.track_path("lnp", (16, 16), torch.zeros_like(command), 20.0)
    assert still["error"][-1] > 0 and still["length"][-1] == 0
