"""The benchmark sweep: cell hashing, resumable runs on a local Dask cluster, error records, the
leaderboard. Tiny cells (20-neuron rings of 1.5 s, correlation) keep it to well under a minute."""
import dataclasses
import hashlib
import json
import math
import os
import subprocess
import sys

import dask
import pandas as pd
import pytest
import torch
from distributed import Client, LocalCluster

from circuitlib import metrics
from circuitlib.experiments import sweep
from circuitlib.experiments.sweep import Cell, Truth
from circuitlib.infer.correlation import Correlation

RING = {"n": 20, "duration": 1.5}


@sweep.register_generator("test_counted_ring")
def counted_ring(seed, device, log, **params):
    """The ring generator, appending one line per call to the file ``log``."""
    with open(log, "a") as f:
        f.write(f"{seed}\n")
    return sweep.ring_generator(seed, device, **params)


@sweep.register_generator("test_directed")
def directed(seed, device, **params):
    """A ring recording scored as a directed network."""
    data, truth = sweep.ring_generator(seed, device, **params)
    return data, Truth(truth.weights, "directed")


class Exploding(Correlation):
    def fit(self, data, validation=None):
        raise RuntimeError("planted failure")


sweep.register_method("test_explodes")(Exploding)


class KillsItsWorker(Correlation):
    def fit(self, data, validation=None):
        os._exit(1)                                       # the worker process dies mid-cell


sweep.register_method("test_kills_worker")(KillsItsWorker)


