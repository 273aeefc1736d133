"""SpikeTrain container: dense/sparse round trips, binning, splitting, validation."""
import math

import numpy as np
import pytest
import torch

from circuitlib.data import SpikeTrain, stats


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


def test_from_spike_times_sorts_merges_duplicates_and_refuses_spikes_outside_the_recording():
    times = np.array([0.0105, 0.0002, 0.0101, 0.0101, 0.5], dtype=np.float32)    # unsorted, one duplicate
    units = np.array([1, 0, 1, 1, 2], dtype=np.int16)
    train = SpikeTrain.from_spike_times(times, units, dt=1e-3, duration=1.0)
    assert train.n_steps == 1000 and train.n_neurons == 3 and train.n_spikes == 5
    dense = train.to_dense()
    assert dense[10, 1] == 3 and dense[0, 0] == 1 and dense[500, 2] == 1        # same bin: counted, not dropped
    assert train.bin(0.01).to_dense()[1, 1] == 3 == train.to_dense().sum(0)[1]
    with pytest.raises(ValueError, match="after the end"):
        SpikeTrain.from_spike_times(times, units, dt=1e-3, duration=0.4)
    with pytest.raises(ValueError, match="before t_start"):
        SpikeTrain.from_spike_times(times, units, dt=1e-3, t_start=0.001)
    with pytest.raises(ValueError, match="return_inverse"):
        SpikeTrain.from_spike_times([0.1], [-1])
    with pytest.raises(ValueError, match="NaN"):
        SpikeTrain.from_spike_times([float("nan")], [0])


def test_the_constructor_refuses_unsorted_or_repeated_events_and_float_indices():
    t, i, c = torch.tensor([3, 1]), torch.tensor([0, 0]), torch.tensor([1, 1])
    with pytest.raises(ValueError, match="from_spike_times"):
        SpikeTrain(t, i, c, 2, 10, 1e-3)
    with pytest.raises(ValueError, match="from_spike_times"):
        SpikeTrain(torch.tensor([1, 1]), i, c, 2, 10, 1e-3)
    with pytest.raises(ValueError, match="integer tensor"):
        SpikeTrain(torch.tensor([0.5]), torch.tensor([0]), torch.tensor([1]), 2, 10, 1e-3)
    train = SpikeTrain(torch.tensor([1, 3], dtype=torch.int16), i, c.long(), 2, 10, 1e-3)
    assert train.times.dtype == torch.int64 and train.counts.dtype == torch.int32
    assert train.bin(2e-3).n_spikes == 2                                            # int64 counts: no dtype error


def test_binning_then_splitting_keeps_every_piece_whole():
    train = SpikeTrain.from_spike_times(torch.rand(200, generator=torch.Generator().manual_seed(0)),
                                        torch.arange(200) % 4, dt=1e-4, duration=1.0)
    pieces = train.split((0.8, 0.1, 0.1), bin_width=0.01)
    assert [p.n_steps for p in pieces] == [80, 10, 10] and sum(p.n_spikes for p in pieces) == 200
