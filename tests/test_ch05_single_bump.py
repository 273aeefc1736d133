"""Chapter 5 at SCALE=ci: GLMs and the GNN are fitted to the single-bump ring (profile II) and scored."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_every_method_is_scored_on_both_spike_models_of_profile_two(glued):
    for key in ("gnn", "glm", "glm_free"):
        for model in ("threshold", "lnp"):
            assert 0.0 <= glued[f"delta_{key}_profile2_{model}"] <= 1.5, (key, model)
            assert math.isfinite(glued[f"bps_{key}_profile2_{model}"]), (key, model)
