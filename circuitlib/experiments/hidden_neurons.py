"""Partially observed rings (Yoon 2025, Sec. 4.4, Fig. 4): the ring GNN fitted to N_o observed
neurons of a ring of N, with N_h hidden nodes that have no spikes of their own.

Only the weights among observed neurons are kept; the full ``[N, N]`` matrix is filled in by
circular 2-D linear interpolation along the ring (:func:`~circuitlib.infer.ring_gnn.interpolate_ring_matrix`)
and scored with Delta. A configuration is a (N_o, N_h, seed) triple; the seed draws which ring
positions are observed and which hidden, and seeds the fit.
"""
from __future__ import annotations

import math
import time

import torch

from .. import metrics
from ..data.spikes import SpikeTrain
from ..infer.ring_gnn import interpolate_ring_matrix
from ..infer.window_gnn_training import WindowGNN

SCORES = {"bps": "test bits/spike", "delta": "Delta (N x N, interpolated)", "delta_observed": "Delta (observed pairs)"}


def pick_neurons(n: int, n_observed: int, n_hidden: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_observed`` observed ring positions and ``n_hidden`` hidden ones drawn from the rest of a
    ring of ``n`` (both int64, sorted; disjoint)."""
    if n_observed < 2 or n_hidden < 0 or n_observed + n_hidden > n:
        raise ValueError(f"need 2 <= N_o and 0 <= N_h with N_o + N_h <= {n}, got N_o={n_observed}, N_h={n_hidden}.")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[:n_observed].sort().values, perm[n_observed:n_observed + n_hidden].sort().values


def shuffled_control(w_observed: torch.Tensor, observed: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The paper's control (Fig. 4 d-e): rows of ``w_observed`` ``[N_o, N_o]`` permuted at random,
    then interpolated to ``[n, n]`` like the unshuffled matrix."""
    perm = torch.randperm(w_observed.shape[0], generator=torch.Generator().manual_seed(seed))
    return interpolate_ring_matrix(w_observed[perm], observed, n)


def fit_observed_subset(train, validation, test, observed: torch.Tensor, hidden: torch.Tensor, ring_size: int,
                        seed: int, evenly_spaced: bool = False, config=WindowGNN.no_prior, **gnn) -> dict:
    """Fit the time-parallel ring GNN ``config(**gnn)`` (the
    :class:`~circuitlib.infer.window_gnn_training.WindowGNN` constructor or one of its named
    configurations, e.g. ``WindowGNN.with_residual``) to recorded neurons at ring positions ``observed``
    [N_o] (the neurons of ``train``, in that order) with hidden nodes at ``hidden`` [N_h] on a ring of
    ``ring_size`` positions. The model's nodes sit at their ring positions, or, with ``evenly_spaced``
    (the paper's Sec. 4.4), in ring order at evenly spaced angles.

    Returns the fitted ``model``, the weights among recorded neurons ``w_observed`` [N_o, N_o]
    (float64), their interpolation to the whole ring ``full`` [ring_size, ring_size], held-out ``bps``
    on ``test`` and the fit's ``seconds``."""
    observed, hidden = torch.as_tensor(observed).long(), torch.as_tensor(hidden).long()
    nodes = torch.cat([observed, hidden]).sort().values              # ring order of the model's nodes
    where = torch.searchsorted(nodes, observed)                      # each recorded neuron's node index
    t0 = time.perf_counter()
    placement = {} if evenly_spaced else dict(positions=nodes, ring_size=ring_size)
    model = config(n_positions=len(nodes), observed=where, seed=seed, **placement, **gnn).fit(train, validation)
    w_observed = model.weights[where][:, where]
    return dict(model=model, w_observed=w_observed, observed=observed, bps=model.score(test).mean,
                full=interpolate_ring_matrix(w_observed, observed, ring_size), seconds=time.perf_counter() - t0)


def fit_partially_observed(spikes: SpikeTrain, true_w: torch.Tensor, n_observed: int, n_hidden: int, seed: int,
                           **gnn) -> dict:
    """:func:`fit_observed_subset` on ``n_observed`` neurons of ``spikes`` (all N ring neurons,
    split 80/10/10 in time) with ``n_hidden`` hidden nodes, both drawn by :func:`pick_neurons`, the
    nodes evenly spaced as in the paper; adds ``delta`` (of the interpolated matrix) and
    ``delta_observed`` (observed pairs only)."""
    n = true_w.shape[0]
    if spikes.n_neurons != n:
        raise ValueError(f"spikes have {spikes.n_neurons} neurons but true_w is {n} x {n}.")
    observed, hidden = pick_neurons(n, n_observed, n_hidden, seed)
    run = fit_observed_subset(*spikes.select(observed).split((0.8, 0.1, 0.1)), observed, hidden, n, seed,
                              evenly_spaced=True, **gnn)
    return dict(run, n_observed=n_observed, n_hidden=n_hidden, seed=seed,
                delta=metrics.inference_error(true_w, run["full"]).delta,
                delta_observed=metrics.inference_error(true_w, run["w_observed"], positions=observed).delta)


def configurations(n: int, observed_counts, hidden_counts, seeds) -> list[tuple[int, int, int]]:
    """Every (N_o, N_h, seed) that fits on a ring of ``n``; a fully observed ring gets no hidden
    nodes (the paper keeps the model at N nodes)."""
    return [(o, h, s) for o in observed_counts for h in hidden_counts for s in seeds
            if o + h <= n and not (o == n and h > 0)]


def summarise(runs: list[dict], key: str) -> dict[tuple[int, int], tuple[float, float]]:
    """Mean and sd (0 for one seed) of one score per (N_o, N_h) over seeds."""
    grouped: dict[tuple[int, int], list[float]] = {}
    for r in runs:
        grouped.setdefault((r["n_observed"], r["n_hidden"]), []).append(r[key])
    return {k: (sum(v) / len(v), float(torch.tensor(v).std()) if len(v) > 1 else 0.0) for k, v in grouped.items()}


def markdown(runs: list[dict]) -> str:
    """Markdown table, one row per (N_o, N_h): mean ± sd over seeds of every score."""
    stats = {key: summarise(runs, key) for key in SCORES}
    rows = ["| N_o | N_h | " + " | ".join(SCORES.values()) + " |", "|---|---|" + "---|" * len(SCORES)]
    for k in sorted(stats["bps"]):
        cells = [f"{m:.3f} ± {sd:.3f}" if not math.isnan(m) else "–" for m, sd in (stats[s][k] for s in SCORES)]
        rows.append(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
