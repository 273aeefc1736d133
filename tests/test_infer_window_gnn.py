"""The time-parallel ring GNN: windows, messages, the monotone link, the structure parts, fitting."""

import pytest
import torch

from circuitlib import metrics
from circuitlib.data.spikes import SpikeTrain
from circuitlib.infer._mlp import mlp
from circuitlib.infer.window_gnn import (
    Messages,
    Predictor,
    RampSum,
    Structure,
    WindowGNNNet,
    causal_filter,
    node_geometry,
    pair_mlp,
)
from circuitlib.infer.window_gnn_training import WindowGNN
from circuitlib.ring_geometry import aligned_rows, ring_distance, torus_distance
from circuitlib.sim import ring

SMALL = dict(steps=4, batch_bins=64, chunk_bins=32, channels=4, embed_dim=4, hidden=8, eval_every=2, progress=False,
             device="cpu")


def counts(t=400, n=8, rate=0.3, seed=0):
    return torch.poisson(torch.full((t, n), rate), generator=torch.Generator().manual_seed(seed))


def test_causal_filters_read_the_bins_before_each_predicted_bin():
    x = torch.arange(30.0).view(1, 1, 30)                  # one chunk, one neuron: bin t holds t
    lag1 = torch.tensor([[0.0, 0.0, 1.0]])                 # oldest bin first: picks the bin just before
    mean3 = torch.full((1, 3), 1 / 3)
    out = causal_filter(x, torch.cat([lag1, mean3]))
    assert out.shape == (1, 1, 2, 27)                      # bins 3..29 predicted
    assert torch.equal(out[0, 0, 0], torch.arange(2.0, 29.0))
    assert torch.allclose(out[0, 0, 1], torch.arange(1.0, 28.0))


def test_an_extra_spike_moves_the_rate_in_the_direction_of_the_coupling():
    torch.manual_seed(0)
    net = WindowGNNNet(6, torch.arange(6), width=4, stride=1, structure_length=20)
    x = counts(30, 6).T[None]                                  # one chunk [1, 6, 30]: 4 bins history + 26
    w = torch.zeros(6, 6)
    w[0, 3], w[1, 3] = 5.0, -5.0                              # 3 excites 0 and inhibits 1
    before = net(x, w)[0, -1]
    x[0, 3, -2] += 1                                          # one more spike of 3 in the bin before the last
    after = net(x, w)[0, -1]
    assert after[0] > before[0] and after[1] < before[1]
    assert torch.allclose(after[2:], before[2:])               # no coupling from 3: unchanged


def test_the_monotone_link_starts_at_one_and_stays_increasing_for_any_parameters():
    pred = Predictor(torch.zeros(3), width=4)
    assert torch.allclose(pred.rate(torch.zeros(1, 3)), torch.ones(1, 3), atol=1e-5)
    with torch.no_grad():
        for p in (pred.ramp_at, pred.ramp_slope, pred.ramp_weight):
            p.normal_(0, 3)
    u = torch.linspace(-10, 10, 500)[:, None].expand(-1, 3)
    assert (pred.rate(u).diff(dim=0) >= 0).all() and (pred.rate(u) > 0).all()


