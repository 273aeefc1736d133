"""Recorded rate activity: continuous states sampled on a regular clock.

    activity = RateActivity(x, dt=0.01, dxdt=dxdt)      # x, dxdt [T, N] (or [B, T, N] for B trials)
    train, held_out = activity.split(0.8)                # contiguous: the first 80 % of the frames
    activity.times                                       # [T] frame times, in the unit of dt

``dt`` is in the time unit of whatever produced the data: seconds for a recording, the model's
own unit for a simulation (the membrane time constant of a low-rank network, the unit of the
assembly's tau). ``inputs`` is an external input, one value per frame and neuron (the shape of
``x``) or per frame and input channel ([T, K]: e.g. a head velocity that every neuron sees); how
it enters the dynamics (added, or gating the recurrent drive) is for the model that reads it to say.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def _frames(name: str, value, shape=None, channels: bool = False) -> torch.Tensor:
    """``value`` as floating frames; with ``shape`` (that of x) it must match it, or with ``channels``
    match it in every dimension but the last."""
    value = torch.as_tensor(value)
    if value.dim() not in (2, 3) or value.shape[-2] < 1 or value.shape[-1] < 1:
        raise ValueError(f"{name} must be [T, N] (or [B, T, N] for B trials) with T, N >= 1, "
                         f"got shape {tuple(value.shape)}.")
    if shape is not None and (value.shape[:-1] != shape[:-1] if channels else value.shape != shape):
        want = "[..., T, K] with the trials and frames of x" if channels else "the shape of x"
        raise ValueError(f"{name} must have {want} {tuple(shape)}, got {tuple(value.shape)}; "
                         "pass one value per frame and neuron" + (" or input channel." if channels else "."))
    if not value.is_floating_point():
        value = value.double()
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or inf; drop or interpolate those frames first.")
    return value


@dataclass(frozen=True, eq=False)
class RateActivity:
    """States ``x`` ``[T, N]`` (or ``[B, T, N]``: B trials on the same clock) sampled every ``dt``;
    optional derivatives ``dxdt`` shaped like ``x`` and external ``inputs`` (shaped like ``x``, or
    ``[T, K]`` / ``[B, T, K]`` for K channels every neuron sees); ``start`` the
    time of frame 0 (frames keep their times when sliced)."""

    x: torch.Tensor
    dt: float
    dxdt: torch.Tensor | None = None
    inputs: torch.Tensor | None = None
    start: float = 0.0

    def __post_init__(self):
        x = _frames("x", self.x)
        object.__setattr__(self, "x", x)
        for name in ("dxdt", "inputs"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _frames(name, getattr(self, name), x.shape, name == "inputs"))
        try:
            dt = float(self.dt)
        except (TypeError, ValueError):
            dt = float("nan")
        if not dt > 0:
            raise ValueError(f"dt is the positive time between frames, got {self.dt!r}.")
        object.__setattr__(self, "dt", dt)

    @property
    def n_neurons(self) -> int:
        return self.x.shape[-1]

    @property
    def n_frames(self) -> int:
        return self.x.shape[-2]

    @property
    def n_trials(self) -> int:
        """B for ``[B, T, N]`` activity, 1 for ``[T, N]``."""
        return self.x.shape[0] if self.x.dim() == 3 else 1

    @property
    def times(self) -> torch.Tensor:
        """Frame times ``[T]`` (float64, CPU), ``start + dt * frame``."""
        return self.start + self.dt * torch.arange(self.n_frames, dtype=torch.float64)

    def slice(self, first: int, stop: int | None = None) -> RateActivity:
        """Frames ``first`` to ``stop`` (exclusive; default the end) of every field."""
        stop = self.n_frames if stop is None else stop
        if not 0 <= first < stop <= self.n_frames:
            raise ValueError(f"need 0 <= first < stop <= T = {self.n_frames}, got {first}, {stop}.")
        def cut(v):
            return None if v is None else v[..., first:stop, :]

        return RateActivity(cut(self.x), self.dt, cut(self.dxdt), cut(self.inputs), self.start + first * self.dt)

    def split(self, fraction: float) -> tuple[RateActivity, RateActivity]:
        """The first ``fraction`` of the frames and the rest (contiguous, e.g. train and held out)."""
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction}.")
        cut = round(fraction * self.n_frames)
        if not 0 < cut < self.n_frames:
            raise ValueError(f"{self.n_frames} frames are too few to split at {fraction}; record more.")
        return self.slice(0, cut), self.slice(cut)

    def to(self, device) -> RateActivity:
        """The same activity with every tensor on ``device``."""
        def move(v):
            return None if v is None else v.to(device)

        return RateActivity(move(self.x), self.dt, move(self.dxdt), move(self.inputs), self.start)
