"""Chapter 3 at SCALE=ci: every GNN variant and both GLMs are fitted on both spike models, and each score
lies within a tolerance of the value measured at ci."""
import pytest

pytestmark = pytest.mark.chapter

# measured at ci (bitwise repeatable on one machine). At this scale (4.8 s of training data, 40 Adam steps
# of 1024 bins) the GNNs' Delta is near 1 and they predict held-out spikes worse than the mean rate; the
# quick-scale comparison with the paper is the book build's. The GLMs stop at their ci iteration cap.
# Tolerances: GLM fits are convex (0.03); the GNN's Delta 0.05 and its bits/spike 0.5 (1/4 of it for
# the pair form's -8.2 after 8 steps), since short GNN runs move more with library versions.
DELTA = {("glm", "threshold"): (0.364, 0.03), ("glm", "lnp"): (0.612, 0.03),
         ("glm_free", "threshold"): (1.000, 0.03), ("glm_free", "lnp"): (0.999, 0.03),
         ("gnn", "threshold"): (0.998, 0.05), ("gnn", "lnp"): (0.984, 0.05),
         ("gnn_faithful", "threshold"): (0.971, 0.05)}
BPS = {("glm", "threshold"): (0.137, 0.03), ("glm", "lnp"): (0.196, 0.03),
       ("glm_free", "threshold"): (-0.807, 0.03), ("glm_free", "lnp"): (-0.130, 0.03),
       ("gnn", "threshold"): (-0.817, 0.5), ("gnn", "lnp"): (-0.096, 0.5)}


@pytest.mark.parametrize(("key", "model"), sorted(DELTA))
def test_every_method_recovers_w_as_well_as_when_measured(glued, key, model):
    measured, tolerance = DELTA[key, model]
    assert glued[f"delta_{key}_{model}"] == pytest.approx(measured, abs=tolerance)


@pytest.mark.parametrize(("key", "model"), sorted(BPS))
def test_every_method_predicts_held_out_spikes_as_well_as_when_measured(glued, key, model):
    measured, tolerance = BPS[key, model]
    assert glued[f"bps_{key}_{model}"] == pytest.approx(measured, abs=tolerance)


def test_the_papers_own_message_form_is_fitted_and_its_profile_is_reported(glued):
    # measured at ci: profile correlation +0.226 (pair messages), +0.370 (monotone), -0.363 (sender
    # messages, mirrored); the shared-profile GLM's +0.942. Sign and size, not the bound [-1, 1], are tested.
    assert glued["bps_gnn_faithful_threshold"] == pytest.approx(-8.25, rel=0.25)
    assert glued["corr_gnn_faithful_threshold"] == pytest.approx(0.226, abs=0.1)
    assert glued["corr_gnn_threshold"] == pytest.approx(0.370, abs=0.1)
    assert glued["corr_gnn_sender_threshold"] == pytest.approx(-0.363, abs=0.1)
    assert glued["corr_glm_threshold"] > 0.9
