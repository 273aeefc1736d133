"""The experiments of Allier et al. (2026), Supplementary Tables 1-2: one small validated
:class:`AssemblyExperiment` per row, with what the reference code does where the text is loose.

    exp = SPARSE.scaled(n_neurons=300, n_frames=20_000)   # a CPU-sized version of the same row
    sim = exp.simulate(seed=0)                             # AssemblyActivity
    reg = exp.regularisation                               # coefficients of Supp. Eq. 3

Noise: as in the reference code, the table's sigma^2 (7.2 for "High noise", 1 for "Large scale" and
"External inputs") is used as the standard deviation of a noise added to every neuron's state after
each Euler step, and the regression target is the noise-free derivative (``noise_on="state"``).
"Transmitters": tanh(x_j / gamma_j) with the sender's width; "Transmitters & receptors":
tanh(x_j / gamma_i) - theta_j x_j, the receiver's width and the sender's leak, so psi depends on both neurons.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from .. import metrics
from ..infer.assembly_gnn import AssemblyGNN
from ..infer.assembly_training import Regularisation
from ..sim.assembly import GAMMA_OWNERS, NOISE_MODELS, AssemblyActivity, NeuronTypes, simulate

PSI_INPUTS = ("x", "sender", "pair")


def four_types(gamma=(1.0, 1.0, 1.0, 1.0), theta=(0.0, 0.0, 0.0, 0.0)) -> NeuronTypes:
    """The paper's four types, tau in {1, 0.5} crossed with s in {1, 2}, with per-type width and leak."""
    return NeuronTypes(tau=[1.0, 1.0, 0.5, 0.5], s=[1.0, 2.0, 1.0, 2.0], gamma=list(gamma), theta=list(theta))


def many_types(n_s: int = 8, n_tau: int = 4) -> NeuronTypes:
    """``n_s * n_tau`` types (32 by default): s in 1..n_s crossed with tau evenly spaced in
    [0.25, 1] (Supp. Table 1, "Many types": s 1-8, tau 0.25-1); psi = tanh."""
    if n_s < 1 or n_tau < 1:
        raise ValueError(f"need n_s, n_tau >= 1, got {n_s}, {n_tau}.")
    s = torch.arange(1, n_s + 1, dtype=torch.float64).repeat_interleave(n_tau)
    tau = torch.linspace(0.25, 1.0, n_tau, dtype=torch.float64).repeat(n_s) if n_tau > 1 else torch.ones(n_s)
    k = n_s * n_tau
    return NeuronTypes(tau=tau, s=s, gamma=torch.ones(k), theta=torch.zeros(k))


@dataclass(frozen=True)
class AssemblyExperiment:
    """One row of Supp. Tables 1-2: what to simulate and how to regularise the fit.

    ``density`` is the fraction of non-zero W_ij; ``noise_std`` the standard deviation of the noise,
    added to the state or to the derivative (``noise_on``, see :mod:`circuitlib.sim.assembly`);
    ``gamma_of`` whose width enters psi; ``psi_input`` what psi* reads ("x", "sender": a_j and
    x_j, "pair": a_i, a_j and x_j); ``modulated`` whether half the neurons are modulated by Omega_i(t);
    ``l1_warmup`` the fraction of training steps over which the L1 weight rises from 0 to zeta.
    ``paper`` holds the published numbers this experiment is compared with.
    """

    name: str
    figure: str
    n_neurons: int = 1000
    n_frames: int = 100_000
    params: NeuronTypes = field(default_factory=four_types)
    density: float = 1.0
    noise_std: float = 0.0
    noise_on: str = "state"
    gamma_of: str = "sender"
    modulated: bool = False
    psi_input: str = "x"
    alpha: float = 1.0
    beta: float = 0.0
    gamma: float = 10.0
    zeta: float = 0.0
    l1_warmup: float = 0.0
    paper: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.n_neurons < 2 or self.n_frames < 1:
            raise ValueError(f"{self.name}: need n_neurons >= 2 and n_frames >= 1, got {self.n_neurons}, "
                             f"{self.n_frames}.")
        if not 0 < self.density <= 1:
            raise ValueError(f"{self.name}: density is the fraction of non-zero weights, in (0, 1]; "
                             f"got {self.density}.")
        if self.noise_std < 0 or not 0 <= self.l1_warmup <= 1:
            raise ValueError(f"{self.name}: need noise_std >= 0 and l1_warmup in [0, 1].")
        if self.gamma_of not in GAMMA_OWNERS or self.psi_input not in PSI_INPUTS or self.noise_on not in NOISE_MODELS:
            raise ValueError(f"{self.name}: gamma_of must be one of {GAMMA_OWNERS}, psi_input one of {PSI_INPUTS} "
                             f"and noise_on one of {NOISE_MODELS}.")
        if self.modulated and self.n_neurons % 2:
            raise ValueError(f"{self.name}: a field experiment modulates half the neurons; use an even n_neurons.")
        Regularisation(self.alpha, self.beta, self.gamma, self.zeta)          # validates the coefficients

    @property
    def regularisation(self) -> Regularisation:
        """The coefficients of Supp. Eq. 3 for this row (Supp. Table 2)."""
        return Regularisation(self.alpha, self.beta, self.gamma, self.zeta)

    def scaled(self, **changes) -> AssemblyExperiment:
        """The same experiment with some fields changed (e.g. fewer neurons or frames on a CPU)."""
        return replace(self, **changes)

    def simulate(self, seed: int = 0, field_values: torch.Tensor | None = None, positions: torch.Tensor | None = None,
                 device="auto", **kwargs) -> AssemblyActivity:
        """Simulate this row (equal type fractions; ``kwargs`` go to :func:`assembly.simulate`).
        A field experiment needs ``field_values`` [n_frames, N] and ``positions`` [N, 2]."""
        if self.modulated and field_values is None:
            raise ValueError(f"{self.name} modulates neurons by a field: pass field_values [n_frames, N] "
                             "and positions.")
        return simulate(self.n_neurons, self.n_frames, params=self.params, density=self.density,
                        gamma_of=self.gamma_of, noise_std=self.noise_std, noise_on=self.noise_on,
                        field=field_values, positions=positions,
                        seed=seed, device=device, **kwargs)


