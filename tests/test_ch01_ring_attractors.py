"""Chapter 1 at SCALE=ci: the numbers it glues are the ring's reference facts."""
import pytest

pytestmark = pytest.mark.chapter


def test_weight_facts(glued):
    assert glued["w_min"] == pytest.approx(-2.289e-3, abs=5e-7)
    assert glued["w_diag"] == pytest.approx(-5.0e-4, abs=1e-9)


def test_rates_and_bumps(glued):
    for model in ("threshold", "lnp"):
        assert 40 <= glued[f"rate_{model}_hz"] <= 90
        assert glued[f"n_bumps_{model}"] == 4
    assert glued["n_bumps_profile2"] == 1


def test_unconnected_coactive_pairs_are_correlated(glued):
    assert glued["corr_unconnected_d25_threshold"] > 0.3
    assert glued["corr_unconnected_d25_lnp"] > 0.3
    assert glued["corr_strongest_weight_d9_threshold"] < 0
    by_r = glued["corr_d25_by_r"]
    assert abs(by_r[0]) < 0.1 and by_r[-1] > 0.3  # no recurrence: no correlation
