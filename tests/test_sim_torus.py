"""Grid-cell torus: the kernel, the hexagonal pattern on 16 x 16 and 24 x 24 sheets, the simulate() contract."""
import math

import pytest
import torch

from circuitlib.data.spikes import SpikeTrain
from circuitlib.ring_geometry import torus_distance
from circuitlib.sim import torus


def test_kernel_is_inhibitory_rotation_invariant_and_on_the_ring_scale():
    w = torus.mexican_hat((16, 16))
    assert w.shape == (256, 256) and torch.equal(w, w.T) and (w < 0).all()
    assert torch.allclose(w.diagonal(), torch.full((256,), 1.5 * (1 - 1.0005), dtype=w.dtype))
    assert w.min().item() == pytest.approx(-4.68e-3, abs=1e-5)
    d = torus_distance((16, 16))
    same_distance = d == d[0, 3]                          # every pair 3 apart along either axis or wrapped
    assert torch.allclose(w[same_distance], w[0, 3].expand(int(same_distance.sum())))


def test_pattern_wavelength_of_the_kernel_is_pi_sigma():
    """The least inhibited Fourier mode of the default kernel on a 64 x 64 sheet sits at 2 / sigma."""
    w = torus.mexican_hat((64, 64))
    spectrum = torch.fft.fft2(w[0].view(64, 64)).real       # eigenvalues of the doubly circulant W
    spectrum[0, 0] = -math.inf
    k = torch.nonzero(spectrum == spectrum.max())[0]
    k = torch.minimum(k, 64 - k).double().norm() * 2 * math.pi / 64
    assert float(k) == pytest.approx(2 / 2.5, rel=0.1)


@pytest.fixture(scope="module")
def sheets():
    return {(size, model): torus.simulate(model, duration=2.0, shape=(size, size), seed=0)
            for size in (16, 24) for model in ("threshold", "lnp")}


@pytest.mark.parametrize("model", ["threshold", "lnp"])
@pytest.mark.parametrize("size, bumps", [(16, 4), (24, 8)])
def test_bump_count_and_rates(sheets, size, model, bumps):
    train = sheets[size, model]
    assert torus.bump_count(train, (size, size)) == bumps
    assert 5.0 <= train.rates().mean().item() <= 30.0
    assert 0.2 <= (train.rates() > 1.0).double().mean().item() <= 0.8     # bumps and silent gaps, not all on


@pytest.mark.parametrize("model", ["threshold", "lnp"])
def test_autocorrelation_of_a_24_sheet_has_six_peaks_about_60_degrees_apart(sheets, model):
    acorr = torus.autocorrelation(sheets[24, model], (24, 24))
    assert acorr[12, 12] == pytest.approx(1.0)
    assert torus.nearest_peak_count(acorr) == 6
    angles = torus.peak_angles(acorr)
    gaps = torch.diff(torch.cat([angles, angles[:1] + 360]))
    assert (gaps - 60).abs().max() < 10                  # near-hexagonal: the square torus bends it a little


def test_lattice_modes_of_a_planted_plane_wave_pattern():
    rows, cols = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    image = sum(torch.cos(2 * math.pi * (a * rows + b * cols) / 24) for a, b in [(3, 1), (-1, 2), (-2, -3)])
    image = (image > 1.5).double().reshape(-1)
    steps = torch.arange(10).repeat_interleave(int(image.sum()))
    neurons = torch.nonzero(image).reshape(-1).repeat(10)
    train = SpikeTrain(steps, neurons, torch.ones_like(steps, dtype=torch.int32), 576, 10, 0.05)
    modes = torus.lattice_modes(torus.power_spectrum(train, (24, 24), window=0.05))
    assert abs(int(modes[0, 0] * modes[1, 1] - modes[0, 1] * modes[1, 0])) == 7   # |det[(3,1),(-1,2)]|
    assert torus.bump_count(train, (24, 24), window=0.05) == 7


@pytest.mark.parametrize("model", ["threshold", "lnp"])
def test_same_seed_gives_same_spikes(model):
    a, b = (torus.simulate(model, duration=0.2, seed=3) for _ in range(2))
    c = torus.simulate(model, duration=0.2, seed=4)
    assert torch.equal(a.times, b.times) and torch.equal(a.neurons, b.neurons) and torch.equal(a.counts, b.counts)
    assert not torch.equal(a.neurons, c.neurons)


def test_dense_backend_matches_event_rates():
    events = torus.simulate("lnp", duration=1.0, seed=0, backend="events")
    dense = torus.simulate("lnp", duration=1.0, seed=0, backend="dense", device="cpu")
    assert dense.rates().mean().item() == pytest.approx(events.rates().mean().item(), rel=0.1)
    assert torus.bump_count(dense, (16, 16)) == torus.bump_count(events, (16, 16)) == 4


@pytest.mark.parametrize("kwargs, match", [
    ({"shape": 16}, "rows, columns"),
    ({"shape": (3, 16)}, "at least 4 x 4"),
    ({"shape": (16, 0)}, "positive integers"),
    ({"weights": torch.zeros(100, 100)}, "256 neurons"),
    ({"theta": torch.zeros(10)}, "no angle drive"),
    ({"model": "glm"}, "unknown model"),
])
def test_bad_input_raises_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        torus.simulate(**{"duration": 0.1, **kwargs})


