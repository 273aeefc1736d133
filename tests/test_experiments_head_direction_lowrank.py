"""The head-direction low-rank pipeline on planted data: smoothing, decoders, rollouts, ring summary."""
import math

import pytest
import torch
from test_infer_lowrank_rnn import DT, TAU, planted, recording

from circuitlib import metrics
from circuitlib.data import head_direction as hd
from circuitlib.data.spikes import SpikeTrain
from circuitlib.experiments import head_direction_lowrank as hl
from circuitlib.infer.lowrank_rnn import GatedLowRankRNN


def test_smoothing_keeps_rates_and_reads_the_head_velocity():
    t = torch.arange(2000)
    theta = torch.remainder(1.5 * t * DT, 2 * math.pi)                          # 1.5 rad/s, wrapping
    counts = torch.zeros(2000, 3, dtype=torch.int64)
    counts[::10, 0] = 1                                                          # 10 Hz
    activity = hd.smoothed_activity(SpikeTrain.from_dense(counts, DT, theta), sigma=0.1)
    assert activity.x.shape == (2000, 3) and activity.inputs.shape == (2000, 1)
    assert activity.x[200:-200, 0].mean() == pytest.approx(10.0, rel=1e-3)
    assert torch.allclose(activity.inputs[50:-50, 0], torch.full((1900,), 1.5, dtype=torch.float64), atol=1e-6)
    with pytest.raises(ValueError, match="theta"):
        hd.smoothed_activity(SpikeTrain.from_dense(counts, DT))


def test_decoders_read_a_mirrored_rotated_latent_and_tuned_rates():
    theta = 2 * math.pi * torch.arange(500, dtype=torch.float64) / 500        # evenly: the mean is the centre
    kappa = torch.tensor([3.0, -1.0], dtype=torch.float64) + torch.stack([(0.7 - theta).cos(), (0.7 - theta).sin()], 1)
    decoder = hl.LatentAngle.fit(kappa, theta)
    assert decoder.sign == -1 and metrics.angle_error_deg(decoder(kappa), theta).max() < 1e-6
    preferred = torch.linspace(0, 2 * math.pi, 13, dtype=torch.float64)[:-1]
    rates = 5 + 4 * torch.cos(theta[:, None] - preferred)
    assert metrics.angle_error_deg(hl.population_vector(rates, preferred), theta).max() < 1e-6


def test_angle_errors_wrap_around_the_circle():
    assert metrics.angle_error_deg(math.radians(350), math.radians(10)).item() == pytest.approx(20.0)


def test_rollouts_of_a_planted_ring_integrate_the_input_and_settle_on_the_ring():
    net = planted()
    model = GatedLowRankRNN(rank=2, tau=TAU).fit(recording(net, 20_000, seed=0))
    held = recording(net, 4000, seed=1)
    angle = torch.atan2(*net.latent((held.x - 10) / 4).flip(1).T)               # the planted ring's angle
    decoder = hl.latent_decoder(model, [held], [angle])
    errors = hl.rollout_errors(model, decoder, [held], [angle], [0, 50, 200], stride=50)
    assert errors[200]["rollout"] < 0.5 * errors[200]["hold"]
    with pytest.raises(ValueError, match="longer than the longest horizon"):
        hl.rollout_errors(model, decoder, [held.slice(0, 100)], [angle[:100]], [200])


def test_a_planted_ring_settles_on_a_ring_and_clustered_ends_are_told_apart():
    kappa0 = torch.randn(32, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    ring = hl.ring_summary(hl.settle(planted(), kappa0, 30.0)[:, -1])
    assert ring["radius_cv"] < 0.05 and ring["angle_coverage"] > 0.5
    four = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64).repeat(8, 1)
    assert hl.ring_summary(four + 5) == {"radius": 1.0, "radius_cv": 0.0, "angle_coverage": 4 / 36}


def test_sampled_networks_are_scored_against_the_fitted_one():
    net = planted()
    kappa0 = torch.randn(8, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    grid = torch.cartesian_prod(*[torch.linspace(-1, 1, 5, dtype=torch.float64)] * 2)
    out = hl.sampled_network_check(net, 200, grid, (0.0, 1.0), kappa0, 5.0, config=hl.FlowConfig(hidden=16, steps=20),
                                   device="cpu")
    assert set(out) == {"fitted", "flow", "gaussian"}
    assert out["gaussian"][1].m.shape == (200, 2) and 0 <= out["gaussian"][0]["field_error"] < 1
    assert hl.field_error(net, net, grid, (0.0, 1.0)) == 0.0
