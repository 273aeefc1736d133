"""Low-rank tanh rate networks (Beiran et al. 2021; Kim et al. 2026).

Each of N neurons carries a left loading ``m_i`` and a right loading ``n_i`` (both in R^R); the
connectivity is ``J = m n^T / N`` and, in units of the membrane time constant (tau = 1),

    dx/dt     = -x + (1/N) m n^T tanh(x) + u                 x, u [N];  m, n [N, R]
    kappa     = (m^T m)^{-1} m^T x                           latent coordinates [R]
    dkappa/dt = -kappa + (1/N) n^T tanh(m kappa)             exact when x(0) lies in span(m), u = 0

Loadings are drawn per neuron from a mixture over ``(m_i, n_i)`` in R^{2R} whose populations are
Gaussian or, with ``dof``, multivariate Student-t (heavy-tailed; the same covariance). For large N
the latent dynamics depend only on the distribution of m and on E[n | m]: sampling many neurons
gives the mean-field flow field. ``exact=True`` sampling whitens each population's draws and
colours them with the target moments, so a finite network has exactly the target covariance.

Beyond the Gaussian rank-2 tasks of Beiran et al. (2021): :func:`heavy_tailed_ring` (a Student-t
p(m, n) with the ring's covariance: still a ring, at another radius) and :func:`quadstable` (four
populations of m around (+-c, +-c) with E[n | m] = gain m: four stable fixed points on the axes),
two distributions that a fitted Gaussian cannot hold and whose dynamics it gets wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq

from .._device import resolve_device
from ..data.rates import RateActivity
from ..lowrank_dynamics import DTYPE, check_loadings, latent_field
from ..lowrank_dynamics import latent as latent  # re-exported: lowrank.latent(x, m)


@dataclass(frozen=True, eq=False)
class Loadings:
    """A mixture over per-neuron loadings ``(m_i, n_i)``, concatenated as ``[m | n]``.

    ``weights`` [P] (positive, normalised here), ``means`` [P, 2R], ``covs`` [P, 2R, 2R]
    (positive definite): each population's mean and covariance. ``dof`` None: Gaussian
    populations (P = 1 is the Gaussian case); a number > 2: multivariate Student-t populations of
    that many degrees of freedom (scale ``covs (dof - 2) / dof``, so ``covs`` stays the covariance),
    whose tails fall as a power, |m|^-(dof + R).
    """

    weights: torch.Tensor
    means: torch.Tensor
    covs: torch.Tensor
    dof: float | None = None

    def __post_init__(self):
        w, mu, cov = (torch.as_tensor(a, dtype=DTYPE) for a in (self.weights, self.means, self.covs))
        if w.dim() != 1 or mu.dim() != 2 or cov.dim() != 3 or not (len(w) == len(mu) == len(cov)):
            raise ValueError(f"weights [P], means [P, 2R] and covs [P, 2R, 2R] must agree in P, got shapes "
                             f"{tuple(w.shape)}, {tuple(mu.shape)}, {tuple(cov.shape)}.")
        if mu.shape[1] % 2 or cov.shape[1:] != (mu.shape[1], mu.shape[1]):
            raise ValueError(f"each population needs an even dimension 2R (m then n) and a [2R, 2R] covariance, "
                             f"got means {tuple(mu.shape)} and covs {tuple(cov.shape)}.")
        if not (w > 0).all():
            raise ValueError("population weights must be positive; drop empty populations.")
        if torch.linalg.cholesky_ex(cov)[1].any():
            raise ValueError("every population covariance must be symmetric positive definite; check that "
                             "var(n) exceeds what cov(n, m) var(m)^-1 cov(m, n) requires.")
        if self.dof is not None and not self.dof > 2:
            raise ValueError(f"dof must be > 2 (a Student-t with a finite covariance) or None, got {self.dof}.")
        object.__setattr__(self, "weights", w / w.sum())
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "covs", cov)

    @property
    def rank(self) -> int:
        return self.means.shape[1] // 2

    def conditional_mean(self, m: torch.Tensor) -> torch.Tensor:
        """E[n | m] for ``m`` [N, R]: responsibilities times per-population linear regressions (the
        regression of an elliptical population, Gaussian or Student-t, is linear). [N, R]."""
        r = self.rank
        m = m.to(DTYPE)
        mu_m, mu_n = self.means[:, :r].to(m.device), self.means[:, r:].to(m.device)
        c_mm, c_nm = self.covs[:, :r, :r].to(m.device), self.covs[:, r:, :r].to(m.device)
        dev = m[None] - mu_m[:, None]                                          # [P, N, R]
        sol = torch.linalg.solve(c_mm, dev.transpose(1, 2)).transpose(1, 2)    # C_mm^-1 (m - mu_m)
        mahalanobis = (dev * sol).sum(-1)                                      # [P, N], in covariance units
        if self.dof is None:
            log_density = -0.5 * mahalanobis
        else:                                # Student-t marginal of m: scale C_mm (dof - 2) / dof
            nu = self.dof
            log_density = -0.5 * (nu + r) * torch.log1p(mahalanobis / (nu - 2))
        log_p = self.weights.to(m.device).log()[:, None] + log_density - 0.5 * torch.logdet(c_mm)[:, None]
        resp = torch.softmax(log_p, dim=0)                                     # [P, N]
        per_pop = mu_n[:, None] + sol @ c_nm.transpose(1, 2)                   # [P, N, R]
        return (resp[..., None] * per_pop).sum(0)


def gaussian(cov_nm, var_m: float = 1.0, var_n: float = 4.0) -> Loadings:
    """Zero-mean Gaussian loadings with ``var(m) = var_m I``, ``var(n) = var_n I``, ``cov(n, m) = cov_nm`` [R, R]."""
    c = torch.as_tensor(cov_nm, dtype=DTYPE)
    if c.dim() != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"cov_nm must be a square [R, R] matrix, got shape {tuple(c.shape)}.")
    eye = torch.eye(c.shape[0], dtype=DTYPE)
    cov = torch.cat([torch.cat([var_m * eye, c.T], 1), torch.cat([c, var_n * eye], 1)], 0)
    return Loadings(torch.ones(1), torch.zeros(1, 2 * c.shape[0]), cov[None])


# The rank-2 tasks of Beiran et al. (2021) used by Kim et al. (2026): var(m) = I, var(n) = 4 I.
TASKS = {
    "bistable": [[1.2, 0.8], [0.0, 1.6]],
    "limit_cycle": [[1.6, -0.8], [0.8, 1.6]],
    "ring": [[1.6, 0.0], [0.0, 1.6]],
}


def task(name: str) -> Loadings:
    """Gaussian loadings of one Beiran et al. (2021) task: "bistable", "limit_cycle" or "ring"."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {tuple(TASKS)}.")
    return gaussian(TASKS[name])


