"""The latent dynamics of a low-rank tanh rate network, shared by the simulator and the fits.

With left and right loadings ``m, n`` ``[N, R]`` (connectivity ``J = m n^T / N``, time in units of
the membrane time constant), activity x projects to latent coordinates
``kappa = (m^T m)^{-1} m^T x`` and, when x lies in span(m) and there is no input, they follow
``dkappa/dt = -kappa + (1/N) n^T tanh(m kappa)`` (Beiran et al. 2021; Kim et al. 2026).

:class:`GatedLowRank` adds a bias per neuron and a scalar input u that gates a second set of right
loadings, J(u) = m (n + u n_gate)^T / N: the model fitted to the head-direction cells, whose
angular velocity turns the activity around a ring (the asymmetric weights of Zhang 1996).
"""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class GatedLowRank:
    """Loadings ``m``, ``n``, ``n_gate`` [N, R] and ``bias`` [N] (float64) of the network, in its time
    constants,

        dz/dt = -z + m kappa_rec + b,      kappa_rec = (1/N) (n + u n_gate)^T tanh(z)

    with a scalar input u(t). ``z - b`` stays in span(m) once there; its coordinates
    ``kappa = (m^T m)^{-1} m^T (z - b)`` then follow ``dkappa/dt = field(kappa, u)``."""

    m: torch.Tensor
    n: torch.Tensor
    n_gate: torch.Tensor
    bias: torch.Tensor

    def __post_init__(self):
        check_loadings(self.m, self.n)
        check_loadings(self.m, self.n_gate)
        if self.bias.shape != (self.m.shape[0],):
            raise ValueError(f"bias must be [N] = [{self.m.shape[0]}], got {tuple(self.bias.shape)}.")

    @property
    def rank(self) -> int:
        return self.m.shape[1]

    def field(self, kappa: torch.Tensor, u) -> torch.Tensor:
        """dkappa/dt at ``kappa`` [..., R] under input ``u`` (a number, or [...]). [..., R]."""
        u = torch.as_tensor(u, dtype=kappa.dtype)[..., None]
        drive = torch.tanh(kappa @ self.m.T + self.bias)
        return -kappa + (drive @ self.n + u * (drive @ self.n_gate)) / self.m.shape[0]

    def step(self, z: torch.Tensor, u: torch.Tensor, h: float) -> torch.Tensor:
        """One Euler step of ``h`` time constants of the full states ``z`` [B, N] under ``u`` [B]."""
        drive = torch.tanh(z)
        rec = (drive @ self.n + u[:, None] * (drive @ self.n_gate)) / self.m.shape[0]
        return z + h * (-z + rec @ self.m.T + self.bias)

    def latent(self, z: torch.Tensor) -> torch.Tensor:
        """``kappa`` [..., R] of states ``z`` [..., N] (their part outside b + span(m) dropped)."""
        return latent(z - self.bias, self.m)

    def rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-neuron parameters as two tables: ``[m, b]`` [N, R + 1] and ``[n, n_gate]`` [N, 2R]
        (what a distribution over neurons, e.g. a flow, is trained on)."""
        return torch.cat([self.m, self.bias[:, None]], 1), torch.cat([self.n, self.n_gate], 1)

    @classmethod
    def from_rows(cls, m_bias: torch.Tensor, n_both: torch.Tensor) -> GatedLowRank:
        """The network whose neurons have the rows ``[m, b]`` [N, R + 1] and ``[n, n_gate]`` [N, 2R]."""
        rank = m_bias.shape[1] - 1
        if rank < 1 or n_both.shape != (m_bias.shape[0], 2 * rank):
            raise ValueError(f"need [m, b] [N, R + 1] and [n, n_gate] [N, 2R]; got {tuple(m_bias.shape)} and "
                             f"{tuple(n_both.shape)}.")
        m_bias, n_both = m_bias.to(DTYPE), n_both.to(DTYPE)
        return cls(m_bias[:, :rank], n_both[:, :rank], n_both[:, rank:], m_bias[:, rank])
