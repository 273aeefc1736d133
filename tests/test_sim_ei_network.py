"""The E/I network generator: validation, Dale's law, rates, determinism, batching, stability,
and the shared input as a confound."""

import pytest
import torch

from circuitlib.data.spikes import SpikeTrain
from circuitlib.sim import ei_network as ei


def test_bad_arguments_are_refused_by_name():
    for kwargs, match in [(dict(n=1), "n must be"), (dict(rates=(0.0, 10.0)), "rates"),
                          (dict(rates=(20.0, 10.0)), "rates"), (dict(p_connect=1.5), "p_connect"),
                          (dict(w_inh=-2.0), "magnitudes"), (dict(frac_exc=1.2), "frac_exc"),
                          (dict(duration=0.0), "duration"), (dict(tau_syn=0.0), "tau_syn"),
                          (dict(common_strength=-1.0), "common_strength"), (dict(seed=[]), "seed")]:
        with pytest.raises(ValueError, match=match):
            ei.simulate(**{"duration": 0.1, **kwargs})


def test_given_weights_must_obey_dale_and_have_no_autapses():
    w = torch.zeros(4, 4)
    w[1, 0], w[2, 0] = 1.0, -1.0                          # sender 0 both excites and inhibits
    with pytest.raises(ValueError, match="Dale"):
        ei.simulate(0.1, n=4, weights=w)
    with pytest.raises(ValueError, match="diagonal"):
        ei.simulate(0.1, n=4, weights=torch.eye(4))
    with pytest.raises(ValueError, match="n=5"):
        ei.simulate(0.1, n=5, weights=torch.zeros(4, 4))


def test_dales_law_holds_and_the_truth_matches_the_spikes():
    train, truth = ei.simulate(2.0, seed=3, device="cpu")
    w, exc = truth.weights, truth.excitatory
    assert isinstance(train, SpikeTrain) and train.n_neurons == 100 and train.dt == 1e-3
    assert train.n_steps == 2000 and train.device.type == "cpu"
    assert int(exc.sum()) == 80 and w.shape == (100, 100) and w.dtype == torch.float64
    assert (w[:, exc] >= 0).all() and (w[:, ~exc] <= 0).all() and (w.diagonal() == 0).all()
    assert (w[:, exc] > 0).any() and (w[:, ~exc] < 0).any()
    density = truth.edges.sum().item() / (100 * 99)
    assert 0.08 < density < 0.12                          # p_connect = 0.1 over 9900 pairs
    assert truth.common_input is None and not truth.common_neurons.any()


def test_rates_sit_at_their_targets():
    # measured over seeds 0-9 and 300 s: mean rate / target 0.98-1.03
    train, truth = ei.simulate(30.0, seed=0)
    rates = train.rates()
    assert 10.0 <= rates.mean() <= 30.0
    assert 0.95 < (rates / truth.target_rates).mean() < 1.05
    assert ((truth.target_rates >= 10.0) & (truth.target_rates <= 30.0)).all()
    low, truth_low = ei.simulate(30.0, seed=0, rates=(1.0, 5.0))
    assert 0.9 < (low.rates() / truth_low.target_rates).mean() < 1.1


def test_same_seed_same_spikes_and_a_batch_equals_one_by_one():
    first, truth = ei.simulate(3.0, seed=5, common_strength=0.5)
    again, _ = ei.simulate(3.0, seed=5, common_strength=0.5)
    assert torch.equal(first.times, again.times) and torch.equal(first.neurons, again.neurons)
    batch = ei.simulate(3.0, seed=[2, 5], common_strength=0.5)
    assert isinstance(batch, list) and len(batch) == 2
    (train2, truth2), (train5, truth5) = batch
    for a, b in [(train5, first), (truth5.weights, truth.weights), (truth5.common_input, truth.common_input)]:
        if isinstance(a, SpikeTrain):
            assert torch.equal(a.times, b.times) and torch.equal(a.counts, b.counts)
        else:
            assert torch.equal(a, b)
    alone, _ = ei.simulate(3.0, seed=2, common_strength=0.5)
    assert torch.equal(train2.times, alone.times) and torch.equal(train2.neurons, alone.neurons)
    assert not torch.equal(truth2.weights, truth5.weights)          # each seed draws its own network


def test_unstable_and_runaway_networks_are_refused():
    with pytest.raises(ValueError, match="spectral radius"):
        ei.simulate(1.0, w_exc=3.0)
    # linearly stable (radius < 1) but the exponential link runs away (measured: seeds 0-2 within 60 s)
    with pytest.raises(ValueError, match="ran away"):
        ei.simulate(60.0, w_exc=1.0, w_inh=2.0)


def test_the_shared_input_correlates_unconnected_neurons_that_receive_it():
    # 50 ms counts, 30 s, seeds 0-4 (measured): mean correlation of unconnected pairs that both
    # receive the input 0.15-0.19 with strength 0.5, 0.000-0.002 without it
    def mean_corr(train, pairs):
        c = torch.corrcoef(train.bin(0.05).to_dense(torch.float64).T)
        return c[pairs].mean().item()

    shared, truth = ei.simulate(30.0, seed=0, common_strength=0.5)
    alone, truth0 = ei.simulate(30.0, seed=0)
    assert torch.equal(truth.weights, truth0.weights)
    w, m = truth.weights, truth.common_neurons
    assert int(m.sum()) == 50 and truth.common_input.shape == (shared.n_steps,)
    unconnected = (w == 0) & (w.T == 0) & ~torch.eye(100, dtype=torch.bool)
    pairs = unconnected & m[:, None] & m[None, :]
    assert mean_corr(shared, pairs) > 0.1 > 0.02 > mean_corr(alone, pairs)


def test_a_long_low_rate_recording_keeps_its_rates():
    # its speed (0.44 s on one core for these 10 minutes) is measured by benchmarks/ei_network.py
    train, _ = ei.simulate(600.0, rates=(1.0, 5.0))
    assert 1.0 < train.rates().mean() < 5.0


def test_the_generators_own_rates_predict_held_out_spikes_best():
    from circuitlib.metrics import bits_per_spike
    spikes, truth = ei.simulate(duration=120, n=10, rates=(5, 10), w_exc=1.0, w_inh=4.0, p_connect=0.3,
                                        common_strength=0.5, seed=0, device="cpu")
    start = spikes.n_steps // 2
    test = spikes.slice(start, spikes.n_steps)
    x = test.to_dense(torch.float64)
    lam = ei.expected_counts(test, truth, start=start)
    assert lam.shape == x.shape and float(lam.sum() / x.sum()) == pytest.approx(1.0, abs=0.05)
    true_bps = bits_per_spike(x, lam).mean
    assert true_bps > 0.05                                    # couplings and the shared input are predictable
    no_coupling = ei.EITruth(**{**truth.__dict__, "weights": torch.zeros_like(truth.weights)})
    assert bits_per_spike(x, ei.expected_counts(test, no_coupling, start=start)).mean < true_bps
    wrong_place = bits_per_spike(x, ei.expected_counts(test, truth, start=0)).mean
    assert wrong_place < true_bps                             # z of another stretch predicts worse
    with pytest.raises(ValueError, match="outside"):
        ei.expected_counts(test, truth, start=spikes.n_steps)