def test_the_monotone_link_can_take_the_threshold_linear_shape():
    pred = Predictor(torch.zeros(1), width=2)
    opt = torch.optim.Adam([pred.ramp_at, pred.ramp_slope, pred.ramp_weight], lr=0.05)
    u = torch.linspace(-3, 3, 200)[:, None]
    target = 2 * torch.relu(u - 0.5)
    for _ in range(1500):
        opt.zero_grad()
        loss = (pred.rate(u) - target).pow(2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 2e-3                                 # measured 2.3e-4; exp(a u + b) cannot go below 0.1


@pytest.mark.parametrize("kind", ["sender", "pair"])
def test_messages_equal_their_sum_over_senders(kind):
    torch.manual_seed(1)
    msg = Messages(torch.eye(5), width=3, kind=kind, channels=4, hidden=6)
    x, w = torch.randn(2, 5, 3 + 4), torch.randn(5, 5)       # 2 chunks, 5 neurons, 4 predicted bins
    windows = x.unfold(-1, 3, 1)[:, :, :-1].transpose(1, 2)    # [2, 4, 5, 3]: the 3 bins before each
    h = torch.relu(msg.filters(windows))                       # [S, C, n, ch]
    if kind == "sender":
        m = msg.readout(msg.phi(h))[..., 0][..., None, :].expand(-1, -1, 5, -1)       # [S, C, i, j]
    else:
        pairs = torch.cat([h[..., :, None, :].expand(-1, -1, -1, 5, -1), h[..., None, :, :].expand(-1, -1, 5, -1, -1)],
                          -1)
        m = msg.readout(msg.phi(pairs))[..., 0]
    assert torch.allclose(msg(x, w), (w * m).sum(-1) / 5, atol=1e-5)


def test_structure_is_symmetric_without_self_coupling_and_distance_alone_is_circulant():
    n = 10
    _, angles, distance = node_geometry(n, torch.arange(n))
    assert torch.allclose(distance * 5, ring_distance(n).float())                  # in units of half the ring
    s = Structure(torch.eye(n), angles, distance, width=3, stride=1, structure_length=30)
    w = s(counts(30, n).T)
    assert torch.allclose(w, w.T) and (w.diagonal() == 0).all()
    d = Structure(torch.eye(n), angles, distance, 3, 1, 30, embed_dim=0, ring_distance=True)(counts(30, n).T)
    rows = aligned_rows(d, diagonal=True)                      # one profile around the ring (float32 rounding)
    assert torch.allclose(rows, rows[:1].expand_as(rows), atol=1e-6)
    r = Structure(torch.eye(n), angles, distance, 3, 1, 30, residual=True)
    assert (r.residual == 0).all()
    with pytest.raises(ValueError, match="nothing to depend on"):
        Structure(torch.eye(n), angles, distance, 3, 1, 30, embed_dim=0)


def test_on_a_torus_distance_and_position_are_two_dimensional_and_shared_over_the_sheet():
    shape = (4, 6)
    interp, angles, distance = node_geometry(24, torch.arange(24), ring_size=shape)
    assert angles.shape == (24, 2) and torch.equal(interp, torch.eye(24))
    assert torch.allclose(distance * torus_distance(shape).max(), torus_distance(shape).float())
    w = Structure(interp, angles, distance, 3, 1, 30, embed_dim=0, ring_distance=True)(counts(30, 24).T)
    rows = aligned_rows(w, ring_size=shape, diagonal=True)          # the same 2-D profile around every neuron
    assert torch.allclose(rows, rows[:1].expand_as(rows), atol=1e-5)
    prior = Structure(interp, angles, distance, 3, 1, 30, ring_position=2, ring_distance=True)
    assert prior.ring_mlp[0].in_features == 2 * 2 * 2 * 2 + 1      # cos, sin x 2 axes x 2 harmonics, both ends; d


def test_hidden_nodes_on_a_torus_take_inverse_distance_weights_of_their_nearest_observed():
    shape = (5, 5)
    observed = torch.tensor([0, 2, 10, 12])                      # (0,0) (0,2) (2,0) (2,2); node 6 = (1,1) is hidden
    interp, _, _ = node_geometry(25, observed, ring_size=shape)
    assert torch.allclose(interp.sum(1), torch.ones(25))
    assert torch.allclose(interp[6], torch.full((4,), 0.25))     # equidistant from all four
    assert torch.allclose(interp[2], torch.tensor([0.0, 1.0, 0.0, 0.0]))
    row1 = interp[1]                                            # (0,1): 1 from (0,0) and (0,2), sqrt 5 from the others
    assert torch.allclose(row1[:2], row1[:2].flip(0)) and row1[0] > 2 * row1[2]
    with pytest.raises(ValueError, match="torus"):
        WindowGNN(use_theta=True, ring_size=shape)


def test_prediction_does_not_depend_on_how_bins_are_batched():
    model = WindowGNN(**SMALL).fit(counts())
    held_out = counts(seed=1)
    one = model.predict(held_out)                              # one chunk of 380 bins
    model.predict_bins = 7
    assert one.shape == (400 - model.width, 8) and torch.allclose(model.predict(held_out), one)


def test_stretches_give_no_window_across_a_gap():
    model = WindowGNN(**SMALL).fit([counts(100), counts(40), counts(200, seed=2)])
    assert model.unused_bins == 40                             # shorter than a window and a chunk (20 + 32)
    held_out = [counts(50), counts(60)]
    rates = model.predict(held_out)
    assert rates.shape == (50 + 60 - 2 * model.width, 8)
    # the second stretch's rates are those of the stretch alone: nothing crosses the gap
    assert torch.allclose(rates[50 - model.width:], model.predict(held_out[1]))


def test_fit_recovers_the_ring_profile_from_twenty_seconds():
    rec = ring.simulate("threshold", duration=24, seed=0).bin(1e-3)
    train, validation = rec.slice(0, 20_000), rec.slice(20_000, 24_000)
    model = WindowGNN.ring_distance_only(steps=300, batch_bins=4096, lr=3e-2, eval_every=100, progress=False,
                                         device="cpu")
    model.fit(train, validation)
    delta = metrics.inference_error(ring.mexican_hat(), model.weights).delta
    assert delta < 0.2                                         # measured 0.086; the shared GLM gets 0.23 on 48 s
    assert model.training_log[-1]["validation_bps"] > 0.5      # measured 1.0
    assert [r["step"] for r in model.training_log] == [100, 200, 300]


def test_early_stopping_keeps_the_best_state(tmp_path):
    path = tmp_path / "best.pt"
    model = WindowGNN(**dict(SMALL, steps=8), checkpoint=str(path)).fit(counts(), counts(seed=3))
    best = max(r["validation_bps"] for r in model.training_log)
    assert path.exists() and model.score(counts(seed=3)).mean == pytest.approx(best, abs=1e-6)


def test_a_grid_of_residual_rates_and_l1_penalties_keeps_the_fit_with_the_best_validation_score(tmp_path):
    train, validation = counts(), counts(seed=3)
    path = tmp_path / "best.pt"
    pairs = [(0.01, 0.0), (0.01, 0.1), (30.0, 0.0), (30.0, 0.1)]
    grid = WindowGNN.with_residual(**SMALL, residual_lr=(0.01, 30.0), w_l1=(0.0, 0.1),
                                   checkpoint=str(path)).fit(train, validation)
    singles = [WindowGNN.with_residual(**SMALL, residual_lr=lr, w_l1=l1).fit(train, validation) for lr, l1 in pairs]
    bests = [max(r["validation_bps"] for r in m.training_log) for m in singles]
    assert len(set(bests)) == 4                                 # every pair gives its own fit
    assert grid.path == [(lr, l1, best) for (lr, l1), best in zip(pairs, bests)]
    chosen = max(range(4), key=bests.__getitem__)
    assert (grid.chosen_residual_lr, grid.chosen_w_l1) == pairs[chosen]
    assert torch.equal(grid.weights, singles[chosen].weights)   # same seed, same batches: the same fit
    assert grid.score(validation).mean == pytest.approx(bests[chosen], abs=1e-6)
    assert torch.equal(torch.load(path)["structure.residual"], grid.net.structure.residual.detach())


def test_hidden_neurons_get_weights_but_no_rates():
    model = WindowGNN(n_positions=12, observed=[0, 2, 3, 5, 8, 9, 10, 11], **SMALL).fit(counts())
    assert model.weights.shape == (12, 12)
    assert model.predict(counts(seed=1)).shape[1] == 8


def test_the_angle_encoder_needs_the_angle():
    x = counts(300, 4)
    theta = torch.linspace(0, 20, 300)
    train = SpikeTrain.from_dense(x, 1e-3, theta=theta)
    model = WindowGNN(use_theta=True, **SMALL).fit(train)
    assert model.net.predictor.rotation is not None
    with pytest.raises(ValueError, match="theta"):
        WindowGNN(use_theta=True, **SMALL).fit(SpikeTrain.from_dense(x, 1e-3))


def test_named_configurations_are_what_they_say():
    assert WindowGNN.paper(**SMALL).net_kw["message"] == "pair"
    assert WindowGNN.with_residual(**SMALL).net_kw["structure"]["residual"]
    prior = WindowGNN.with_ring_position(**SMALL).net_kw["structure"]
    assert prior["ring_position"] == 3 and prior["ring_distance"] and prior["embed_dim"] == 4
    plain = {k: v for k, v in SMALL.items() if k != "embed_dim"}
    assert WindowGNN.ring_distance_only(**plain).net_kw["structure"]["embed_dim"] == 0
    with pytest.raises(ValueError, match="embed_dim"):
        WindowGNN.ring_distance_only(**SMALL)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="link"):
        WindowGNN(link="sigmoid")
    with pytest.raises(ValueError, match="residual=True"):
        WindowGNN(residual_l2=1.0)
    with pytest.raises(ValueError, match="batch_bins"):
        WindowGNN(batch_bins=0)
    with pytest.raises(ValueError, match="residual_lr"):
        WindowGNN(residual_lr=())
    with pytest.raises(ValueError, match="pass validation"):
        WindowGNN.with_residual(**SMALL, residual_lr=(0.3, 3.0)).fit(counts())
    with pytest.raises(ValueError, match="pass validation"):
        WindowGNN(**SMALL, w_l1=(0.0, 1e-4)).fit(counts())
    with pytest.raises(ValueError, match="w_l1 >= 0"):
        WindowGNN(w_l1=(1e-4, -1.0))
    model = WindowGNN(**SMALL).fit(counts())
    with pytest.raises(ValueError, match="fitted to 8 neurons"):
        model.score(counts(n=5))
    with pytest.raises(ValueError, match="window"):
        WindowGNN(**SMALL).fit(counts(t=10))


