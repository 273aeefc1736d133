"""Chapter 9 at SCALE=ci (60 neurons, 3,000 frames, 150 Adam steps per fit): every experiment runs;
its numbers are pinned where they were measured. The quick-scale readings are the book build's."""
import pytest

pytestmark = pytest.mark.chapter


def test_sparser_networks_learn_more_slowly_per_step(glued):
    # measured at ci: Adam's W R^2 0.060 dense, 0.040 at 20 %, 0.026 at 5 %; 40 % of the senders vary at
    # 5 %, and over them R^2 is 0.065
    assert glued["w_r2_sparse_100"] > glued["w_r2_sparse_20"] > glued["w_r2_sparse_05"]
    assert glued["w_r2_sparse_100"] == pytest.approx(0.060, abs=0.03)
    assert glued["share_varying_05"] == pytest.approx(0.40, abs=0.1)
    assert glued["w_r2_sparse_varying_05"] > glued["w_r2_sparse_05"]


def test_noise_level_and_recovery_under_noise(glued):
    # measured at ci: 16.8 dB; W R^2 0.738, slope 1.01 after least squares
    assert glued["snr_noise_db"] == pytest.approx(16.8, abs=1.5)
    assert glued["w_r2_noise"] > 0.6
    assert 0.85 < glued["w_slope_noise"] < 1.15


def test_many_types_size_and_length(glued):
    # measured at ci: 32 types from 96 neurons, K = 35, accuracy 0.354 on the machine that pinned it;
    # K = 15, accuracy 0.208 on an AVX-512 machine with torch held to its AVX2 kernels (the Makefile's
    # setting; its own AVX-512 kernels give 0.0625): the ci run is short enough for the kernel path to
    # matter. Chance is about 1/32; the bound asks for five times that, and K well above one type.
    # N = 60 with state noise: R^2 0.539; Adam R^2 0.009 with 500 frames and 0.060 with 3,000
    assert glued["type_accuracy_32"] > 0.15 and 10 <= glued["type_k_32"] <= 40
    assert glued["w_r2_large"] > 0.4 and glued["n_large"] == 60
    assert glued["w_r2_frames_adam_most"] > 3 * glued["w_r2_frames_adam_fewest"]


def test_new_network_rollout_at_ci_does_not_track_yet(glued):
    # measured at ci: R^2 0.004 at 400 steps (150 Adam steps learn too little; quick scale is the reading's)
    assert glued["rollout_r2_new_network"] == pytest.approx(0.004, abs=0.05)
