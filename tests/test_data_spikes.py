"""SpikeTrain container: dense/sparse round trips, binning, splitting, validation."""
import math

import pytest
import torch

from circuitlib.data import SpikeTrain
from circuitlib.data import stats


def _random_counts(t=60, n=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.full((t, n), 0.3), generator=gen)


def test_dense_round_trip():
    x = _random_counts()
    st = SpikeTrain.from_dense(x, dt=1e-3)
    assert torch.equal(st.to_dense(), x)
    assert st.n_spikes == int(x.sum()) and st.duration == pytest.approx(0.06)
    assert torch.allclose(st.rates(), x.sum(0).double() / 0.06)


def test_binning_sums_counts_and_averages_angles():
    x = _random_counts()
    theta = torch.linspace(3.0, 3.3, 60, dtype=torch.float64)  # crosses +pi
    theta = torch.remainder(theta + math.pi, 2 * math.pi) - math.pi
    st = SpikeTrain.from_dense(x, dt=1e-3, theta=theta).bin(0.01)
    assert st.dt == pytest.approx(0.01) and st.n_steps == 6
    assert torch.equal(st.to_dense(), x.view(6, 10, 5).sum(1))
    first = torch.remainder(st.theta[0], 2 * math.pi)
    assert first.item() == pytest.approx(theta[:10].add(2 * math.pi).remainder(2 * math.pi).mean().item(), abs=1e-6)


def test_binning_refuses_to_drop_a_partial_bin():
    st = SpikeTrain.from_dense(_random_counts(t=55), dt=1e-3)
    with pytest.raises(ValueError, match="slice the train"):
        st.bin(0.01)


def test_split_is_contiguous_and_complete():
    x = _random_counts(t=100)
    parts = SpikeTrain.from_dense(x, dt=1e-3).split()
    assert [p.n_steps for p in parts] == [80, 10, 10]
    assert torch.equal(torch.cat([p.to_dense() for p in parts]), x)


def test_select_keeps_the_chosen_neurons_in_the_given_order():
    x = _random_counts(t=50, n=6)
    theta = torch.linspace(-1.0, 1.0, 50, dtype=torch.float64)
    st = SpikeTrain.from_dense(x, dt=1e-3, theta=theta).select([4, 1, 2])
    assert torch.equal(st.to_dense(), x[:, [4, 1, 2]]) and torch.equal(st.theta, theta)
    with pytest.raises(ValueError, match="distinct"):
        SpikeTrain.from_dense(x, dt=1e-3).select([1, 1])
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        SpikeTrain.from_dense(x, dt=1e-3).select([6])


def test_invalid_events_raise():
    with pytest.raises(ValueError, match="times"):
        SpikeTrain(torch.tensor([5]), torch.tensor([0]), torch.tensor([1], dtype=torch.int32), 2, 5, 1e-3)
    with pytest.raises(ValueError, match="integer counts"):
        SpikeTrain.from_dense(torch.full((3, 2), 0.5), dt=1e-3)
    with pytest.raises(ValueError, match="dt"):
        SpikeTrain.from_dense(torch.ones(3, 2), dt=0.0)


def test_bump_statistics_on_a_synthetic_pattern():
    n, k = 100, 4
    pos = torch.arange(n, dtype=torch.float64)
    frames = torch.stack([1 + torch.cos(2 * math.pi * k * (pos - 3.0 * t) / n) for t in range(5)])
    assert stats.bump_count(frames) == k
    phase = stats.unwrap(stats.bump_phase(frames, k), n / k)
    assert torch.allclose(torch.diff(phase), torch.full((4,), 3.0, dtype=torch.float64), atol=1e-9)


def test_correlation_rejects_silent_neurons():
    x = _random_counts()
    x[:, 2] = 0
    with pytest.raises(ValueError, match="constant activity"):
        stats.correlation_matrix(x)
