r"""Coupling GLM (Pillow et al. 2008; the baseline of Yoon 2025, App. C.1), all neurons fitted at once.

For every neuron i and time bin t

.. math::  \eta_i(t) = b_i + \sum_j w_{ij}\,(f * x_j)(t) \;[+ (h_i * x_i)(t)], \qquad
           x_i(t) \sim \mathrm{Poisson}(\lambda_i(t)),\; \lambda_i = \exp(\eta_i) \text{ or softplus}(\eta_i)

with one causal coupling kernel ``f = B z`` over raised-cosine bases ``B`` spanning
``kernel_length`` seconds (2 tau = 20 ms by default), shared by every pair, optional per-neuron
self-history kernels ``h_i = B c_i``, and (``theta_harmonics=K > 0``) a per-neuron tuning to an
external angle, ``sum_{k<=K} a_ik cos(k theta(t-1)) + b_ik sin(k theta(t-1))``, the angle of the
bin before (as the GNN's encoder sees it). A recording with gaps is a list of SpikeTrains, one per
stretch: each is filtered on its own (no history across a gap) and the likelihood pools them.
Two forms of ``w``:

* ``coupling="shared"`` — the paper's Algorithm 1: one profile ``w_ij = p[(j - i) mod N]`` shared
  around the ring (a circulant matrix). It builds in the ring symmetry that the GNN is not given;
* ``coupling="free"`` — an unconstrained N x N ``w`` (no self-coupling) with an L2 or L1 penalty
  whose strength can be chosen on validation data.

The Poisson negative log-likelihood (mean over bins and neurons) is minimised with L-BFGS to
convergence. The kernel is kept at unit norm while fitting (``w`` carries the scale, so a penalty on
``w`` means something) and reported with its peak scaled to +1, so ``w_ij`` is the change of
neuron i's log-rate at the kernel's peak lag after one spike of neuron j.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .._device import resolve_device
from ..metrics import BitsPerSpike, bits_per_spike
from ..ring_geometry import ring_offsets
from ._input import binned_angles, binned_counts, check_bin_width
from .base import ActivityModel

COUPLINGS = ("shared", "free")
LINKS = ("exp", "softplus")
PENALTIES = ("l2", "l1")


def raised_cosine_basis(n_bases: int, n_lags: int, stretch: float = 1.0) -> torch.Tensor:
    """Log-time raised-cosine bases ``[n_lags, n_bases]`` (float64) over lags 1..n_lags bins.

    Basis k is ``(1 + cos(clip((y - c_k) pi / d, -pi, pi))) / 2`` with ``y = log(lag + stretch)``
    and peaks ``c_k`` evenly spaced by ``d`` from the first to the last lag, so the bases are narrow
    at short lags, wide at long ones, and sum to 1 between the first and last peak.
    """
    if n_bases < 1 or n_lags < n_bases:
        raise ValueError(f"need 1 <= n_bases <= n_lags, got n_bases={n_bases}, n_lags={n_lags}; "
                         "use fewer bases or a longer kernel.")
    if stretch <= 0:
        raise ValueError(f"stretch must be positive, got {stretch}.")
    y = torch.log(torch.arange(1, n_lags + 1, dtype=torch.float64) + stretch)
    if n_bases == 1:
        return torch.ones(n_lags, 1, dtype=torch.float64)
    peaks = torch.linspace(float(y[0]), float(y[-1]), n_bases, dtype=torch.float64)
    d = float(peaks[1] - peaks[0])
    arg = ((y[:, None] - peaks[None, :]) * math.pi / d).clamp(-math.pi, math.pi)
    return 0.5 * (1 + torch.cos(arg))


def causal_filter(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """``out[k, n, t] = sum_{s=1..L} kernels[k, s-1] * x[n, t-s]`` (zero before t = 0).

    x: ``[N, T]``; kernels: ``[K, L]`` (lag 1 first), each applied to every row of x. Returns
    ``[K, N, T]``: only bins strictly before t enter, so a bin's own spikes never predict themselves.
    """
    length = kernels.shape[1]
    padded = F.pad(x[:, None, :], (length, 0))  # [N, 1, L + T]
    return F.conv1d(padded, kernels.flip(1)[:, None, :])[:, :, :-1].transpose(0, 1).contiguous()


class CouplingGLM(ActivityModel):
    """Poisson GLM with a shared coupling kernel; see the module docstring for the model.

    Parameters: ``coupling`` ("shared" | "free"), ``bin_width`` (s; None keeps a SpikeTrain's own
    dt, e.g. the full 0.1 ms resolution), ``kernel_length`` (s), ``n_bases``, ``link``
    ("exp" | "softplus"), ``self_history``, ``penalty`` ("l2" | "l1", free form only), ``strength``
    (a number, or a sequence to choose from on validation data, strongest first with warm starts),
    ``max_iter`` (L-BFGS iterations), ``theta_harmonics`` (angle tuning; the data must carry
    theta), ``device``, ``dtype``.

    After :meth:`fit`: ``weights`` ``[N, N]`` (row = receiver), ``kernel`` ``[L]`` (peak +1),
    ``bias`` ``[N]``, ``self_history_kernels`` ``[N, L]`` or None, ``tuning`` ``[N, 2K]`` (cos, sin
    of each harmonic) or None, ``n_iter``, ``converged``, ``train_loss``, ``chosen_strength`` (the
    penalty strength used) and ``path`` (``[(strength, validation bits/spike), ...]``).
    """

    def __init__(self, coupling: str = "shared", *, bin_width: float | None = 1e-3, kernel_length: float = 0.02,
                 n_bases: int = 10, link: str = "exp", self_history: bool = False, penalty: str = "l2",
                 strength: float | Sequence[float] = 0.0, max_iter: int = 2000, theta_harmonics: int = 0,
                 device="auto", dtype: torch.dtype = torch.float32):
        for name, value, allowed in (("coupling", coupling, COUPLINGS), ("link", link, LINKS),
                                     ("penalty", penalty, PENALTIES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
        strengths = [float(s) for s in (strength if isinstance(strength, Sequence) else [strength])]
        if not strengths or min(strengths) < 0:
            raise ValueError(f"strength must be >= 0 (or a non-empty sequence of such), got {strength!r}.")
        if coupling == "shared" and max(strengths) > 0:
            raise ValueError("the shared-profile GLM has N-1 parameters and no penalty; use strength=0.")
        if kernel_length <= 0 or max_iter < 1 or theta_harmonics < 0 or n_bases < 1:
            raise ValueError(f"need kernel_length > 0 s, max_iter >= 1, theta_harmonics >= 0 and n_bases >= 1; got "
                             f"{kernel_length}, {max_iter}, {theta_harmonics}, {n_bases}.")
        check_bin_width(bin_width)
        if bin_width is not None and round(kernel_length / bin_width) < n_bases:
            raise ValueError(f"the kernel spans {round(kernel_length / bin_width)} bins, fewer than n_bases={n_bases}; "
                             "use fewer bases or a longer kernel_length.")
        self.theta_harmonics = theta_harmonics
        self.coupling, self.bin_width, self.kernel_length = coupling, bin_width, kernel_length
        self.n_bases, self.link, self.self_history, self.penalty = n_bases, link, self_history, penalty
        self.strengths = sorted(strengths, reverse=True)
        self.max_iter, self.device, self.dtype = max_iter, resolve_device(device), dtype

    # -- model --------------------------------------------------------------------------------
    def _coupling(self, n: int) -> torch.Tensor:
        if self.coupling == "free":
            return self._w * self._off_diag
        profile = torch.cat([self._w.new_zeros(1), self._w])  # offset 0 (self) is not coupled
        return profile[self._offsets]

    def _inputs(self, data) -> tuple[torch.Tensor, tuple]:
        """Counts ``[N, T]`` and the model's inputs: basis-filtered spikes ``[K, N, T]`` (K*N*T numbers
        in memory) and the angle features ``[2 harmonics, T]`` or None; stretches are joined."""
        parts = data if isinstance(data, (list, tuple)) else [data]
        xts = [binned_counts(d, self.bin_width, self.device, self.dtype, stretch=len(parts) > 1).T.contiguous()
               for d in parts]
        xt = torch.cat(xts, 1)
        if not xt.any():
            raise ValueError("no neuron spiked in these data; there is nothing to infer connectivity from.")
        y = torch.cat([causal_filter(x, self._basis.T) for x in xts], -1)
        if self.theta_harmonics == 0:
            return xt, (y, None)
        angles = []
        for d in parts:
            theta = binned_angles(d, self.bin_width, self.device, self.dtype)
            angles.append(torch.cat([theta[:1], theta[:-1]]))            # theta(t - 1); theta(0) at the start
        k = torch.arange(1, self.theta_harmonics + 1, device=self.device, dtype=self.dtype)
        phase = k[:, None] * torch.cat(angles)[None]
        return xt, (y, torch.cat([phase.cos(), phase.sin()]))

    def _eta(self, inputs: tuple) -> torch.Tensor:
        """Linear predictor ``[N, T]`` from the inputs of :meth:`_inputs`."""
        y, angle = inputs
        k, n, t = y.shape
        flat = y.reshape(k, n * t)
        u = (self._z / (self._basis @ self._z).norm()) @ flat  # (f * x_j)(t) for every j, f = Bz/||Bz||
        eta = self._b[:, None] + self._coupling(n) @ u.view(n, t)
        if self._c is not None:
            eta = eta + torch.einsum("nk,knt->nt", self._c, y)
        if self._a is not None:
            eta = eta + self._a @ angle
        return eta

    def _rate_and_log(self, eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.link == "exp":
            return torch.exp(eta), eta
        lam = F.softplus(eta)
        return lam, torch.where(eta < -30, eta, torch.log(lam.clamp_min(1e-300)))

    def _objective(self, xt: torch.Tensor, inputs: tuple, strength: float) -> torch.Tensor:
        lam, log_lam = self._rate_and_log(self._eta(inputs))
        loss = (lam - xt * log_lam).mean()
        if strength > 0:
            w = self._w * self._off_diag
            loss = loss + strength * ((w**2).sum() if self.penalty == "l2" else torch.sqrt(w**2 + 1e-8).sum())
        return loss

    def _init(self, xt: torch.Tensor):
        n = xt.shape[0]
        kw = dict(device=self.device, dtype=self.dtype)
        mean = xt.mean(1).clamp_min(1e-6)
        self._b = (mean.log() if self.link == "exp" else mean.expm1().log()).clone().requires_grad_()
        self._z = torch.ones(self.n_bases, **kw).requires_grad_()
        self._w = torch.zeros((n, n) if self.coupling == "free" else (n - 1,), **kw).requires_grad_()
        self._c = torch.zeros(n, self.n_bases, **kw).requires_grad_() if self.self_history else None
        self._a = torch.zeros(n, 2 * self.theta_harmonics, **kw).requires_grad_() if self.theta_harmonics else None
        idx = torch.arange(n, device=self.device)
        self._offsets = ring_offsets(idx, n)
        self._off_diag = (self._offsets != 0).to(self.dtype)

    def _params(self) -> list[torch.Tensor]:
        return [p for p in (self._b, self._z, self._w, self._c, self._a) if p is not None]

    def _minimise(self, xt: torch.Tensor, y: tuple, strength: float) -> tuple[int, float]:
        opt = torch.optim.LBFGS(self._params(), lr=1.0, max_iter=self.max_iter, history_size=20,
                                tolerance_grad=1e-10, tolerance_change=1e-13, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = self._objective(xt, y, strength)
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            loss = float(self._objective(xt, y, strength))
        return opt.state[self._params()[0]]["n_iter"], loss

    # -- public API -----------------------------------------------------------------------------
    def fit(self, data, validation=None) -> CouplingGLM:
        """Fit to ``data`` (SpikeTrain, counts ``[T, N]`` or a list of stretches); ``validation``
        (the same kinds) picks the penalty strength (needed when several are given)."""
        first = data[0] if isinstance(data, (list, tuple)) and data else data
        self._dt = self.bin_width if self.bin_width is not None else getattr(first, "dt", None)
        if self._dt is None:
            raise ValueError("bin_width=None keeps a SpikeTrain's own dt; for dense counts give bin_width.")
        if len(self.strengths) > 1 and validation is None:
            raise ValueError("several penalty strengths need validation data to choose from: "
                             "fit(train, validation=val).")
        n_lags = round(self.kernel_length / self._dt)
        self._basis = raised_cosine_basis(self.n_bases, n_lags).to(self.device, self.dtype)
        xt, y = self._inputs(data)
        self._init(xt)
        self.path, best = [], None
        for strength in self.strengths:  # strongest first; each fit starts where the last ended
            n_iter, loss = self._minimise(xt, y, strength)
            if validation is not None:
                self.path.append((strength, self._score(validation).mean))
            score = self.path[-1][1] if validation is not None else -loss
            if best is None or score > best[0]:
                best = (score, strength, n_iter, loss, [p.detach().clone() for p in self._params()])
        _, self.chosen_strength, self.n_iter, self.train_loss, saved = best
        with torch.no_grad():
            for p, v in zip(self._params(), saved):
                p.copy_(v)
        self.converged = self.n_iter < self.max_iter
        self._report()
        return self

    def _report(self):
        """Public, detached parameters with the kernel's peak scaled to +1 (w absorbs the scale)."""
        with torch.no_grad():
            f = self._basis @ self._z
            f = f / f.norm()
            peak = f[f.abs().argmax()]
            self.kernel = f / peak
            self.weights = self._coupling(self._b.shape[0]) * peak
            self.bias = self._b.detach().clone()
            self.self_history_kernels = None if self._c is None else self._c @ self._basis.T
            self.tuning = None if self._a is None else self._a.detach().clone()

    def predict(self, data) -> torch.Tensor:
        """Expected spike counts per bin ``[T, N]`` (history before the first bin of a recording or
        stretch is taken as empty; stretches are joined)."""
        self.check_fitted("predict")
        return self._rates(*self._inputs(data))

    def _rates(self, xt: torch.Tensor, inputs: tuple) -> torch.Tensor:
        if xt.shape[0] != self._b.shape[0]:
            raise ValueError(f"the model was fitted to {self._b.shape[0]} neurons, these data have {xt.shape[0]}.")
        with torch.no_grad():
            return self._rate_and_log(self._eta(inputs))[0].T

    def score(self, data) -> BitsPerSpike:
        """Held-out bits per spike (Yoon 2025, Eq. 19) of the fitted model on ``data``."""
        self.check_fitted("score")
        return self._score(data)

    def _score(self, data) -> BitsPerSpike:
        """:meth:`score` of the current parameters (also while :meth:`fit` chooses the penalty)."""
        xt, inputs = self._inputs(data)
        return bits_per_spike(xt.T, self._rates(xt, inputs).clamp_min(1e-12))
