"""Metrics: Delta calibration (Yoon 2025, App. F), bits per spike (Yoon 2025 Eq. 19), line fits."""
import math

import pytest
import torch

from circuitlib import metrics
from circuitlib.sim import ring


@pytest.fixture(scope="module")
def w():
    return ring.mexican_hat()


@pytest.mark.parametrize("c", [1e-3, 1.0, 250.0])
def test_delta_is_zero_for_a_positive_rescaling(w, c):
    err = metrics.inference_error(w, c * w)
    assert err.delta == pytest.approx(0.0, abs=1e-12) and err.scale == pytest.approx(1 / c)


def test_delta_of_columns_rolled_by_one_neuron(w):
    assert metrics.inference_error(w, torch.roll(w, 1, dims=1)).delta == pytest.approx(0.131, abs=1e-3)


def test_delta_of_a_constant_matrix_for_both_scalings(w):
    const = torch.ones(100, 100)
    assert metrics.inference_error(w, const).delta == pytest.approx(0.96, abs=5e-3)
    assert metrics.inference_error(w, const, scale="lsq").delta == pytest.approx(0.80, abs=5e-3)


def test_profile_correlation_ignores_scale_and_offset_but_not_sign_or_shape(w):
    assert metrics.profile_correlation(w, 3 * w + 1) == pytest.approx(1.0)
    assert metrics.profile_correlation(w, -w) == pytest.approx(-1.0)
    aliased = sum(torch.roll(w, k, dims=1) for k in (0, 25, 50, 75))   # the profile repeated every 25 neurons
    assert metrics.profile_correlation(w, aliased) == pytest.approx(0.370, abs=1e-3)
    with pytest.raises(ValueError, match="same shape"):
        metrics.profile_correlation(w, w[:10, :10])


def test_delta_ignores_the_diagonal(w):
    est = w.clone()
    est.fill_diagonal_(0.0)  # a model without self-loops loses nothing
    assert metrics.inference_error(w, est).delta == pytest.approx(0.0, abs=1e-12)


def test_bias_and_variance_add_up_in_quadrature(w):
    gen = torch.Generator().manual_seed(0)
    est = torch.roll(w, 2, dims=1) + 3e-4 * torch.randn(100, 100, generator=gen, dtype=torch.float64)
    err = metrics.inference_error(w, est)
    assert err.delta**2 == pytest.approx(err.bias**2 + err.variance**2, rel=1e-9)
    assert err.bias > 0.2 and err.variance > 0.05  # a shifted profile is bias, the noise is variance


def test_delta_on_observed_subset_uses_ring_positions(w):
    positions = torch.arange(0, 100, 2)  # every other neuron observed
    est = 2.0 * w[positions][:, positions]
    assert metrics.inference_error(w, est, positions=positions).delta == pytest.approx(0.0, abs=1e-12)
    shuffled = positions[torch.randperm(50, generator=torch.Generator().manual_seed(1))]
    assert metrics.inference_error(w, est, positions=shuffled).delta > 0.5


@pytest.mark.parametrize("args, match", [
    ((torch.ones(3, 4), torch.ones(3, 3)), "square"),
    ((torch.ones(4, 4), torch.full((4, 4), float("nan"))), "NaN"),
    ((torch.ones(4, 4), torch.ones(3, 3)), "positions"),
])
def test_delta_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        metrics.inference_error(*args)


def test_bits_per_spike_is_zero_for_the_homogeneous_model_and_positive_for_the_truth():
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(4000, dtype=torch.float64)
    true_rate = 0.2 * (1 + torch.sin(2 * math.pi * t / 200))[:, None].repeat(1, 3)
    x = torch.poisson(true_rate, generator=gen)
    homog = x.mean(0, keepdim=True).expand_as(x)
    assert metrics.bits_per_spike(x, homog).mean == pytest.approx(0.0, abs=1e-12)
    assert metrics.bits_per_spike(x, true_rate).mean > 0.2


def test_bits_per_spike_uses_base_two():
    x = torch.tensor([[1.0], [0.0]])
    rates = torch.tensor([[1.0], [1e-12]])  # perfect timing vs homogeneous 0.5 per bin
    expected = ((0 - 1.0 + math.log(1e-12) * 0 - 1e-12) - (math.log(0.5) - 1.0)) / math.log(2)
    assert metrics.bits_per_spike(x, rates).mean == pytest.approx(expected, rel=1e-9)


def test_bits_per_spike_reports_silent_neurons_instead_of_nan():
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    res = metrics.bits_per_spike(x, torch.full((3, 2), 1.0))
    assert res.silent == [1] and res.neurons.tolist() == [0] and math.isfinite(res.mean)


@pytest.mark.parametrize("counts, rates, match", [
    (torch.ones(3, 2), torch.ones(3, 3), "one shape"),
    (torch.ones(3, 2), -torch.ones(3, 2), "non-negative"),
    (torch.ones(3, 2), torch.zeros(3, 2), "-inf"),
    (torch.zeros(3, 2), torch.ones(3, 2), "no neuron spiked"),
    (torch.ones(3, 2), torch.full((3, 2), float("nan")), "NaN"),
])
def test_bits_per_spike_bad_input(counts, rates, match):
    with pytest.raises(ValueError, match=match):
        metrics.bits_per_spike(counts, rates)


def test_linear_fit_recovers_line_and_r2():
    true = torch.linspace(-1, 1, 50, dtype=torch.float64)
    r2, slope, intercept = metrics.linear_fit(true, 2.0 * true + 0.5)
    assert (r2, slope, intercept) == pytest.approx((1.0, 2.0, 0.5))
    noisy = 2.0 * true + 0.3 * torch.randn(50, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert 0.8 < metrics.linear_fit(true, noisy)[0] < 1.0
    with pytest.raises(ValueError, match="distinct"):
        metrics.linear_fit(torch.ones(5), torch.arange(5.0))


def test_coupling_contrast_is_positive_for_a_ring_motif_and_needs_both_groups():
    angles = torch.linspace(0, 2 * math.pi, 13)[:-1]
    motif = torch.cos(angles[:, None] - angles[None])                # excitation near, inhibition far
    assert metrics.coupling_contrast(motif, angles) > 1.5
    assert metrics.coupling_contrast(-motif, angles) < -1.5
    assert metrics.coupling_contrast(3 * motif + 2, angles) == pytest.approx(metrics.coupling_contrast(motif, angles))
    differences = metrics.angle_differences(torch.tensor([0.1, 2 * math.pi - 0.1], dtype=torch.float64))
    assert differences[0, 1] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="undefined"):
        metrics.coupling_contrast(motif[:3, :3], torch.tensor([0.0, 0.1, 0.2]))


def test_ks_statistic_is_zero_for_one_sample_and_one_for_disjoint_ones():
    a = torch.randn(500, generator=torch.Generator().manual_seed(0))
    assert metrics.ks_statistic(a, a) == 0.0
    assert metrics.ks_statistic(a, a + 100) == 1.0
    with pytest.raises(ValueError, match="non-empty finite"):
        metrics.ks_statistic(a, torch.tensor([float("nan")]))
