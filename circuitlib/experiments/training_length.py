"""Delta and held-out bits/spike against the length of the training recording (ring networks).

For each seed and spike model one recording is simulated; its first L seconds, for every length
L, are nested training sets, all scored on the same held-out stretches after the longest
(:func:`~circuitlib.experiments.scoreboard.training_lengths`). Every method of
:func:`~circuitlib.experiments.scoreboard.compare_ring_methods` is fitted to each. The seed sets
both the simulation and every fit, so the spread over seeds covers both.

Each (spike model, length, seed) is one task on a Dask cluster (:func:`~circuitlib.experiments.sweep.connect`:
by default one single-threaded worker per core, or any ``distributed.Client``), which re-simulates
its seed's recording (the same for every length) and fits every method to its length. A sweep survives
interruption: with ``store`` (a file path), the finished cells' runs are written as each cell
finishes, and a rerun with the same ``store`` fits only the cells that are missing.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from distributed import as_completed

from .scoreboard import Scoreboard, compare_ring_methods, length_name, training_lengths
from .sweep import connect


def length_sweep(board: Scoreboard, models, lengths, seeds, gnns: dict[str, dict], *, held_out: float,
                 longest_only=(), store: str | os.PathLike | None = None, client=None,
                 **methods) -> list[tuple[str, float, int]]:
    """Fit every method to every (spike model, training length in s, seed); runs land on ``board`` under
    data set ``length_name(model, L)`` (one run per seed, in seed order).

    ``gnns``: ring GNN variants (name -> WindowGNN keywords, or a function of the seed), of which those
    named in ``longest_only`` are fitted at the longest length only (a control of that length's result); ``held_out``:
    seconds of validation and of test data each; ``client``: where the cells run (None: a local cluster
    of one single-threaded worker per core, closed afterwards; a ``distributed.Client``; a scheduler
    address); ``methods``: passed to ``compare_ring_methods`` (``glms``, ``glm_iter``, ``glm_dtype``, ``strengths``,
    ``device``, ``progress``). What the fits warned on the workers (e.g. a GLM's ConvergenceWarning) is
    warned again here, each message prefixed by its cell. Returns the cells fitted by this call (cells
    already in ``store`` are loaded, not refitted)."""
    lengths = sorted(float(L) for L in lengths)
    if not models or not seeds:
        raise ValueError("give at least one spike model and one seed.")
    if board.runs:
        raise ValueError("the board already has runs; give length_sweep a new Scoreboard.")
    unknown = sorted(set(longest_only) - set(gnns))
    if unknown:
        raise ValueError(f"longest_only names {unknown}, which are not among the GNN variants {sorted(gnns)}.")
    shorter = {name: gnn for name, gnn in gnns.items() if name not in longest_only}
    cells = [(model, L, seed) for seed in seeds for model in models for L in lengths]
    finished = load_sweep(store, board.true_w) if store is not None and Path(store).exists() else {}
    todo = [cell for cell in cells if cell not in finished]
    if todo:
        with connect(client) as dask_client:
            # the longest recordings first: they take longest, so the workers end together
            futures = {dask_client.submit(fit_cell, board.true_w, board.torus, cell, lengths, held_out,
                                          gnns if cell[1] == lengths[-1] else shorter, methods, pure=False): cell
                       for cell in sorted(todo, key=lambda c: -c[1])}
            try:
                for future in as_completed(futures):
                    finished[futures[future]] = future.result()
                    if store is not None:
                        save_sweep(finished, board.true_w, store)
            finally:
                dask_client.cancel(list(futures))
    for model, length, seed in cells:                        # one order, however the cells finished
        done = finished[model, length, seed]
        for key, runs in done["runs"].items():
            board.runs.setdefault(key, []).extend(runs)
        for category, message in done["warnings"]:
            warnings.warn(f"{length_name(model, length)}, seed {seed}: {message}", category, stacklevel=2)
    return todo


def fit_cell(true_w: torch.Tensor, torus, cell: tuple[str, float, int], lengths, held_out: float, gnns: dict,
             methods: dict) -> dict:
    """One (spike model, length, seed) of :func:`length_sweep`: ``runs``, those of a new board scored
    against ``true_w`` (and ``torus``) keyed (method, data set), and ``warnings``, what the fits warned
    as (category, message) pairs."""
    model, length, seed = cell
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sets = training_lengths(model, lengths, held_out, seed=seed, device=methods.get("device", "auto"))
        board = Scoreboard(true_w, torus)
        name = length_name(model, length)
        compare_ring_methods(board, {name: sets[name]}, gnns, seeds=[seed], **methods)
    return {"runs": board.runs, "warnings": [(w.category, str(w.message)) for w in caught]}


def save_sweep(finished: dict, true_w: torch.Tensor, store: str | os.PathLike) -> None:
    """Write the finished cells (runs and warnings) to ``store`` (atomically: a crash mid-write keeps
    the previous file)."""
    tmp = Path(f"{store}.tmp")
    torch.save({"cells": finished, "true_w": true_w}, tmp)
    tmp.replace(store)


def load_sweep(store: str | os.PathLike, true_w: torch.Tensor) -> dict:
    """The finished cells (runs and warnings) saved in ``store``, which must have been scored against ``true_w``."""
    saved = torch.load(store, weights_only=False)
    if "cells" not in saved:
        raise ValueError(f"{store} was written by an older length_sweep (runs without their cells); "
                         "start a new store file.")
    if not torch.equal(saved["true_w"], true_w):
        raise ValueError(f"{store} was scored against another true W; use a new store file for this sweep.")
    return saved["cells"]
