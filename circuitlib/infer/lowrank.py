"""Fitting rank-R tanh networks (:mod:`circuitlib.sim.lowrank`) to recorded activity.

Activity ``x`` [B, T, N] of a noise-free low-rank network lies in span(m), so the left loadings
are identified by PCA up to an invertible R x R map A (``m -> m A``, ``kappa -> A^-1 kappa``,
``n -> n A^-T`` leaves J = m n^T / N unchanged). Given m, each Euler step gives a regression

    y_t = (kappa_{t+1} - kappa_t) / dt + kappa_t = (1/N) n^T tanh(x_t)          y_t [R]

which is linear in n but hugely underdetermined: the data only constrain n along the few
directions spanned by {tanh(x_t)}. Gradient descent from an initial n keeps the initial
component orthogonal to them (the "standard" fit); the minimum-norm solution sets it to zero,
which for large N approaches E[n | m] (the maximum-entropy answer; Kim et al. 2026).
:class:`JointFit` is the end-to-end form of the standard fit: m and n together from a random
start, as LINT trains a low-rank network (Valente et al. 2022).

Field error: the relative L2 distance between two networks' latent flow fields on a grid of
kappa, ``||F(kappa) - F_ref(kappa)||_2 / ||F_ref(kappa)||_2`` with
``F(kappa) = -kappa + (1/N) n^T tanh(m kappa)`` (:func:`circuitlib.lowrank_dynamics.latent_field`).
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from ..data.rates import RateActivity
from ..lowrank_dynamics import DTYPE, latent, latent_field
from ..train import run_steps
from .base import ConnectivityEstimator


def _activity(x: torch.Tensor, rank: int) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.dim() != 3 or x.shape[1] < 2:
        raise ValueError(f"activity must be [B, T, N] with T >= 2 frames, got shape {tuple(x.shape)}.")
    if not 0 < rank < x.shape[2]:
        raise ValueError(f"rank must lie in [1, N) with N={x.shape[2]} neurons, got {rank}.")
    if not torch.isfinite(x).all():
        raise ValueError("activity contains NaN or inf.")
    return x.to(DTYPE)


def recover_loadings(x: torch.Tensor, rank: int) -> torch.Tensor:
    """Whitened left loadings ``m_hat`` [N, R] from activity ``x`` [B, T, N] by PCA about the origin.

    ``m_hat`` spans the top-R principal subspace and satisfies ``m_hat^T m_hat / N = I``; it equals
    the true m up to an invertible map (an orthogonal one when var(m) = I).
    """
    x = _activity(x, rank)
    frames = x.reshape(-1, x.shape[2])
    _, _, vh = torch.linalg.svd(frames, full_matrices=False)
    return vh[:rank].T * frames.shape[1] ** 0.5


def align(m_hat: torch.Tensor, m_ref: torch.Tensor) -> torch.Tensor:
    """``m_hat A`` with the R x R map A that best matches ``m_ref`` [N, R] in least squares.

    Resolves the linear-map ambiguity for comparisons with a known ground truth. [N, R].
    """
    if m_hat.shape != m_ref.shape:
        raise ValueError(f"m_hat and m_ref must have the same shape, got {tuple(m_hat.shape)} and "
                         f"{tuple(m_ref.shape)}.")
    return m_hat @ torch.linalg.lstsq(m_hat, m_ref.to(m_hat)).solution


def _features(x: torch.Tensor) -> torch.Tensor:
    """``tanh(x_t)`` of every frame but the last of ``x`` [B, T, N], as rows [B (T - 1), N]."""
    return torch.tanh(x[:, :-1]).reshape(-1, x.shape[2])


def latent_targets(x: torch.Tensor, m: torch.Tensor, dt: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Regression data from consecutive Euler frames: features ``tanh(x_t)`` [S, N] and targets ``y_t`` [S, R]."""
    x = _activity(x, m.shape[1])
    if m.shape[0] != x.shape[2]:
        raise ValueError(f"m has {m.shape[0]} rows but the activity has {x.shape[2]} neurons.")
    if not dt > 0:
        raise ValueError(f"dt must be the positive Euler step of the recording, got {dt}.")
    kappa = latent(x, m.to(x))
    y = (kappa[:, 1:] - kappa[:, :-1]) / dt + kappa[:, :-1]
    return _features(x), y.reshape(-1, m.shape[1])


