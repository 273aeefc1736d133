"""CCG connectivity: planted excitatory and inhibitory synapses, a calibrated null, bad input."""
import pytest
import torch

from circuitlib.infer.ccg import CCG
from circuitlib.sim import ei_network as ei

N = 10


@pytest.fixture(scope="module")
def planted():
    """60 s of 10 neurons at 10-30 Hz, all driven by a shared slow input (strength 0.5): one strong
    excitatory synapse 0 -> 1 and one strong inhibitory 2 -> 3, nothing else."""
    w = torch.zeros(N, N)
    w[1, 0], w[3, 2] = 1.0, -2.0
    train, truth = ei.simulate(60.0, n=N, weights=w, seed=0, common_strength=0.5, common_fraction=1.0)
    return train, truth


def test_finds_the_planted_synapses_with_their_signs(planted):
    # measured (seeds 0-3, with and without the shared input): z(0 -> 1) 5.6-10.7, z(2 -> 3)
    # -4.8 to -8.9; other unconnected pairs |z| <= 2.95 with sd 0.90-1.02. The reverse pairs carry the
    # jitter null's echo of the synapse (module docstring): z(1 -> 0) -0.7 to -4.5, z(3 -> 2) +0.3
    # to +3.2, at most 0.46 of the forward |z|.
    train, truth = planted
    w = CCG(device="cpu").fit(train).weights
    assert w.dtype == torch.float64 and w.shape == (N, N) and (w.diagonal() == 0).all()
    assert w[1, 0] > 4.0 and w[3, 2] < -4.0
    order = w.abs().flatten().argsort(descending=True)[:2].tolist()
    assert set(order) == {1 * N + 0, 3 * N + 2}            # the two synapses rank first
    assert w[0, 1].abs() < 0.6 * w[1, 0].abs() and w[2, 3].abs() < 0.6 * w[3, 2].abs()
    unconnected = (truth.weights == 0) & (truth.weights.T == 0) & ~torch.eye(N, dtype=torch.bool)
    assert w[unconnected].abs().max() < 3.5 and 0.7 < w[unconnected].std() < 1.4


def test_the_jitter_null_is_exact_for_a_single_spike():
    # one spike of j in a 4-bin window and i's spikes at lags 1 and 2 from bin 0: moving j's spike
    # uniformly over bins 0..3 gives counts 2, 1, 0, 0 (lag window 1-2 bins) -> mean 0.75
    x = torch.zeros(8, 2)
    x[0, 0] = 1                                            # sender j = 0
    x[1, 1] = x[2, 1] = 1                                  # receiver i = 1
    m = CCG(lags=(0.001, 0.002), jitter=0.004, bin_width=0.001, statistic="ratio", device="cpu").fit(x)
    counts = torch.tensor([2.0, 1.0, 0.0, 0.0])
    assert m.observed[1, 0] == 2.0
    assert m.expected[1, 0] == pytest.approx(counts.mean().item())
    assert m.null_sd[1, 0] == pytest.approx(counts.std(unbiased=False).item())
    assert m.weights[1, 0] == pytest.approx(2.0 / 0.75 - 1)


def test_a_spike_train_and_its_dense_counts_agree(planted):
    train, _ = planted
    a = CCG(device="cpu").fit(train).weights
    b = CCG(device="cpu").fit(train.to_dense()).weights
    assert torch.allclose(a, b, atol=1e-9)
    coarse = CCG(lags=(0.002, 0.004), jitter=0.02, bin_width=0.002, device="cpu").fit(train).weights
    assert coarse[1, 0] > 4.0 and coarse[3, 2] < -4.0      # the train is re-binned at 2 ms


@pytest.mark.parametrize("kwargs, match", [
    (dict(lags=(0.0, 0.005)), "lags"), (dict(lags=(0.005, 0.001)), "lags"), (dict(lags=0.003), "lags"),
    (dict(lags=(0.0015, 0.005)), "whole number"), (dict(jitter=0.004), "jitter"),
    (dict(jitter=0.0205), "whole number"), (dict(bin_width=0.0), "bin_width"), (dict(statistic="pvalue"), "statistic"),
])
def test_bad_hyperparameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CCG(**kwargs)


def test_bad_input_is_refused(planted):
    x = planted[0].to_dense(torch.float64)
    x[5, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        CCG(device="cpu").fit(x)
    with pytest.raises(ValueError, match="shape"):
        CCG(device="cpu").fit(x.flatten())
    with pytest.raises(ValueError, match="jitter window"):
        CCG(device="cpu").fit(torch.ones(10, 3))
