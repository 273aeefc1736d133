"""The ring GNN: paths agree, hidden neurons interpolate, w is a valid coupling, fitting runs."""
import math

import pytest
import torch

from circuitlib import metrics
from circuitlib.data.spikes import SpikeTrain
from circuitlib.infer.base import NotFittedError
from circuitlib.infer.ring_gnn import RingGNNNet, interpolate_ring_matrix, ring_interpolation
from circuitlib.infer.ring_gnn_training import RingGNN
from circuitlib.sim import ring


def test_interpolation_is_one_hot_for_observed_and_linear_between_neighbours():
    observed = torch.tensor([7, 2, 5])                 # unsorted on purpose; ring of 10
    p = ring_interpolation(10, observed)
    assert torch.allclose(p.sum(1), torch.ones(10))
    assert p[7, 0] == 1 and p[2, 1] == 1 and p[5, 2] == 1
    assert torch.allclose(p[3], torch.tensor([0.0, 2 / 3, 1 / 3]))    # between 2 and 5
    assert torch.allclose(p[0], torch.tensor([0.4, 0.6, 0.0]))        # wraps: 3 from 7, 2 from 2
    with pytest.raises(ValueError, match="distinct"):
        ring_interpolation(10, torch.tensor([3, 3]))


@pytest.mark.parametrize("message", ["pair", "sender", "positive"])
@pytest.mark.parametrize("update, own_history", [("carried", True), ("step", True), ("carried", False),
                                                 ("additive", True), ("additive", False)])
def test_dense_and_edge_paths_agree(message, update, own_history):
    torch.manual_seed(0)
    net = RingGNNNet(12, torch.tensor([0, 2, 3, 5, 8, 9, 11]), width=4, stride=2, structure_length=40,
                     input_dim=3, message=message, update=update, own_history=own_history).eval()
    x = torch.poisson(torch.full((2, 7, 3 + 6), 0.5))
    theta = torch.rand(2, 6) * 2 * math.pi
    w = net.connectivity(torch.poisson(torch.full((7, 40), 0.5)))
    outs = []
    for path in ("dense", "edges"):
        net.path = path
        outs.append(net(x, w, theta)[0])
    assert outs[0].shape == (2, 6, 12)
    assert torch.allclose(outs[0], outs[1], atol=1e-5)


def test_matrix_interpolation_is_exact_for_a_matrix_linear_between_observed_positions():
    n = 20
    observed = torch.arange(0, n, 2)[torch.randperm(10)]
    tri = (torch.arange(n) - n / 2).abs()              # kinks at 0 and 10, both observed; wraps at 19
    full = tri[:, None] + 2 * tri[None, :] + 0.5 * tri[:, None] * tri[None, :]
    est = interpolate_ring_matrix(full[observed][:, observed], observed, n)
    assert torch.allclose(est, full, atol=1e-5)
    with pytest.raises(ValueError, match="N_obs"):
        interpolate_ring_matrix(full[:5, :5], observed, n)


def test_hidden_positions_get_no_loss():
    observed = torch.tensor([0, 2, 3, 7])
    net = RingGNNNet(10, observed, width=3, stride=1, structure_length=10)
    log_rate = torch.randn(2, 5, 10, requires_grad=True)
    net.observed_nll(log_rate, torch.poisson(torch.ones(2, 5, 4))).backward()
    hidden = torch.ones(10, dtype=torch.bool)
    hidden[observed] = False
    assert torch.all(log_rate.grad[..., hidden] == 0) and torch.all(log_rate.grad[..., observed] != 0)


def test_positive_messages_make_the_rate_monotone_in_each_coupling():
    torch.manual_seed(0)
    net = RingGNNNet(6, torch.arange(6), width=4, stride=2, structure_length=40, message="positive",
                     update="additive").eval()
    x = torch.poisson(torch.full((1, 6, 3 + 5), 0.3))
    more = x.clone()
    more[:, 2] += 1                                    # neuron 2 fires one more spike in every bin
    w = torch.zeros(6, 6)
    w[0, 2] = w[2, 0] = -1.0                           # 2 inhibits 0 (and 0 inhibits 2), nothing else
    base, extra = net(x, w)[0], net(more, w)[0]
    assert torch.all(extra[..., 0] < base[..., 0])     # inhibition can only lower the receiver's rate
    assert torch.allclose(extra[..., [1, 3, 4, 5]], base[..., [1, 3, 4, 5]])
    assert torch.all(net(more, -w)[0][..., 0] > net(x, -w)[0][..., 0])


def test_connectivity_is_symmetric_without_self_coupling():
    net = RingGNNNet(6, torch.arange(6), width=3, stride=1, structure_length=20, readout="mean")
    w = net.connectivity(torch.poisson(torch.full((6, 20), 1.0)))
    assert w.shape == (6, 6) and torch.allclose(w, w.T) and torch.all(w.diagonal() == 0)


