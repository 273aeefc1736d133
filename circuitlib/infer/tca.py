r"""Tensor component analysis (Williams et al. 2018) as the connectivity proxy of Yoon (2025, App. C.2).

One continuous recording is cut into K equal segments used as trials. Spike counts are smoothed by an
exponentially weighted moving average and stacked into ``X`` ``[N, T, K]``, which CP-ALS
(:func:`tensorly.decomposition.parafac`) factorises into R rank-one components

.. math::  X_{ntk} \approx \sum_r a^{(r)}_n\, u^{(r)}_t\, v^{(r)}_k .

Each ALS step solves one factor matrix exactly by least squares with the other two fixed. The
interaction matrix sums each component's neuron outer product over time and trials,

.. math::  E = \frac1R \sum_r a^{(r)} a^{(r)\top} \Big(\sum_t u^{(r)}_t\Big)\Big(\sum_k v^{(r)}_k\Big),

with the CP sign ambiguity fixed so that every u and v sums to a positive number.
"""
from __future__ import annotations

import math

import scipy.signal
import tensorly as tl
import torch
from tensorly.decomposition import parafac

from .._device import resolve_device
from ._input import binned_counts, check_bin_width
from .base import ConnectivityEstimator


def exponential_smoothing(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """``m_t = (1 - alpha) m_{t-1} + alpha x_t`` along dim 0 of ``x`` ``[T, ...]`` (m_{-1} = 0)."""
    out = scipy.signal.lfilter([alpha], [1.0, alpha - 1.0], x.cpu().numpy(), axis=0)
    return torch.from_numpy(out).to(x.device, x.dtype)


def _sign_of_sum(f: torch.Tensor) -> torch.Tensor:
    """``[R]`` signs (+1 where a column sums to 0) that make every column of ``f`` sum to >= 0."""
    s = torch.sign(f.sum(0))
    return torch.where(s == 0, torch.ones_like(s), s)


def cp_als(x: torch.Tensor, rank: int, n_iter: int, tol: float, gen: torch.Generator) -> tuple[list[torch.Tensor], int]:
    """CP decomposition of a 3-way tensor ``x`` ``[I, J, K]`` by alternating least squares
    (:func:`tensorly.decomposition.parafac`, on tensorly's PyTorch backend, so on ``x``'s device).

    Starts from factors uniform in [0, 1) drawn from ``gen``; stops after ``n_iter`` sweeps or once
    the relative fit error ``||X - Xhat|| / ||X||`` changes by less than ``tol * error`` between
    sweeps. Returns the factors ``[A [I, R], B [J, R], C [K, R]]`` and the number of sweeps run.
    """
    init = [torch.rand(s, rank, generator=gen, dtype=x.dtype).to(x.device) for s in x.shape]
    errors = []

    def converged(_, error) -> bool:
        errors.append(float(error))     # called once before the first sweep, then after each
        return len(errors) > 2 and abs(errors[-2] - errors[-1]) < tol * max(errors[-1], 1e-12)

    with tl.backend_context("pytorch", local_threadsafe=True):   # tensorly's own (absolute) test is off:
        _, factors = parafac(x, rank, n_iter_max=n_iter, init=(None, init), tol=1e-300, callback=converged)
    return list(factors), len(errors) - 1


class TCA(ConnectivityEstimator):
    """TCA with ``n_segments`` (K = 10 in the paper) trials and rank ``rank`` on smoothed counts.

    Hyper-parameters: ``rank`` R, ``n_segments`` K, ``bin_width`` (s), ``smoothing`` (the moving
    average's time constant, s; 0 = none), ``n_iter`` (ALS sweeps at most), ``tol`` (relative change
    of the fit error that stops ALS), ``seed`` (the starting factors), ``device``.

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
        if tol < 0:
            raise ValueError(f"tol is a relative change of the fit error (>= 0), got {tol}.")
        check_bin_width(bin_width, allow_none=False)      # the smoothing filter is set in bins
        self.rank, self.n_segments, self.bin_width, self.smoothing = rank, n_segments, bin_width, smoothing
        self.n_iter, self.tol, self.seed, self.device = n_iter, tol, seed, resolve_device(device)

    def fit(self, data, validation=None) -> TCA:
        """Factorise a SpikeTrain or counts ``[T, N]`` (binned at ``bin_width``); ``validation`` is
        accepted for the common interface and ignored (TCA has nothing to choose on held-out data)."""
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
