"""The latent dynamics of a low-rank tanh rate network, shared by the simulator and the fits.

With left and right loadings ``m, n`` ``[N, R]`` (connectivity ``J = m n^T / N``, time in units of
the membrane time constant), activity x projects to latent coordinates
``kappa = (m^T m)^{-1} m^T x`` and, when x lies in span(m) and there is no input, they follow
``dkappa/dt = -kappa + (1/N) n^T tanh(m kappa)`` (Beiran et al. 2021; Kim et al. 2026).
"""
from __future__ import annotations

import torch

DTYPE = torch.float64


def check_loadings(m: torch.Tensor, n: torch.Tensor) -> None:
    """Raise ``ValueError`` unless m and n are both ``[N, R]`` with rank R < N."""
    if m.dim() != 2 or m.shape != n.shape:
        raise ValueError(f"m and n must both be [N, R] with the same shape, got {tuple(m.shape)} and {tuple(n.shape)}.")
    if m.shape[1] >= m.shape[0]:
        raise ValueError(f"rank R={m.shape[1]} must be smaller than the number of neurons N={m.shape[0]}.")


def latent(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Latent coordinates ``kappa = (m^T m)^{-1} m^T x`` of activity ``x`` [..., N]. [..., R]."""
    if x.shape[-1] != m.shape[0]:
        raise ValueError(f"x has {x.shape[-1]} neurons but m has {m.shape[0]} rows.")
    return torch.linalg.solve(m.T @ m, m.T @ x.reshape(-1, m.shape[0]).T).T.reshape(*x.shape[:-1], m.shape[1])


def latent_field(m: torch.Tensor, n: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """The latent flow field ``-kappa + (1/N) n^T tanh(m kappa)`` at points ``kappa`` [..., R]. [..., R].

    With ``(m, n)`` sampled from a distribution with many neurons this is the mean-field field.
    """
    check_loadings(m, n)
    return -kappa + torch.tanh(kappa @ m.T) @ n / m.shape[0]
