"""Chapter 3 at SCALE=ci: every GNN variant and both GLMs are fitted on both spike models and scored."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_gnn_and_glms_are_scored_on_both_spike_models(glued):
    for key in ("gnn", "glm", "glm_free"):
        for model in ("threshold", "lnp"):
            assert 0.0 <= glued[f"delta_{key}_{model}"] <= 1.5, (key, model)
            assert math.isfinite(glued[f"bps_{key}_{model}"]), (key, model)


def test_the_papers_own_message_form_is_fitted_and_its_profile_is_reported(glued):
    assert 0.0 <= glued["delta_gnn_faithful_threshold"] <= 1.5
    for key in ("corr_gnn_faithful_threshold", "corr_gnn_threshold"):
        assert -1.0 <= glued[key] <= 1.0
