r"""Tensor component analysis (Williams et al. 2018) as the connectivity proxy of Yoon (2025, App. C.2).

One continuous recording is cut into K equal segments used as trials. Spike counts are smoothed by an
exponentially weighted moving average and stacked into ``X`` ``[N, T, K]``, which CP-ALS factorises
into R rank-one components

.. math::  X_{ntk} \approx \sum_r a^{(r)}_n\, u^{(r)}_t\, v^{(r)}_k .

Each ALS step solves one factor matrix exactly by least squares with the other two fixed. The
interaction matrix sums each component's neuron outer product over time and trials,

.. math::  E = \frac1R \sum_r a^{(r)} a^{(r)\top} \Big(\sum_t u^{(r)}_t\Big)\Big(\sum_k v^{(r)}_k\Big),

with the CP sign ambiguity fixed so that every u and v sums to a positive number.
"""
from __future__ import annotations

import math

import scipy.signal
import torch

from .._device import resolve_device
from ._input import binned_counts


def exponential_smoothing(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """``m_t = (1 - alpha) m_{t-1} + alpha x_t`` along dim 0 of ``x`` ``[T, ...]`` (m_{-1} = 0)."""
    out = scipy.signal.lfilter([alpha], [1.0, alpha - 1.0], x.cpu().numpy(), axis=0)
    return torch.from_numpy(out).to(x.device, x.dtype)


def _sign_of_sum(f: torch.Tensor) -> torch.Tensor:
    """``[R]`` signs (+1 where a column sums to 0) that make every column of ``f`` sum to >= 0."""
    s = torch.sign(f.sum(0))
    return torch.where(s == 0, torch.ones_like(s), s)


def _khatri_rao(b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Column-wise Kronecker product ``[J * K, R]`` of ``b`` ``[J, R]`` and ``c`` ``[K, R]`` (row j*K + k)."""
    return (b[:, None, :] * c[None, :, :]).reshape(-1, b.shape[1])


def cp_als(x: torch.Tensor, rank: int, n_iter: int, tol: float, gen: torch.Generator) -> tuple[list[torch.Tensor], int]:
    """CP decomposition of a 3-way tensor ``x`` ``[I, J, K]`` by alternating least squares.

    Each step solves one factor exactly: ``A = X_(1) (B kr C) (B'B * C'C)^-1`` and likewise for B, C,
    with the unfoldings ``X_(m)`` made once so every step is one matrix product. Returns the factors
    ``[A [I, R], B [J, R], C [K, R]]`` and the number of sweeps run (stops when the relative change
    of the fit error falls below ``tol``).
    """
    factors = [torch.rand(s, rank, generator=gen, dtype=x.dtype).to(x.device) for s in x.shape]
    unfolded = [x.reshape(x.shape[0], -1), x.permute(1, 0, 2).reshape(x.shape[1], -1),
                x.permute(2, 0, 1).reshape(x.shape[2], -1)]  # X_(m): mode m by the other two, in order
    norm2, last = float((x**2).sum()), math.inf
    for sweep in range(1, n_iter + 1):
        for m in range(3):
            p, q = [factors[o] for o in range(3) if o != m]
            mttkrp = unfolded[m] @ _khatri_rao(p, q)
            factors[m] = torch.linalg.lstsq((p.T @ p) * (q.T @ q), mttkrp.T).solution.T
        # ||X - Xhat||^2 = ||X||^2 - 2 <X, Xhat> + ||Xhat||^2, from the last step's products
        a, b, c = factors
        inner = float((mttkrp * factors[2]).sum())
        model2 = float(((a.T @ a) * (b.T @ b) * (c.T @ c)).sum())
        err = math.sqrt(max(norm2 - 2 * inner + model2, 0.0) / norm2)
        if abs(last - err) < tol * max(err, 1e-12):
            break
        last = err
    return factors, sweep


class TCA:
    """TCA with ``n_segments`` (K = 10 in the paper) trials and rank ``rank`` on smoothed counts.

    After :meth:`fit`: ``neuron_factors`` ``[N, R]``, ``time_factors`` ``[T, R]``,
    ``segment_factors`` ``[K, R]``, ``weights`` ``[N, N]`` (the interaction matrix E),
    ``fit_error`` (relative Frobenius error), ``n_sweeps``, and ``dropped_bins`` (the last
    ``T mod K`` bins, which do not fill a segment and are left out).
    """

    def __init__(self, rank: int = 10, *, n_segments: int = 10, bin_width: float = 0.01, smoothing: float = 0.02,
                 n_iter: int = 500, tol: float = 1e-7, seed: int = 0, device="auto"):
        if rank < 1 or n_segments < 1 or n_iter < 1:
            raise ValueError(f"rank, n_segments and n_iter must be >= 1, got {rank}, {n_segments}, {n_iter}.")
        if smoothing < 0:
            raise ValueError(f"smoothing is a time constant in seconds (>= 0), got {smoothing}.")
        self.rank, self.n_segments, self.bin_width, self.smoothing = rank, n_segments, bin_width, smoothing
        self.n_iter, self.tol, self.seed, self.device = n_iter, tol, seed, resolve_device(device)

    def fit(self, data) -> "TCA":
        """Factorise a SpikeTrain or counts ``[T, N]`` (binned at ``bin_width``)."""
        x = binned_counts(data, self.bin_width, self.device, torch.float64)
        seg = x.shape[0] // self.n_segments
        if seg < 2:
            raise ValueError(f"{x.shape[0]} bins cannot make {self.n_segments} segments of >= 2 bins; "
                             "use a longer recording or fewer segments.")
        if self.smoothing > 0:
            x = exponential_smoothing(x, 1.0 - math.exp(-self.bin_width / self.smoothing))
        self.dropped_bins = x.shape[0] - seg * self.n_segments  # too few to fill a segment
        tensor = x[: seg * self.n_segments].reshape(self.n_segments, seg, -1).permute(2, 1, 0).contiguous()
        gen = torch.Generator().manual_seed(self.seed)
        (a, u, v), self.n_sweeps = cp_als(tensor, self.rank, self.n_iter, self.tol, gen)
        su, sv = _sign_of_sum(u), _sign_of_sum(v)
        a, u, v = a * su * sv, u * su, v * sv
        self.neuron_factors, self.time_factors, self.segment_factors = a, u, v
        self.fit_error = float((tensor - torch.einsum("ir,jr,kr->ijk", a, u, v)).norm() / tensor.norm())
        self.weights = torch.einsum("ir,jr,r->ij", a, a, u.sum(0) * v.sum(0)) / self.rank
        return self
