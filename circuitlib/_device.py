"""Device resolution shared by simulators and models."""
from __future__ import annotations

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return a ``torch.device``; ``"auto"`` picks CUDA when present, else the CPU.

    Raises ``ValueError`` for a CUDA device on a machine without one, so that a chapter
    written for a GPU says what is wrong instead of failing deep inside torch.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'.") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asks for CUDA but torch sees no GPU; use device='auto' or 'cpu'.")
    return dev
