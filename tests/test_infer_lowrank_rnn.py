"""The gated low-rank network: its latent dynamics, its fit to rates with an input, bad input."""
import math

import pytest
import torch

from circuitlib.data import RateActivity
from circuitlib.infer.lowrank_rnn import GatedLowRankRNN
from circuitlib.lowrank_dynamics import GatedLowRank

N, DT, TAU = 40, 0.01, 0.1


def planted(gain: float = 2.0, turn: float = 1.0) -> GatedLowRank:
    """A ring (n = gain m) that an input u turns at about ``turn`` * u radians per time constant."""
    phi = 2 * math.pi * torch.arange(N, dtype=torch.float64) / N
    m = math.sqrt(2) * torch.stack([phi.cos(), phi.sin()], 1)
    rotate = torch.tensor([[0.0, turn], [-turn, 0.0]], dtype=torch.float64)
    return GatedLowRank(m, gain * m, gain * m @ rotate, torch.zeros(N, dtype=torch.float64))


def recording(net: GatedLowRank, bins: int, seed: int, noise: float = 0.3) -> RateActivity:
    """Rates 10 + 4 z of the network under a slowly varying input u (rad/s) and private noise."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.nn.functional.avg_pool1d(torch.randn(1, bins + 99, generator=gen, dtype=torch.float64), 100, 1)[0] * 20
    z = [net.m @ torch.tensor([1.0, 0.0], dtype=torch.float64)]
    h = DT / TAU
    for t in range(bins - 1):
        z.append(net.step(z[-1][None], u[t:t + 1], h)[0] + noise * math.sqrt(h) * torch.randn(N, generator=gen,
                                                                                                 dtype=torch.float64))
    return RateActivity(10 + 4 * torch.stack(z), DT, inputs=u[:bins, None])


def test_latent_dynamics_are_the_full_dynamics_inside_the_subspace():
    net = planted()
    kappa = torch.tensor([[0.3, -0.8], [1.1, 0.4]], dtype=torch.float64)
    z = kappa @ net.m.T + net.bias
    u = torch.tensor([0.0, 1.5], dtype=torch.float64)
    stepped = net.latent(net.step(z, u, 0.01))
    assert torch.allclose(stepped, kappa + 0.01 * net.field(kappa, u), atol=1e-12)
    again = GatedLowRank.from_rows(*net.rows())
    assert all(torch.equal(getattr(again, k), getattr(net, k)) for k in ("m", "n", "n_gate", "bias"))


def turning(net: GatedLowRank, kappa: torch.Tensor) -> float:
    """Sign of the rotation (counter-clockwise > 0) that a unit input adds to the latent field at ``kappa`` [1, 2]."""
    push = net.field(kappa, 1.0) - net.field(kappa, 0.0)
    return float(torch.sign(kappa[0, 0] * push[0, 1] - kappa[0, 1] * push[0, 0]))


def test_the_fit_finds_the_plane_and_the_turning_of_a_planted_ring():
    net = planted()
    model = GatedLowRankRNN(rank=2, tau=TAU).fit(recording(net, 20_000, seed=0))
    overlap = torch.linalg.svdvals(torch.linalg.qr(model.network.m).Q.T @ torch.linalg.qr(net.m).Q)
    assert overlap.min() > 0.95                                   # the principal plane is the ring's
    held_out = recording(net, 5000, seed=1)
    assert model.score(held_out) > 0.3
    # the input turns the fitted latent the way it turns the planted one (PCA may mirror the plane)
    mirrored = float(torch.sign(torch.linalg.det(torch.linalg.lstsq(net.m, model.network.m).solution)))
    fitted_turn = turning(model.network, model.network.latent(model.standardise(held_out.x[:1])))
    assert fitted_turn * mirrored == turning(net, net.latent((held_out.x[:1] - 10) / 4)) == 1.0


@pytest.mark.parametrize("data, kw, match", [
    (RateActivity(torch.randn(100, 5), DT), {}, "inputs"),
    (RateActivity(torch.randn(100, 5), DT, inputs=torch.randn(100, 2)), {}, r"inputs \[T, 1\]"),
    (RateActivity(torch.randn(100, 5), DT, inputs=torch.randn(100, 1)), {"rank": 5}, "below the number"),
    (RateActivity(torch.randn(8, 5), DT, inputs=torch.randn(8, 1)), {}, "too few"),
    ([RateActivity(torch.randn(100, 5), DT, inputs=torch.randn(100, 1)),
      RateActivity(torch.randn(100, 4), DT, inputs=torch.randn(100, 1))], {}, "share"),
    (torch.randn(100, 5), {}, "RateActivity"),
])
def test_bad_input_is_refused(data, kw, match):
    with pytest.raises(ValueError, match=match):
        GatedLowRankRNN(**kw).fit(data)


def test_bad_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="tau"):
        GatedLowRankRNN(tau=0.0)
