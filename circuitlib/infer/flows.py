"""Conditional flow matching in plain torch, and flows over low-rank connectivity (Kim et al. 2026).

Flow matching (straight paths, Lipman et al. 2023): with ``z0 ~ N(0, I)``, a data point ``z1``
(optionally with a condition c) and ``t ~ U(0, 1)``,

    z_t = (1 - t) z0 + t z1,        loss = E | v(z_t, t, c) - (z1 - z0) |^2

trains an MLP velocity field v; integrating ``dz/dt = v(z, t, c)`` from noise at t = 0 to t = 1
(midpoint steps) draws from the learned p(z | c). Data and conditions are standardised inside.

:class:`ConnectivityFlow` learns p(m) and p(n | m) from per-neuron loadings and samples new
networks ``n = n_flow(m) + residual_std * eps`` with an explicit isotropic residual for the part
of n that the dynamics leave unconstrained (its size is not identifiable from the dynamics).
:class:`GaussianConnectivity`, one Gaussian fitted to the same loadings, is its baseline with the
same ``fit`` / ``sample`` contract: it holds a covariance, not tails or populations.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._device import resolve_device
from ..train import run_steps, seeded
from .base import NotFittedError


@dataclass(frozen=True)
class FlowConfig:
    """Velocity MLP (``layers`` hidden layers of ``hidden`` SiLU units), Adam training, ODE steps."""

    hidden: int = 128
    layers: int = 3
    steps: int = 3000
    batch: int = 512
    lr: float = 2e-3
    ode_steps: int = 32

    def __post_init__(self):
        if min(self.hidden, self.layers, self.steps, self.batch, self.ode_steps) < 1 or not self.lr > 0:
            raise ValueError(f"all FlowConfig sizes must be >= 1 and lr > 0, got {self}.")


def _mlp(n_in: int, n_out: int, cfg: FlowConfig) -> nn.Sequential:
    sizes = [n_in] + [cfg.hidden] * cfg.layers
    blocks = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.SiLU())]
    return nn.Sequential(*blocks, nn.Linear(sizes[-1], n_out))


def _as_2d(name: str, a, rows: int | None = None) -> torch.Tensor:
    a = torch.as_tensor(a)
    if a.dim() != 2 or (rows is not None and a.shape[0] != rows):
        want = "[S, D]" if rows is None else f"[{rows}, D]"
        raise ValueError(f"{name} must be a {want} matrix, got shape {tuple(a.shape)}.")
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf.")
    return a.float()


class ConditionalFlow:
    """p(z | c) for ``z`` in R^dim, ``c`` in R^cond_dim (``cond_dim = 0``: an unconditional p(z)).

    After :meth:`fit`: ``training_log`` (one dict per Adam step: ``step``, ``loss``) and the
    standardisation ``z_mean``, ``z_std`` (and ``c_mean``, ``c_std``) ``[dim]`` / ``[cond_dim]``.
    """

    def __init__(self, dim: int, cond_dim: int = 0, config: FlowConfig = FlowConfig(), seed: int = 0,
                 device: str | torch.device = "auto"):
        if dim < 1 or cond_dim < 0:
            raise ValueError(f"need dim >= 1 and cond_dim >= 0, got {dim} and {cond_dim}.")
        self.dim, self.cond_dim, self.config, self.seed = dim, cond_dim, config, seed
        self.device = resolve_device(device)
        with seeded(seed):
            self.net = _mlp(dim + 1 + cond_dim, dim, config).to(self.device)

    def _cond(self, c, rows: int) -> torch.Tensor:
        if self.cond_dim == 0:
            return torch.zeros(rows, 0, device=self.device)
        c = _as_2d("the condition", c, rows)
        if c.shape[1] != self.cond_dim:
            raise ValueError(f"the condition must have {self.cond_dim} columns, got {c.shape[1]}.")
        return (c.to(self.device) - self.c_mean) / self.c_std

    def velocity(self, z: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """v(z, t, c) in standardised units; ``z`` [S, dim], ``t`` [S, 1], ``c`` [S, cond_dim]."""
        return self.net(torch.cat([z, t, c], 1))

    def loss(self, z1: torch.Tensor, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Flow-matching loss of one batch (standardised ``z1`` [S, dim], ``c`` [S, cond_dim])."""
        z0 = torch.randn(z1.shape, generator=gen, device=self.device)
        t = torch.rand(len(z1), 1, generator=gen, device=self.device)
        return ((self.velocity((1 - t) * z0 + t * z1, t, c) - (z1 - z0)) ** 2).sum(1).mean()

    def fit(self, z, c=None, progress: bool = False) -> ConditionalFlow:
        """Train on samples ``z`` [S, dim] (with conditions ``c`` [S, cond_dim]). Sets ``training_log``."""
        z = _as_2d("z", z).to(self.device)
        if z.shape[1] != self.dim:
            raise ValueError(f"z must have {self.dim} columns, got {z.shape[1]}.")
        self.z_mean, self.z_std = z.mean(0), z.std(0) + 1e-8
        if self.cond_dim:
            c_raw = _as_2d("the condition", c, len(z)).to(self.device)
            self.c_mean, self.c_std = c_raw.mean(0), c_raw.std(0) + 1e-8
        z, c = (z - self.z_mean) / self.z_std, self._cond(c, len(z))
        gen = torch.Generator(device=self.device).manual_seed(self.seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, self.config.steps)

        def step_loss(_):
            idx = torch.randint(len(z), (min(self.config.batch, len(z)),), generator=gen, device=self.device)
            return self.loss(z[idx], c[idx], gen), {}

        self.training_log = run_steps(step_loss, opt, self.config.steps, sched, progress=progress,
                                      desc="flow matching", log_every=1)
        return self

    @torch.no_grad()
    def sample(self, n_samples: int | None = None, c=None, seed: int = 0) -> torch.Tensor:
        """Draw ``[S, dim]`` float32 samples: ``n_samples`` of p(z), or one per row of ``c`` for p(z | c)."""
        if not hasattr(self, "z_mean"):
            raise NotFittedError("the flow is not trained yet: call .fit(z, c) before .sample.")
        rows = len(c) if self.cond_dim else n_samples
        if rows is None or rows < 1:
            raise ValueError("give n_samples >= 1 (unconditional flow) or a condition c [S, cond_dim].")
        c = self._cond(c, rows)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        z = torch.randn(rows, self.dim, generator=gen, device=self.device)
        h = 1.0 / self.config.ode_steps
        for k in range(self.config.ode_steps):  # explicit midpoint rule
            t = torch.full((rows, 1), k * h, device=self.device)
            z_mid = z + 0.5 * h * self.velocity(z, t, c)
            z = z + h * self.velocity(z_mid, t + 0.5 * h, c)
        return z * self.z_std + self.z_mean


