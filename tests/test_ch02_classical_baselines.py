"""Chapter 2 at SCALE=ci: every baseline is fitted and scored; values are sane (not the quick-scale targets)."""
import math

import pytest

pytestmark = pytest.mark.chapter

METHODS = ["glm", "glm_free", "seqnmf", "tca", "corr", "partial_corr"]


def test_every_baseline_has_a_delta_for_both_spike_models(glued):
    for method in METHODS:
        for model in ("threshold", "lnp"):
            delta = glued[f"delta_{method}_{model}"]
            assert math.isfinite(delta) and 0.0 <= delta <= 1.5, (method, model, delta)


def test_glm_scores_held_out_spikes_and_lnp_variants_are_reported(glued):
    for key in ("bps_glm_threshold", "bps_glm_lnp", "bps_glm_free_threshold", "bps_glm_free_lnp"):
        assert math.isfinite(glued[key]), key
    for key in ("delta_glm_softplus_threshold", "delta_glm_softplus_lnp", "delta_glm_softplus_lnp_table_threshold",
                "delta_glm_lnp_table_threshold"):
        assert 0.0 <= glued[key] <= 1.5, key


def test_pearson_correlation_is_no_better_than_an_empty_estimate(glued):
    # its profile repeats with the bumps, so the best scale is ~0: the book's point, even on 25 s of data
    assert glued["delta_corr_threshold"] > 0.9
