"""Chapter 7 at SCALE=ci (needs dataHD.mat; skipped, saying where it looked, when it is absent)."""
import pytest

pytestmark = pytest.mark.chapter


def test_all_19_cells_meet_the_hd_criterion(glued):
    assert glued["n_hd_cells"] == 19


def test_models_beat_the_mean_rate_and_are_scored_on_held_out_stretches(glued):
    assert glued["bps_glm_hd"] > 0.5                 # tuning + coupling GLM; measured 0.96 at ci
    # the GNN, measured at ci (40 Adam steps of 1024 bins): 0.906 bits/spike with no hidden neurons, 0.967
    # with 20 (tolerance 0.5, as for the short GNN runs of chapters 3-6)
    assert glued["bps_gnn_hd_0"] == pytest.approx(0.906, abs=0.5)
    assert glued["bps_gnn_hd_20"] == pytest.approx(0.967, abs=0.5)


def test_the_couplings_follow_the_cells_tuning_not_the_positions_they_are_given(glued):
    assert glued["hd_profile_contrast"] > 0.3        # measured +1.22 at ci (shuffled: -0.51; real angles +1.47)
    assert glued["hd_contrast_shuffled_real_angles"] > glued["hd_profile_contrast_shuffled"] + 0.3
