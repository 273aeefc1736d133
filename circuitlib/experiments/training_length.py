"""Delta and held-out bits/spike against the length of the training recording (ring networks).

For each seed and spike model one recording is simulated; its first L seconds, for every length
L, are nested training sets, all scored on the same held-out stretches after the longest
(:func:`~circuitlib.experiments.scoreboard.training_lengths`). Every method of
:func:`~circuitlib.experiments.scoreboard.compare_ring_methods` is fitted to each. The seed sets
both the simulation and every fit, so the spread over seeds covers both.

A sweep survives interruption: with ``store`` (a file path), the scoreboard's runs and the
finished (model, length, seed) cells are written after every cell, and a rerun with the same
``store`` fits only the cells that are missing.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .scoreboard import Scoreboard, compare_ring_methods, length_name, training_lengths


def length_sweep(board: Scoreboard, models, lengths, seeds, gnns: dict[str, dict], *, held_out: float,
                 store: str | os.PathLike | None = None, **methods) -> list[tuple[str, float, int]]:
    """Fit every method to every (spike model, training length in s, seed); runs land on ``board`` under
    data set ``length_name(model, L)`` (one run per seed).

    ``gnns``: ring GNN variants (name -> WindowGNN keywords, or a function of the seed); ``held_out``:
    seconds of validation and of test data each; ``methods``: passed to ``compare_ring_methods``
    (``glms``, ``glm_iter``, ``strengths``, ``device``, ``progress``). Returns the cells fitted by this
    call (cells already in ``store`` are loaded, not refitted)."""
    lengths = sorted(float(L) for L in lengths)
    if not models or not seeds:
        raise ValueError("give at least one spike model and one seed.")
    done = load_sweep(board, store) if store is not None and Path(store).exists() else set()
    fitted = []
    for seed in seeds:
        for model in models:
            todo = [L for L in lengths if (model, L, seed) not in done]
            if not todo:
                continue
            sets = training_lengths(model, lengths, held_out, seed=seed, device=methods.get("device", "auto"))
            for L in todo:
                compare_ring_methods(board, {length_name(model, L): sets[length_name(model, L)]}, gnns,
                                     seeds=[seed], **methods)
                done.add((model, L, seed))
                fitted.append((model, L, seed))
                if store is not None:
                    save_sweep(board, done, store)
    return fitted


def save_sweep(board: Scoreboard, done: set, store: str | os.PathLike) -> None:
    """Write the board's runs and the finished cells to ``store`` (atomically: a crash mid-write
    keeps the previous file)."""
    tmp = Path(f"{store}.tmp")
    torch.save({"runs": board.runs, "done": sorted(done), "true_w": board.true_w}, tmp)
    tmp.replace(store)


def load_sweep(board: Scoreboard, store: str | os.PathLike) -> set:
    """Put the runs saved in ``store`` on ``board`` (which must score against the same true W and
    hold none of them yet); returns the finished cells."""
    saved = torch.load(store, weights_only=False)
    if not torch.equal(saved["true_w"], board.true_w):
        raise ValueError(f"{store} was scored against another true W; use a new store file for this sweep.")
    clash = set(saved["runs"]) & set(board.runs)
    if clash:
        raise ValueError(f"the board already has runs of {sorted(clash)}; load the store into a new Scoreboard.")
    board.runs.update(saved["runs"])
    return set(map(tuple, saved["done"]))
