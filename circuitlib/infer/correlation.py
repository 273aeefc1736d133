r"""Correlation baselines: the naive answer that connectivity is what co-varies.

* ``Correlation(kind="pearson")`` — Pearson correlation of binned counts, :math:`C_{ij}`;
* ``Correlation(kind="partial")`` — partial correlation from the precision matrix
  :math:`P = \Sigma^{-1}`: :math:`-P_{ij} / \sqrt{P_{ii} P_{jj}}`, the correlation of i and j once
  every other neuron is regressed out (with optional shrinkage of :math:`\Sigma` towards its diagonal).

Both are symmetric with a zero diagonal and carry no sign convention of synapses: in a ring of purely
inhibitory neurons, co-active neighbours correlate positively.
"""
from __future__ import annotations

import torch

from .._device import resolve_device
from ._input import binned_counts, check_bin_width
from .base import ConnectivityEstimator

KINDS = ("pearson", "partial")


class Correlation(ConnectivityEstimator):
    """Correlation matrix of spike counts in ``bin_width``-second bins as a connectivity estimate.

    After :meth:`fit`: ``weights`` ``[N, N]`` (float64, zero diagonal). Silent neurons have no
    correlation; they raise ``ValueError`` rather than turning into NaN rows.
    """

    def __init__(self, kind: str = "pearson", *, bin_width: float = 0.01, shrinkage: float = 0.0, device="auto"):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        if not 0.0 <= shrinkage < 1.0:
            raise ValueError(f"shrinkage must lie in [0, 1), got {shrinkage}.")
        check_bin_width(bin_width)
        self.kind, self.bin_width, self.shrinkage = kind, bin_width, shrinkage
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
        xc = x - x.mean(0)
        cov = xc.T @ xc / (x.shape[0] - 1)
        corr = cov / (sd[:, None] * sd[None, :])
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
