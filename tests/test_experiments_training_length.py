"""The training-length sweep: every cell fitted once, kept after each cell, resumed after a crash."""
import pytest
import torch

from circuitlib.experiments import training_length
from circuitlib.experiments.scoreboard import Scoreboard, length_name
from circuitlib.sim import ring

TINY = {"GNN": dict(message="sender", channels=2, embed_dim=2, hidden=4, steps=2, eval_every=2, batch_bins=256,
                    chunk_bins=64, structure_bins=200)}
RUN = dict(held_out=0.2, glms=False, device="cpu", progress=False)


def test_sweep_keeps_finished_cells_and_resumes_after_a_crash(tmp_path, monkeypatch):
    store = tmp_path / "sweep.pt"
    real = training_length.compare_ring_methods
    calls = []

    def crash_on_third(board, data, *a, **k):
        calls.append(next(iter(data)))
        if len(calls) == 3:
            raise KeyboardInterrupt("stopped")
        return real(board, data, *a, **k)

    monkeypatch.setattr(training_length, "compare_ring_methods", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        training_length.length_sweep(Scoreboard(ring.mexican_hat()), ["lnp"], [0.3, 0.6], [0, 1], TINY,
                                     store=store, **RUN)
    monkeypatch.setattr(training_length, "compare_ring_methods", real)
    board = Scoreboard(ring.mexican_hat())
    fitted = training_length.length_sweep(board, ["lnp"], [0.6, 0.3], [0, 1], TINY, store=store, **RUN)
    assert fitted == [("lnp", 0.3, 1), ("lnp", 0.6, 1)]                 # only what the crash left undone
    for L in (0.3, 0.6):
        runs = board.runs["GNN", length_name("lnp", L)]
        assert len(runs) == 2 and runs[0]["weights"].shape == (100, 100)   # one run per seed
    assert training_length.length_sweep(board.__class__(ring.mexican_hat()), ["lnp"], [0.3, 0.6], [0, 1], TINY,
                                        store=store, **RUN) == []       # all done: nothing refitted


def test_a_store_of_another_network_or_a_filled_board_is_refused(tmp_path):
    store = tmp_path / "sweep.pt"
    board = Scoreboard(ring.mexican_hat())
    board.add("GNN", length_name("lnp", 0.3), torch.zeros(100, 100) + 1e-3)
    training_length.save_sweep(board, {("lnp", 0.3, 0)}, store)
    with pytest.raises(ValueError, match="another true W"):
        training_length.load_sweep(Scoreboard(2 * ring.mexican_hat()), store)
    with pytest.raises(ValueError, match="new Scoreboard"):
        training_length.load_sweep(board, store)
    with pytest.raises(ValueError, match="spike model"):
        training_length.length_sweep(board, [], [0.3], [0], TINY, **RUN)
