"""Chapter 13 at SCALE=ci: the benchmark grid runs on a local Dask cluster and every method's score is
within a tolerance of the value measured at ci (the quick-scale leaderboard is checked by the book build
and quoted in the chapter, not here)."""
import pytest

pytestmark = pytest.mark.chapter

# measured at ci (one seed). Tolerances: 0.03 for the deterministic, closed-form scores (correlations,
# CCG, least squares); 0.05 for the GLMs (20 L-BFGS iterations at ci, short of their criterion); the
# GNNs 0.1 (a few hundred Adam steps at ci).
AUROC = {("pearson", "ei"): 0.656, ("pearson", "ei_common"): 0.623, ("pearson_lag", "ei"): 0.687,
         ("pearson_lag", "ei_common"): 0.672, ("partial", "ei"): 0.647, ("partial", "ei_common"): 0.629,
         ("ccg", "ei"): 0.711, ("ccg", "ei_common"): 0.724, ("glm_free", "ei"): 0.767,
         ("glm_free", "ei_common"): 0.776, ("gnn", "ei"): 0.591, ("gnn", "ei_common"): 0.576}
DELTA = {"pearson": 1.000, "partial": 1.788, "seqnmf": 0.996, "tca": 1.000, "ccg": 3.795, "glm_shared": 0.386,
         "glm_free": 0.999, "gnn": 1.314}   # gnn: R's rate 10 chosen on 0.6 s of validation (0.978 at 0.3)
W_R2 = {("linear_rate", "assembly_transmitters"): 0.660, ("assembly_gnn", "assembly"): 0.827,
        ("assembly_gnn", "assembly_transmitters"): 0.648}
TOLERANCE = {"pearson": 0.03, "pearson_lag": 0.03, "partial": 0.03, "ccg": 0.03, "seqnmf": 0.03, "tca": 0.03,
             "linear_rate": 0.03, "glm_free": 0.05, "glm_shared": 0.05, "gnn": 0.1, "assembly_gnn": 0.1}


@pytest.mark.parametrize(("method", "generator"), sorted(AUROC))
def test_edge_detection_on_the_e_i_network_is_as_measured(glued, method, generator):
    assert glued[f"auroc_{method}_{generator}"] == pytest.approx(AUROC[method, generator], abs=TOLERANCE[method])


@pytest.mark.parametrize("method", sorted(DELTA))
def test_delta_on_the_threshold_ring_is_as_measured(glued, method):
    tol = 0.2 if method == "ccg" else TOLERANCE[method]          # CCG z-scores: Delta far above 1, scale-sensitive
    assert glued[f"delta_{method}_ring_threshold"] == pytest.approx(DELTA[method], abs=tol)


@pytest.mark.parametrize(("method", "generator"), sorted(W_R2))
def test_w_r2_on_the_assemblies_is_as_measured(glued, method, generator):
    assert glued[f"w_r2_{method}_{generator}"] == pytest.approx(W_R2[method, generator], abs=TOLERANCE[method])


def test_the_directed_gnn_is_scored_on_the_e_i_network(glued):
    # directed=True: w_ij and w_ji differ, so the GNN gets AUC and AP there (0.59 / 0.21 after 100 steps at ci)
    for generator in ("ei", "ei_common"):
        assert f"ap_gnn_{generator}" in glued and 0.0 < glued[f"ap_gnn_{generator}"] < 1.0


def test_the_ccg_beats_zero_lag_correlation_under_the_shared_input(glued):
    # measured at ci: CCG 0.724 against Pearson 0.623 and partial 0.629 with the shared input
    assert glued["auroc_ccg_ei_common"] > glued["auroc_pearson_ei_common"] + 0.05
    assert glued["auroc_ccg_ei_common"] > glued["auroc_partial_ei_common"] + 0.05
    # the shared input costs Pearson correlation (0.656 -> 0.623) more than the jitter-null CCG (0.711 -> 0.724)
    assert glued["auroc_pearson_ei"] - glued["auroc_pearson_ei_common"] > 0.01
    assert glued["auroc_ccg_ei_common"] >= glued["auroc_ccg_ei"] - 0.01


def test_factorisations_rank_directed_edges_at_chance(glued):
    # measured at ci: seqNMF 0.505 / 0.487, TCA 0.502 / 0.496
    for method in ("seqnmf", "tca"):
        for generator in ("ei", "ei_common"):
            assert abs(glued[f"auroc_{method}_{generator}"] - 0.5) < 0.05


def test_least_squares_is_exact_when_psi_is_tanh_and_biased_when_it_is_not(glued):
    assert glued["w_r2_linear_rate_assembly"] > 0.9999
    assert glued["w_r2_linear_rate_assembly_transmitters"] < 0.8


def test_the_low_rate_section_scores_every_method(glued):
    # E/I at 1-5 Hz, 20 neurons, 2 minutes at ci: AUC as measured; the GLM meets its criterion in more than one
    # iteration; on a 12 s test part even the generator's own rates score below each neuron's test mean rate
    measured = {"pearson": 0.563, "pearson_lag": 0.627, "partial": 0.566, "ccg": 0.589, "glm_free": 0.650,
                "gnn": 0.539}
    for method, auc in measured.items():
        assert glued[f"auroc_{method}_low_rate"] == pytest.approx(auc, abs=TOLERANCE[method])
        assert glued[f"seconds_{method}_low_rate"] > 0
    assert glued["iterations_glm_free_low_rate"] > 1
    assert glued["bps_truth_low_rate"] == pytest.approx(-0.0181, abs=1e-3)        # deterministic: simulation only
    assert glued["bps_glm_free_low_rate"] == pytest.approx(-0.068, abs=0.02)
    assert glued["bps_gnn_low_rate"] == pytest.approx(-0.071, abs=0.05)


def test_the_gnn_reading_the_drive_angle_beats_the_shared_glm_on_the_single_bump(glued):
    # measured at ci (6 s of data): GNN with its angle encoder 0.122, shared-profile GLM 0.266
    assert glued["delta_gnn_ring_single_bump"] == pytest.approx(0.122, abs=TOLERANCE["gnn"])
    assert glued["delta_gnn_ring_single_bump"] < glued["delta_glm_shared_ring_single_bump"] - 0.05
