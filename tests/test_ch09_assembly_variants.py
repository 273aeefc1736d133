"""Chapter 9 at SCALE=ci: every experiment runs and glues the numbers its reading cites."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_every_experiment_reports_its_number(glued):
    for key in ("w_r2_sparse_100", "w_r2_sparse_20", "w_r2_sparse_05", "w_r2_sparse_varying_05", "w_r2_noise",
                "w_slope_noise", "type_accuracy_32", "w_r2_large", "w_r2_frames_fewest", "w_r2_frames_most",
                "w_r2_frames_adam_fewest", "w_r2_frames_adam_most", "rollout_r2_new_network"):
        assert math.isfinite(glued[key]), key
    assert 0 <= glued["type_accuracy_32"] <= 1 and glued["type_k_32"] >= 2
    assert 0 < glued["share_varying_05"] <= 1
    assert glued["frames_fewest"] < glued["frames_most"]


def test_the_noise_level_is_measured(glued):
    assert 0 < glued["snr_noise_db"] < 80