def four_population_ring(offset: float = 1.1) -> Loadings:
    """Four populations with the ring's m distribution and E[n | m] = 1.6 m, but clustered n.

    In population p, ``m ~ N(0, I)`` and ``n = 1.6 m + xi`` with ``xi ~ N(offset * s_p, s^2 I)``,
    ``s_p`` in {(+-1, +-1)} and ``s^2 = 1.44 - offset^2``: the mixture has the ring's covariance
    (var(n) = 4 I) and, because the clusters are independent of m, the ring's mean-field dynamics.
    """
    if not 0 <= offset < 1.2:
        raise ValueError(f"offset must lie in [0, 1.2) so that the within-cluster variance stays positive, "
                         f"got {offset}.")
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=DTYPE)
    base = gaussian(TASKS["ring"], var_n=1.6**2 + 1.44 - offset**2).covs[0]
    means = torch.cat([torch.zeros(4, 2, dtype=DTYPE), offset * signs], 1)
    return Loadings(torch.ones(4), means, base.expand(4, 4, 4).clone())


def heavy_tailed_ring(dof: float = 3.0, gain: float = 1.6) -> Loadings:
    """The ring task with Student-t loadings of ``dof`` degrees of freedom: the covariance of the
    Gaussian ring (var(m) = I, cov(n, m) = ``gain`` I, var(n) = 4 I) and E[n | m] = gain m, but
    power-law tails. p(m) stays rotation-invariant, so the dynamics keep a ring; its radius, set by
    the whole p(m) and not only by its covariance, differs from the Gaussian ring's."""
    g = gaussian(gain * torch.eye(2, dtype=DTYPE))
    return Loadings(g.weights, g.means, g.covs, dof=dof)


