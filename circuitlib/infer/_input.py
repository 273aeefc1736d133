"""Turn what a user passes to ``fit``/``score`` into checked dense counts ``[T, N]``."""
from __future__ import annotations

import torch

from ..data.spikes import SpikeTrain


def check_bin_width(bin_width: float | None, allow_none: bool = True) -> None:
    """Raise ``ValueError`` unless ``bin_width`` is a positive number of seconds (or, with
    ``allow_none``, None: keep a SpikeTrain's own dt)."""
    if bin_width is None and allow_none:
        return
    if isinstance(bin_width, bool) or not isinstance(bin_width, (int, float)) or not bin_width > 0:
        keep = " (or None to keep a SpikeTrain's own dt)" if allow_none else ""
        raise ValueError(f"bin_width must be a positive number of seconds{keep}, got {bin_width!r}.")


def encoder_bins(data, bin_width: float | None, tau: float) -> tuple[int, int]:
    """The ring GNNs' encoder width 2 tau and stride 0.2 tau, in bins of ``bin_width`` seconds (None:
    the SpikeTrain ``data``'s own dt), each at least 1 (Yoon 2025, Sec. 3.2)."""
    dt = bin_width if bin_width is not None else getattr(data, "dt", None)
    if dt is None:
        raise ValueError("bin_width=None keeps a SpikeTrain's own dt; for dense counts give bin_width.")
    return max(1, round(2 * tau / dt)), max(1, round(0.2 * tau / dt))


def _at_bin_width(train: SpikeTrain, bin_width: float | None) -> SpikeTrain:
    """``train`` re-binned to ``bin_width`` seconds (``None`` or its own ``dt``: unchanged)."""
    return train if bin_width is None or abs(bin_width - train.dt) < 1e-12 else train.bin(bin_width)


def binned_counts(data, bin_width: float | None, device: torch.device, dtype: torch.dtype,
                  stretch: bool = False) -> torch.Tensor:
    """Spike counts ``[T, N]`` per bin of ``bin_width`` seconds, on ``device`` as ``dtype``.

    data: a :class:`SpikeTrain` (binned here; ``bin_width=None`` keeps its own ``dt``) or a dense
    ``[T, N]`` array of counts that is taken to be binned already. Raises ``ValueError`` for a wrong
    shape, NaN/inf, negative counts, or a recording in which no neuron spiked. ``stretch=True``: one
    stretch of a recording with gaps, which may be short and silent (only its neurons are checked).
    """
    if isinstance(data, SpikeTrain):
        x = _at_bin_width(data, bin_width).to_dense(dtype=dtype, device=device)
    else:
        x = torch.as_tensor(data).to(device=device, dtype=dtype)
        if x.dim() != 2:
            raise ValueError(f"dense spike counts must be [T, N] (time-major), got shape {tuple(x.shape)}.")
        if not torch.isfinite(x).all():
            raise ValueError("spike counts contain NaN or inf; clean the recording before fitting.")
        if (x < 0).any():
            raise ValueError("spike counts cannot be negative.")
    if x.shape[1] < 2 or (x.shape[0] < 2 and not stretch):
        raise ValueError(f"need at least 2 neurons and 2 time bins, got shape {tuple(x.shape)}.")
    if not stretch and not x.any():
        raise ValueError("no neuron spiked in these data; there is nothing to infer connectivity from.")
    return x


def binned_angles(data, bin_width: float | None, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The external angle ``[T]`` (rad) per bin of ``bin_width`` seconds of a :class:`SpikeTrain`
    (``None`` keeps its own dt); raises if the train carries no angle."""
    binned = _at_bin_width(data, bin_width)
    if getattr(binned, "theta", None) is None:
        raise ValueError("this model reads the external angle: pass SpikeTrains that carry theta.")
    return binned.theta.to(device, dtype)
