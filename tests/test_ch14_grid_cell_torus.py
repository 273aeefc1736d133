"""Chapter 14, the grid-cell torus, at SCALE=ci: the pattern of bumps, and methods scored on the sheet."""
import math

import pytest

pytestmark = pytest.mark.chapter


def test_the_sheet_holds_a_hexagonal_lattice_of_bumps(glued):
    # a 16 x 16 sheet holds 4 bumps (16^2 / ((sqrt 3 / 2) a^2), a = 2 pi sigma / sqrt 3 = 9.1); 4 bumps
    # are too few for six nearest peaks (measured 3 at ci): the six-peak check is on 24 x 24 sheets, in
    # tests/test_sim_torus.py and in the quick reference
    assert glued["torus_bump_count"] == 4 and glued["torus_bump_count_lnp"] == 4
    assert 5 <= glued["torus_rate_hz"] <= 30                            # measured 10.4 Hz
    assert 7 <= glued["torus_bump_spacing"] <= 10                       # measured 8.6 neurons


def test_the_shared_profile_reads_the_sheet_where_correlations_cannot(glued):
    # measured at ci (10 s): shared GLM 0.42, correlation 0.98, distance-only GNN 0.46
    assert glued["delta_glm_shared_torus"] < glued["delta_pearson_torus"] - 0.3
    assert glued["delta_gnn_distance_torus"] < glued["delta_pearson_torus"]
    assert glued["bps_glm_shared_torus"] > 0.5                          # measured 1.37
    for name in ("glm_shared", "glm_free", "pearson", "partial", "gnn", "gnn_prior", "gnn_distance"):
        assert math.isfinite(glued[f"delta_{name}_torus"])


def test_a_velocity_command_moves_the_lattice_in_proportion(glued):
    # measured at ci (16 x 16, 1-s commands, 2 seeds): 21.8 (threshold) and 22.0 (lnp) neurons/s per unit,
    # 1.1 neurons/s at rest; a 33-neuron path ends 14 % (threshold) and 6 % (lnp) of its length off
    for key in ("torus_velocity_gain", "torus_velocity_gain_lnp"):
        assert glued[key] > 10 * glued["torus_drift_at_rest"]
    assert glued["torus_path_length"] > 10
    assert glued["torus_path_error"] < 0.4 and glued["torus_path_error_lnp"] < 0.4
