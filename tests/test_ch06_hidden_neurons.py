"""Chapter 6 at SCALE=ci: the N_o x N_h grid is fitted, and shuffling destroys the interpolated ring."""
import pytest

pytestmark = pytest.mark.chapter

# measured at ci (bitwise repeatable on one machine): (Delta, bits/spike) of the GNN per (observed, hidden)
# neurons (40 Adam steps of 1024 bins); tolerances 0.05 on Delta and 0.5 bits/spike, as for the other short
# GNN runs (chapters 3-5)
GRID = {(60, 0): (0.371, 1.680), (60, 10): (0.379, 1.714), (60, 20): (0.286, 1.737), (80, 0): (0.242, 1.798),
        (80, 20): (0.244, 1.794), (100, 0): (0.191, 1.788)}


@pytest.mark.parametrize(("n_obs", "n_hidden"), sorted(GRID))
def test_the_grid_of_observed_and_hidden_neurons_is_scored_as_when_measured(glued, n_obs, n_hidden):
    delta, bps = GRID[n_obs, n_hidden]
    assert glued[f"delta_hidden_{n_obs}_{n_hidden}"] == pytest.approx(delta, abs=0.05)
    assert glued[f"bps_hidden_{n_obs}_{n_hidden}"] == pytest.approx(bps, abs=0.5)


def test_all_100_observed_leaves_no_room_for_hidden_neurons(glued):
    assert "delta_hidden_100_10" not in glued


def test_interpolating_the_masked_truth_works_and_shuffling_its_rows_breaks_it(glued):
    # data-free (Fig. 4 b-e): 80 observed true weights + 5 % noise, interpolated to 100 x 100
    assert glued["delta_interp_truth"] < 0.3
    assert glued["delta_interp_truth_shuffled"] > glued["delta_interp_truth"] + 0.3
