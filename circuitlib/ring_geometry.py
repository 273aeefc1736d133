"""Geometry of neurons on a ring of M positions: distances, offsets, aligned rows, angle wrap.

Below ``data/``, ``sim/`` and ``infer/``: the simulators build ring profiles from it, the metrics
and figures align inferred matrices with it, the shared-profile GLM indexes its circulant ``w``
with it. A neuron's position is an integer ring index in ``[0, M)``; an observed subset of the
ring is given by ``positions`` ``[N]`` (distinct indices), the whole ring by ``positions=None``.
"""
from __future__ import annotations

import math

import torch


def wrap_angle(x):
    """Angles wrapped to ``[-pi, pi)`` (radians; a torch tensor or numpy array, same type back)."""
    return (x + math.pi) % (2 * math.pi) - math.pi


def ring_distance(n: int) -> torch.Tensor:
    """Ring distance ``d_ij = min(|i-j|, n-|i-j|)`` as a float64 ``[n, n]`` tensor (neurons)."""
    if n < 2:
        raise ValueError(f"a ring needs at least 2 neurons, got n={n}.")
    idx = torch.arange(n)
    diff = (idx[:, None] - idx[None, :]).abs()
    return torch.minimum(diff, n - diff).to(torch.float64)


def check_positions(positions, n_neurons: int, ring_size: int | None = None, device=None) -> tuple[torch.Tensor, int]:
    """``positions`` as int64 ``[n_neurons]`` distinct indices in ``[0, ring_size)`` and the ring size.

    ``positions=None`` means the whole ring (``arange(n_neurons)``, ring size ``n_neurons``);
    ``ring_size=None`` with given positions means ``n_neurons`` as well.
    """
    m = n_neurons if ring_size is None else int(ring_size)
    if positions is None:
        if m != n_neurons:
            raise ValueError(f"{n_neurons} neurons on a ring of {m}: pass positions (ring index of each neuron).")
        return torch.arange(n_neurons, device=device), m
    positions = torch.as_tensor(positions, device=device)
    if positions.is_floating_point() and not torch.equal(positions, positions.round()):
        raise ValueError("positions must be integer ring indices.")
    positions = positions.long()
    if positions.shape != (n_neurons,):
        raise ValueError(f"positions must have one entry per neuron ({n_neurons}), got shape {tuple(positions.shape)}.")
    if n_neurons and (positions.min() < 0 or positions.max() >= m or positions.unique().numel() != n_neurons):
        raise ValueError(f"positions must be distinct ring indices in [0, {m}).")
    return positions, m


def ring_offsets(positions: torch.Tensor, ring_size: int) -> torch.Tensor:
    """Ring offset of every pair, ``(pos_j - pos_i) mod M``: int64 ``[N, N]`` (row = receiver i)."""
    return torch.remainder(positions[None, :] - positions[:, None], ring_size)


def aligned_rows(w: torch.Tensor, positions=None, ring_size: int | None = None, diagonal: bool = False) -> torch.Tensor:
    """Rows of ``w`` ``[N, N]`` aligned by ring offset: float64 ``[N, M]`` on the CPU, entry ``[i, k]``
    is the weight onto neuron i from the neuron k positions ahead of it; NaN where that neuron is
    not observed, and at ``k = 0`` (the diagonal) unless ``diagonal``."""
    w = w.detach().double().cpu()
    positions, m = check_positions(positions, w.shape[0], ring_size)
    out = torch.full((w.shape[0], m), math.nan, dtype=torch.float64)
    out.scatter_(1, ring_offsets(positions, m), w)
    if not diagonal:
        out[:, 0] = math.nan
    return out


def mean_profile(w: torch.Tensor, positions=None, ring_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``w`` ``[N, N]`` over the off-diagonal pairs at each ring offset ``k = 0..M-1``.

    Returns (profile ``[M]`` float64, counts ``[M]`` int64: pairs per offset); an offset no
    observed pair spans (always ``k = 0``) has count 0 and profile 0.
    """
    w = w.double()
    positions, m = check_positions(positions, w.shape[0], ring_size, w.device)
    k = ring_offsets(positions, m)
    off = k != 0
    counts = torch.bincount(k[off], minlength=m)
    sums = torch.zeros(m, dtype=torch.float64, device=w.device).index_add_(0, k[off], w[off])
    return sums / counts.clamp_min(1), counts


def signed_offsets(ring_size: int) -> torch.Tensor:
    """Ring offsets ``-(M//2) .. M - M//2 - 1`` (int64 ``[M]``), the x axis of a centred profile;
    index an ``[M]`` profile by ``signed_offsets(M) % M``."""
    return torch.arange(-(ring_size // 2), ring_size - ring_size // 2)