def _normal_equations(phi: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``Phi^T Phi / S`` [N, N] and ``Phi^T Y / S`` [N, R] of the regression, and N."""
    return phi.T @ phi / len(phi), phi.T @ y / len(phi), phi.shape[1]


def _check_activity(activity: RateActivity) -> torch.Tensor:
    """The states of ``activity`` as ``[B, T, N]`` (one trial for ``[T, N]``), refusing what the fits cannot read."""
    if not isinstance(activity, RateActivity):
        raise ValueError(f"the low-rank fits read a RateActivity (x [B, T, N] or [T, N], dt), got "
                         f"{type(activity).__name__}; wrap tensors as RateActivity(x, dt).")
    if activity.inputs is not None:
        raise ValueError("the low-rank fits assume no external input (x stays in span(m) only then); "
                         "fit stretches recorded without input.")
    return activity.x if activity.x.dim() == 3 else activity.x[None]


class _LowRankFit(ConnectivityEstimator):
    """Loadings from activity, then n given m. Fitted: ``pca_loadings`` [N, R] (whitened PCA,
    :func:`recover_loadings`), ``alignment`` [R, R] (the map A to ``align_to``; identity without
    it), ``m`` = pca_loadings A and ``n`` [N, R] in that basis, ``weights`` = m n^T / N [N, N]."""

    def __init__(self, rank: int, align_to: torch.Tensor | None):
        if not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a positive integer, got {rank!r}.")
        if align_to is not None:
            align_to = torch.as_tensor(align_to, dtype=DTYPE)
            if align_to.dim() != 2 or align_to.shape[1] != rank or not torch.isfinite(align_to).all():
                raise ValueError(f"align_to must be finite left loadings [N, R] with R = rank = {rank}, "
                                 f"got shape {tuple(align_to.shape)}.")
        self.rank, self.align_to = rank, align_to
        self.pca_loadings = self.alignment = self.m = self.n = None

    def _loadings(self, activity: RateActivity) -> torch.Tensor:
        """Set ``pca_loadings``, ``alignment`` and ``m`` from ``activity``; return its states [B, T, N]."""
        x = _check_activity(activity)
        m_hat = recover_loadings(x, self.rank)
        if self.align_to is None:
            a = torch.eye(self.rank, dtype=m_hat.dtype, device=m_hat.device)
        elif self.align_to.shape[0] != m_hat.shape[0]:
            raise ValueError(f"align_to has {self.align_to.shape[0]} rows but the activity {m_hat.shape[0]} neurons.")
        else:
            a = torch.linalg.lstsq(m_hat, self.align_to.to(m_hat)).solution
        self.pca_loadings, self.alignment, self.m = m_hat, a, m_hat @ a
        return x

    def _set(self, n: torch.Tensor) -> None:
        self.n = n
        self.weights = self.m @ n.T / self.m.shape[0]


class StandardFit(_LowRankFit):
    """The "standard" (LINT-style) fit: gradient descent on one-step activity prediction.

    Minimises ``mean_t |y_t - (1/N) n^T tanh(x_t)|^2`` over n with m fixed (the squared error of
    the predicted next frame, projected on span(m)), by full-batch gradient descent with Nesterov
    momentum and step ``lr / L`` (L the loss curvature). Plain gradient steps stay in the span of
    the data, so whatever the initial n (``n_init`` [N, R] in the basis of ``align_to``, or of the
    PCA loadings; default zero) holds outside it survives the fit.
    """

    def __init__(self, rank: int = 2, n_init: torch.Tensor | None = None, align_to: torch.Tensor | None = None,
                 steps: int = 2000, lr: float = 1.0, momentum: float = 0.9):
        super().__init__(rank, align_to)
        if steps < 1 or not 0 < lr <= 2 or not 0 <= momentum < 1:
            raise ValueError(f"need steps >= 1, 0 < lr <= 2 and 0 <= momentum < 1, got {steps}, {lr}, {momentum}.")
        if n_init is not None:
            n_init = torch.as_tensor(n_init, dtype=DTYPE)
            if n_init.dim() != 2 or n_init.shape[1] != rank or not torch.isfinite(n_init).all():
                raise ValueError(f"n_init must be finite right loadings [N, R] with the shape of m (R = {rank}), "
                                 f"got shape {tuple(n_init.shape)}.")
        self.n_init, self.steps, self.lr, self.momentum = n_init, steps, lr, momentum

    def fit(self, data: RateActivity, validation=None) -> StandardFit:
        """Recover m from ``data`` (x [B, T, N], Euler frames every ``dt``), then fit n from ``n_init``."""
        x = self._loadings(data)
        gram, cross, n_neurons = _normal_equations(*latent_targets(x, self.m, data.dt))
        if self.n_init is not None and self.n_init.shape != self.m.shape:
            raise ValueError(f"n_init must have the shape of m {tuple(self.m.shape)}, got {tuple(self.n_init.shape)}.")
        start = torch.zeros_like(self.m) if self.n_init is None else self.n_init
        curvature = 2 * float(torch.linalg.eigvalsh(gram)[-1]) / n_neurons**2
        n = start.to(gram).clone().requires_grad_(True)
        opt = torch.optim.SGD([n], lr=self.lr / curvature, momentum=self.momentum, nesterov=self.momentum > 0)
        for _ in range(self.steps):  # the loss up to a constant, in its normal-equation form
            opt.zero_grad()
            loss = (n * (gram @ n)).sum() / n_neurons**2 - 2 * (cross * n).sum() / n_neurons
            loss.backward()
            opt.step()
        self._set(n.detach())
        return self


class MaxEntFit(_LowRankFit):
    """Minimum-norm n given m: ``n / N = pinv(Phi) Y``, with eigenvalues of ``Phi^T Phi`` below
    ``ridge`` times the largest damped (Tikhonov on the normal equations). It has no component
    outside the data's span, and for large N it approaches E[n | m], the maximum-entropy mean."""

    def __init__(self, rank: int = 2, align_to: torch.Tensor | None = None, ridge: float = 1e-6):
        super().__init__(rank, align_to)
        if not ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}.")
        self.ridge = ridge

    def fit(self, data: RateActivity, validation=None) -> MaxEntFit:
        """Recover m from ``data`` (x [B, T, N], Euler frames every ``dt``), then solve for n."""
        x = self._loadings(data)
        gram, cross, n_neurons = _normal_equations(*latent_targets(x, self.m, data.dt))
        evals, evecs, damped = _damped_spectrum(gram, self.ridge)
        inverse = torch.where(damped > 0, evals / damped.clamp(min=torch.finfo(damped.dtype).tiny), 0.0)
        self._set(n_neurons * evecs @ (inverse[:, None] * (evecs.T @ cross)))
        return self


