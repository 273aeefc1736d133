"""The benchmark of chapter 13: its grids are valid cells that hash distinctly, every generator and
method it registers runs on a tiny configuration, the least-squares rate baseline is exact on the
model it assumes, and the result helpers pivot a frame."""
import math

import pandas as pd
import pytest
import torch

from circuitlib.experiments import benchmark, sweep
from circuitlib.experiments.sweep import Cell
from circuitlib.infer.linear_rate import LinearRate

TINY = {"ring_threshold": {"n": 20, "duration": 1.5}, "ring_lnp": {"n": 20, "duration": 1.5},
        "ring_single_bump": {"n": 20, "duration": 1.5}, "ei": {"n": 20, "duration": 3.0},
        "ei_common": {"n": 20, "duration": 3.0}, "assembly": {"n_neurons": 20, "n_frames": 600},
        "assembly_transmitters": {"n_neurons": 20, "n_frames": 600}}


# ---------------------------------------------------------------------------------------------
# the grids
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", benchmark.SCALES)
def test_every_grid_is_registered_applicable_cells_with_distinct_hashes(scale):
    cells = benchmark.grid(scale, seeds=[0, 1]) + benchmark.low_rate_grid(scale, seeds=[0, 1])
    assert all(isinstance(c, Cell) and c.scale == scale for c in cells)
    assert len({c.key for c in cells}) == len(cells)
    for c in cells:
        assert c.generator in sweep.GENERATORS and c.method in sweep.METHODS
        assert c.generator in benchmark.APPLIES[c.method]
        assert Cell.from_config(c.config()) == c
    main = benchmark.grid(scale, seeds=[0])
    pairs = {(c.generator, c.method) for c in main}
    assert len(pairs) == len(main) == sum(len(g) for g in benchmark.APPLIES.values())
    assert ("ei", "glm_shared") not in pairs and ("ring_lnp", "glm_shared") in pairs
    directed = {c.generator: dict(c.method_params).get("directed") for c in main if c.method == "ring_gnn"}
    assert directed == {"ring_threshold": None, "ring_lnp": None, "ring_single_bump": None, "ei": True,
                        "ei_common": True}
    sparse = {c.generator for c in main if c.method == "ring_gnn" and dict(c.method_params).get("w_l1")}
    assert sparse == {"ei", "ei_common"}                     # an L1 grid on w where the network is sparse
    theta = {c.generator for c in main if c.method == "ring_gnn" and dict(c.method_params).get("use_theta")}
    assert theta == {"ring_single_bump"}                     # the one generator whose data carry the drive
    assert {c.generator for c in main} == set(benchmark.GENERATOR_NAMES)


def test_scales_differ_only_in_budgets_and_data_and_bad_arguments_are_refused():
    ci, quick = benchmark.grid("ci"), benchmark.grid("quick")
    assert {c.key for c in ci}.isdisjoint(c.key for c in quick)
    assert [(c.generator, c.method) for c in ci] == [(c.generator, c.method) for c in quick]
    assert dict(benchmark.grid("ci", methods=["ccg"])[0].method_params) == {}
    gnn = {c.generator: dict(c.method_params) for c in ci if c.method == "assembly_gnn"}
    assert gnn["assembly"]["psi_input"] == "x" and gnn["assembly_transmitters"]["psi_input"] == "sender"
    assert len(benchmark.grid("ci", seeds=range(3))) == 3 * len(ci)
    with pytest.raises(ValueError, match="scale"):
        benchmark.grid("huge")
    with pytest.raises(ValueError, match="seed"):
        benchmark.low_rate_grid("ci", seeds=[])


# ---------------------------------------------------------------------------------------------
# generators and methods on tiny configurations
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("generator", sorted(TINY))
def test_every_generator_runs_on_a_tiny_config_with_its_method_family(generator):
    family = generator.split("_")[0]
    method = {"ring": "pearson", "ei": "ccg", "assembly": "linear_rate"}[family]
    record = sweep.evaluate(Cell(generator, method, TINY[generator], seed=1))
    assert record["status"] == "ok", record["error"]
    expected = {"ring": {"delta"}, "ei": {"auroc", "average_precision", "sign_accuracy"},
                "assembly": {"w_r2", "w_slope"}}
    assert expected[family] <= set(record["metrics"])
    assert all(math.isfinite(v) for v in record["metrics"].values())