GAMMAS = (1.0, 2.0, 4.0, 8.0)
THETAS = (0.0, 0.0133, 0.0267, 0.040)   # "0-0.040" in Supp. Table 1: four evenly spaced leaks

# Fig. 2 and the text around it (rollouts of Supp. Fig. 2, fixed latents of Supp. Fig. 3, a new
# network of Supp. Figs. 5-6); the SNR of Supp. Fig. 10's caption
BASELINE = AssemblyExperiment("Baseline", "Fig. 2, Supp. 1-7", paper={
    "w_r2": 1.00, "w_slope": 0.99, "type_accuracy": 1.00, "rollout_r2_400": 0.94, "rollout_slope_400": 1.00,
    "rollout_r2_800": 0.36, "rollout_slope_800": 0.9, "w_r2_fixed_latents": 0.92, "w_slope_fixed_latents": 0.93,
    "rollout_r2_400_new_network": 1.0})
SPARSE = AssemblyExperiment("Sparse", "Supp. 8-9", density=0.05, zeta=1e-5, l1_warmup=0.5)
HIGH_NOISE = AssemblyExperiment("High noise", "Supp. 10", noise_std=7.2, paper={"snr_db": 10.0})
LARGE_SCALE = AssemblyExperiment("Large scale", "Supp. 11", n_neurons=8000, noise_std=1.0, zeta=5e-5,
                                 l1_warmup=0.5, paper={"w_r2": 1.00, "w_slope": 1.00})
MANY_TYPES = AssemblyExperiment("Many types", "Supp. 12", params=many_types(), paper={"type_accuracy": 0.99})
TRANSMITTERS = AssemblyExperiment("Transmitters", "Supp. 13", params=four_types(gamma=GAMMAS), psi_input="sender",
                                  gamma=100.0, paper={"w_r2": 0.99, "w_slope": 0.99})
RECEPTORS = AssemblyExperiment("Transmitters & receptors", "Supp. 14", params=four_types(gamma=GAMMAS, theta=THETAS),
                               gamma_of="receiver", psi_input="pair", gamma=500.0,
                               paper={"w_r2": 0.99, "w_slope": 1.03})
EXTERNAL_INPUTS = AssemblyExperiment("External inputs", "Fig. 3, Supp. 15", n_neurons=2048,
                                     params=four_types(gamma=GAMMAS), noise_std=1.0, modulated=True, psi_input="sender",
                                     beta=5.0, zeta=1e-5, l1_warmup=0.5,
                                     paper={"w_r2": 0.99, "w_slope": 0.94, "omega_r2": 0.99, "omega_slope": 1.02})
EXPERIMENTS = (BASELINE, SPARSE, HIGH_NOISE, LARGE_SCALE, MANY_TYPES, TRANSMITTERS, RECEPTORS, EXTERNAL_INPUTS)