def quadstable(centre: float = 1.0, spread: float = 0.3, gain: float = 1.6, noise: float = 1.0) -> Loadings:
    """Four equal populations with m ~ N((+-centre, +-centre), spread^2 I) and n = gain m + xi,
    xi ~ N(0, noise^2 I) independent of m, so E[n | m] = gain m everywhere. The mean field
    -kappa + gain E[m tanh(m . kappa)] then has four stable fixed points, on the axes (at
    |kappa| ~ 1.4 with the defaults), a multi-population network in the sense of Beiran et al. (2021).
    A single Gaussian with the same covariance has the same E[n | m] but a rotation-invariant
    p(m), and so a ring instead of four points."""
    if not (spread > 0 and noise > 0 and centre > 0):
        raise ValueError(f"centre, spread and noise must be > 0, got {centre}, {spread}, {noise}.")
    eye = torch.eye(2, dtype=DTYPE)
    cov = torch.cat([torch.cat([spread**2 * eye, gain * spread**2 * eye], 1),
                     torch.cat([gain * spread**2 * eye, (gain**2 * spread**2 + noise**2) * eye], 1)])
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=DTYPE)
    means = torch.cat([centre * signs, gain * centre * signs], 1)
    return Loadings(torch.ones(4), means, cov.expand(4, 4, 4).clone())


def _population_sizes(weights: torch.Tensor, n: int) -> list[int]:
    """Split n neurons by ``weights`` with largest-remainder rounding (sizes sum to n)."""
    raw = weights * n
    sizes = raw.floor().long()
    order = torch.argsort(raw - sizes, descending=True)
    sizes[order[: n - int(sizes.sum())]] += 1
    return sizes.tolist()


