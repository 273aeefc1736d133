r"""seqNMF (Mackevicius et al. 2019) and the interaction matrix Yoon (2025, App. C.3) reads from it.

Convolutional non-negative factorisation of counts ``X`` ``[N, T]`` into K sequence templates
``W`` ``[N, K, L]`` and their activations ``H`` ``[K, T]``:

.. math::  \tilde X_{:,t} = \sum_{l=0}^{L-1} W_{:,:,l}\, H_{:,t-l}, \qquad
           \mathcal L = \|X - \tilde X\|_F^2 + \lambda\, \|(W^\top \!\circledast X)\, S\, H^\top\|_{1, k \ne k'}

where ``S`` smooths over ``2L - 1`` bins, and the penalty discourages two templates from explaining
the same events. Both factors follow multiplicative updates, which keep them non-negative; after each
H step its rows are scaled to unit norm (W takes the scale). The interaction matrix is

.. math::  E = \frac1K \sum_k \big(W_{:,k,0} \otimes W_{:,k,1}\big) \sum_t H_{k,t}

— the co-activation of neurons at consecutive lags of each template, weighted by how often it fires.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._device import resolve_device
from ._input import binned_counts, check_bin_width
from .base import ConnectivityEstimator

_EPS = 1e-12


def _delay(h: torch.Tensor, lag: int) -> torch.Tensor:
    """``h[:, t - lag]`` with zeros before the start (``lag`` >= 0)."""
    return F.pad(h, (lag, 0))[:, : h.shape[1]] if lag else h


def _advance(x: torch.Tensor, lag: int) -> torch.Tensor:
    """``x[:, t + lag]`` with zeros after the end (``lag`` >= 0)."""
    return F.pad(x, (0, lag))[:, lag:] if lag else x


def reconstruct(w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``sum_l W[:, :, l] @ H[:, t - l]``: ``[N, T]`` from W ``[N, K, L]`` and H ``[K, T]``."""
    return sum(w[:, :, lag] @ _delay(h, lag) for lag in range(w.shape[2]))


class SeqNMF(ConnectivityEstimator):
    """seqNMF with the paper's settings (``lam=0.001``, ``lags=2``) on counts in ``bin_width`` bins.

    After :meth:`fit`: ``templates`` ``[N, K, L]``, ``activations`` ``[K, T]``, ``weights`` ``[N, N]``
    (the interaction matrix E), ``loss`` (final squared reconstruction error / ||X||^2).
    """

    def __init__(self, n_components: int = 10, *, lags: int = 2, lam: float = 1e-3, bin_width: float = 0.01,
                 n_iter: int = 200, seed: int = 0, device="auto"):
        if n_components < 1 or lags < 2:
            raise ValueError(f"need n_components >= 1 and lags >= 2 (E pairs lag 0 with lag 1), "
                             f"got {n_components} and {lags}.")
        if lam < 0 or n_iter < 1:
            raise ValueError(f"lam must be >= 0 and n_iter >= 1, got {lam} and {n_iter}.")
        check_bin_width(bin_width)
        self.n_components, self.lags, self.lam, self.bin_width = n_components, lags, lam, bin_width
        self.n_iter, self.seed, self.device = n_iter, seed, resolve_device(device)

    def _smooth(self, a: torch.Tensor) -> torch.Tensor:
        """Box filter of width 2L - 1 along time ('same' size), i.e. ``a @ S``."""
        width = 2 * self.lags - 1
        return F.avg_pool1d(a[:, None], width, stride=1, padding=self.lags - 1, count_include_pad=True)[:, 0] * width

    def fit(self, data, validation=None) -> SeqNMF:
        """Factorise a SpikeTrain or counts ``[T, N]`` (binned at ``bin_width``); ``validation`` is
        accepted for the common interface and ignored (nothing is chosen on held-out data)."""
        x = binned_counts(data, self.bin_width, self.device, torch.float64).T.contiguous()  # [N, T]
        n, t = x.shape
        k, L = self.n_components, self.lags
        gen = torch.Generator().manual_seed(self.seed)
        w = (torch.rand(n, k, L, generator=gen, dtype=torch.float64) * x.max()).to(self.device)
        h = (torch.rand(k, t, generator=gen, dtype=torch.float64) * x.max() / t**0.5).to(self.device)
        cross = 1.0 - torch.eye(k, dtype=x.dtype, device=x.device)  # penalise k != k' only
        xs = self._smooth(x)
        for _ in range(self.n_iter):
            xhat = reconstruct(w, h)
            wtx = sum(w[:, :, lag].T @ _advance(x, lag) for lag in range(L))
            wtxhat = sum(w[:, :, lag].T @ _advance(xhat, lag) for lag in range(L))
            h = h * wtx / (wtxhat + self.lam * cross @ self._smooth(wtx) + _EPS)
            norms = h.norm(dim=1).clamp_min(_EPS)
            h, w = h / norms[:, None], w * norms[None, :, None]
            xhat = reconstruct(w, h)
            for lag in range(L):
                hs = _delay(h, lag)
                w[:, :, lag] *= (x @ hs.T) / (xhat @ hs.T + self.lam * (xs @ hs.T) @ cross + _EPS)
        self.templates, self.activations = w, h
        self.loss = float(((x - reconstruct(w, h)) ** 2).sum() / (x**2).sum())
        self.weights = torch.einsum("ik,jk,k->ij", w[:, :, 0], w[:, :, 1], h.sum(1)) / k
        return self
