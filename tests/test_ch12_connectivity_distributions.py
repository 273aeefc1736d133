"""Chapter 12 at SCALE=ci (a 1,000-neuron ring, small flows): the numbers it glues are sane."""
import pytest

pytestmark = pytest.mark.chapter
RADIUS = 0.948  # mean-field ring radius for cov(n, m) = 1.6 I


def test_simulated_ring_matches_mean_field(glued):
    assert glued["ring_radius_mean_field"] == pytest.approx(RADIUS, abs=5e-4)
    assert glued["ring_radius_sim"] == pytest.approx(RADIUS, rel=0.03)
    assert glued["m_recovery_error"] < 1e-6


def test_degenerate_swap_keeps_the_field(glued):
    assert glued["field_error_degenerate_swap"] < 0.2  # O(1/sqrt N): about 0.15 at N = 1,000


def test_both_fits_reproduce_the_field_but_only_maxent_recovers_the_conditional_mean(glued):
    assert glued["field_error_standard_fit"] < 0.03
    assert glued["field_error_maxent_fit"] < 0.02
    assert glued["corr_maxent_vs_conditional_mean"] > 0.95
    assert glued["corr_standard_vs_conditional_mean"] < 0.9
    assert glued["gmm_best_k_maxent"] == 1
    assert glued["gmm_best_k_standard"] >= 3


def test_joint_fits_agree_on_the_dynamics_and_on_what_the_data_constrain(glued):
    # measured at ci (2 starts): field error 0.018, m error 1e-5, corr of n between starts 0.650, of their
    # constrained parts 0.992, with the maximum-entropy n 0.975
    assert glued["joint_fit_field_error_max"] < 0.05
    assert glued["joint_fit_m_error_max"] < 1e-3
    assert glued["joint_fit_n_corr_between_starts"] < 0.8
    assert glued["joint_fit_constrained_corr_between_starts"] > 0.95
    assert glued["joint_fit_constrained_corr_maxent_min"] > 0.9


def test_flow_sampled_networks_reproduce_the_dynamics(glued):
    assert glued["ring_radius_resampled"] == pytest.approx(RADIUS, rel=0.06)
    assert glued["ring_radius_finite_networks"] == pytest.approx(RADIUS, rel=0.1)
    # measured at ci: 1.020, 1.007 and 0.924, each within 8 % of the mean-field radius
    assert all(r == pytest.approx(RADIUS, rel=0.1) for r in glued["ring_radius_finite_draws"])
    assert glued["field_error_resampled_bistable"] < 0.1
    assert glued["field_error_resampled_limit_cycle"] < 0.1


def test_flows_hold_what_one_gaussian_cannot(glued):
    # measured at ci (flows of 800 steps on 1,000 fitted neurons): KS of |m| 0.080 / 0.046 (flow) against
    # 0.259 / 0.304 (Gaussian); field error 0.132 / 0.177 against 0.273 / 0.373 (heavy tails / four populations)
    assert glued["tail_ks_flow"] < 0.15 < 0.2 < glued["tail_ks_gaussian"]
    assert glued["ks_norm_m_flow_quadstable"] < 0.1 < 0.2 < glued["ks_norm_m_gaussian_quadstable"]
    for name in ("heavy", "quadstable"):
        assert glued[f"field_error_flow_{name}"] < glued[f"field_error_gaussian_{name}"] - 0.08
    # the Gaussian puts a ring where the four populations have fixed points at |kappa| = 1.42
    assert glued["end_radius_truth_quadstable"] == pytest.approx(1.42, abs=0.03)
    assert glued["end_radius_gaussian_quadstable"] < 1.2