def test_windowed_prediction_carries_the_state_exactly():
    train = ring.simulate("lnp", duration=0.4, seed=0)
    model = RingGNN(epochs=1, window=7, streams=1, predict_window=7, progress=False).fit(train)
    rates_short = model.predict(train)
    model.predict_window = 1000
    assert torch.allclose(model.predict(train), rates_short, atol=1e-5)


def spikes(duration=6.0, seed=0, model="threshold"):
    return ring.simulate(model, duration=duration, seed=seed)


def test_fit_learns_beyond_the_mean_rate_and_keeps_its_best_state(tmp_path):
    train, val, _ = spikes().split()
    model = RingGNN(epochs=6, lr=3e-3, message="sender", readout="mean", patience=6, progress=False,
                    structure_bins=1000, checkpoint=str(tmp_path / "best.pt")).fit(train, val)
    assert model.weights.shape == (100, 100)
    x = train.bin(1e-3).to_dense()
    mean_rate = x.mean(0).clamp_min(1e-9)
    constant_nll = float((mean_rate - x * mean_rate.log()).mean())   # each neuron at its own mean rate
    assert model.training_log[-1]["train_nll"] < 0.97 * constant_nll     # measured: 0.93
    assert (tmp_path / "best.pt").exists()
    best = max(h["validation_bps"] for h in model.training_log)
    assert model.score(val).mean == pytest.approx(best, abs=1e-6)
    untrained = RingGNN(epochs=1, lr=1e-12, message="sender", readout="mean", progress=False,
                        structure_bins=1000).fit(train)
    assert model.score(val).mean > untrained.score(val).mean + 0.1       # the validation likelihood improved


def test_external_angle_is_required_and_used():
    theta = ring.sinusoidal_drive(2.0)
    data = ring.simulate("lnp", duration=2.0, theta=theta, seed=0)
    model = RingGNN(epochs=1, use_theta=True, progress=False, readout="mean").fit(data)
    assert model.net.rotation.item() != 0                 # the rotation b of Eq. 17 receives gradients
    assert math.isfinite(model.score(data).mean)
    bare = SpikeTrain(data.times, data.neurons, data.counts, data.n_neurons, data.n_steps, data.dt)
    with pytest.raises(ValueError, match="theta"):
        RingGNN(epochs=1, use_theta=True, progress=False).fit(bare)


def test_hidden_neurons_get_rates_and_weights_but_are_not_scored():
    data = spikes(duration=2.0)
    keep = torch.arange(0, 100, 2)
    dense = data.to_dense()[:, keep]
    model = RingGNN(n_positions=100, observed=keep, epochs=1, bin_width=1e-3, progress=False,
                    readout="mean").fit(SpikeTrain.from_dense(dense, data.dt))
    assert model.weights.shape == (100, 100)
    assert model.predict(SpikeTrain.from_dense(dense, data.dt)).shape[1] == 50


def test_bad_input_is_refused():
    model = RingGNN(epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"\[T, N\]"):
        model.fit(torch.zeros(100))
    with pytest.raises(ValueError, match="2 neurons"):
        model.fit(torch.ones(500, 1))
    with pytest.raises(ValueError, match="window"):
        model.fit(torch.poisson(torch.full((60, 5), 0.3)))
    with pytest.raises(ValueError, match="observed"):
        RingGNN(observed=[0, 1], progress=False).fit(torch.poisson(torch.full((500, 5), 0.3)))
    with pytest.raises(ValueError, match="message"):
        RingGNN(message="receiver", progress=False)            # refused at construction, before any data
    for bad in (dict(embed_dim=0), dict(embed_dim=-1)):                 # z needs the spike-train embedding
        with pytest.raises(ValueError, match="embed_dim"):
            RingGNN(**bad)
    with pytest.raises(ValueError, match="embed_dim"):
        RingGNNNet(6, torch.arange(6), width=3, stride=1, structure_length=20, embed_dim=0)
    with pytest.raises(NotFittedError, match=r"call \.fit"):
        model.predict(torch.zeros(10, 5))


def test_nodes_placed_on_a_larger_ring_interpolate_and_encode_by_ring_position():
    # nodes at positions 0, 10, 30 of a ring of 40; node 1 (position 10) is hidden
    p = ring_interpolation(3, torch.tensor([0, 2]), positions=torch.tensor([0, 10, 30]), ring_size=40)
    assert torch.allclose(p[1], torch.tensor([2 / 3, 1 / 3]))      # 10 from position 0, 20 from 30
    assert torch.equal(ring_interpolation(6, torch.tensor([1, 4])),
                       ring_interpolation(6, torch.tensor([1, 4]), torch.arange(6), 6))
    net = RingGNNNet(3, torch.tensor([0, 2]), width=2, stride=1, structure_length=10, input_dim=2,
                     positions=torch.tensor([0, 10, 30]), ring_size=40)
    assert torch.allclose(net.preferred, 2 * math.pi * torch.tensor([0.0, 0.25, 0.75]))
    with pytest.raises(ValueError, match="increasing"):
        ring_interpolation(3, torch.tensor([0, 2]), positions=torch.tensor([0, 30, 10]), ring_size=40)


