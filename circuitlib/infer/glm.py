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
  around the ring (a circulant matrix). It builds in the ring symmetry that the GNN is not given.
  With ``lattice=(L1, L2)`` the neurons tile a torus instead (neuron ``row * L2 + col``) and the
  profile is shared over 2-D offsets, ``w_ij = p[offset(i, j)]`` (a doubly circulant matrix; see
  :mod:`circuitlib.ring_geometry`);
* ``coupling="free"`` — an unconstrained N x N ``w`` (no self-coupling) with an L2 or L1 penalty
  whose strength can be chosen on validation data.

Fitting. The Poisson negative log-likelihood is minimised with L-BFGS, per spike (the sum over
bins and neurons divided by the number of spikes S) and in whitened coordinates: each coefficient
is divided by the square root of its diagonal curvature at the homogeneous model (every neuron at
its mean rate), so all coordinates have curvature ~1 and a standard error ~1/sqrt(S). The optimum
is the same as in plain coordinates; only the conditioning changes (on a 20-neuron, 1-5 Hz, 1 ms
recording L-BFGS in plain coordinates had not converged after 2000 iterations). The stated
criterion: **converged** when the largest whitened gradient entry is at most
``tolerance_grad / sqrt(S)`` (the optimisation error is then ~``tolerance_grad`` standard errors;
default 0.1: on 60 s of the four-bump ring, 100 neurons, the free form with strength 1e-5 met 0.1
after 273 iterations and 0.01 after 798, 2.8 times later in time, with validation bits/spike
equal to 1e-5 and Delta to 5e-4). L-BFGS also stops when the relative loss change of an
iteration falls below ``tolerance_change`` or after ``max_iter`` iterations; those stops are reported in
``stop_reason`` and, unless the gradient criterion holds too, raise a :class:`ConvergenceWarning`.

Penalties. ``strength="auto"`` (default) scales with the data: a relative strength alpha
penalises the total log-likelihood, L2 as ``alpha / 2 * sum w^2`` (a Gaussian prior of precision
alpha on each w_ij in log-rate units; in the per-spike objective it is divided by S, so a pair's
shrinkage 1 / (1 + alpha / I_ij) falls as its Fisher information I_ij ~ rate x rate x duration
grows), L1 as ``alpha * sum |w|`` (a Laplace prior of scale 1 / alpha). With validation data alpha
is chosen on the grid ``AUTO_ALPHAS``; when the choice lands on the strong end, the grid is
extended by factors of 10 (at most ``MAX_EXTENSIONS`` times, then a :class:`PenaltyGridWarning`);
on the weak end it is extended down to ``ALPHA_FLOOR``, below which the prior is negligible. Without validation data
"auto" fits ``DEFAULT_ALPHA``. A number (or a sequence to choose from) is an absolute strength on the
original ``w``, in units of the mean negative log-likelihood per bin and neuron, as in Yoon (2025);
an absolute grid is not extended, but a choice at its end (other than 0) raises a
:class:`PenaltyGridWarning` that names the end.

Precision: float64 by default; in either dtype the likelihood's spike term (a dot product over the
spikes only) and the rates' sum (runs of 256 bins, added in float64) are float64. With a
plain float32 dot product over every bin, a float32 fit could not resolve the loss changes near the
optimum on the 20-neuron, 1-5 Hz, 1 ms recordings (the issue-18 report: see the ``dtype`` note in
:class:`CouplingGLM`); now it meets the same gradient criterion as float64 in about as many
iterations (``benchmarks/glm_fit.py --dtypes float64 float32``). Float32's exp overflows at a
log-rate of 88 (float64's at 709): a weakly penalised fit to seconds of data can get there (chapter
3, continued, at ci), so float64 stays the default. The kernel is kept at unit norm while fitting
(``w`` carries the scale, so a penalty on ``w`` means something) and reported with its peak scaled
to +1, so ``w_ij`` is the change of neuron i's log-rate at the kernel's peak lag after one spike of neuron j.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .._device import resolve_device
from ..metrics import BitsPerSpike, bits_per_spike
from ..ring_geometry import lattice_shape, ring_offsets
from ._input import binned_angles, binned_counts, check_bin_width
from .base import ActivityModel