@pytest.mark.parametrize(("generator", "method", "params"), [
    ("ei_common", "ccg", {"lags": [0.001, 0.004]}),
    ("ei", "glm_free", {"max_iter": 3}),
    ("assembly", "assembly_gnn", {"n_steps": 5, "batch_size": 8}),
    ("assembly_transmitters", "assembly_gnn", {"n_steps": 5, "batch_size": 8, "psi_input": "sender", "gamma": 100.0}),
    ("assembly", "linear_rate", {"ridge": 0.0}),
])
def test_every_registered_method_runs_on_a_tiny_config(generator, method, params):
    record = sweep.evaluate(Cell(generator, method, TINY[generator], params))
    assert record["status"] == "ok", record["error"]
    assert record["seconds"]["fit"] > 0


def test_the_e_i_generators_keep_the_shared_input_apart():
    with pytest.raises(ValueError, match="ei_common"):
        benchmark.ei(0, "cpu", common_strength=0.5, **TINY["ei"])
    with pytest.raises(ValueError, match="common_strength > 0"):
        benchmark.ei_common(0, "cpu", common_strength=0.0, **TINY["ei"])
    (_, plain), (_, shared) = benchmark.ei(0, "cpu", **TINY["ei"]), benchmark.ei_common(0, "cpu", **TINY["ei"])
    assert plain.kind == shared.kind == "directed"
    assert torch.equal(plain.weights, shared.weights)               # same seed, same network


def test_least_squares_on_tanh_is_exact_on_the_baseline_assembly_and_biased_when_psi_differs():
    exact = sweep.evaluate(Cell("assembly", "linear_rate", {"n_neurons": 50, "n_frames": 3000}))["metrics"]
    assert exact["w_r2"] > 0.9999 and exact["w_slope"] == pytest.approx(1.0, abs=1e-3)
    assert exact["dxdt_r2"] > 0.9999 and "bps" not in exact        # the R^2 of dx/dt on held-out frames
    biased = sweep.evaluate(Cell("assembly_transmitters", "linear_rate", {"n_neurons": 50, "n_frames": 3000}))
    assert biased["metrics"]["w_r2"] < 0.9


def test_linear_rate_follows_the_contract():
    parts, _ = benchmark.assembly(0, "cpu", n_neurons=10, n_frames=400)
    est = LinearRate()
    with pytest.raises(ValueError, match="not fitted"):
        est.weights
    est.fit(parts[0])
    assert est.weights.shape == (10, 10) and est.weights.dtype == torch.float64
    assert torch.all(est.weights.diagonal() == 0) and est.self_coupling.shape == (10,)
    assert est.predict(parts[2]).shape == parts[2].x.shape
    with pytest.raises(ValueError, match="frames"):
        LinearRate().fit(parts[0].slice(0, 15))
    with pytest.raises(ValueError, match="ridge"):
        LinearRate(ridge=-1.0)


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
def frame() -> pd.DataFrame:
    rows = [("ring_threshold", "pearson", 0, {"delta": 1.0}), ("ring_threshold", "pearson", 1, {"delta": 0.8}),
            ("ring_threshold", "ring_gnn", 0, {"delta": 0.4}),
            ("ei", "pearson", 0, {"auroc": 0.6, "average_precision": 0.2}),
            ("ei", "ccg", 0, {"auroc": 0.9, "average_precision": 0.7}), ("assembly", "linear_rate", 0, {"w_r2": 1.0})]
    return pd.DataFrame([{"generator": g, "method": m, "seed": s, "status": "ok", "scale": "ci", **v,
                          "fit_seconds": 1.0} for g, m, s, v in rows])


def test_boards_and_glue_values_pivot_a_benchmark_frame():
    boards = benchmark.boards(frame())
    assert set(boards) == {("rings", "delta"), ("E/I network", "auroc"), ("E/I network", "average_precision"),
                           ("rate assemblies", "w_r2")}
    assert list(boards["E/I network", "auroc"]["mean"].index) == ["pearson", "ccg"]      # APPLIES order
    assert boards["rings", "delta"]["mean"].loc["pearson", "ring_threshold"] == pytest.approx(0.9)
    values = benchmark.glue_values(frame())
    assert values == pytest.approx({"delta_pearson_ring_threshold": 0.9, "delta_gnn_ring_threshold": 0.4,
                                    "auroc_pearson_ei": 0.6, "auroc_ccg_ei": 0.9, "ap_pearson_ei": 0.2,
                                    "ap_ccg_ei": 0.7, "w_r2_linear_rate_assembly": 1.0})
    low = benchmark.low_rate_table(frame()[lambda d: d.generator == "ei"])
    assert list(low.index) == ["pearson", "ccg"] and list(low.columns) == list(benchmark.LOW_RATE_COLUMNS)
