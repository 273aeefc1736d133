"""A low-rank rate network with a gating input, fitted to recorded rates.

The recorded rates, standardised per neuron (``z = (x - mean) / scale`` over the training
frames), are modelled by the network of :class:`~circuitlib.lowrank_dynamics.GatedLowRank`:

    tau dz/dt = -z + m (1/N) (n + u n_gate)^T tanh(z) + b

with u the recorded input (for head-direction cells: the angular head velocity). As for a
noise-free low-rank network (:mod:`circuitlib.infer.lowrank`), m spans the activity's top R
principal components (scaled to m^T m = N); given m, each bin gives a regression of the latent
target ``m^T y_t / N``, ``y_t = z_t + tau (z_{t+1} - z_t) / dt``, on the features
``f_t = [tanh z_t, u_t tanh z_t]`` [2N], linear in ``[n; n_gate] / N`` and solved exactly by ridge
least squares; b takes the rest of the mean target. With T >> N recorded bins of noisy cells the
features span all 2N directions, so the regression fixes n and n_gate: no start survives in them.
"""
from __future__ import annotations

import math

import torch

from .. import metrics
from ..data.rates import RateActivity
from ..lowrank_dynamics import DTYPE, GatedLowRank
from .base import ActivityModel


def _stretches(data) -> list[RateActivity]:
    """``data`` (a RateActivity or a list of them, one per stretch between gaps) as a list of
    single-trial stretches with one input channel."""
    items = [data] if isinstance(data, RateActivity) else list(data)
    if not items or not all(isinstance(s, RateActivity) for s in items):
        raise ValueError("give a RateActivity or a list of them (one per stretch between recording gaps).")
    for s in items:
        if s.x.dim() != 2 or s.inputs is None or s.inputs.shape[-1] != 1:
            raise ValueError(f"each stretch must have the shape x [T, N] with inputs [T, 1], the gating input u "
                             f"(e.g. from circuitlib.data.head_direction.smoothed_activity); got x "
                             f"{tuple(s.x.shape)} and inputs {None if s.inputs is None else tuple(s.inputs.shape)}.")
        if s.dt != items[0].dt or s.n_neurons != items[0].n_neurons:
            raise ValueError("all stretches must share dt and the neurons.")
    return items


