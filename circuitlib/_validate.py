"""Input checks shared by simulators and metrics: one clear sentence before any maths runs."""
from __future__ import annotations

import torch


def square_matrix(name: str, w) -> torch.Tensor:
    """``w`` as a float64 ``[N, N]`` tensor (N >= 2, all finite), else a ``ValueError`` naming ``name``."""
    w = torch.as_tensor(w)
    if w.dim() != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError(f"{name} must be a square [N, N] matrix with N >= 2, got shape {tuple(w.shape)}.")
    if not torch.isfinite(w).all():
        raise ValueError(f"{name} contains NaN or inf.")
    return w.to(torch.float64)