def stretch_list(lengths, seed=0, n=6):
    g = torch.Generator().manual_seed(seed)
    return [SpikeTrain.from_dense(torch.poisson(torch.full((t, n), 0.2), generator=g), 1e-3,
                                  torch.rand(t, generator=g) * 2 * math.pi) for t in lengths]


def test_stretches_are_predicted_without_history_across_gaps():
    parts = stretch_list([400, 30, 700])
    model = RingGNN(epochs=1, window=20, streams=3, piece_bins=140, use_theta=True, progress=False).fit(parts)
    assert model.unused_bins == 30                          # the stretch shorter than a piece
    joined = model.predict(parts)
    each = [model.predict(p) for p in parts]
    assert torch.equal(joined, torch.cat(each))
    assert joined.shape == (400 - 20 + 30 - 20 + 700 - 20, 6)
    other = stretch_list([400], seed=1)[0]                  # new activity before the gap changes nothing after it
    assert torch.equal(model.predict([other, parts[2]])[-680:], each[2])
    assert model.score(parts).mean == pytest.approx(
        float(metrics.bits_per_spike(torch.cat([p.to_dense()[20:] for p in parts]), joined).mean), abs=1e-6)
    with pytest.raises(ValueError, match="piece"):
        RingGNN(epochs=1, piece_bins=5000, progress=False).fit(parts)


def low_rate_spikes(duration=60.0, seed=0):
    """6 E/I neurons at 1-5 Hz, 1 ms bins; one strong directed synapse 0 -> 1 and nothing back."""
    from circuitlib.sim import ei_network
    w = torch.zeros(6, 6, dtype=torch.float64)
    w[1, 0] = 1.0
    return ei_network.simulate(duration=duration, n=6, rates=(1, 5), weights=w, seed=seed, device="cpu")[0]


def test_output_starts_at_each_neurons_mean_rate():
    # issue 18: the decoder started at ~1 spike per bin, which low-rate data could not train away
    train = low_rate_spikes()
    model = RingGNN(epochs=1, lr=1e-12, window=50, streams=2, progress=False, device="cpu").fit(train)
    mean = train.to_dense().mean(0)
    assert torch.allclose(model.net.log_rate_offset.detach(), mean.log(), atol=1e-5)
    predicted = model.predict(train).mean(0)
    assert ((predicted / mean).log().abs() < math.log(2)).all()          # within a factor 2 before training
    assert model.score(train).mean > -0.5


def test_structure_excerpt_is_bounded_and_stated(monkeypatch):
    import circuitlib.infer.ring_gnn_training as training
    train = low_rate_spikes(duration=10.0)
    monkeypatch.setattr(training, "AUTO_STRUCTURE_BINS", 3000)
    model = RingGNN(epochs=1, window=50, streams=2, channels=4, progress=False, device="cpu").fit(train)
    assert model.structure_excerpt == (0, 3000)
    assert model.net.f_out.in_features == 4 * ((3000 - model.width) // 2 + 1)      # stride 0.2 tau = 2 bins
    whole = RingGNN(epochs=1, window=50, streams=2, channels=4, structure_bins=None, progress=False,
                    device="cpu").fit(train)
    assert whole.structure_excerpt == (0, train.n_steps)
    with pytest.raises(ValueError, match="structure_bins"):
        RingGNN(structure_bins="all")


def test_structure_every_proposes_w_once_per_group_of_windows(monkeypatch):
    train = low_rate_spikes(duration=10.0)
    calls = []
    original = RingGNNNet.connectivity
    monkeypatch.setattr(RingGNNNet, "connectivity",
                        lambda self, x, copy_params=False: calls.append(copy_params) or original(self, x, copy_params))
    kw = dict(epochs=1, window=50, streams=2, channels=4, lr=1e-2, progress=False, device="cpu")
    before = RingGNN(**kw, structure_every=4).fit(train)
    n_steps = len(range(before.width, train.n_steps // 2, 50))
    assert calls.count(True) == -(-n_steps // 4)                      # one w per 4 windows, with copied params
    calls.clear()
    RingGNN(**kw).fit(train)
    assert True not in calls and len(calls) == n_steps + 1             # every window, plus the final w
    untrained = RingGNN(**{**kw, "lr": 1e-12}, structure_every=4).fit(train)   # same start (seed)
    moved = [(a - b).abs().max() for a, b in zip(before.net.pair_mlp.parameters(), untrained.net.pair_mlp.parameters())]
    assert min(moved) > 1e-3                                           # the structure module was stepped
    assert torch.isfinite(before.weights).all()
    with pytest.raises(ValueError, match="structure_every"):
        RingGNN(structure_every=0)
