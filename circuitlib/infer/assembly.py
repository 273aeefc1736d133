"""The assembly GNN of Allier et al. (2026) behind the estimator contract.

    est = AssemblyEstimator(n_steps=2000, regularisation=exp.regularisation).fit(train)  # RateActivity
    est.weights                 # learned W [N, N] (row = receiver), in the model's units
    est.score(held_out)         # R^2 of the predicted dx/dt on frames the fit never saw
    est.rollout(x0, 800)        # Euler integration of the learned dynamics

``fit`` builds an :class:`~circuitlib.infer.assembly_gnn.AssemblyGNN` (Eq. 3), trains it with Adam
on the loss of Supp. Eq. 3 (:func:`~circuitlib.infer.assembly_training.fit_assembly_gnn`) and,
with ``refine=True``, solves W and each neuron's gain and leak on phi* exactly by least squares
(:func:`~circuitlib.infer.assembly_training.refine_least_squares`). W is learned only up to the
scale it shares with psi* (W psi* = (cW)(psi*/c)); comparing it with a simulator's W needs that
scale fixed, which :func:`circuitlib.experiments.assembly.simulator_weights` does.
"""
from __future__ import annotations

import math

import torch

from .. import metrics
from .._device import resolve_device
from ..data.rates import RateActivity
from .assembly_gnn import MESSAGE_PATHS, PSI_INPUTS, AssemblyGNN, rollout
from .assembly_training import Regularisation, fit_assembly_gnn, refine_least_squares
from .base import ActivityModel

PREDICT_FRAMES = 256            # frames per forward pass in predict (bounds the pairwise path's memory)


