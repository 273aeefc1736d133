"""RateActivity: validation at construction, contiguous slices that keep their times, trials."""
import pytest
import torch

from circuitlib.data import RateActivity


def activity(t=10, n=3, **kw):
    x = torch.arange(t * n, dtype=torch.float64).reshape(t, n)
    return RateActivity(x, 0.5, dxdt=2 * x, **kw)


def test_split_is_contiguous_and_frames_keep_their_times():
    train, held = activity().split(0.8)
    assert (train.n_frames, held.n_frames) == (8, 2)
    assert torch.equal(held.x, activity().x[8:]) and torch.equal(held.dxdt, 2 * held.x)
    assert torch.allclose(held.times, torch.tensor([4.0, 4.5], dtype=torch.float64))
    assert held.slice(1).start == pytest.approx(4.5)


def test_trials_slice_along_time():
    x = torch.randn(4, 10, 3)
    rec = RateActivity(x, 0.1, inputs=torch.zeros(4, 10, 3))
    part = rec.slice(2, 5)
    assert rec.n_trials == 4 and part.x.shape == (4, 3, 3) and torch.equal(part.x, x[:, 2:5])
    assert part.inputs.shape == (4, 3, 3) and part.dxdt is None


def test_inputs_may_be_channels_every_neuron_sees():
    rec = RateActivity(torch.zeros(10, 3), 0.1, inputs=torch.arange(10.0)[:, None])
    assert rec.slice(2, 5).inputs.flatten().tolist() == [2.0, 3.0, 4.0]


@pytest.mark.parametrize("make, match", [
    (lambda: RateActivity(torch.tensor([[0.0, float("nan")]]), 0.1), "NaN"),
    (lambda: RateActivity(torch.zeros(5), 0.1), "shape"),
    (lambda: RateActivity(torch.zeros(5, 2), 0.1, dxdt=torch.zeros(4, 2)), "shape of x"),
    (lambda: RateActivity(torch.zeros(5, 2), 0.1, inputs=torch.zeros(4, 1)), "trials and frames of x"),
    (lambda: RateActivity(torch.zeros(5, 2), 0.0), "dt"),
    (lambda: RateActivity(torch.zeros(5, 2), "fast"), "dt"),
    (lambda: activity().split(1.0), "fraction"),
    (lambda: activity(t=1).split(0.5), "too few"),
    (lambda: activity().slice(4, 2), "first < stop"),
])
def test_bad_input_is_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()