class ConnectivityFlow:
    """Flows for p(m) and p(n | m) over per-neuron loadings of a rank-R network (``rank``: the width
    of m). n may be wider than m, e.g. right loadings with a second, input-gated set beside them."""

    def __init__(self, rank: int, config: FlowConfig = FlowConfig(), seed: int = 0,
                 device: str | torch.device = "auto"):
        self.rank, self.config, self.seed, self.device = rank, config, seed, device
        self.flow_m = ConditionalFlow(rank, 0, config, seed, device)

    def fit(self, m, n, progress: bool = False) -> ConnectivityFlow:
        """Train on loadings ``m`` [N, R] and ``n`` [N, D] (n: regression targets, e.g. a maximum-entropy fit)."""
        m, n = _as_2d("m", m), _as_2d("n", n)
        if m.shape[1] != self.rank or len(n) != len(m):
            raise ValueError(f"m must be [N, {self.rank}] and n [N, D] with the same N, got {tuple(m.shape)} "
                             f"and {tuple(n.shape)}.")
        self.flow_n = ConditionalFlow(n.shape[1], self.rank, self.config, self.seed + 1, self.device)
        self.flow_m.fit(m, progress=progress)
        self.flow_n.fit(n, m, progress=progress)
        return self

    def sample(self, n_neurons: int, residual_std: float = 0.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """A new network's loadings ``(m, n)``, ``[n_neurons, R]`` and ``[n_neurons, D]`` float64 on the CPU.

        ``n = n_flow(m) + residual_std * eps``, eps ~ N(0, I) independent of m: the isotropic
        (maximum-entropy) fill of the part of n that the dynamics do not constrain.
        """
        if not residual_std >= 0:
            raise ValueError(f"residual_std must be >= 0, got {residual_std}.")
        if not hasattr(self, "flow_n"):
            raise NotFittedError("the flows are not trained yet: call .fit(m, n) before .sample.")
        m = self.flow_m.sample(n_neurons, seed=seed)
        n = self.flow_n.sample(c=m, seed=seed + 1)
        gen = torch.Generator(device=n.device).manual_seed(seed + 2)
        n = n + residual_std * torch.randn(n.shape, generator=gen, device=n.device)
        return m.double().cpu(), n.double().cpu()


class GaussianConnectivity:
    """One Gaussian over the per-neuron loadings ``(m_i, n_i)``: their sample mean and covariance.

    The flows' baseline (same ``fit`` / ``sample``; ``rank`` the width R of m, n [N, D]): its E[n | m]
    is the linear regression of n on m, and its p(m) has Gaussian tails and one mode. After
    :meth:`fit`: ``mean`` [R + D], ``cov`` [R + D, R + D].
    """

    def __init__(self, rank: int):
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}.")
        self.rank = rank

    def fit(self, m, n) -> GaussianConnectivity:
        """Moments of loadings ``m`` [N, R] and ``n`` [N, D] (float64)."""
        m, n = _as_2d("m", m).double(), _as_2d("n", n).double()
        if m.shape[1] != self.rank or len(n) != len(m) or len(m) <= self.rank + n.shape[1]:
            raise ValueError(f"m must be [N, {self.rank}] and n [N, D] with N > {self.rank} + D, got "
                             f"{tuple(m.shape)} and {tuple(n.shape)}.")
        mn = torch.cat([m, n], 1).cpu()
        self.mean, self.cov = mn.mean(0), torch.cov(mn.T)
        return self

    def sample(self, n_neurons: int, residual_std: float = 0.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """A new network's loadings ``(m, n)``, ``[n_neurons, R]`` and ``[n_neurons, D]`` float64 on the CPU;
        ``residual_std`` adds isotropic noise to n, as in :meth:`ConnectivityFlow.sample`."""
        if not hasattr(self, "mean"):
            raise NotFittedError("the Gaussian is not fitted yet: call .fit(m, n) before .sample.")
        if n_neurons < 1 or not residual_std >= 0:
            raise ValueError(f"need n_neurons >= 1 and residual_std >= 0, got {n_neurons} and {residual_std}.")
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n_neurons, len(self.mean), generator=gen, dtype=torch.float64)
        evals, evecs = torch.linalg.eigh(self.cov)                 # a degenerate covariance (e.g. a constant
        mn = self.mean + z @ (evecs * evals.clamp(min=0).sqrt()).T  # column) is sampled exactly as well
        noise = residual_std * torch.randn(n_neurons, len(self.mean) - self.rank, generator=gen, dtype=torch.float64)
        return mn[:, : self.rank].contiguous(), mn[:, self.rank:] + noise
