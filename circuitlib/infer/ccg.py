r"""Cross-correlogram (CCG) connectivity against an interval-jitter null.

For each ordered pair (receiver i, sender j) count the spikes of i at lags ``lags[0]..lags[1]``
seconds after the spikes of j,

.. math:: O_{ij} = \sum_t y_i(t)\, x_j(t), \qquad y_i(t) = \sum_{l = l_0}^{l_1} x_i(t + l),

on spike counts :math:`x` ``[T, N]`` in bins of ``bin_width`` seconds. The null is interval jitter
(Date, Bienenstock & Geman 1998; Amarasingham et al. 2012): time is cut into windows of
``jitter`` seconds and every spike of j is moved independently and uniformly within its own
window, keeping i fixed. This preserves any co-modulation slower than the window (a shared slow
input, rate changes) and destroys fine timing. Under it the count is a sum of independent
per-spike terms, so its mean and variance are exact and analytic: with :math:`C_{wj}` the count of
j in window w and :math:`m_{wi}`, :math:`s_{wi}` the window means of :math:`y_i` and
:math:`y_i^2`,

.. math:: E_{ij} = \sum_w m_{wi} C_{wj}, \qquad V_{ij} = \sum_w (s_{wi} - m_{wi}^2) C_{wj},

three matrix products over windows, no Monte Carlo surrogates. ``.weights`` holds, with
``statistic="z"`` (default), :math:`(O - E) / \sqrt{V}`: the signed excess synchrony in null
standard deviations, what a significance test ranks (it grows as the square root of the
recording and of the rates). ``statistic="ratio"``: :math:`O / E - 1`, the relative change of i's
rate after a spike of j, comparable across rates but noisier for sparse pairs. Pairs with no
null variance (a silent neuron) score 0; so does the diagonal.

The null's echo: a strong synapse j -> i locks i's spikes to just after j's; jittering i's spikes
(as the sender of the reverse pair) moves some of them before j's spikes, so the reverse pair
i -> j gets a score of the opposite sign, measured at up to about half the forward |z| (tests).
Rank candidate edges with that in mind; the reverse of a strong edge is the likeliest false one.

Recordings are processed in chunks of whole windows, so 30 minutes at 1 ms need little memory;
a final incomplete window is dropped.
"""
from __future__ import annotations

import torch

from .._device import resolve_device
from ..data.spikes import SpikeTrain
from ._input import _at_bin_width, binned_counts, check_bin_width
from .base import ConnectivityEstimator

STATISTICS = ("z", "ratio")
_CHUNK_BINS = 20_000       # bins per chunk (rounded down to whole windows)


def _steps(name: str, seconds: float, bin_width: float) -> int:
    """``seconds`` as a whole number of bins, else a ValueError."""
    k = round(seconds / bin_width)
    if abs(k * bin_width - seconds) > 1e-9 * max(1.0, seconds) + 1e-12:
        raise ValueError(f"{name}={seconds} s is not a whole number of bins of bin_width={bin_width} s.")
    return k


