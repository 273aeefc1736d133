"""The training-length sweep: every cell fitted once on a Dask cluster, kept as it finishes, resumed after a crash."""
import pytest
import torch
from distributed import Client, LocalCluster

from circuitlib.experiments import training_length
from circuitlib.experiments.scoreboard import Scoreboard, length_name
from circuitlib.infer.glm import ConvergenceWarning
from circuitlib.sim import ring

TINY = {"GNN": dict(message="sender", channels=2, embed_dim=2, hidden=4, steps=2, eval_every=2, batch_bins=256,
                    chunk_bins=64, structure_bins=200)}
RUN = dict(held_out=0.2, glms=False, device="cpu", progress=False)


@pytest.fixture
def client():
    """One worker thread in this process (so a monkeypatch reaches it); torch's threads restored after."""
    threads = torch.get_num_threads()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c
    torch.set_num_threads(threads)


def test_sweep_keeps_finished_cells_and_resumes_after_a_crash(tmp_path, monkeypatch, client):
    store = tmp_path / "sweep.pt"
    real = training_length.compare_ring_methods
    calls = []

    def crash_on_third(board, data, *a, **k):
        calls.append(next(iter(data)))
        if len(calls) == 3:
            raise RuntimeError("stopped")
        return real(board, data, *a, **k)

    monkeypatch.setattr(training_length, "compare_ring_methods", crash_on_third)
    with pytest.raises(RuntimeError, match="stopped"):
        training_length.length_sweep(Scoreboard(ring.mexican_hat()), ["lnp"], [0.3, 0.6], [0, 1], TINY,
                                     store=store, client=client, **RUN)
    monkeypatch.setattr(training_length, "compare_ring_methods", real)
    board = Scoreboard(ring.mexican_hat())
    fitted = training_length.length_sweep(board, ["lnp"], [0.6, 0.3], [0, 1], TINY, store=store, client=client,
                                          **RUN)
    # longest cells first, so the crash hit the third submitted, (0.3 s, seed 0), and the last never ran
    assert fitted == [("lnp", 0.3, 0), ("lnp", 0.3, 1)]                 # only what the crash left undone
    for L in (0.3, 0.6):
        runs = board.runs["GNN", length_name("lnp", L)]
        assert len(runs) == 2 and runs[0]["weights"].shape == (100, 100)   # one run per seed
    again = Scoreboard(ring.mexican_hat())
    assert training_length.length_sweep(again, ["lnp"], [0.3, 0.6], [0, 1], TINY, store=store, client=client,
                                        **RUN) == []                    # all done: nothing refitted
    loaded, fitted_here = (b.runs["GNN", length_name("lnp", 0.3)] for b in (again, board))
    assert all(torch.equal(r["weights"], s["weights"]) for r, s in zip(loaded, fitted_here))   # seed order


def test_cells_on_worker_processes_equal_the_same_cell_fitted_here():
    board = Scoreboard(ring.mexican_hat())
    training_length.length_sweep(board, ["lnp"], [0.3], [0], TINY, **RUN)  # a local cluster of processes
    here = training_length.fit_cell(board.true_w, None, ("lnp", 0.3, 0), [0.3], 0.2, TINY,
                                    dict(glms=False, device="cpu", progress=False))
    name = ("GNN", length_name("lnp", 0.3))
    assert board.runs[name][0]["bps"] == pytest.approx(here["runs"][name][0]["bps"], abs=1e-4)


def test_what_a_fit_warns_on_a_worker_is_warned_again_with_its_cell(client):
    board = Scoreboard(ring.mexican_hat())
    with pytest.warns(ConvergenceWarning, match=r"lnp 0.3 s, seed 0: CouplingGLM stopped \(max_iter\)"):
        training_length.length_sweep(board, ["lnp"], [0.3], [0], {}, client=client, glm_iter=1, strengths=[1e-5],
                                     **(RUN | {"glms": True}))
    assert ("GLM, free w", length_name("lnp", 0.3)) in board.runs


def test_a_store_of_another_network_or_a_filled_board_is_refused(tmp_path):
    store = tmp_path / "sweep.pt"
    training_length.save_sweep({("lnp", 0.3, 0): {"runs": {}, "warnings": []}}, ring.mexican_hat(), store)
    with pytest.raises(ValueError, match="another true W"):
        training_length.load_sweep(store, 2 * ring.mexican_hat())
    board = Scoreboard(ring.mexican_hat())
    board.add("GNN", length_name("lnp", 0.3), torch.zeros(100, 100) + 1e-3)
    with pytest.raises(ValueError, match="new Scoreboard"):
        training_length.length_sweep(board, ["lnp"], [0.3], [0], TINY, **RUN)
    with pytest.raises(ValueError, match="spike model"):
        training_length.length_sweep(Scoreboard(ring.mexican_hat()), [], [0.3], [0], TINY, **RUN)
    with pytest.raises(ValueError, match="not among the GNN variants"):
        training_length.length_sweep(Scoreboard(ring.mexican_hat()), ["lnp"], [0.3], [0], TINY,
                                     longest_only=["control"], **RUN)


def test_a_control_named_longest_only_is_fitted_at_the_longest_length_alone(client):
    board = Scoreboard(ring.mexican_hat())
    gnns = TINY | {"control": TINY["GNN"]}
    training_length.length_sweep(board, ["lnp"], [0.6, 0.3], [0], gnns, longest_only=["control"], client=client,
                                 **RUN)
    assert {key for key in board.runs} == {("GNN", length_name("lnp", 0.3)), ("GNN", length_name("lnp", 0.6)),
                                           ("control", length_name("lnp", 0.6))}