class GatedLowRankRNN(ActivityModel):
    """Rank-``rank`` network with a gating input, fitted to rates (see the module docstring).

    ``tau`` is the time constant in seconds (the unit of ``dt``); ``ridge`` the Tikhonov strength
    on the regression, relative to the mean feature variance. Fitted: ``mean``, ``scale`` [N] (the
    standardisation, in the rates' unit), ``network`` (a GatedLowRank in units of ``tau``), ``weights``
    = m n^T / N [N, N] (the coupling at u = 0; row = receiver), ``gate_weights`` = m n_gate^T / N,
    ``singular_values`` [N] of the standardised training rates (how much of the activity R
    principal components hold). ``score``: the R^2 of the one-bin changes of the latent
    kappa on held-out stretches (the part of the activity the rank-R network describes).
    """

    score_name = "dkappa_r2"

    def __init__(self, rank: int = 2, tau: float = 0.1, ridge: float = 1e-3):
        if not isinstance(rank, int) or rank < 1 or not tau > 0 or not ridge >= 0:
            raise ValueError(f"need an integer rank >= 1, tau > 0 s and ridge >= 0; got {rank!r}, {tau}, {ridge}.")
        self.rank, self.tau, self.ridge = rank, tau, ridge

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """Rates ``x`` [..., N] to the model's states z (float64)."""
        self.check_fitted("standardise")
        return self._z(x)

    def _z(self, x) -> torch.Tensor:
        return (torch.as_tensor(x, dtype=DTYPE) - self.mean) / self.scale

    def _regression(self, stretches: list[RateActivity]) -> tuple[torch.Tensor, torch.Tensor]:
        """Targets ``y`` [S, N] and features ``f`` [S, 2N] of every bin with a successor."""
        ys, fs = [], []
        for s in stretches:
            z, u = self._z(s.x), s.inputs[:, 0].to(DTYPE)
            phi = torch.tanh(z[:-1])
            ys.append(z[:-1] + self.tau * (z[1:] - z[:-1]) / s.dt)
            fs.append(torch.cat([phi, u[:-1, None] * phi], 1))
        return torch.cat(ys), torch.cat(fs)

    def fit(self, data, validation=None) -> GatedLowRankRNN:
        """Fit to ``data``: a RateActivity (x [T, N] rates, inputs [T, 1]) or a list of them."""
        stretches = _stretches(data)
        n = stretches[0].n_neurons
        if not self.rank < n:
            raise ValueError(f"rank {self.rank} must be below the number of neurons {n}.")
        x = torch.cat([s.x for s in stretches]).to(DTYPE)
        if len(x) <= 2 * n + 1:
            raise ValueError(f"{len(x)} bins are too few for {2 * n + 1} regressors per neuron; record longer.")
        self.mean, self.scale = x.mean(0), x.std(0)
        if (self.scale == 0).any():
            raise ValueError("some neurons never change rate in the training data; drop them first.")
        self._weights = None
        _, self.singular_values, vh = torch.linalg.svd(self._z(x), full_matrices=False)
        m = vh[: self.rank].T * math.sqrt(n)                                                    # [N, R]
        y, f = self._regression(stretches)
        target, f_mean = y @ m / n, f.mean(0)
        fc = f - f_mean
        gram = fc.T @ fc
        ridge = self.ridge * gram.diagonal().mean() * torch.eye(2 * n, dtype=DTYPE)
        right = n * torch.linalg.solve(gram + ridge, fc.T @ (target - target.mean(0)))       # [n; n_gate] [2N, R]
        bias = y.mean(0) - (f_mean @ right / n) @ m.T
        self.network = GatedLowRank(m, right[:n], right[n:], bias)
        self.weights = m @ right[:n].T / n
        self.gate_weights = m @ right[n:].T / n
        return self

    def rollout(self, x0: torch.Tensor, u: torch.Tensor, dt: float) -> torch.Tensor:
        """States z [B, H + 1, N] from rates ``x0`` [B, N] under inputs ``u`` [B, H] (bins of ``dt`` s)."""
        self.check_fitted("rollout")
        z = self.standardise(x0)
        u = torch.as_tensor(u, dtype=DTYPE)
        if z.dim() != 2 or u.dim() != 2 or u.shape[0] != z.shape[0]:
            raise ValueError(f"need x0 [B, N] and u [B, H], got {tuple(z.shape)} and {tuple(u.shape)}.")
        out = [z]
        for k in range(u.shape[1]):
            out.append(self.network.step(out[-1], u[:, k], dt / self.tau))
        return torch.stack(out, 1)

    def _held_out(self, data, what: str) -> list[RateActivity]:
        self.check_fitted(what)
        stretches = _stretches(data)
        if stretches[0].n_neurons != len(self.mean):
            raise ValueError(f"the model was fitted to {len(self.mean)} neurons; the data have "
                             f"{stretches[0].n_neurons}.")
        return stretches

    def predict(self, data) -> torch.Tensor:
        """Predicted states z [S, N] of every bin after the first of each stretch, each from the recorded
        bin before it (stretches in order)."""
        return torch.cat([self.rollout(s.x[:-1], s.inputs[:-1], s.dt)[:, 1] for s in self._held_out(data, "predict")])

    def score(self, data) -> float:
        """R^2 of the predicted one-bin changes of the latent kappa, pooled over the stretches of ``data``."""
        stretches = self._held_out(data, "score")
        latent = self.network.latent
        before = torch.cat([self.standardise(s.x[:-1]) for s in stretches])
        true = torch.cat([latent(self.standardise(s.x)).diff(dim=0) for s in stretches])
        return metrics.r2_score(true, latent(self.predict(stretches)) - latent(before))