def snr_db(x: torch.Tensor, width: int = 9) -> float:
    """Signal-to-noise ratio (dB) of activity ``x`` [T, N], measured as the paper's Supp. Fig. 10
    does, by comparing filtered and raw signals: the signal is a centred moving average over
    ``width`` frames, the noise what it removes; 10 log10 of their power ratio (edges excluded)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.dim() != 2 or x.shape[0] <= width or width < 3 or width % 2 == 0:
        raise ValueError(f"need x [T, N] with T > width and an odd width >= 3; got {tuple(x.shape)}, {width}.")
    smooth = torch.nn.functional.avg_pool1d(x.T[:, None], width, stride=1)[:, 0].T     # [T - width + 1, N]
    raw = x[width // 2: x.shape[0] - width // 2]
    noise = raw - smooth
    return 10 * math.log10(float((smooth - smooth.mean(0)).pow(2).mean() / noise.pow(2).mean()))


def grid_positions(n_side: int = 32, n_unmodulated: int | None = None) -> torch.Tensor:
    """Positions ``[n_side^2 + n_unmodulated, 2]`` in [-1, 1]^2: the first n_side^2 neurons on a
    square grid (row-major), the others NaN (not modulated). Default: as many unmodulated as on the
    grid (Fig. 3: 1,024 + 1,024)."""
    if n_side < 2:
        raise ValueError(f"n_side must be >= 2, got {n_side}.")
    axis = torch.linspace(-1, 1, n_side)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    rest = n_side ** 2 if n_unmodulated is None else n_unmodulated
    return torch.cat([grid, torch.full((rest, 2), float("nan"))])


def moving_grating(positions: torch.Tensor, n_frames: int, dt: float = 0.01, amplitude: float = 0.5,
                   wavelength: float = 1.0, period: float = 5.0, turn_period: float = 200.0) -> torch.Tensor:
    """A procedural field Omega_i(t) ``[n_frames, N]`` for neurons at ``positions`` [N, 2]: a drifting
    sinusoidal grating 1 + amplitude sin(2 pi (u(t).p_i / wavelength - t / period)) whose direction
    u(t) turns once every ``turn_period`` time units (t = frame * dt). Rows of NaN positions stay 1."""
    positions = torch.as_tensor(positions, dtype=torch.float64)
    if positions.dim() != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must be [N, 2], got {tuple(positions.shape)}.")
    if n_frames < 1 or not 0 <= amplitude < 1 or wavelength <= 0 or period <= 0 or turn_period <= 0:
        raise ValueError("need n_frames >= 1, 0 <= amplitude < 1 (Omega stays positive) and positive "
                         "wavelength, period and turn_period.")
    t = torch.arange(n_frames, dtype=torch.float64) * dt
    angle = 2 * math.pi * t / turn_period
    u = torch.stack([angle.cos(), angle.sin()], -1)                               # [T, 2]
    p = torch.nan_to_num(positions)
    phase = 2 * math.pi * ((u @ p.T) / wavelength - t[:, None] / period)
    omega = 1 + amplitude * torch.sin(phase)
    return torch.where(torch.isfinite(positions).all(1), omega, 1.0).float()


def simulator_weights(model: AssemblyGNN, activity, grid: torch.Tensor | None = None,
                      chunk_size: int = 16) -> torch.Tensor:
    """The learned W in the simulator's units ``[N, N]`` (float64, CPU). W psi* = (cW)(psi*/c), so
    each learned transfer function is matched to the true one on ``grid`` (default 201 points
    between the 1st and 99th percentiles of the recorded activity, where the data constrain psi*)
    by :func:`~circuitlib.metrics.transfer_scale` and W_ij c / g is returned: c_j per
    sender, or c_ij per pair when psi* reads both latents (pairs evaluated ``chunk_size`` receivers
    at a time). ``activity``: the :class:`~circuitlib.sim.assembly.AssemblyActivity` fitted."""
    dev = model.weight.device
    if grid is None:
        sample = activity.x.flatten()[:: max(activity.x.numel() // 1_000_000, 1)].float().cpu()
        grid = torch.linspace(float(sample.quantile(0.01)), float(sample.quantile(0.99)), 201)
    grid = torch.as_tensor(grid, dtype=torch.float32)
    n, m = model.n_neurons, grid.numel()
    g = grid.to(dev)[:, None].expand(-1, n)
    with torch.no_grad():
        if model.psi_input != "pair":
            learned = model.transfer(g).T.cpu()
            scale = metrics.transfer_scale(learned, activity.psi_true(grid).cpu(),
                                           model.transfer(torch.zeros(1, n, device=dev))[0].cpu())[None, :]
        else:
            types = activity.types.cpu()
            scale = torch.empty(n, n, dtype=torch.float64)
            for start in range(0, n, chunk_size):
                rows = slice(start, start + chunk_size)
                r = len(range(n)[rows])
                learned = model.pair_transfer(g, rows).permute(1, 2, 0).reshape(r * n, m).cpu()
                at_zero = model.pair_transfer(torch.zeros(1, n, device=dev), rows)[0].reshape(-1).cpu()
                true = activity.params.psi(grid, types[rows].repeat_interleave(n), types.repeat(r))
                scale[rows] = metrics.transfer_scale(learned, true, at_zero).view(r, n)
    w = model.effective_weights().detach().cpu().double()
    return w * scale / activity.gain
