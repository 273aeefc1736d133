"""Chapter 4 at SCALE=ci: GLMs and the GNN with the angle encoder are fitted to driven spikes and scored."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_every_method_is_scored_on_both_driven_spike_models(glued):
    for key in ("gnn", "glm", "glm_free"):
        for model in ("threshold", "lnp"):
            assert 0.0 <= glued[f"delta_{key}_input_{model}"] <= 1.5, (key, model)
            assert math.isfinite(glued[f"bps_{key}_input_{model}"]), (key, model)