def test_spectrum_refuses_a_train_of_another_size_and_a_window_longer_than_the_train():
    train = torus.simulate("lnp", duration=0.1, seed=0)
    with pytest.raises(ValueError, match="sheet has 576"):
        torus.power_spectrum(train, (24, 24))
    with pytest.raises(ValueError, match="window"):
        torus.power_spectrum(train, (16, 16), window=1.0)


def test_preferred_directions_put_all_four_in_every_2x2_block():
    e = torus.preferred_directions((4, 6)).view(4, 6, 2)
    assert torch.equal(e.norm(dim=-1), torch.ones(4, 6, dtype=e.dtype))
    block = e[2:4, 4:6].reshape(4, 2)
    assert torch.equal(block.sum(0), torch.zeros(2, dtype=e.dtype)) and len({tuple(v.tolist()) for v in block}) == 4
    assert torch.equal(e[0, 0], e[2, 4])                                  # the same layout in every block
    with pytest.raises(ValueError, match="even sides"):
        torus.preferred_directions((5, 6))


def test_shifted_kernel_centres_each_senders_outgoing_weights_along_its_direction():
    shape = (8, 10)
    assert torch.equal(torus.mexican_hat(shape, shift=0.0), torus.mexican_hat(shape))
    w, e = torus.mexican_hat(shape, shift=2.0), torus.preferred_directions(shape)
    for j in (0, 1, 11, 37):
        centre = (torch.tensor([j // 10, j % 10]) + 2 * e[j].long()) % torch.tensor(shape)
        assert int(w[:, j].argmax()) == int(centre[0] * 10 + centre[1])   # least inhibited receiver
    assert not torch.equal(w, w.T)
    with pytest.raises(ValueError, match="shift"):
        torus.mexican_hat(shape, shift=-1.0)


@pytest.mark.parametrize("model", ["threshold", "lnp"])
def test_a_constant_velocity_moves_the_lattice_along_it(model):
    """Measured (24 x 24, 1 s, seeds 0-5): 19-29 neurons along a unit command, at most 5 across it; at rest
    the noise alone moves the lattice 0.1-5.5 neurons."""
    shape, steps = (24, 24), 10_000
    found = {}
    for name, v in {"rest": [0.0, 0.0], "+col": [0.0, 1.0], "-row": [-1.0, 0.0]}.items():
        train = torus.simulate(model, 1.0, shape, seed=0, velocity=torch.tensor(v).expand(steps, 2))
        found[name] = torus.pattern_displacement(train, shape)[-1]          # neurons moved in 1 s
    assert found["rest"].norm() < 8
    assert found["+col"][1] > 15 and abs(found["+col"][0]) < 0.25 * found["+col"][1]
    assert found["-row"][0] < -15 and abs(found["-row"][1]) < 0.25 * -found["-row"][0]


def test_pattern_displacement_of_a_planted_moving_lattice():
    rows, cols = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    image = sum(torch.cos(2 * math.pi * (a * rows + b * cols) / 24) for a, b in [(3, 1), (-1, 2), (-2, -3)])
    frames = [torch.roll(image > 1.5, (-k, 2 * k), (0, 1)).reshape(-1) for k in range(10)]  # 1 up, 2 right a frame
    steps = torch.cat([torch.full((int(f.sum()),), k) for k, f in enumerate(frames)])
    neurons = torch.cat([torch.nonzero(f).reshape(-1) for f in frames])
    train = SpikeTrain(steps, neurons, torch.ones_like(steps, dtype=torch.int32), 576, 10, 0.01)
    path = torus.pattern_displacement(train, (24, 24), frame=0.01, smoothing=1e-4)
    assert torch.allclose(path, torch.arange(10.0, dtype=path.dtype)[:, None] * torch.tensor([-1.0, 2.0]), atol=1e-6)


def test_velocity_input_errors_say_what_to_do():
    with pytest.raises(ValueError, match="velocity must be"):
        torus.simulate("lnp", 0.1, (8, 8), velocity=torch.zeros(10, 2))
    with pytest.raises(ValueError, match="negative"):
        torus.simulate("lnp", 0.1, (8, 8), velocity=torch.full((1000, 2), -20.0))
    with pytest.raises(ValueError, match="even sides"):
        torus.simulate("lnp", 0.1, (9, 8), velocity=torch.zeros(1000, 2))
    with pytest.raises(ValueError, match="2 of them must fit"):
        torus.pattern_displacement(torus.simulate("lnp", 0.01, (8, 8)), (8, 8), frame=0.01)


def test_smooth_velocity_is_reproducible_and_has_the_asked_spread():
    kw = dict(dt=1e-3, speed=0.5, timescale=0.2, seed=1)
    v = torus.smooth_velocity(20.0, **kw)
    assert v.shape == (20_000, 2) and torch.equal(v, torus.smooth_velocity(20.0, **kw))
    assert torch.equal(v[0], torch.zeros(2, dtype=v.dtype))
    assert v[1000:].std(0).sub(0.5).abs().max() < 0.1