def _damped_spectrum(gram: torch.Tensor, ridge: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eigenvalues (clamped at 0) and eigenvectors of ``gram`` [N, N], and ``lam^2 + (ridge lam_max)^2``."""
    evals, evecs = torch.linalg.eigh(gram)
    lam = evals.clamp(min=0)
    return lam, evecs, lam**2 + (ridge * evals[-1]) ** 2


def data_constrained_part(n: torch.Tensor, data: RateActivity, ridge: float = 1e-6) -> torch.Tensor:
    """The part of right loadings ``n`` [..., N, R] (one fit, or several stacked) that the recording
    ``data`` constrains: its projection onto the span of {tanh(x_t)} (eigen-directions of their
    Gram matrix, damped below ``ridge`` times the largest eigenvalue as in :class:`MaxEntFit`). For
    an exact fit this is the maximum-entropy n, whatever the start; the rest of n is the start's."""
    x = _activity(_check_activity(data), n.shape[-1])
    phi = _features(x)
    lam, evecs, damped = _damped_spectrum(phi.T @ phi / len(phi), ridge)
    keep = torch.where(damped > 0, lam**2 / damped.clamp(min=torch.finfo(damped.dtype).tiny), 0.0)
    return evecs @ (keep[:, None] * (evecs.T @ n.to(evecs)))


def field_error(m_ref: torch.Tensor, n_ref: torch.Tensor, m: torch.Tensor, n: torch.Tensor,
                kappa: torch.Tensor) -> float:
    """Relative L2 error of the latent flow field of ``(m, n)`` against ``(m_ref, n_ref)`` on points
    ``kappa`` [G, R]."""
    ref = latent_field(m_ref, n_ref, kappa.to(m_ref))
    other = latent_field(m, n, kappa.to(m))
    return float((other.to(ref) - ref).norm() / ref.norm())


def mixture_cv_loglik(points, ks=range(1, 10), folds: int = 5, seed: int = 0) -> np.ndarray:
    """Held-out log-likelihood per point of Gaussian mixtures with k components, ``points`` [N, D].

    ``folds``-fold cross-validation; returns one mean value per k in ``ks``. The k that maximises it
    is the number of clusters the data support.
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or len(pts) < 2 * folds:
        raise ValueError(f"points must be [N, D] with N >= {2 * folds}, got shape {pts.shape}.")
    fold = np.random.default_rng(seed).permutation(len(pts)) % folds
    scores = []
    for k in ks:
        held = [GaussianMixture(k, covariance_type="full", random_state=seed)
                .fit(pts[fold != f]).score(pts[fold == f]) for f in range(folds)]
        scores.append(float(np.mean(held)))
    return np.array(scores)


class JointFit(ConnectivityEstimator):
    """The end-to-end standard fit (LINT; Valente et al. 2022): m and n together, from a random start.

    Minimises the one-step prediction error of the whole recorded activity,
    ``mean_t |(x_{t+1} - x_t) / dt + x_t - (1/N) m n^T tanh(x_t)|^2 / N``, over both loadings
    [N, R] by Adam (cosine-annealed, ``steps`` full-batch steps in the normal-equation form: one
    [N, N] Gram matrix of tanh(x) and one cross-product are formed once), from m, n ~ N(0, I)
    drawn with ``seed``. The data fix m (up to the map A) and n only along the span of
    {tanh(x_t)}; the start's component of n outside it survives, so starts differ in n but not in
    the dynamics. Fitted: ``m``, ``n`` [N, R] (mapped by least squares onto ``align_to`` when given,
    ``n -> n A^-T`` so J is unchanged), ``alignment`` A, ``weights`` = m n^T / N, ``training_log``
    (``loss``: the per-neuron mean squared error up to its constant, logged every 100 steps) and
    ``residual`` (the final mean squared error per neuron and frame).
    """

    def __init__(self, rank: int = 2, steps: int = 3000, lr: float = 3e-2, seed: int = 0,
                 align_to: torch.Tensor | None = None, progress: bool = False):
        if not isinstance(rank, int) or rank < 1 or steps < 1 or not lr > 0:
            raise ValueError(f"need an integer rank >= 1, steps >= 1 and lr > 0, got {rank!r}, {steps}, {lr}.")
        self.rank, self.steps, self.lr, self.seed, self.progress = rank, steps, lr, seed, progress
        self.align_to = None if align_to is None else torch.as_tensor(align_to, dtype=DTYPE)

    def fit(self, data: RateActivity, validation=None) -> JointFit:
        """Fit to ``data`` (x [B, T, N] or [T, N], Euler frames every ``dt``, no input)."""
        x = _activity(_check_activity(data), self.rank)
        n_neurons = x.shape[2]
        if self.align_to is not None and self.align_to.shape != (n_neurons, self.rank):
            raise ValueError(f"align_to must be [N, R] = [{n_neurons}, {self.rank}], got {tuple(self.align_to.shape)}.")
        target = ((x[:, 1:] - x[:, :-1]) / data.dt + x[:, :-1]).reshape(-1, n_neurons)
        gram, cross, _ = _normal_equations(_features(x), target)                 # [N, N] each
        offset = float((target**2).sum(1).mean())
        gen = torch.Generator().manual_seed(self.seed)
        m, n = (torch.randn(n_neurons, self.rank, generator=gen, dtype=DTYPE).to(x.device).requires_grad_()
                for _ in range(2))
        opt = torch.optim.Adam([m, n], lr=self.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, self.steps)

        def step_loss(_):      # mean over frames of |target - phi n m^T / N|^2, per neuron
            fit_term = -2 * (n * (cross @ m)).sum() / n_neurons + ((m.T @ m) * (n.T @ gram @ n)).sum() / n_neurons**2
            return (offset + fit_term) / n_neurons, {}

        self.training_log = run_steps(step_loss, opt, self.steps, sched, progress=self.progress, desc="joint fit")
        with torch.no_grad():
            self.residual = float(step_loss(None)[0])
            a = (torch.eye(self.rank, dtype=DTYPE, device=x.device) if self.align_to is None
                 else torch.linalg.lstsq(m, self.align_to.to(m)).solution)
            self.alignment, self.m, self.n = a, m @ a, n @ torch.linalg.inv(a).T
        self.weights = self.m @ self.n.T / n_neurons
        return self
