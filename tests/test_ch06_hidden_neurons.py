"""Chapter 6 at SCALE=ci: the N_o x N_h grid is fitted, and shuffling destroys the interpolated ring."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_the_grid_of_observed_and_hidden_neurons_is_fitted_and_scored(glued):
    for n_obs, n_hidden in ((60, 0), (60, 10), (100, 0)):
        assert 0.0 <= glued[f"delta_hidden_{n_obs}_{n_hidden}"] <= 1.5
        assert math.isfinite(glued[f"bps_hidden_{n_obs}_{n_hidden}"])
    assert "delta_hidden_100_10" not in glued          # all 100 observed: no room for hidden neurons


def test_interpolating_the_masked_truth_works_and_shuffling_its_rows_breaks_it(glued):
    # data-free (Fig. 4 b-e): 80 observed true weights + 5 % noise, interpolated to 100 x 100
    assert glued["delta_interp_truth"] < 0.3
    assert glued["delta_interp_truth_shuffled"] > glued["delta_interp_truth"] + 0.3