class CCG(ConnectivityEstimator):
    """Excess synchrony of i after j in a short lag window over an interval-jitter null.

    lags: (first, last) lag in seconds, inclusive, whole bins, 0 < first <= last (default 1-5 ms:
    monosynaptic latencies). jitter: the jitter window in seconds (default 20 ms, within the
    10-25 ms the field uses), whole bins and longer than the last lag. bin_width: seconds; a
    SpikeTrain is binned to it, dense counts ``[T, N]`` are taken to be binned at it.
    statistic: "z" or "ratio" (see the module docstring).

    After :meth:`fit`: ``weights`` ``[N, N]`` (float64, row = receiver i, column = sender j),
    ``observed``, ``expected`` and ``null_sd`` ``[N, N]`` (counts of i in the lag window after
    spikes of j, their null mean and standard deviation).
    """

    def __init__(self, *, lags: tuple[float, float] = (0.001, 0.005), jitter: float = 0.02, bin_width: float = 0.001,
                 statistic: str = "z", device="auto"):
        check_bin_width(bin_width, allow_none=False)
        if statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}.")
        try:
            first, last = (float(v) for v in lags)
        except (TypeError, ValueError) as err:
            raise ValueError(f"lags must be a (first, last) pair of seconds, got {lags!r}.") from err
        if not 0 < first <= last:
            raise ValueError(f"lags must satisfy 0 < first <= last seconds, got {lags!r}.")
        self.lag_bins = (_steps("lags[0]", first, bin_width), _steps("lags[1]", last, bin_width))
        if isinstance(jitter, bool) or not (isinstance(jitter, (int, float)) and jitter > last):
            raise ValueError(f"jitter must be a window in seconds longer than the last lag ({last} s), got {jitter!r}.")
        self.jitter_bins = _steps("jitter", jitter, bin_width)
        self.lags, self.jitter, self.bin_width, self.statistic = (first, last), float(jitter), bin_width, statistic
        self.device = resolve_device(device)

    def fit(self, data, validation=None) -> CCG:
        """Estimate from a SpikeTrain or counts ``[T, N]`` binned at ``bin_width``; ``validation``
        is accepted for the common interface and ignored (nothing is chosen)."""
        n_bins, n, chunks = self._chunks(data)
        l0, l1 = self.lag_bins
        win = self.jitter_bins
        if n_bins < win:
            raise ValueError(f"the recording ({n_bins} bins) is shorter than one jitter window ({win} bins).")
        z = torch.zeros(n, n, dtype=torch.float64, device=self.device)
        observed, expected, variance = z.clone(), z.clone(), z.clone()
        for x, ahead in chunks:                                   # x [K, N] whole windows, ahead [l1, N]
            k = x.shape[0]
            ext = torch.cat([x, ahead])
            y = ext[l0:l0 + k].clone()                                         # [K, N] i's spikes at the lags
            for lag in range(l0 + 1, l1 + 1):
                y += ext[lag:lag + k]
            counts = x.reshape(-1, win, n).sum(1)                              # [W, N]
            m = y.reshape(-1, win, n).mean(1)
            s = (y * y).reshape(-1, win, n).mean(1)
            observed += y.T @ x
            expected += m.T @ counts
            variance += (s - m * m).T @ counts
        sd = variance.clamp(min=0).sqrt()
        if self.statistic == "z":
            w = torch.where(sd > 0, (observed - expected) / sd.clamp(min=1e-300), 0.0)
        else:
            w = torch.where(expected > 0, observed / expected.clamp(min=1e-300) - 1, 0.0)
        self.observed, self.expected, self.null_sd = (v.cpu() for v in (observed, expected, sd))
        self.weights = w.fill_diagonal_(0.0)
        return self

    def _chunks(self, data):
        """``(n_bins, N, iterator of (x [K, N], next l1 bins [l1, N]))`` over whole jitter windows."""
        win, l1 = self.jitter_bins, self.lag_bins[1]
        chunk = max(win, _CHUNK_BINS // win * win)
        if isinstance(data, SpikeTrain):
            train = _at_bin_width(data, self.bin_width)
            if train.n_neurons < 2 or train.n_spikes == 0:
                raise ValueError(f"need at least 2 neurons and some spikes, got {train.n_neurons} neurons and "
                                 f"{train.n_spikes} spikes.")
            t, i, c = (v.to(self.device) for v in (train.times, train.neurons, train.counts))
            n, n_bins = train.n_neurons, train.n_steps

            def dense(start, stop):
                lo, hi = torch.searchsorted(t, torch.tensor([start, min(stop, n_bins)], device=self.device))
                x = torch.zeros(stop - start, n, dtype=torch.float64, device=self.device)
                x[t[lo:hi] - start, i[lo:hi]] = c[lo:hi].double()
                return x
        else:
            full = binned_counts(data, self.bin_width, self.device, torch.float64)
            n_bins, n = full.shape

            def dense(start, stop):
                x = full[start:min(stop, n_bins)]
                return torch.cat([x, x.new_zeros(stop - start - x.shape[0], n)]) if x.shape[0] < stop - start else x
        usable = n_bins // win * win

        def chunks():
            for start in range(0, usable, chunk):
                stop = min(start + chunk, usable)
                yield dense(start, stop), dense(stop, stop + l1)
        return n_bins, n, chunks()