class AssemblyEstimator(ActivityModel):
    """Connectivity, neuron types and signalling functions from rate activity (Eq. 3, Supp. Eq. 3).

    Model: ``latent_dim``, ``psi_input`` ("x", "sender", "pair"), ``hidden``, ``n_layers``,
    ``message_path``, ``chunk_size``, ``fixed_latents``, ``weight_init_std`` as in
    :class:`~circuitlib.infer.assembly_gnn.AssemblyGNN`; ``positions`` [N, 2] (NaN rows: not
    modulated) adds the field Omega*(p_i, t), fed the frame times scaled to [-1, 1] over the fit's
    frames. Training: ``n_steps`` Adam steps of ``batch_size`` frames, ``regularisation``, the
    ``lr_*`` rates and ``lr_final`` of ``fit_assembly_gnn``; ``l1_warmup`` the fraction of the steps
    over which the L1 weight rises to zeta. ``refine`` solves W, gain and leak by least squares on
    every ``refine_stride``-th frame after Adam (dense models only). ``callback(step, estimator)``
    runs after each of the ``log_every``-step blocks, with ``estimator.model`` the model so far.

    Fitted: ``model`` (the AssemblyGNN), ``weights`` (its W, float64 CPU), ``latents``, ``training_log``,
    ``gain_leak`` [N, 2] (kappa_i, lambda_i of the refinement; None without it), ``dt`` of the
    fit's frames, ``validation_score`` (R^2 on ``validation``; None without it).
    """

    score_name = "dxdt_r2"        # score: R^2 of dx/dt on held-out frames

    def __init__(self, latent_dim: int = 2, psi_input: str = "x", hidden: int = 64, n_layers: int = 3,
                 message_path: str = "auto", chunk_size: int = 64, fixed_latents: bool = False,
                 weight_init_std: float = 1e-3, positions: torch.Tensor | None = None, n_steps: int = 1000,
                 batch_size: int = 32, regularisation: Regularisation = Regularisation(),
                 lr_weights: float = 1e-3, lr_latents: float = 7.5e-4, lr_functions: float = 5e-4,
                 lr_field: float = 1e-5, lr_final: float = 1.0, l1_warmup: float = 0.0, refine: bool = True,
                 refine_stride: int = 1, seed: int = 0, device="auto", progress: bool = False,
                 log_every: int | None = None, callback=None):
        if psi_input not in PSI_INPUTS or message_path not in MESSAGE_PATHS:
            raise ValueError(f"psi_input must be one of {PSI_INPUTS} and message_path one of {MESSAGE_PATHS}; "
                             f"got {psi_input!r}, {message_path!r}.")
        if min(latent_dim, hidden, chunk_size, batch_size, refine_stride) < 1 or n_layers < 2 or n_steps < 0:
            raise ValueError("need latent_dim, hidden, chunk_size, batch_size, refine_stride >= 1, n_layers >= 2 "
                             "and n_steps >= 0.")
        if not 0 <= l1_warmup <= 1:
            raise ValueError(f"l1_warmup is a fraction of the training steps, in [0, 1]; got {l1_warmup}.")
        if not isinstance(regularisation, Regularisation):
            raise ValueError("regularisation must be a Regularisation(alpha, beta, gamma, zeta).")
        if positions is not None:
            positions = torch.as_tensor(positions, dtype=torch.float32)
            if positions.dim() != 2 or positions.shape[1] != 2:
                raise ValueError(f"positions must be [N, 2] (NaN rows: not modulated), got {tuple(positions.shape)}.")
        if refine and (psi_input == "pair" or positions is not None):
            raise ValueError("least squares needs psi* independent of the receiver and no field; pass refine=False "
                             "for psi_input='pair' or a model with positions.")
        self.latent_dim, self.psi_input, self.hidden, self.n_layers = latent_dim, psi_input, hidden, n_layers
        self.message_path, self.chunk_size, self.fixed_latents = message_path, chunk_size, fixed_latents
        self.weight_init_std, self.positions = weight_init_std, positions
        self.n_steps, self.batch_size = n_steps, batch_size
        self.regularisation, self.l1_warmup, self.refine_stride = regularisation, l1_warmup, refine_stride
        self.lr = dict(lr_weights=lr_weights, lr_latents=lr_latents, lr_functions=lr_functions, lr_field=lr_field,
                       lr_final=lr_final)
        self.refine_after_fit, self.seed, self.device = refine, seed, resolve_device(device)
        self.progress, self.log_every, self.callback = progress, log_every, callback
        self.model = self.training_log = self.gain_leak = self.validation_score = None

    # -- data ----------------------------------------------------------------------------------------
    def _frames(self, activity: RateActivity, need_dxdt: bool = True):
        if not isinstance(activity, RateActivity):
            raise ValueError(f"{type(self).__name__} reads a RateActivity (x [T, N], dt, dx/dt), got "
                             f"{type(activity).__name__}; wrap tensors as RateActivity(x, dt, dxdt).")
        if activity.x.dim() != 2:
            raise ValueError(f"{type(self).__name__} reads one trial, x [T, N]; got shape {tuple(activity.x.shape)}.")
        if need_dxdt and activity.dxdt is None:
            raise ValueError("this activity has no dx/dt, the regression target; pass RateActivity(x, dt, dxdt).")
        if self.model is not None and activity.n_neurons != self.model.n_neurons:
            raise ValueError(f"the fit has {self.model.n_neurons} neurons, this activity {activity.n_neurons}.")
        x = activity.x.to(self.device, torch.float32)
        dxdt = None if activity.dxdt is None else activity.dxdt.to(self.device, torch.float32)
        return x, dxdt

    def scaled_times(self, times: torch.Tensor) -> torch.Tensor:
        """Frame times ``[T]`` in the field's clock: the fit's first frame at -1, its last at +1."""
        first, last = self.time_span
        return (2 * (torch.as_tensor(times, dtype=torch.float64) - first) / (last - first) - 1).float().to(self.device)

    # -- fitting -------------------------------------------------------------------------------------
    def fit(self, data: RateActivity, validation: RateActivity | None = None) -> AssemblyEstimator:
        """Train on ``data``, a RateActivity (x, dx/dt [T, N]); with ``validation``, score it afterwards."""
        self.model = None
        x, dxdt = self._frames(data)
        n = data.n_neurons
        if self.positions is not None and (self.positions.shape[0] != n or data.n_frames < 2):
            raise ValueError(f"positions must be [N, 2] = [{n}, 2] and a field needs T >= 2 frames.")
        times = data.times
        self.dt, self.time_span = data.dt, (float(times[0]), float(times[-1]))
        model = AssemblyGNN(n, latent_dim=self.latent_dim, psi_input=self.psi_input, hidden=self.hidden,
                            n_layers=self.n_layers, positions=self.positions, message_path=self.message_path,
                            chunk_size=self.chunk_size, fixed_latents=self.fixed_latents,
                            weight_init_std=self.weight_init_std, seed=self.seed).to(self.device)
        self.model = model
        callback = None if self.callback is None else (lambda step: self.callback(step, self))
        self.training_log = fit_assembly_gnn(
            model, x, dxdt, self.n_steps, batch_size=self.batch_size, reg=self.regularisation,
            times=None if self.positions is None else self.scaled_times(times),
            l1_warmup=round(self.l1_warmup * self.n_steps), seed=self.seed, progress=self.progress,
            log_every=self.log_every or max(self.n_steps // 40, 1), callback=callback, **self.lr)
        self.gain_leak = None
        self.weights = model.effective_weights()
        if self.refine_after_fit:
            self.refine(data)
        self.validation_score = None if validation is None else self.score(validation)
        return self

    def refine(self, activity: RateActivity) -> AssemblyEstimator:
        """Solve W and each neuron's gain and leak on phi* exactly by least squares, with phi* and
        psi* fixed, on every ``refine_stride``-th frame of ``activity``; updates ``weights``."""
        self.check_fitted("refine")
        x, dxdt = self._frames(activity)
        s = self.refine_stride
        self.gain_leak = refine_least_squares(self.model, x[::s], dxdt[::s]).cpu()
        self.weights = self.model.effective_weights()
        return self

    # -- using the fit -------------------------------------------------------------------------------
    def predict(self, activity: RateActivity) -> torch.Tensor:
        """Predicted dx/dt ``[T, N]`` (float32, CPU) at the frames of ``activity``."""
        self.check_fitted("predict")
        x, _ = self._frames(activity, need_dxdt=False)
        times = None if self.model.field is None else self.scaled_times(activity.times)
        with torch.no_grad():
            parts = [self.model(x[s:s + PREDICT_FRAMES], None if times is None else times[s:s + PREDICT_FRAMES])
                     for s in range(0, x.shape[0], PREDICT_FRAMES)]
        return torch.cat(parts).cpu()

    def score(self, activity: RateActivity) -> float:
        """R^2 of the predicted dx/dt against ``activity.dxdt`` (pooled over neurons; higher is better)."""
        self.check_fitted("score")
        _, dxdt = self._frames(activity)
        return metrics.r2_score(dxdt.cpu(), self.predict(activity))

    def field(self, times: torch.Tensor) -> torch.Tensor:
        """The learned Omega*(p_i, t) ``[F, N]`` (CPU) at frame ``times`` [F] (the unit of ``dt``,
        e.g. ``activity.times``); 1 off the grid."""
        self.check_fitted("field")
        if self.model.field is None:
            raise ValueError("this fit has no field; create the estimator with positions [N, 2] to learn one.")
        with torch.no_grad():
            return self.model.field_at(self.scaled_times(times)).cpu()

    @property
    def latents(self) -> torch.Tensor:
        """The learned latents a_i ``[N, latent_dim]`` (CPU), each neuron's "type"."""
        self.check_fitted("latents")
        return self.model.latents.detach().cpu()

    def update_function(self, x: torch.Tensor) -> torch.Tensor:
        """Each neuron's learned update kappa_i phi*(a_i, x) - lambda_i x on samples ``x`` [M] -> [N, M] (CPU)."""
        self.check_fitted("update_function")
        with torch.no_grad():
            return self.model.update_curves(torch.as_tensor(x, dtype=torch.float32).to(self.device)).cpu()

    def transfer_function(self, x: torch.Tensor, receivers: slice | None = None) -> torch.Tensor:
        """The learned psi* minus its value at 0 on samples ``x`` [M]: per sender ``[N, M]``, or, when
        psi* reads the receiver too, for ``receivers`` and every sender ``[R, N, M]`` (CPU)."""
        self.check_fitted("transfer_function")
        n, x = self.model.n_neurons, torch.as_tensor(x, dtype=torch.float32).to(self.device)
        grid, zero = x[:, None].expand(-1, n), x.new_zeros(1, n)
        with torch.no_grad():
            if self.model.psi_input != "pair":
                return (self.model.transfer(grid) - self.model.transfer(zero)).T.cpu()
            if receivers is None:
                raise ValueError("psi* depends on the receiver here: pass receivers (a slice of neurons).")
            pair = self.model.pair_transfer
            return (pair(grid, receivers) - pair(zero, receivers)).permute(1, 2, 0).cpu()

    def rollout(self, x0: torch.Tensor, n_steps: int, start: float = 0.0) -> torch.Tensor:
        """Euler-integrate the learned dynamics at the fit's ``dt`` from ``x0`` [N] (or [B, N]) at time
        ``start``; returns ``[n_steps, N]`` (or ``[n_steps, B, N]``, CPU), the first entry x0."""
        self.check_fitted("rollout")
        x0 = torch.as_tensor(x0).to(self.device, torch.float32)
        single = x0.dim() == 1
        if x0.shape[-1] != self.model.n_neurons or x0.dim() > 2 or not torch.isfinite(x0).all():
            raise ValueError(f"x0 must be a finite [N] or [B, N] state with N = {self.model.n_neurons}, "
                             f"got shape {tuple(x0.shape)}.")
        if n_steps < 1 or not math.isfinite(start):
            raise ValueError(f"need n_steps >= 1 and a finite start time, got {n_steps}, {start}.")
        times = None
        if self.model.field is not None:
            times = self.scaled_times(start + self.dt * torch.arange(n_steps, dtype=torch.float64))
        out = rollout(self.model, x0[None] if single else x0, n_steps, dt=self.dt, times=times).cpu()
        return out[:, 0] if single else out