COUPLINGS = ("shared", "free")
LINKS = ("exp", "softplus")
PENALTIES = ("l2", "l1")
AUTO_ALPHAS = (100.0, 10.0, 1.0)  # relative strengths (prior precisions) of strength="auto", strongest first
DEFAULT_ALPHA = 10.0              # strength="auto" without validation data
ALPHA_FLOOR = 0.01                # a prior of s.d. 10 in log-rate units is negligible: no extension below
MAX_EXTENSIONS = 3               # factors of 10 added beyond the strong end before a warning


class ConvergenceWarning(UserWarning):
    """A fit stopped before its stated convergence criterion held (see ``stop_reason``)."""


class PenaltyGridWarning(UserWarning):
    """Validation chose a penalty strength at an end of its grid: the best one may lie beyond it."""


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


def _float64_sum(values: torch.Tensor, run: int = 256) -> torch.Tensor:
    """The sum of all entries of ``values`` as a float64 scalar: partial sums over runs of ``run``
    entries in the tensor's dtype, added in float64. In float32 about 2e-11 relative (a plain
    pairwise float32 sum: 1e-8, which stalled a float32 line search on 192 s of the ring), at the
    cost of a float32 sum (a float64 sum of float32 entries takes 10x longer)."""
    flat = values.reshape(-1)
    cut = flat.numel() // run * run
    return flat[:cut].view(-1, run).sum(1).double().sum() + flat[cut:].double().sum()


