"""Population statistics of binned activity ``x`` ``[T, N]`` (time-major, neurons in ring order)."""
from __future__ import annotations

import math

import torch

from ..ring_geometry import ring_distance


def _check_activity(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"activity must be [T, N] with T >= 2 and N >= 2, got shape {tuple(x.shape)}.")
    if not torch.isfinite(x).all():
        raise ValueError("activity contains NaN or inf.")
    return x.to(torch.float64)


def correlation_matrix(x: torch.Tensor, silent: str = "raise") -> torch.Tensor:
    """Pearson correlation between neurons ``[N, N]``.

    A neuron with constant activity has no correlation: ``silent="raise"`` stops with an error,
    ``silent="nan"`` marks its row and column NaN (``mean_by_ring_distance`` then skips them).
    """
    if silent not in ("raise", "nan"):
        raise ValueError(f"silent must be 'raise' or 'nan', got {silent!r}.")
    x = _check_activity(x)
    xc = x - x.mean(0)
    sd = xc.pow(2).sum(0).sqrt()
    if silent == "nan":
        sd = torch.where(sd == 0, torch.nan, sd)
    elif (sd == 0).any():
        silent = torch.nonzero(sd == 0).flatten().tolist()
        raise ValueError(f"neurons {silent[:10]} have constant activity, so their correlation is undefined; "
                         "use longer recordings or drop them.")
    return (xc.T @ xc) / (sd[:, None] * sd[None, :])


def spatial_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Mean power of each spatial frequency k = 0..N//2 across time bins, ``[N//2 + 1]``.

    Each time bin's population vector is mean-subtracted, so k = 0 carries no power.
    """
    x = _check_activity(x)
    f = torch.fft.rfft(x - x.mean(1, keepdim=True), dim=1)
    return f.abs().pow(2).mean(0)


def bump_count(x: torch.Tensor) -> int:
    """Number of activity bumps on the ring: the dominant spatial frequency of ``x`` ``[T, N]``."""
    return int(spatial_spectrum(x)[1:].argmax()) + 1


def bump_phase(x: torch.Tensor, k: int) -> torch.Tensor:
    """Position of the bumps per time bin ``[T]``, in neurons within one period ``N / k``.

    Phase of the k-th spatial Fourier component mapped back to neuron units; unwrap it
    (period N / k) to follow a drifting bump.
    """
    x = _check_activity(x)
    n = x.shape[1]
    if not 1 <= k <= n // 2:
        raise ValueError(f"spatial frequency k must lie in [1, {n // 2}], got {k}.")
    pos = torch.arange(n, dtype=torch.float64, device=x.device)
    z = (x * torch.exp(1j * 2 * math.pi * k * pos / n)).sum(1)
    return torch.remainder(torch.angle(z) * n / (2 * math.pi * k), n / k)


def unwrap(phase: torch.Tensor, period: float) -> torch.Tensor:
    """Remove jumps larger than half a period from a ``[T]`` sequence (like numpy.unwrap)."""
    d = torch.diff(phase)
    d = d - period * torch.round(d / period)
    return torch.cat([phase[:1], phase[0] + torch.cumsum(d, 0)])


def mean_by_ring_distance(m: torch.Tensor) -> torch.Tensor:
    """Average the entries of a ``[N, N]`` matrix over pairs at each ring distance d = 0..N//2.

    Turns a weight or correlation matrix on a ring into its profile ``[N//2 + 1]``. NaN entries
    (e.g. silent neurons' correlations) are left out of the average, never propagated; a
    distance with no finite entry raises.
    """
    if m.dim() != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"need a square [N, N] matrix, got shape {tuple(m.shape)}.")
    n = m.shape[0]
    d = ring_distance(n).long().to(m.device).flatten()
    values = m.flatten().double()
    finite = torch.isfinite(values)
    sums = torch.zeros(n // 2 + 1, dtype=torch.float64, device=m.device).index_add_(0, d[finite], values[finite])
    counts = torch.bincount(d[finite], minlength=n // 2 + 1)
    if (counts == 0).any():
        raise ValueError("some ring distances have no finite entries; too many neurons are silent.")
    return sums / counts
