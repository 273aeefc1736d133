r"""The least-squares baseline for rate assemblies: regress dx/dt on tanh(x).

For every receiver i, on the frames of a :class:`~circuitlib.data.rates.RateActivity`,

.. math:: \frac{dx_i}{dt} \approx c_i + a_i\, x_i + \sum_j B_{ij} \tanh(x_j),

one ordinary least-squares problem per neuron (all solved at once from one Gram matrix). This is
the assembly model of Allier et al. (2026, Eq. 2) with its functions *given* (psi = phi's
non-linearity = tanh, a linear leak), so it is what a GNN that must learn phi and psi is compared
with: exact when the truth is the baseline model, biased when psi differs (widths, leaks). The
self term B_ii absorbs the neuron's own s_i tanh(x_i) and is not a synapse: ``weights`` holds B
with a zero diagonal, in the units of the regression (gain g times W for the simulator).
"""
from __future__ import annotations

import torch

from .._device import resolve_device
from ..data.rates import RateActivity
from .base import ActivityModel


class LinearRate(ActivityModel):
    """dx/dt regressed on tanh(x), each neuron's own x and an offset (see the module docstring).

    ridge: an L2 penalty on B relative to the mean diagonal of the Gram matrix (default 1e-8, only
    to keep the solve well posed; 0 is plain least squares).

    Fitted: ``weights`` ``[N, N]`` (B off the diagonal, float64 CPU), ``self_coupling`` ``[N]`` (B_ii),
    ``leak`` ``[N]`` (a_i), ``offset`` ``[N]`` (c_i).
    """

    score_name = "dxdt_r2"        # score: R^2 of dx/dt on held-out frames

    def __init__(self, *, ridge: float = 1e-8, device="auto"):
        if not ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}.")
        self.ridge, self.device = float(ridge), resolve_device(device)

    def _frames(self, data, need_dxdt: bool = True):
        if not isinstance(data, RateActivity):
            raise ValueError(f"{type(self).__name__} reads a RateActivity (x [T, N], dt, dx/dt); got "
                             f"{type(data).__name__}.")
        if data.x.dim() != 2:
            raise ValueError(f"{type(self).__name__} reads one trial, x of shape [T, N]; got x of shape "
                             f"{tuple(data.x.shape)}: fit each trial on its own or join them.")
        if need_dxdt and data.dxdt is None:
            raise ValueError("this activity has no dx/dt, the regression target; pass RateActivity(x, dt, dxdt).")
        if self.is_fitted and data.n_neurons != self.weights.shape[0]:
            raise ValueError(f"the fit has {self.weights.shape[0]} neurons, this activity {data.n_neurons}.")
        x = data.x.to(self.device, torch.float64)
        if not torch.isfinite(x).all() or (data.dxdt is not None and not torch.isfinite(data.dxdt).all()):
            raise ValueError("the activity holds NaN or inf; drop or interpolate those frames first.")
        return x, (None if data.dxdt is None else data.dxdt.to(self.device, torch.float64))

    def fit(self, data: RateActivity, validation=None) -> LinearRate:
        """Solve the N least-squares problems on ``data``; ``validation`` is accepted and ignored."""
        x, dxdt = self._frames(data)
        t, n = x.shape
        if t < 2 * n + 2:
            raise ValueError(f"{t} frames cannot determine {n + 2} coefficients per neuron; record at least "
                             f"{2 * n + 2} frames.")
        z = torch.cat([torch.ones(t, 1, dtype=x.dtype, device=x.device), torch.tanh(x), x], 1)   # [T, 2N + 1]
        gram, rhs = z.T @ z, z.T @ dxdt                                   # [2N + 1, 2N + 1], [2N + 1, N]
        idx = torch.cat([torch.arange(n + 1, device=x.device).expand(n, -1),
                         (n + 1 + torch.arange(n, device=x.device))[:, None]], 1)                # [N, N + 2]
        g = gram[idx[:, :, None], idx[:, None, :]]                                              # [N, N+2, N+2]
        b = rhs[idx, torch.arange(n, device=x.device)[:, None]]                                  # [N, N + 2]
        pen = torch.zeros(n + 2, dtype=x.dtype, device=x.device)
        pen[1:n + 1] = self.ridge * gram.diagonal()[1:n + 1].mean()
        coef = torch.linalg.solve(g + torch.diag(pen), b)                                        # [N, N + 2]
        w = coef[:, 1:n + 1].clone()
        self.self_coupling = w.diagonal().clone().cpu()
        self.offset, self.leak = coef[:, 0].cpu(), coef[:, n + 1].cpu()
        self.weights = w.fill_diagonal_(0.0)
        self._coef = coef
        return self

    def predict(self, data: RateActivity) -> torch.Tensor:
        """Predicted dx/dt ``[T, N]`` (float64, CPU)."""
        self.check_fitted("predict")
        x, _ = self._frames(data, need_dxdt=False)
        n = x.shape[1]
        return (self._coef[:, 0] + torch.tanh(x) @ self._coef[:, 1:n + 1].T + self._coef[:, n + 1] * x).cpu()

    def score(self, data: RateActivity) -> float:
        """R^2 of the predicted dx/dt, pooled over neurons (each neuron's mean as the baseline)."""
        self.check_fitted("score")
        _, dxdt = self._frames(data)
        dxdt = dxdt.cpu()
        total = (dxdt - dxdt.mean(0)).pow(2).sum()
        if total == 0:
            raise ValueError("dx/dt does not vary over frames, so R^2 is undefined.")
        return float(1 - (self.predict(data) - dxdt).pow(2).sum() / total)
