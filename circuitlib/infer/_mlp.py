"""The one MLP builder the inference models share."""
from __future__ import annotations

from torch import nn


def mlp(dims: list[int]) -> nn.Sequential:
    """Linear layers of the given widths ``[n_in, ..., n_out]`` with ReLU between them (none after the last)."""
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])
