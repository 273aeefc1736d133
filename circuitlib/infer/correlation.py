r"""Correlation baselines: the naive answer that connectivity is what co-varies.

* ``Correlation(kind="pearson")`` — Pearson correlation of binned counts, :math:`C_{ij}`;
* ``Correlation(kind="partial")`` — partial correlation from the precision matrix
  :math:`P = \Sigma^{-1}`: :math:`-P_{ij} / \sqrt{P_{ii} P_{jj}}`, the correlation of i and j once
  every other neuron is regressed out (with optional shrinkage of :math:`\Sigma` towards its diagonal).

Both are symmetric with a zero diagonal and carry no sign convention of synapses: in a ring of purely
inhibitory neurons, co-active neighbours correlate positively.

Bin width. The zero-lag forms see a synapse only when the postsynaptic response falls in the same
bin as the presynaptic spike, so the bin must be at least as wide as the synaptic delay plus its
time constant (about 10 ms for ~1-5 ms synapses: the default ``bin_width=0.01``). At 1 ms bins a
monosynaptic effect lands in the next bins, and zero-lag correlations rank true edges near chance.
``max_lag`` (Pearson only) instead looks over lags: ``w_ij`` is the cross-correlation
``corr(x_i(t), x_j(t - k))`` at the lag ``k`` in ``0 .. max_lag / bin_width`` bins (sender j
leading or in the same bin) where it is largest in magnitude, with its sign. It is directed:
``w_ji`` takes the lags where i leads, so a lagged pair shows up above the diagonal or below it.
"""
from __future__ import annotations

import torch

from .._device import resolve_device
from ._input import binned_counts, check_bin_width
from .base import ConnectivityEstimator

KINDS = ("pearson", "partial")


class Correlation(ConnectivityEstimator):
    """Correlation matrix of spike counts in ``bin_width``-second bins as a connectivity estimate.

    ``max_lag`` (s, default 0: zero lag only): the directed lag window of the module docstring
    (``kind="pearson"`` only); ``lag`` then holds the chosen lag of each pair ``[N, N]`` (bins,
    sender j leading receiver i; None at zero lag). After :meth:`fit`: ``weights`` ``[N, N]`` (float64, zero
    diagonal). Silent neurons have no correlation; they raise ``ValueError`` rather than turning
    into NaN rows.
    """

    def __init__(self, kind: str = "pearson", *, bin_width: float = 0.01, shrinkage: float = 0.0,
                 max_lag: float = 0.0, device="auto"):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        if not 0.0 <= shrinkage < 1.0:
            raise ValueError(f"shrinkage must lie in [0, 1), got {shrinkage}.")
        check_bin_width(bin_width)
        if not max_lag >= 0 or (max_lag > 0 and kind != "pearson"):
            raise ValueError(f"max_lag must be >= 0 seconds, and a lag window needs kind='pearson'; got "
                             f"max_lag={max_lag}, kind={kind!r}.")
        self.kind, self.bin_width, self.shrinkage, self.max_lag = kind, bin_width, shrinkage, max_lag
        self.device = resolve_device(device)

    def fit(self, data, validation=None) -> Correlation:
        """Estimate from a SpikeTrain or counts ``[T, N]`` already binned at ``bin_width``;
        ``validation`` is accepted for the common interface and ignored (nothing is chosen)."""
        x = binned_counts(data, self.bin_width, self.device, torch.float64)
        sd = x.std(0)
        if (sd == 0).any():
            silent = torch.nonzero(sd == 0).flatten().tolist()
            raise ValueError(f"neurons {silent} have constant counts, so their correlations are undefined; "
                             "drop them or use a longer recording.")
        z = (x - x.mean(0)) / sd
        n_lags = round(self.max_lag / self.bin_width)
        if n_lags >= x.shape[0] - 1:
            raise ValueError(f"max_lag={self.max_lag} s spans {n_lags} bins, the whole recording; use a shorter lag.")
        if n_lags > 0:
            # c[k, i, j] = corr(x_i(t), x_j(t - k)), each lag over the bins where both exist
            c = torch.stack([z[k:].T @ z[:z.shape[0] - k] / (z.shape[0] - k - 1) for k in range(n_lags + 1)])
            self.lag = c.abs().argmax(0)
            self.weights = c.gather(0, self.lag[None])[0].fill_diagonal_(0.0)
            return self
        self.lag = None
        corr = z.T @ z / (x.shape[0] - 1)
        if self.kind == "partial":
            shrunk = (1 - self.shrinkage) * corr + self.shrinkage * torch.eye(corr.shape[0], dtype=corr.dtype,
                                                                               device=corr.device)
            try:
                prec = torch.linalg.inv(shrunk)
            except torch.linalg.LinAlgError as err:
                raise ValueError("the correlation matrix is singular (more neurons than informative bins?); "
                                 "use shrinkage > 0 or more data.") from err
            d = prec.diagonal().sqrt()
            corr = -prec / (d[:, None] * d[None, :])
        self.weights = corr.fill_diagonal_(0.0)
        return self
