"""Chapter 10 at SCALE=ci: both models are fitted and scored against the true W."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_both_models_report_w_recovery(glued):
    for key in ("w_r2_transmitters", "w_slope_transmitters", "w_r2_receptors", "w_slope_receptors"):
        assert math.isfinite(glued[key]), key
    assert 0 <= glued["type_accuracy_transmitters"] <= 1