@pytest.fixture(scope="module")
def client():
    """Two worker processes; a task whose worker dies is not retried (allowed-failures 0)."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


def cells(log, seeds=(0, 1), methods=("pearson", "partial")):
    return [Cell("test_counted_ring", m, generator_params={**RING, "log": str(log)}, seed=s)
            for m in methods for s in seeds]


def evaluations(log) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def stored(store, cell):
    path = sweep.record_path(store, cell)
    return path.stat().st_mtime_ns, path.read_bytes()


# ---------------------------------------------------------------------------------------------
# resumption and errors
# ---------------------------------------------------------------------------------------------
def test_an_interrupted_sweep_reruns_only_the_missing_cells(tmp_path, client):
    log, store, grid = tmp_path / "log", tmp_path / "store", cells(tmp_path / "log")
    first = sweep.run_sweep(grid[:2], store, client=client, progress=False)   # stopped after two cells
    assert evaluations(log) == 2 and list(first["status"]) == ["ok", "ok"]
    before = {c.key: stored(store, c) for c in grid[:2]}

    resumed = sweep.run_sweep(grid, store, client=client.scheduler.address, progress=False)
    assert evaluations(log) == 4                                               # only the two missing
    assert {c.key: stored(store, c) for c in grid[:2]} == before              # finished ones untouched
    assert list(resumed["hash"]) == [c.key for c in grid] and (resumed["status"] == "ok").all()
    pd.testing.assert_frame_equal(resumed.iloc[:2], first)

    again = sweep.run_sweep(grid, store, client=client, progress=False)
    assert evaluations(log) == 4
    pd.testing.assert_frame_equal(again, resumed)
    assert sorted(sweep.read_store(store)["hash"]) == sorted(c.key for c in grid)

    fresh_log, fresh_store = tmp_path / "fresh_log", tmp_path / "fresh"
    fresh = sweep.run_sweep(cells(fresh_log), fresh_store, client=client, progress=False)  # never interrupted
    for column in ("delta", "delta_scale", "bias", "variance", "profile_corr"):
        assert fresh[column].tolist() == resumed[column].tolist()
    assert sorted(p.name for p in store.iterdir()) == sorted(f"{c.key}.json" for c in grid)  # no temp files


def test_a_raising_cell_is_recorded_with_its_traceback_and_the_grid_goes_on(tmp_path, client):
    log, store = tmp_path / "log", tmp_path / "store"
    grid = cells(log, methods=("pearson", "test_explodes", "partial"), seeds=(0,))
    df = sweep.run_sweep(grid, store, client=client, progress=False)
    assert list(df["status"]) == ["ok", "error", "ok"]
    assert df.loc[[0, 2], "delta"].map(math.isfinite).all()
    bad = df.iloc[1]
    assert (bad["error_type"], bad["error_message"], bad["error_stage"]) == ("RuntimeError", "planted failure", "fit")
    assert "in fit" in bad["traceback"] and "planted failure" in bad["traceback"]
    assert json.loads(sweep.record_path(store, grid[1]).read_text())["status"] == "error"

    sweep.run_sweep(grid, store, client=client, progress=False)
    assert evaluations(log) == 3                                               # an error is a finished cell
    sweep.run_sweep(grid, store, client=client, progress=False, retry_errors=True)
    assert evaluations(log) == 4                                               # ... unless retried


def test_a_cell_that_kills_its_worker_is_recorded_and_the_grid_goes_on(tmp_path, client):
    log, store = tmp_path / "log", tmp_path / "store"
    grid = cells(log, methods=("pearson", "test_kills_worker", "partial"), seeds=(0,))
    df = sweep.run_sweep(grid, store, client=client, progress=False)
    assert all(sweep.read_record(store, c) is not None for c in grid)
    killed = df.iloc[1]
    assert (killed["status"], killed["error_type"], killed["error_stage"]) == ("error", "KilledWorker", "worker")
    # a cell that shared the dying worker may be lost with it; a retry recomputes only the errors
    done = {c.key: stored(store, c) for c, status in zip(grid, df["status"]) if status == "ok"}
    client.wait_for_workers(2, timeout=60)
    retried = sweep.run_sweep([grid[0], grid[2]], store, client=client, progress=False, retry_errors=True)
    assert (retried["status"] == "ok").all()
    assert {key: stored(store, c) for c in grid for key in [c.key] if key in done} == done


def test_workers_run_torch_with_one_thread(tmp_path, client):
    client.run(torch.set_num_threads, 2)
    sweep.run_sweep(cells(tmp_path / "log", seeds=(0,), methods=("pearson",)), tmp_path / "store", client=client,
                    progress=False)
    assert set(client.run(torch.get_num_threads).values()) == {1}


def test_unknown_names_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match=r"unknown method 'nope'.*'glm_free'.*'pearson'"):
        sweep.run_sweep([Cell("ring", "nope")], tmp_path)
    with pytest.raises(ValueError, match=r"unknown generator 'nope'.*'ring'"):
        sweep.evaluate(Cell("nope", "pearson"))


# ---------------------------------------------------------------------------------------------
# one cell's record
# ---------------------------------------------------------------------------------------------
def test_evaluate_records_ring_metrics_bits_per_spike_seconds_and_versions():
    cell = Cell("ring", "glm_free", generator_params=RING, method_params={"max_iter": 5, "strength": 1e-4})
    record = sweep.evaluate(cell)
    assert record["status"] == "ok" and record["hash"] == cell.key
    assert Cell.from_config(record["config"]) == cell
    assert set(record["metrics"]) == {"bps", "delta", "delta_scale", "bias", "variance", "delta_lsq", "profile_corr"}
    assert all(math.isfinite(v) for v in record["metrics"].values())
    assert record["seconds"]["fit"] > 0 and record["versions"]["torch"] == torch.__version__
    # five L-BFGS iterations do not meet the GLM's criterion: the record says how the fit stopped
    assert record["fit"] == {"converged": False, "n_iter": 5, "stop_reason": "max_iter", "chosen_strength": 1e-4}
    assert len(record["warnings"]) == 1 and record["warnings"][0].startswith("ConvergenceWarning: ")
    assert json.loads(json.dumps(record)) == record
    row = sweep.records_frame([record]).iloc[0]
    assert row["fit.n_iter"] == 5 and row["warnings"].startswith("ConvergenceWarning")


def test_a_rate_models_score_is_recorded_under_its_own_name():
    from circuitlib.experiments import benchmark
    cell = Cell("assembly", "linear_rate", generator_params={"n_neurons": 20, "n_frames": 500})
    assert sweep.evaluate(cell)["status"] == "ok"
    cell = Cell("assembly", "assembly_gnn", generator_params={"n_neurons": 20, "n_frames": 500},
                method_params=benchmark.method_params("assembly_gnn", "assembly", "ci") | {"n_steps": 5})
    record = sweep.evaluate(cell)
    assert record["status"] == "ok" and "bps" not in record["metrics"]
    assert math.isfinite(record["metrics"]["dxdt_r2"]) and "w_r2" in record["metrics"]


@dataclasses.dataclass
class FakeEdges:
    auroc: float
    ap: float
    note: str


def test_a_directed_truth_gets_edge_scores_when_metrics_has_them(monkeypatch):
    cell = Cell("test_directed", "pearson", generator_params=RING)
    monkeypatch.delattr(metrics, "edge_scores", raising=False)
    record = sweep.evaluate(cell)
    assert record["status"] == "ok" and record["metrics"] == {}
    assert "edge_scores" in record["skipped_metrics"]["directed"]

    seen = {}

    def edge_scores(true_w, est_w):
        seen["shapes"] = (tuple(true_w.shape), tuple(est_w.shape))
        return FakeEdges(0.75, 0.25, "text is left out")
    monkeypatch.setattr(metrics, "edge_scores", edge_scores, raising=False)
    record = sweep.evaluate(cell)
    assert record["metrics"] == {"auroc": 0.75, "ap": 0.25} and record["skipped_metrics"] == {}
    assert seen["shapes"] == ((20, 20), (20, 20))


# ---------------------------------------------------------------------------------------------
# hashing
# ---------------------------------------------------------------------------------------------
BASE = dict(generator="ring", method="glm_free", generator_params={"n": 20, "duration": 1.5},
            method_params={"strength": [1e-3, 1e-4], "max_iter": 5}, seed=3)
CANONICAL = ('{"device":"cpu","generator":"ring","generator_params":{"duration":1.5,"n":20},"method":"glm_free",'
             '"method_params":{"max_iter":5,"strength":[0.001,0.0001]},"scale":"ci","seed":3}')


def test_equal_configs_hash_equally_and_different_ones_differently():
    a = Cell(**BASE)
    b = Cell(**{**BASE, "method_params": {"max_iter": 5, "strength": (1e-3, 1e-4)},
                "generator_params": {"duration": 1.5, "n": 20}})            # other key order, a tuple
    assert a == b and hash(a) == hash(b) and a.key == b.key and len({a, b}) == 1
    assert a.canonical_json() == CANONICAL and a.key == hashlib.sha256(CANONICAL.encode()).hexdigest()
    others = [Cell(**{**BASE, "seed": 4}), Cell(**{**BASE, "method_params": {"strength": [1e-3, 1e-4], "max_iter": 6}}),
              Cell(**{**BASE, "method_params": {"strength": [1e-3, 1e-4], "max_iter": 5.0}}),
              Cell(**{**BASE, "scale": "quick"}), Cell(**{**BASE, "device": "cuda"})]
    assert len({a.key, *(c.key for c in others)}) == 1 + len(others) and all(c != a for c in others)


def test_the_hash_is_the_same_in_a_fresh_python_process():
    code = ("from circuitlib.experiments.sweep import Cell; "
            f"print(Cell(**{BASE!r}).key)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == Cell(**BASE).key


@pytest.mark.parametrize("params, error", [({"w": torch.zeros(2)}, TypeError), ({"r": float("nan")}, ValueError),
                                           ({"device": "cuda"}, ValueError), ({"seed": 1}, ValueError),
                                           ({"nested": {"a": 1}}, TypeError)])
def test_a_cell_refuses_parameters_that_are_not_plain_data(params, error):
    with pytest.raises(error, match="Cell|parameter"):
        Cell("ring", "pearson", generator_params=params)
    assert Cell("ring", "tca", method_params={"seed": 1}).config()["method_params"] == {"seed": 1}


# ---------------------------------------------------------------------------------------------
# the leaderboard
# ---------------------------------------------------------------------------------------------
def hand_made() -> pd.DataFrame:
    rows = [("a", "x", s, v) for s, v in enumerate([1.0, 2.0, 4.0])] + [("a", "y", 0, 5.0), ("b", "x", 0, 3.0),
                                                                         ("b", "x", 1, 5.0), ("b", "y", 0, 7.0)]
    df = pd.DataFrame(rows, columns=["method", "generator", "seed", "delta"]).assign(status="ok", scale="ci")
    failed = pd.DataFrame([{"method": "b", "generator": "y", "seed": 1, "delta": math.nan, "status": "error",
                            "scale": "ci"}])
    return pd.concat([df, failed], ignore_index=True)


def test_the_leaderboard_gives_mean_and_sd_over_seeds():
    board = sweep.leaderboard(hand_made(), "delta")
    assert board["mean"].loc["a", "x"] == pytest.approx(7 / 3)
    assert board["sd"].loc["a", "x"] == pytest.approx(math.sqrt(7 / 3))      # ddof = 1 over seeds 1, 2, 4
    assert board["mean"].loc["b", "x"] == 4.0 and board["sd"].loc["b", "x"] == pytest.approx(math.sqrt(2))
    assert board["mean"].loc["b", "y"] == 7.0 and math.isnan(board["sd"].loc["b", "y"])  # the error row is out
    assert board["n"].to_dict() == {"x": {"a": 3, "b": 2}, "y": {"a": 1, "b": 1}}

    text = sweep.format_leaderboard(board, digits=2)
    assert text.loc["a", "x"] == "2.33 ± 1.53" and text.loc["b", "y"] == "7.00"
    table = sweep.to_markdown(text).splitlines()
    assert table[0] == "| method | x | y |" and table[2] == "| a | 2.33 ± 1.53 | 5.00 |"

    transposed = sweep.leaderboard(hand_made(), "delta", rows="generator", columns="method")
    assert transposed["mean"].loc["x", "a"] == pytest.approx(7 / 3)


def test_the_leaderboard_refuses_to_pool_cells_that_differ_in_more_than_the_seed():
    df = hand_made().assign(**{"method.max_iter": [5, 5, 10, 5, 5, 5, 5, 5]})
    with pytest.raises(ValueError, match=r"method.max_iter"):
        sweep.leaderboard(df, "delta")
    assert sweep.leaderboard(df, "delta", rows=["method", "method.max_iter"])["n"].loc[("a", 10), "x"] == 1
    with pytest.raises(ValueError, match="no metric 'auroc'.*'delta'"):
        sweep.leaderboard(df, "auroc")


def test_the_local_client_ends_its_workers_on_exit():
    with sweep.local_client(1) as client:
        pids = list(client.run(os.getpid).values())
    assert len(pids) == 1
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_local_workers_start_without_dasks_malloc_trim_threshold(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")      # as a default LocalCluster leaves it behind
    with sweep.local_client(1) as client:
        counts = client.run(lambda: open("/proc/self/environ", "rb").read().count(b"MALLOC_TRIM"))
    assert list(counts.values()) == [0] and os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"