def sample(dist: Loadings, n_neurons: int, seed: int = 0, exact: bool = True,
           device: str | torch.device = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``(m, n)``, each ``[n_neurons, R]`` float64, population by population.

    ``exact=True`` whitens each population's draws (sample mean 0, sample covariance I, both
    with 1/N_p normalisation) before colouring them, so the sample moments equal the targets.
    """
    d = 2 * dist.rank
    if n_neurons <= dist.rank:
        raise ValueError(f"rank {dist.rank} needs more than {dist.rank} neurons, got n_neurons={n_neurons}.")
    sizes = _population_sizes(dist.weights, n_neurons)
    if exact and min(sizes) <= d:
        raise ValueError(f"exact-moment sampling needs more than {d} neurons per population, got sizes {sizes}; "
                         "sample more neurons or use exact=False.")
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    parts = []
    for size, mu, cov in zip(sizes, dist.means, dist.covs):
        z = torch.randn(size, d, generator=gen, dtype=DTYPE)
        if dist.dof is not None:                         # Student-t: a Gaussian over sqrt(chi^2 / dof), unit cov
            chi2 = torch.from_numpy(rng.chisquare(dist.dof, size))
            z = z * torch.sqrt((dist.dof - 2) / chi2)[:, None]
        if exact:
            z = z - z.mean(0)
            chol = torch.linalg.cholesky(z.T @ z / size)
            z = torch.linalg.solve_triangular(chol, z.T, upper=False).T
        parts.append(mu + z @ torch.linalg.cholesky(cov).T)
    mn = torch.cat(parts)[torch.randperm(n_neurons, generator=gen)].to(resolve_device(device))
    return mn[:, : dist.rank].contiguous(), mn[:, dist.rank:].contiguous()


def latent_grid(extent: float = 2.0, points: int = 21) -> torch.Tensor:
    """A square grid of rank-2 latent points in ``[-extent, extent]^2``, ``[points^2, 2]`` float64."""
    axis = torch.linspace(-extent, extent, points, dtype=DTYPE)
    return torch.cartesian_prod(axis, axis)


def initial_latents(n_trials: int, rank: int = 2, extent: float = 2.0, seed: int = 0) -> torch.Tensor:
    """Initial latents uniform in ``[-extent, extent]^R``, ``[n_trials, R]`` float64."""
    gen = torch.Generator().manual_seed(seed)
    return extent * (2 * torch.rand(n_trials, rank, generator=gen, dtype=DTYPE) - 1)


def _euler(step, state: torch.Tensor, duration: float, dt: float, record_every: int) -> torch.Tensor:
    if not 0 < dt < 1:
        raise ValueError(f"dt must lie in (0, 1) time constants, got {dt}.")
    if not duration > 0 or record_every < 1:
        raise ValueError(f"need duration > 0 and record_every >= 1, got {duration} and {record_every}.")
    frames = [state]
    for k in range(1, max(1, round(duration / dt)) + 1):
        state = state + dt * step(state)
        if k % record_every == 0:
            frames.append(state)
    return torch.stack(frames, 1)


def simulate(m: torch.Tensor, n: torch.Tensor, x0: torch.Tensor, duration: float = 15.0, dt: float = 0.1,
             u: torch.Tensor | None = None, record_every: int = 1,
             device: str | torch.device = "auto") -> RateActivity:
    """Euler-integrate the network from ``x0`` [B, N] for ``duration`` time constants.

    ``u`` is a constant input, [N] or [B, N]. Returns the recording: states ``x`` ``[B, T, N]``
    (each trial time-major; frame 0 is ``x0``, then every ``record_every``-th step), ``dt`` the
    time between frames (``dt * record_every``, in membrane time constants) and ``inputs`` (u on
    every frame, or None). Deterministic: randomness enters through :func:`sample` and the
    initial state.
    """
    check_loadings(m, n)
    dev = resolve_device(device)
    m, n, x0 = (t.to(dev, DTYPE) for t in (m, n, x0))
    if x0.dim() != 2 or x0.shape[1] != m.shape[0]:
        raise ValueError(f"x0 must be [B, N] with N={m.shape[0]}, got {tuple(x0.shape)}.")
    drive = torch.zeros((), dtype=DTYPE, device=dev) if u is None else torch.as_tensor(u, dtype=DTYPE, device=dev)
    if u is not None and drive.shape[-1] != m.shape[0]:
        raise ValueError(f"the input u must end in N={m.shape[0]}, got shape {tuple(drive.shape)}.")
    n_scaled = n / m.shape[0]
    x = _euler(lambda x: -x + (torch.tanh(x) @ n_scaled) @ m.T + drive, x0, duration, dt, record_every)
    inputs = None if u is None else (drive[:, None] if drive.dim() == 2 else drive).expand_as(x)
    return RateActivity(x, dt * record_every, inputs=inputs)


def simulate_latent(m: torch.Tensor, n: torch.Tensor, kappa0: torch.Tensor, duration: float = 30.0,
                    dt: float = 0.1, record_every: int = 1, device: str | torch.device = "auto") -> torch.Tensor:
    """Euler-integrate ``dkappa/dt = latent_field(m, n, kappa)`` from ``kappa0`` [B, R]. ``[B, T, R]``.

    Identical to :func:`simulate` from ``x0 = m kappa0`` (no input), at O(N R) cost per step; with
    many sampled neurons it integrates the mean-field dynamics.
    """
    dev = resolve_device(device)
    m, n, kappa0 = (t.to(dev, DTYPE) for t in (m, n, kappa0))
    return _euler(lambda k: latent_field(m, n, k), kappa0, duration, dt, record_every)


def ring_radius(kappa: torch.Tensor) -> float:
    """Mean latent norm ``|kappa|`` over points ``kappa`` [..., R] (e.g. the final states of many trials)."""
    return float(kappa.norm(dim=-1).mean())


def mean_field_ring_radius(gain: float = 1.6, order: int = 80) -> float:
    """Radius r of the ring for ``cov(n, m) = gain I``, ``var(m) = I``: solves ``gain E[tanh'(r z)] = 1``.

    ``z ~ N(0, 1)``; the expectation uses Gauss-Hermite quadrature of ``order`` nodes. 0.948 for gain 1.6.
    """
    if not gain > 1:
        raise ValueError(f"a ring needs gain > 1 (otherwise kappa = 0 is the only fixed point), got {gain}.")
    z, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    return float(brentq(lambda r: gain * np.dot(w, 1 - np.tanh(r * z) ** 2) - 1, 1e-9, 10.0))
