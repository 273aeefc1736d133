"""Chapter 11 at SCALE=ci: W and the field Omega* are learned together and scored against the truth."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_w_and_field_are_scored(glued):
    for key in ("w_r2_external", "w_slope_external", "omega_r2", "omega_slope", "omega_r2_scaled",
                "w_r2_external_nofield", "loss_ratio_nofield"):
        assert math.isfinite(glued[key]), key
    assert 0 <= glued["type_accuracy_external"] <= 1


def test_even_a_small_run_learns_w_and_the_field(glued):
    """72 neurons, 4,000 frames, 800 steps: W R^2 0.94 and Omega R^2 0.68 when written; a model
    without a field predicts dx/dt several times worse."""
    assert glued["w_r2_external"] > 0.85
    assert glued["omega_r2"] > 0.5
    assert glued["loss_ratio_nofield"] > 2
