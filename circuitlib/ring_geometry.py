"""Geometry of neurons on a ring of M positions or a torus of L1 x L2 positions: distances,
offsets, aligned rows, angle wrap.

Below ``data/``, ``sim/`` and ``infer/``: the simulators build ring and torus profiles from it, the
metrics and figures align inferred matrices with it, the shared-profile GLM indexes its circulant
(on the torus: doubly circulant) ``w`` with it. A neuron's position is an integer index in
``[0, M)``; an observed subset is given by ``positions`` ``[N]`` (distinct indices), the whole
lattice by ``positions=None``.

The lattice, argument ``ring_size`` everywhere: an int M (a ring) or a pair (L1, L2) (a torus,
M = L1 L2 positions, position ``p = row * L2 + col``). A ring of M is the torus (1, M), so one
offset code serves both: the offset from i to j is ``((row_j - row_i) mod L1) * L2 +
(col_j - col_i) mod L2``, an index in ``[0, M)`` that is 0 only for i = j.
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


def lattice_shape(ring_size) -> tuple[int, int]:
    """(L1, L2) of a lattice: ``M`` (a ring) -> (1, M); ``(L1, L2)`` (a torus) as it is, checked."""
    if isinstance(ring_size, (tuple, list)):
        if len(ring_size) != 2 or any(int(x) != x or x < 1 for x in ring_size) or ring_size[0] * ring_size[1] < 2:
            raise ValueError(f"a torus is a pair (L1, L2) of positive integers with L1 L2 >= 2, got {ring_size}.")
        return int(ring_size[0]), int(ring_size[1])
    if int(ring_size) != ring_size or ring_size < 2:
        raise ValueError(f"a ring needs an integer size >= 2, got {ring_size}.")
    return 1, int(ring_size)


def torus_coordinates(shape) -> torch.Tensor:
    """(row, col) of every position of a torus ``shape`` (L1, L2): int64 ``[L1 L2, 2]``."""
    l1, l2 = lattice_shape(tuple(shape))
    p = torch.arange(l1 * l2)
    return torch.stack([p // l2, p % l2], 1)


def torus_distance(shape) -> torch.Tensor:
    """Euclidean distance on the torus ``shape`` (L1, L2), in lattice units: float64 ``[M, M]``,
    ``d_ij = sqrt(min(|dr|, L1 - |dr|)^2 + min(|dc|, L2 - |dc|)^2)``."""
    shape = lattice_shape(tuple(shape))
    xy = torus_coordinates(shape)
    diff = (xy[:, None] - xy[None]).abs()
    wrapped = torch.minimum(diff, torch.tensor(shape) - diff).to(torch.float64)
    return wrapped.pow(2).sum(-1).sqrt()


def check_positions(positions, n_neurons: int, ring_size=None, device=None) -> tuple[torch.Tensor, int]:
    """``positions`` as int64 ``[n_neurons]`` distinct indices in ``[0, M)`` and the lattice's size M.

    ``ring_size``: M, or (L1, L2) for a torus (see the module docstring). ``positions=None`` means
    the whole lattice (``arange(n_neurons)``, which must then have ``n_neurons`` positions);
    ``ring_size=None`` means a ring of ``n_neurons``.
    """
    m = n_neurons if ring_size is None else math.prod(lattice_shape(ring_size))
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


def ring_offsets(positions: torch.Tensor, ring_size) -> torch.Tensor:
    """Offset code of every pair, int64 ``[N, N]`` (row = receiver i): ``(pos_j - pos_i) mod M`` on a
    ring, the 2-D code of the module docstring on a torus ``ring_size=(L1, L2)``."""
    l1, l2 = lattice_shape(ring_size)
    if l1 == 1:
        return torch.remainder(positions[None, :] - positions[:, None], l2)
    row, col = positions // l2, positions % l2
    return (torch.remainder(row[None, :] - row[:, None], l1) * l2
            + torch.remainder(col[None, :] - col[:, None], l2))


def aligned_rows(w: torch.Tensor, positions=None, ring_size=None, diagonal: bool = False) -> torch.Tensor:
    """Rows of ``w`` ``[N, N]`` aligned by offset: float64 ``[N, M]`` on the CPU, entry ``[i, k]``
    is the weight onto neuron i from the neuron at offset code k from it (on a ring: k positions
    ahead); NaN where that neuron is not observed, and at ``k = 0`` (the diagonal) unless ``diagonal``.
    On a torus, ``aligned_rows(...)[i].view(L1, L2)`` is row i on the sheet with i moved to the origin."""
    w = w.detach().double().cpu()
    positions, m = check_positions(positions, w.shape[0], ring_size)
    out = torch.full((w.shape[0], m), math.nan, dtype=torch.float64)
    out.scatter_(1, ring_offsets(positions, ring_size or m), w)
    if not diagonal:
        out[:, 0] = math.nan
    return out


def mean_profile(w: torch.Tensor, positions=None, ring_size=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``w`` ``[N, N]`` over the off-diagonal pairs at each offset code ``k = 0..M-1``.

    Returns (profile ``[M]`` float64, counts ``[M]`` int64: pairs per offset); an offset no
    observed pair spans (always ``k = 0``) has count 0 and profile 0.
    """
    w = w.double()
    positions, m = check_positions(positions, w.shape[0], ring_size, w.device)
    k = ring_offsets(positions, ring_size or m)
    off = k != 0
    counts = torch.bincount(k[off], minlength=m)
    sums = torch.zeros(m, dtype=torch.float64, device=w.device).index_add_(0, k[off], w[off])
    return sums / counts.clamp_min(1), counts


def signed_offsets(ring_size: int) -> torch.Tensor:
    """Ring offsets ``-(M//2) .. M - M//2 - 1`` (int64 ``[M]``), the x axis of a centred profile;
    index an ``[M]`` profile by ``signed_offsets(M) % M``."""
    return torch.arange(-(ring_size // 2), ring_size - ring_size // 2)


def centred_image(profile: torch.Tensor, shape) -> torch.Tensor:
    """An ``[L1 L2]`` profile over torus offset codes as an ``[L1, L2]`` image with offset (0, 0) at
    pixel ``(L1 // 2, L2 // 2)``: row and column axes run over ``signed_offsets(L1)``, ``signed_offsets(L2)``."""
    l1, l2 = lattice_shape(tuple(shape))
    if profile.shape != (l1 * l2,):
        raise ValueError(f"profile must have one entry per offset of the {l1} x {l2} torus, "
                         f"got {tuple(profile.shape)}.")
    return torch.roll(profile.reshape(l1, l2), (l1 // 2, l2 // 2), (0, 1))


def profile_image(w: torch.Tensor, shape) -> torch.Tensor:
    """The mean profile of ``w`` ``[L1 L2, L1 L2]`` over 2-D offsets on the torus ``shape``
    (:func:`mean_profile`) as a centred float64 ``[L1, L2]`` image on the CPU (:func:`centred_image`),
    NaN at offset (0, 0): the diagonal, which no pair spans."""
    shape = lattice_shape(tuple(shape))
    image = centred_image(mean_profile(w.detach().double().cpu(), None, shape)[0], shape)
    image[shape[0] // 2, shape[1] // 2] = math.nan
    return image