def test_the_split_pair_mlp_equals_the_mlp_of_concatenated_pairs():
    torch.manual_seed(0)
    net = mlp([3 + 2 + 1, 8, 8, 1])
    left, right, extra = torch.randn(5, 3), torch.randn(5, 2), torch.randn(5, 5, 1)
    pairs = torch.cat([left[:, None].expand(-1, 5, -1), right[None].expand(5, -1, -1), extra], -1)
    assert torch.allclose(pair_mlp(net, left, right, extra), net(pairs)[..., 0], atol=1e-6)


def test_interpolated_messages_equal_the_direct_ones_when_every_node_is_observed():
    torch.manual_seed(0)
    x, w = counts(40, 6).T[None], torch.randn(6, 6)
    for kind in ("positive", "sender", "pair"):
        direct = Messages(torch.eye(6), 4, kind)
        via = Messages(torch.eye(6), 4, kind)
        via.load_state_dict(direct.state_dict())
        via.all_observed = False                                   # force the interpolation path
        assert torch.allclose(direct(x, w), via(x, w), atol=1e-5)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_banded_and_convolution_filters_agree(k):
    """One or two kernels run as a banded matmul, more as conv1d: both are the same causal filter."""
    torch.manual_seed(0)
    x, kernels, bias = (torch.randn(shape, dtype=torch.float64) for shape in ((3, 5, 30), (k, 7), (k,)))
    conv = torch.nn.functional.conv1d(x[..., :-1].reshape(15, 1, 29), kernels[:, None], bias)
    assert torch.allclose(causal_filter(x, kernels, bias), conv.view(3, 5, k, 23))


def test_the_monotone_link_and_its_written_out_gradients_match_autograd():
    torch.manual_seed(0)
    u = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    a, c, w = (torch.rand(8, dtype=torch.float64) + 0.5, torch.linspace(-2, 2, 8, dtype=torch.float64),
               torch.rand(8, dtype=torch.float64))
    args = [u, a.requires_grad_(), c.requires_grad_(), w.requires_grad_()]
    assert torch.autograd.gradcheck(RampSum.apply, args)
    elementwise = torch.nn.functional.softplus(a * (u[..., None] - c)) @ w
    assert torch.allclose(RampSum.apply(*args), elementwise)
