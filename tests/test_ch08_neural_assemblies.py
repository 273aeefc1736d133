"""Chapter 8 at SCALE=ci (100 neurons, 10^4 frames, 2,000 steps): the pipeline runs end to end and
its numbers are sane. The quick-scale targets (W R^2 >= 0.9 ...) are checked by the book build."""
import pytest

pytestmark = pytest.mark.chapter


def test_connectivity_is_recovered(glued):
    # measured at ci: Adam R^2 0.999, slope 0.994; after least squares 0.9997, 1.000
    assert glued["w_r2_adam"] > 0.95 and 0.9 < glued["w_slope_adam"] < 1.1
    assert glued["w_r2"] > 0.99 and 0.95 < glued["w_slope"] < 1.05


def test_least_squares_fits_w_better_and_rollouts_stay_on_track(glued):
    # measured at ci: W R^2 0.99895 after Adam, 0.99973 after least squares. 400-step rollouts of both
    # fits stay above 0.95, but their order is within the chaotic divergence of the network: it flipped
    # with library versions (1.000 vs 0.957, later 0.958 vs 0.979), so it is not tested at ci; the
    # quick-scale gap (0.86 vs 0.64 at 400 steps) is what chapter 8 reports.
    assert glued["w_r2"] > glued["w_r2_adam"]
    assert glued["rollout_r2_200"] > 0.95
    assert min(glued["rollout_r2_400"], glued["rollout_r2_400_adam"]) > 0.9


def test_one_shared_type_fits_worse(glued):
    # measured at ci: 0.942 with fixed latents against 0.999 with learned ones (both Adam only)
    assert glued["w_r2_fixed_latents"] < glued["w_r2_adam"]


def test_types_are_in_the_latents_but_the_silhouette_merges_pairs(glued):
    # measured at ci: K = 4 given, accuracy 1.000; the silhouette chose K = 2 (K-means and Ward), which
    # merges the four types into their two tau-pairs: accuracy 0.500, the most two clusters can reach
    assert glued["type_accuracy_k4"] > 0.95
    assert 2 <= glued["type_k"] <= 4
    assert glued["type_accuracy"] >= 0.45 and glued["type_accuracy_hierarchical"] >= 0.45
