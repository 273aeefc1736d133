"""The ring GNN on recorded head-direction cells (Yoon 2025, Sec. 4.5): cells placed on a ring of
positions by their preferred direction, hidden nodes drawn from the free positions, and a
test of whether the learned coupling follows the cells' angular distance.

The score of a coupling matrix is :func:`~circuitlib.metrics.coupling_contrast` C (local coupling
minus distant coupling, in sd of w); its null distribution comes from permuting the cells'
angles, so a contrast that any assignment of angles would give is not mistaken for structure.
"""
from __future__ import annotations

import math

import torch

from .. import metrics
from ..ring_geometry import wrap_angle
from .hidden_neurons import fit_observed_subset


def first_stretches(stretches: list, n_bins: int | None) -> list:
    """The leading stretches of a recording with gaps that hold about ``n_bins`` bins (the first
    stretch that reaches ``n_bins`` included); all of them for ``None``."""
    if n_bins is None:
        return list(stretches)
    total, out = 0, []
    for s in stretches:
        out.append(s)
        total += s.n_steps
        if total >= n_bins:
            break
    return out


def hidden_positions(cell_positions: torch.Tensor, n_hidden: int, ring_size: int, seed: int) -> torch.Tensor:
    """``n_hidden`` ring positions (int64, sorted) drawn at random from those no cell occupies."""
    taken = set(torch.as_tensor(cell_positions).tolist())
    free = torch.tensor(sorted(set(range(ring_size)) - taken), dtype=torch.long)
    if n_hidden > len(free):
        raise ValueError(f"{n_hidden} hidden nodes do not fit in the {len(free)} free positions of a ring "
                         f"of {ring_size}.")
    return free[torch.randperm(len(free), generator=torch.Generator().manual_seed(seed))[:n_hidden]].sort().values


def fit_cells(train, validation, test, cell_positions: torch.Tensor, n_hidden: int, ring_size: int, seed: int,
              **gnn) -> dict:
    """Fit the ring GNN to the recorded cells at ``cell_positions`` [N_o] with ``n_hidden`` hidden
    nodes (see :func:`~circuitlib.experiments.hidden_neurons.fit_observed_subset`); adds
    ``n_hidden`` and the coupling ``contrast`` of the cells' weights against their ring angles."""
    run = fit_observed_subset(train, validation, test, cell_positions,
                              hidden_positions(cell_positions, n_hidden, ring_size, seed), ring_size, seed, **gnn)
    angles = 2 * math.pi * torch.as_tensor(cell_positions).double() / ring_size
    return dict(run, n_hidden=n_hidden, contrast=metrics.coupling_contrast(run["w_observed"], angles))


def contrast_null(w: torch.Tensor, angles: torch.Tensor, n_permutations: int = 2000, seed: int = 0) -> torch.Tensor:
    """Coupling contrasts of ``w`` [N, N] under ``n_permutations`` random permutations of the
    cells' ``angles`` [N] (rad): the null distribution of :func:`~circuitlib.metrics.coupling_contrast`."""
    g = torch.Generator().manual_seed(seed)
    angles = torch.as_tensor(angles, dtype=torch.float64)
    return torch.tensor([metrics.coupling_contrast(w, angles[torch.randperm(len(angles), generator=g)])
                         for _ in range(n_permutations)])


def cell_table(rates: torch.Tensor, scores: dict, file_preferred: torch.Tensor) -> str:
    """Markdown table of every cell: rate (Hz), Rayleigh length R and its null threshold, HD-cell
    verdict, preferred direction and the data file's own preferred direction (deg)."""
    rows = ["| cell | rate (Hz) | R | null 99 % | HD cell | preferred (deg) | file's prefHD (deg) |",
            "|---|---|---|---|---|---|---|"]
    for i in range(len(rates)):
        rows.append(f"| {i} | {rates[i]:.1f} | {scores['length'][i]:.2f} | {scores['threshold'][i]:.2f} | "
                    f"{'yes' if scores['is_hd'][i] else 'no'} | {math.degrees(scores['preferred'][i]):.0f} | "
                    f"{math.degrees(file_preferred[i]):.0f} |")
    return "\n".join(rows)


def largest_angle_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest |a_i - b_i| over cells, wrapped on the circle, in degrees."""
    return math.degrees(float(wrap_angle(torch.as_tensor(a) - torch.as_tensor(b)).abs().max()))