def _spike_sum(values: torch.Tensor, index: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``sum(x * values)`` in float64 over the bins that hold spikes: ``index`` the flat indices of
    the nonzero counts of x, ``counts`` those counts in float64, so that the [N, T] product is never
    formed. (A float32 dot over all N T entries loses about 2e-7 relative, which the line search
    cannot spare.)"""
    return values.reshape(-1).take(index).double() @ counts


class _PoissonExpNLL(torch.autograd.Function):
    """``sum(exp(eta) - x * eta)`` over all entries of ``eta`` [N, T], the counts x given as
    ``index`` and ``counts`` (see :func:`_spike_sum`), in one pass for the rates and one for the gradient
    ``exp(eta) - x`` (kept from the forward pass). A float64 scalar whatever the dtype of ``eta``
    (:func:`_float64_sum`, :func:`_spike_sum`), so that a float32 fit still resolves the loss
    changes of its last iterations."""

    @staticmethod
    def forward(ctx, eta: torch.Tensor, index: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        lam = eta.exp()
        total = _float64_sum(lam) - _spike_sum(eta, index, counts)
        ctx.save_for_backward(lam.view(-1).index_add_(0, index, counts.to(lam.dtype), alpha=-1).view_as(lam))
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (residual,) = ctx.saved_tensors
        return grad.to(residual.dtype) * residual, None, None


class CouplingGLM(ActivityModel):
    """Poisson GLM with a shared coupling kernel; see the module docstring for the model and the fit.

    Parameters: ``coupling`` ("free" | "shared"; default "free", the general N x N w; "shared" is
    the ring's circulant profile), ``bin_width`` (s; None keeps a SpikeTrain's own dt, e.g. the
    full 0.1 ms resolution), ``kernel_length`` (s), ``n_bases``, ``link`` ("exp" | "softplus"),
    ``self_history``, ``penalty`` ("l2" | "l1", free form only), ``strength`` ("auto": relative to
    the data, see the module docstring; or an absolute number, or a sequence of them to choose from
    on validation data, strongest first with warm starts), ``max_iter`` (L-BFGS iterations per
    strength), ``tolerance_grad`` (convergence: largest whitened gradient entry <=
    tolerance_grad / sqrt(S), i.e. in standard errors), ``tolerance_change`` (relative loss change
    at which L-BFGS gives up), ``theta_harmonics`` (angle tuning; the data must carry theta),
    ``lattice`` (shared form only: None or N, a ring of the N neurons; ``(L1, L2)``, a torus of N = L1 L2),
    ``device``, ``dtype``.

    dtype: float64 by default. Measured on ``ei_network.simulate(300, n=20, rates=(1, 5), seed=0)``
    (1 ms bins, 70 % for training): float32 in the old plain coordinates stopped after 1 iteration
    with |w| < 1e-6 and held-out bits/spike -0.017 while calling itself converged; in whitened
    coordinates, with the likelihood summed in float32, float32 stalled (the line search could not
    resolve loss changes of ~1e-7 relative) before the gradient criterion held. With the spike term
    summed in float64 (now always), float32 meets it there after 11 iterations with the
    validation-chosen strength, as float64 does, with the same held-out bits/spike to 5 decimals, in half the time.

    After :meth:`fit`: ``weights`` ``[N, N]`` (row = receiver), ``kernel`` ``[L]`` (peak +1),
    ``bias`` ``[N]``, ``self_history_kernels`` ``[N, L]`` or None, ``tuning`` ``[N, 2K]`` (cos, sin
    of each harmonic) or None; the convergence report of the chosen fit: ``converged`` (True only
    when the gradient criterion holds), ``criterion`` (the criterion in words), ``n_iter``,
    ``grad_norm`` (its largest whitened gradient entry), ``grad_tolerance`` (tolerance_grad / sqrt(S)),
    ``stop_reason`` ("gradient" | "loss change" | "max_iter"), ``train_loss`` (negative
    log-likelihood per spike plus penalty); the penalty: ``chosen_strength`` (absolute strength, or
    the relative alpha with "auto"), ``strength_scale`` ("absolute" | "relative") and ``path``
    (``[(strength, validation bits/spike), ...]`` in the order fitted).
    """

    def __init__(self, coupling: str = "free", *, bin_width: float | None = 1e-3, kernel_length: float = 0.02,
                 n_bases: int = 10, link: str = "exp", self_history: bool = False, penalty: str = "l2",
                 strength: str | float | Sequence[float] = "auto", max_iter: int = 2000,
                 tolerance_grad: float = 0.1, tolerance_change: float = 1e-12, theta_harmonics: int = 0,
                 lattice: int | tuple[int, int] | None = None, device="auto", dtype: torch.dtype = torch.float64):
        for name, value, allowed in (("coupling", coupling, COUPLINGS), ("link", link, LINKS),
                                     ("penalty", penalty, PENALTIES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
        self.auto = isinstance(strength, str)
        if self.auto and strength != "auto":
            raise ValueError(f"strength must be 'auto', a number >= 0 or a sequence of such, got {strength!r}.")
        if self.auto:
            strengths = [0.0] if coupling == "shared" else []
        else:
            strengths = [float(s) for s in (strength if isinstance(strength, Sequence) else [strength])]
            if not strengths or min(strengths) < 0:
                raise ValueError(f"strength must be >= 0 (or a non-empty sequence of such), got {strength!r}.")
            if coupling == "shared" and max(strengths) > 0:
                raise ValueError("the shared-profile GLM has N-1 parameters and no penalty; use strength=0.")
        if kernel_length <= 0 or max_iter < 1 or theta_harmonics < 0 or n_bases < 1:
            raise ValueError(f"need kernel_length > 0 s, max_iter >= 1, theta_harmonics >= 0 and n_bases >= 1; got "
                             f"{kernel_length}, {max_iter}, {theta_harmonics}, {n_bases}.")
        if not (tolerance_grad > 0 and tolerance_change >= 0):
            raise ValueError(f"need tolerance_grad > 0 and tolerance_change >= 0, got {tolerance_grad}, "
                             f"{tolerance_change}.")
        check_bin_width(bin_width)
        if bin_width is not None and round(kernel_length / bin_width) < n_bases:
            raise ValueError(f"the kernel spans {round(kernel_length / bin_width)} bins, fewer than n_bases={n_bases}; "
                             "use fewer bases or a longer kernel_length.")
        if lattice is not None and coupling != "shared":
            raise ValueError("lattice places neurons for the shared profile; the free form has no geometry, "
                             "so leave lattice=None with coupling='free'.")
        self.lattice = None if lattice is None else lattice_shape(lattice)
        self.auto = self.auto and coupling == "free"          # the shared profile has no penalty
        self.theta_harmonics = theta_harmonics
        self.coupling, self.bin_width, self.kernel_length = coupling, bin_width, kernel_length
        self.n_bases, self.link, self.self_history, self.penalty = n_bases, link, self_history, penalty
        self.strengths = sorted(strengths, reverse=True)
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.max_iter, self.device, self.dtype = max_iter, resolve_device(device), dtype

    # -- model --------------------------------------------------------------------------------
    def _coupling(self, n: int) -> torch.Tensor:
        """w ``[N, N]`` in the original units (the parameter is whitened)."""
        if self.coupling == "free":
            return self._w * self._w_scale * self._off_diag
        profile = torch.cat([self._w.new_zeros(1), self._w * self._w_scale])  # offset 0 (self) is not coupled
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
        eta = (self._b0 + self._b * self._b_scale)[:, None] + self._coupling(n) @ u.view(n, t)
        if self._c is not None:
            eta = eta + torch.einsum("nk,knt->nt", self._c * self._c_scale, y)
        if self._a is not None:
            eta = eta + (self._a * self._a_scale) @ angle
        return eta

    def _rate_and_log(self, eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.link == "exp":
            return torch.exp(eta), eta
        lam = F.softplus(eta)
        return lam, torch.where(eta < -30, eta, torch.log(lam.clamp_min(1e-300)))

    def _objective(self, xt: torch.Tensor, inputs: tuple, strength: float) -> torch.Tensor:
        """Negative log-likelihood per spike plus the penalty (absolute: rescaled from the per-bin mean)."""
        if self.link == "exp":
            loss = _PoissonExpNLL.apply(self._eta(inputs), *self._spikes) / self._n_spikes
        else:
            lam, log_lam = self._rate_and_log(self._eta(inputs))
            loss = (_float64_sum(lam) - _spike_sum(log_lam, *self._spikes)) / self._n_spikes
        if strength > 0:
            w = self._coupling(xt.shape[0])
            l2 = self.penalty == "l2"
            if self.auto:                                    # relative: on the total log-likelihood
                scale = (0.5 if l2 else 1.0) * strength / self._n_spikes
            else:                                            # absolute: per bin and neuron
                scale = strength * xt.numel() / self._n_spikes
            loss = loss + scale * ((w**2).sum() if l2 else torch.sqrt(w**2 + 1e-8).sum())
        return loss

    def _init(self, xt: torch.Tensor, inputs: tuple):
        """Homogeneous start (every neuron at its mean rate, no coupling) and the whitening scales:
        1 / sqrt(diagonal curvature of the per-spike loss) of each coefficient there."""
        n, t = xt.shape
        kw = dict(device=self.device, dtype=self.dtype)
        mean = xt.mean(1).clamp_min(1e-6)
        self._n_spikes = float(xt.sum())
        flat = xt.reshape(-1)
        index = flat.nonzero()[:, 0]
        self._spikes = (index, flat[index].double())             # (flat index, count) of every nonzero bin
        self._b0 = mean.log() if self.link == "exp" else mean.expm1().log()
        peaks = self._basis.argmax(0).to(self.dtype) + 1                # start: f ~ exp(-lag / (L / 4)), a short
        self._z = torch.exp(-4 * peaks / self._basis.shape[0]).requires_grad_()  # synaptic kernel, at basis peaks
        y, angle = inputs
        with torch.no_grad():
            u2 = ((self._z / (self._basis @ self._z).norm()) @ y.reshape(self.n_bases, -1)).view(n, t).pow(2).sum(1)
            curv = mean[:, None] / self._n_spikes          # [N, 1]: lambda_i / S at the homogeneous model
            idx = torch.arange(n, device=self.device)
            if self.lattice is not None and self.lattice[0] * self.lattice[1] != n:
                raise ValueError(f"the data have {n} neurons but lattice {self.lattice} has "
                                 f"{self.lattice[0] * self.lattice[1]} positions; pass the data's lattice.")
            self._offsets = ring_offsets(idx, self.lattice or n)
            w_curv = curv * u2[None, :]
            if self.coupling == "shared":                  # profile entry p collects every pair at offset p
                w_curv = torch.zeros(n, **kw).index_add_(0, self._offsets.flatten(), w_curv.flatten())[1:]
            self._w_scale = w_curv.clamp_min(1e-12).rsqrt()
            self._b_scale = (curv[:, 0] * t).rsqrt()
            self._c_scale = (curv * y.pow(2).sum(-1).T).clamp_min(1e-12).rsqrt() if self.self_history else None
            self._a_scale = (curv * angle.pow(2).sum(-1)[None]).clamp_min(1e-12).rsqrt() if self._harm() else None
        self._b = torch.zeros(n, **kw).requires_grad_()
        self._w = torch.zeros((n, n) if self.coupling == "free" else (n - 1,), **kw).requires_grad_()
        self._c = torch.zeros(n, self.n_bases, **kw).requires_grad_() if self.self_history else None
        self._a = torch.zeros(n, 2 * self.theta_harmonics, **kw).requires_grad_() if self._harm() else None
        self._off_diag = (self._offsets != 0).to(self.dtype)

    def _harm(self) -> bool:
        return self.theta_harmonics > 0

    def _params(self) -> list[torch.Tensor]:
        return [p for p in (self._b, self._z, self._w, self._c, self._a) if p is not None]

    def _grad_max(self, xt: torch.Tensor, inputs: tuple, strength: float) -> tuple[float, float]:
        """(loss, largest |gradient| entry) at the current parameters."""
        params = self._params()
        loss = self._objective(xt, inputs, strength)
        grads = torch.autograd.grad(loss, params)
        return float(loss.detach()), max(float(g.abs().max()) for g in grads)

    def _minimise(self, xt: torch.Tensor, inputs: tuple, strength: float) -> dict:
        """L-BFGS from the current parameters; returns the convergence report of this fit."""
        gtol = self.tolerance_grad / self._n_spikes**0.5
        loss0, _ = self._grad_max(xt, inputs, strength)
        opt = torch.optim.LBFGS(self._params(), lr=1.0, max_iter=self.max_iter, max_eval=2 * self.max_iter,
                                history_size=20, tolerance_grad=gtol,
                                tolerance_change=self.tolerance_change * max(abs(loss0), 1e-12),
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = self._objective(xt, inputs, strength)
            loss.backward()
            return loss

        opt.step(closure)
        n_iter = opt.state[self._params()[0]]["n_iter"]
        loss, grad = self._grad_max(xt, inputs, strength)
        reason = "gradient" if grad <= gtol else "max_iter" if n_iter >= self.max_iter else "loss change"
        return dict(n_iter=n_iter, train_loss=loss, grad_norm=grad, grad_tolerance=gtol, stop_reason=reason,
                    converged=grad <= gtol)

    # -- public API -----------------------------------------------------------------------------
    def fit(self, data, validation=None) -> CouplingGLM:
        """Fit to ``data`` (SpikeTrain, counts ``[T, N]`` or a list of stretches); ``validation``
        (the same kinds) picks the penalty strength (needed when several absolute ones are given).
        Warns (:class:`ConvergenceWarning`) when the chosen fit misses the gradient criterion and
        (:class:`PenaltyGridWarning`) when validation picks an end of a grid it cannot extend."""
        first = data[0] if isinstance(data, (list, tuple)) and data else data
        self._dt = self.bin_width if self.bin_width is not None else getattr(first, "dt", None)
        if self._dt is None:
            raise ValueError("bin_width=None keeps a SpikeTrain's own dt; for dense counts give bin_width.")
        if len(self.strengths) > 1 and validation is None:
            raise ValueError("several penalty strengths need validation data to choose from: "
                             "fit(train, validation=val).")
        n_lags = round(self.kernel_length / self._dt)
        self._basis = raised_cosine_basis(self.n_bases, n_lags).to(self.device, self.dtype)
        xt, inputs = self._inputs(data)
        self._init(xt, inputs)
        self.strength_scale = "relative" if self.auto else "absolute"
        grid = list(AUTO_ALPHAS if validation is not None else [DEFAULT_ALPHA]) if self.auto else self.strengths
        self.path, fits = [], {}
        for strength in grid:                 # strongest first; each fit starts where the last ended
            self._fit_one(xt, inputs, strength, validation, fits)
        if self.auto and validation is not None:
            self._extend(xt, inputs, validation, fits)
        best = max(fits, key=lambda s: fits[s][0]) if validation is not None else grid[-1]
        self.chosen_strength = best
        report, saved = fits[best][1:]
        with torch.no_grad():
            for p, v in zip(self._params(), saved):
                p.copy_(v)
        for key, value in report.items():
            setattr(self, key, value)
        self.criterion = (f"largest whitened gradient entry <= tolerance_grad / sqrt(S) = {self.tolerance_grad:g} / "
                          f"sqrt({self._n_spikes:.0f}) = {self.grad_tolerance:.3g}")
        if not self.converged:
            hint = ("raise max_iter" if self.stop_reason == "max_iter" else
                    "lower tolerance_change" if self.dtype == torch.float64 else "use dtype=torch.float64")
            warnings.warn(f"CouplingGLM stopped ({self.stop_reason}) after {self.n_iter} iterations with gradient "
                          f"{self.grad_norm:.3g} > {self.grad_tolerance:.3g} ({self.criterion}); {hint}, or loosen "
                          "tolerance_grad.", ConvergenceWarning, stacklevel=2)
        if validation is not None and len(fits) > 1 and not self.auto:
            self._warn_if_edge(best, sorted(fits))
        self._report()
        return self

    def _fit_one(self, xt, inputs, strength: float, validation, fits: dict) -> None:
        report = self._minimise(xt, inputs, strength)
        score = self._score(validation).mean if validation is not None else -report["train_loss"]
        if validation is not None:
            self.path.append((strength, score))
        fits[strength] = (score, report, [p.detach().clone() for p in self._params()])

    def _extend(self, xt, inputs, validation, fits: dict) -> None:
        """Extend the relative grid while validation picks its end: stronger by x10 at most
        ``MAX_EXTENSIONS`` times (then warn), weaker by /10 down to ``ALPHA_FLOOR``."""
        for _ in range(MAX_EXTENSIONS):
            best, grid = max(fits, key=lambda s: fits[s][0]), sorted(fits)
            if best == grid[-1]:
                self._restore(fits[best][2])
                self._fit_one(xt, inputs, 10 * best, validation, fits)
            elif best == grid[0] and best / 10 >= ALPHA_FLOOR:
                self._restore(fits[best][2])
                self._fit_one(xt, inputs, best / 10, validation, fits)
            else:
                return
        best, grid = max(fits, key=lambda s: fits[s][0]), sorted(fits)
        if best == grid[-1] or (best == grid[0] and best / 10 >= ALPHA_FLOOR):
            self._warn_if_edge(best, grid)

    def _restore(self, saved: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, v in zip(self._params(), saved):
                p.copy_(v)

    def _warn_if_edge(self, best: float, grid: list[float]) -> None:
        """PenaltyGridWarning when ``best`` is the strongest or the weakest non-zero strength of ``grid``."""
        if best == grid[-1]:
            end, hint = "strongest", f"add stronger ones, e.g. {10 * best:g}"
        elif best == grid[0] and best > 0:
            end, hint = "weakest", f"add weaker ones, e.g. {best / 10:g} (or 0)"
        else:
            return
        if self.auto:
            hint = (f"the relative grid was extended {MAX_EXTENSIONS} times; pass an absolute grid, strength=[...], "
                    "or more validation data")
        kind = "relative" if self.auto else "absolute"
        warnings.warn(f"validation chose the {end} {kind} penalty strength {best:g} of the grid {grid}; the best "
                      f"strength may lie beyond it: {hint}.", PenaltyGridWarning, stacklevel=3)

    def _report(self):
        """Public, detached parameters with the kernel's peak scaled to +1 (w absorbs the scale)."""
        with torch.no_grad():
            f = self._basis @ self._z
            f = f / f.norm()
            peak = f[f.abs().argmax()]
            self.kernel = f / peak
            self.weights = self._coupling(self._b.shape[0]) * peak
            self.bias = self._b0 + self._b * self._b_scale
            self.self_history_kernels = None if self._c is None else (self._c * self._c_scale) @ self._basis.T
            self.tuning = None if self._a is None else self._a * self._a_scale

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
