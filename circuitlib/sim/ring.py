"""Ring-attractor spiking networks (Yoon 2025, after Das & Fiete 2020).

Connectivity: a rotation-invariant profile ``W[i, j] = w(d_ij)`` of the ring distance
``d_ij = min(|i - j|, N - |i - j|)``. Dynamics, per step of ``dt`` (Yoon 2025, App. A):

    g(t)     = r W s(t) + b (1 + xi(t))                      input (threshold model)
    g(t)     = r W s(t) + b                                  input (LNP model)
    b_i(t)   = b (1 + tuning_i . velocity(t))                optional velocity input (default b_i = b)
    n_i(t)   = [g_i(t) > g_th]            or  Poisson(gain * max(g_i(t) - g_th, 0))
    s(t+dt)  = s(t) + n(t) - s(t) dt / tau                   synaptic activation

An external angle theta(t) rotates W by the integer offset ``D = floor(N * drive_gain * theta / 2pi)``
(App. G): ``W_theta[i, j] = w(i - j - D)``, the paper's continuous form ``W0(phi_i - phi_j - theta)``
(its index recipe "(j - D) mod N" states the opposite sign; we take the one under which a positive
theta moves the bumps towards increasing index). The offset acts as a velocity command: the
bumps travel about D neurons per tau. Two backends give the same model: an event-driven numba loop on the CPU
(:mod:`circuitlib.sim.ring_events`) and a dense, batched torch loop for GPUs.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .._device import resolve_device
from .._validate import square_matrix
from ..data.spikes import SpikeTrain
from ..ring_geometry import aligned_rows, ring_distance, wrap_angle
from . import ring_events

MODELS = ("threshold", "lnp")
NOISE_FORMS = ("sparse", "gaussian", "none")
SPARSE_NOISE_CUT = 1.5  # reference noise: xi = z1 * [z2 > 1.5]


# ---------------------------------------------------------------------------------------------
# connectivity profiles
# ---------------------------------------------------------------------------------------------
def mexican_hat(n: int = 100, sigma1: float = 6.98, sigma2: float = 7.0, a: float = 1.0005) -> torch.Tensor:
    """Difference of Gaussians ``exp(-d^2/2 sigma1^2) - a exp(-d^2/2 sigma2^2)``, ``[n, n]`` float64.

    The defaults (Yoon 2025, Table 4) make W purely inhibitory: diagonal -5.0e-4, minimum
    -2.289e-3 at d = 9, four bumps on a ring of 100 neurons.
    """
    if not (sigma1 > 0 and sigma2 > 0 and a > 0):
        raise ValueError(f"sigma1, sigma2 and a must be positive, got {sigma1}, {sigma2}, {a}.")
    d2 = ring_distance(n) ** 2
    return torch.exp(-d2 / (2 * sigma1**2)) - a * torch.exp(-d2 / (2 * sigma2**2))


def local_excitation_broad_inhibition(n: int = 100, sigma_e: float = 7.0, sigma_i: float = 50.0,
                                      a: float = 1.1, amplitude: float = 2.5e-3) -> torch.Tensor:
    """Weight profile II (one bump): ``amplitude * (exp(-d^2/2 sigma_e^2) - a exp(-d^2/2 sigma_i^2))``.

    As for the Mexican hat, ``a`` slightly above 1 turns the local excitation into the weakest
    inhibition, so W stays inhibitory; the broad second Gaussian (sigma_i = N / 2) leaves the
    first spatial mode as the only unstable one, hence a single bump. Yoon 2025 (Fig. 3, Table 3)
    publishes no parameters for this profile; ours are chosen so that
    the threshold and LNP models form a single bump at 40-90 Hz mean rate with the Table 4
    constants (see chapter 1). ``[n, n]`` float64.
    """
    if not (0 < sigma_e < sigma_i):
        raise ValueError(f"need 0 < sigma_e < sigma_i (local excitation, broad inhibition), got {sigma_e}, {sigma_i}.")
    if not (a > 0 and amplitude > 0):
        raise ValueError(f"a and amplitude must be positive, got {a}, {amplitude}.")
    d2 = ring_distance(n) ** 2
    return amplitude * (torch.exp(-d2 / (2 * sigma_e**2)) - a * torch.exp(-d2 / (2 * sigma_i**2)))


def is_circulant(w: torch.Tensor) -> bool:
    """True when ``w[i, j]`` depends only on ``(j - i) mod N`` (a rotation-invariant ring), up to
    rounding: 1e-7 of the largest |w|. (Elementwise exp need not round equal inputs equally at every
    position; under some kernels we measured row differences of 2.5e-9 of max |w| in float64.)"""
    rows = aligned_rows(w, diagonal=True)
    return bool(torch.allclose(rows, rows[:1].expand_as(rows), rtol=0.0, atol=1e-7 * float(w.abs().max())))


# ---------------------------------------------------------------------------------------------
# external drives theta(t)
# ---------------------------------------------------------------------------------------------
def _n_steps(duration: float, dt: float) -> int:
    if not duration > 0:
        raise ValueError(f"duration must be a positive number of seconds, got {duration}.")
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}.")
    return max(1, round(duration / dt))


def sinusoidal_drive(duration: float, dt: float = 1e-4, amplitude: float = math.pi / 2,
                     period: float = 2.0, phase: float = 0.0) -> torch.Tensor:
    """``theta(t) = amplitude * sin(2 pi t / period + phase)``, ``[T]`` radians, float64."""
    if not period > 0:
        raise ValueError(f"period must be positive seconds, got {period}.")
    t = torch.arange(_n_steps(duration, dt), dtype=torch.float64) * dt
    return amplitude * torch.sin(2 * math.pi * t / period + phase)


def random_walk_drive(duration: float, dt: float = 1e-4, sigma: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Brownian motion on the circle, wrapped to ``[-pi, pi)``: ``sigma`` rad/sqrt(s). ``[T]`` float64."""
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}.")
    gen = torch.Generator().manual_seed(seed)
    steps = torch.randn(_n_steps(duration, dt), generator=gen, dtype=torch.float64) * sigma * math.sqrt(dt)
    steps[0] = 0.0
    return wrap_angle(torch.cumsum(steps, 0))


def drive_offset(theta: torch.Tensor, n: int, drive_gain: float) -> torch.Tensor:
    """Integer rotation of W, ``floor(n * drive_gain * theta / 2 pi)`` (Yoon 2025, App. G). int64."""
    return torch.floor(n * drive_gain * theta / (2 * math.pi)).to(torch.int64)


# ---------------------------------------------------------------------------------------------
# the spiking model
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RingParams:
    """Constants of the spike models (Yoon 2025, App. A, Eqs. 11-15 and Table 4).

    ``g_th=None`` takes the model's reference threshold: 7.35e-4 (threshold model) and 0 (LNP;
    with the table value the LNP rate drops from about 62 Hz to 17 Hz). ``gain`` is the LNP rate
    per unit of supra-threshold input, in spikes per step. ``noise`` applies to the threshold
    model: "sparse" (reference code, ``xi = z1 [z2 > 1.5]``), "gaussian" (paper text) or "none".
    """

    model: str = "threshold"
    r: float = 0.025
    b: float = 1e-3
    tau: float = 0.010
    dt: float = 1e-4
    g_th: float | None = None
    noise: str = "sparse"
    noise_std: float = 0.3
    gain: float = 32.0
    drive_gain: float = 0.1

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {MODELS}.")
        if self.noise not in NOISE_FORMS:
            raise ValueError(f"unknown noise form {self.noise!r}; choose one of {NOISE_FORMS}.")
        if not (self.tau > 0 and self.dt > 0):
            raise ValueError(f"tau and dt must be positive, got tau={self.tau}, dt={self.dt}.")
        if self.dt >= self.tau:
            raise ValueError(f"dt={self.dt} s must be smaller than tau={self.tau} s (the Euler step would overshoot).")
        for name in ("r", "b", "noise_std"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if not self.gain > 0:
            raise ValueError(f"gain (LNP rate per unit input) must be positive, got {self.gain}; "
                             "rates cannot be negative.")

    @property
    def threshold(self) -> float:
        if self.g_th is not None:
            return self.g_th
        return 7.35e-4 if self.model == "threshold" else 0.0

    @property
    def decay(self) -> float:
        return 1.0 - self.dt / self.tau


def simulate(model: str = "threshold", duration: float = 1.0, n: int = 100, seed: int | Sequence[int] = 0,
             device: str | torch.device = "auto", *, weights: torch.Tensor | None = None,
             theta: torch.Tensor | np.ndarray | None = None, velocity: torch.Tensor | np.ndarray | None = None,
             tuning: torch.Tensor | np.ndarray | None = None, burn_in: float = 0.5,
             r: float | Sequence[float] = 0.025, backend: str = "auto", progress: bool = False,
             **params) -> SpikeTrain | list[SpikeTrain]:
    """Simulate the ring network; return its spikes after ``burn_in`` seconds are discarded.

    model: "threshold" or "lnp". duration: seconds kept. n: neurons; ``weights`` ``[n, n]``
    (default :func:`mexican_hat` of size n) must match it. theta: external angle
    ``[T]`` or ``[B, T]`` radians, T = duration / dt (no drive during burn-in); needs a circulant W.
    velocity ``[T, C]`` or ``[B, T, C]`` with tuning ``[n, C]``: the tonic input of neuron i becomes
    ``b (1 + tuning[i] . velocity(t))`` (zero velocity during burn-in; it must stay >= 0).
    Other keywords are :class:`RingParams` fields (r, b, tau, dt, g_th, noise, noise_std, gain,
    drive_gain) with the paper's defaults.

    Batched replicas: pass a sequence of seeds and/or of recurrent strengths ``r``; they run
    together (one [B, N] state on a GPU) and a list of trains is returned, one per replica.
    backend: "events" (numba, CPU), "dense" (torch, any device) or "auto" (events on the CPU,
    dense on CUDA). The same seed, backend and device give the same spikes.
    """
    batched = not isinstance(seed, (int, np.integer)) or not isinstance(r, (int, float))
    seeds = [int(seed)] if isinstance(seed, (int, np.integer)) else [int(x) for x in seed]
    rs = [float(r)] if isinstance(r, (int, float)) else [float(x) for x in r]
    if not seeds or not rs:
        raise ValueError("seed and r sequences must not be empty.")
    n_rep = max(len(seeds), len(rs))
    if len(seeds) not in (1, n_rep) or len(rs) not in (1, n_rep):
        raise ValueError(f"{len(seeds)} seeds and {len(rs)} values of r do not broadcast; "
                         "give equal lengths or one of either.")
    seeds, rs = seeds * (n_rep // len(seeds)), rs * (n_rep // len(rs))
    cfgs = [RingParams(model=model, r=rv, **params) for rv in rs]
    cfg = cfgs[0]

    w = mexican_hat(n) if weights is None else square_matrix("weights", weights).cpu()
    if w.shape[0] != n:
        raise ValueError(f"n={n} but weights are {tuple(w.shape)}; pass n={w.shape[0]} with these weights.")
    n_keep = _n_steps(duration, cfg.dt)
    if burn_in < 0:
        raise ValueError(f"burn_in must be >= 0 seconds, got {burn_in}.")
    n_burn = round(burn_in / cfg.dt)

    shifts, theta_t = _drive_shifts(theta, n_rep, n_keep, n_burn, n, cfg.drive_gain, w)
    tuning, velocity = _modulation(tuning, velocity, n_rep, n_keep, n_burn, n)
    dev = resolve_device(device)
    if backend == "auto":
        backend = "dense" if dev.type == "cuda" else "events"
    if backend not in ("events", "dense"):
        raise ValueError(f"unknown backend {backend!r}; choose 'events', 'dense' or 'auto'.")
    if backend == "events" and dev.type != "cpu":
        raise ValueError("the event-driven backend runs on the CPU; use backend='dense' on a GPU.")

    s0 = np.stack([np.random.default_rng(s).uniform(0.0, 1.0, n) for s in seeds])
    if backend == "events":
        events = [_run_events(c, w.numpy(), s0[k], shifts[k], tuning, velocity[k], s, n_burn, progress)
                  for k, (c, s) in enumerate(zip(cfgs, seeds))]
    else:
        events = _run_dense(cfgs, w, s0, shifts, tuning, velocity, seeds[0], n_burn, dev, progress)
    trains = [SpikeTrain(t, i, c, n, n_keep, cfg.dt, None if theta_t is None else theta_t[k].to(t.device))
              for k, (t, i, c) in enumerate(events)]
    return trains if batched else trains[0]


def _drive_shifts(theta, n_rep, n_keep, n_burn, n, drive_gain, w):
    """Per-replica integer rotations ``[B, n_burn + n_keep]`` (zeros during burn-in) and theta ``[B, T]``."""
    if theta is None:
        return np.zeros((n_rep, n_burn + n_keep), np.int64), None
    theta = torch.as_tensor(theta, dtype=torch.float64).cpu()
    if theta.dim() == 1:
        theta = theta.expand(n_rep, -1)
    if theta.shape != (n_rep, n_keep):
        raise ValueError(f"theta must have shape [T] or [B, T] with T = duration/dt = {n_keep}, B = {n_rep}; "
                         f"got {tuple(theta.shape)}.")
    if not torch.isfinite(theta).all():
        raise ValueError("theta contains NaN or inf.")
    if not is_circulant(w):
        raise ValueError("an external drive rotates W, which needs a rotation-invariant (circulant) W.")
    shifts = torch.zeros(n_rep, n_burn + n_keep, dtype=torch.int64)
    shifts[:, n_burn:] = drive_offset(theta, n, drive_gain)
    return shifts.numpy(), theta.clone()


def _modulation(tuning, velocity, n_rep, n_keep, n_burn, n):
    """Tuning ``[n, C]`` and per-replica velocity ``[B, n_burn + n_keep, C]`` (zeros during burn-in),
    float64 numpy; ``C = 0`` without a velocity input."""
    if (tuning is None) != (velocity is None):
        raise ValueError("velocity and tuning go together: pass both (velocity [T, C], tuning [n, C]) or neither.")
    if tuning is None:
        return np.zeros((n, 0)), np.zeros((n_rep, n_burn + n_keep, 0))
    tuning = torch.as_tensor(tuning, dtype=torch.float64).cpu()
    velocity = torch.as_tensor(velocity, dtype=torch.float64).cpu()
    if tuning.dim() != 2 or tuning.shape[0] != n:
        raise ValueError(f"tuning must be [n, C] = [{n}, C] (one row per neuron), got {tuple(tuning.shape)}.")
    if velocity.dim() == 2:
        velocity = velocity.expand(n_rep, -1, -1)
    if velocity.shape != (n_rep, n_keep, tuning.shape[1]):
        raise ValueError(f"velocity must be [T, C] or [B, T, C] with T = duration/dt = {n_keep}, B = {n_rep}, "
                         f"C = {tuning.shape[1]} (the tuning's columns); got {tuple(velocity.shape)}.")
    if not (torch.isfinite(velocity).all() and torch.isfinite(tuning).all()):
        raise ValueError("velocity or tuning contains NaN or inf.")
    # distinct tuning rows only (four on a direction-tuned sheet): no [B, T, n] temporary
    lowest = float((1 + velocity @ torch.unique(tuning, dim=0).T).min())
    if lowest < 0:
        raise ValueError(f"the tonic input b (1 + tuning . velocity) would turn negative (factor {lowest:.3g}); "
                         "lower the velocity or the tuning's gain.")
    full = torch.zeros(n_rep, n_burn + n_keep, tuning.shape[1], dtype=torch.float64)
    full[:, n_burn:] = velocity
    return tuning.numpy(), full.numpy()


_BLOCK = 10_000  # steps per kernel call / progress update


def _run_events(cfg: RingParams, w: np.ndarray, s0: np.ndarray, shifts: np.ndarray, tuning: np.ndarray,
                velocity: np.ndarray, seed: int, n_burn: int, progress: bool):
    """One replica with the numba kernels; returns (times, neurons, counts) after burn-in."""
    n = w.shape[0]
    w_cols = np.ascontiguousarray(w.T)
    u = w @ s0
    ring_events.seed(int(seed) % 2**32)
    noise_kind = {"gaussian": ring_events.GAUSSIAN, "sparse": ring_events.SPARSE, "none": ring_events.NONE}[cfg.noise]
    if cfg.noise_std == 0:
        noise_kind = ring_events.NONE
    p = 0.5 * math.erfc(SPARSE_NOISE_CUT / math.sqrt(2))
    log1m_p = math.log1p(-p)
    gap = np.int64(np.floor(np.log(1.0 - np.random.default_rng(seed).random()) / log1m_p))
    budget = np.random.default_rng([seed, 1]).exponential(1.0, n)
    buf_t = np.empty(_BLOCK * n, np.int64)
    buf_i = np.empty(_BLOCK * n, np.int64)
    buf_c = np.empty(_BLOCK * n, np.int32)
    out_t, out_i, out_c = [], [], []
    total = shifts.shape[0]
    bounds = sorted({*range(0, total, _BLOCK), *([n_burn] if n_burn < total else [])}) + [total]
    for start, stop in tqdm(list(zip(bounds, bounds[1:])), disable=not progress, desc=f"{cfg.model} (events)"):
        sh, vel = shifts[start:stop], np.ascontiguousarray(velocity[start:stop])
        if cfg.model == "threshold":
            m, gap = ring_events.threshold_block(w_cols, u, sh, tuning, vel, cfg.r, cfg.b, cfg.noise_std,
                                                 cfg.threshold, cfg.decay, noise_kind, log1m_p, gap, buf_t, buf_i,
                                                 buf_c, start - n_burn)
        else:
            m = ring_events.poisson_block(w_cols, u, sh, tuning, vel, cfg.r, cfg.b, cfg.threshold, cfg.gain,
                                          cfg.decay, budget, buf_t, buf_i, buf_c, start - n_burn)
        if start >= n_burn:
            out_t.append(buf_t[:m].copy())
            out_i.append(buf_i[:m].copy())
            out_c.append(buf_c[:m].copy())
    return tuple(torch.from_numpy(np.concatenate(parts) if parts else np.empty(0, dtype))
                 for parts, dtype in ((out_t, np.int64), (out_i, np.int64), (out_c, np.int32)))


def _run_dense(cfgs: list[RingParams], w: torch.Tensor, s0: np.ndarray, shifts: np.ndarray, tuning: np.ndarray,
               velocity: np.ndarray, seed: int, n_burn: int, dev: torch.device, progress: bool):
    """All replicas at once as a dense ``[B, N]`` torch loop; returns per-replica events."""
    cfg = cfgs[0]
    dtype = torch.float64 if dev.type == "cpu" else torch.float32
    gen = torch.Generator(device=dev).manual_seed(int(seed))
    w_t = w.to(dev, dtype).T.contiguous()  # s @ W^T = (W s)^T for row-major [B, N] states
    s = torch.as_tensor(s0, dtype=dtype, device=dev)
    n_rep, n = s.shape
    r = torch.tensor([c.r for c in cfgs], dtype=dtype, device=dev)[:, None]
    shifts_t = torch.as_tensor(shifts, device=dev)
    driven = bool((shifts != 0).any())
    ar = torch.arange(n, device=dev)
    total = shifts.shape[1]
    collected = [[] for _ in range(n_rep)]
    block = max(100, min(_BLOCK, 20_000_000 // (n_rep * n)))  # bounds the [K, B, N] buffers
    bounds = sorted({*range(0, total, block), *([n_burn] if n_burn < total else [])}) + [total]
    for start, stop in tqdm(list(zip(bounds, bounds[1:])), disable=not progress, desc=f"{cfg.model} (dense)"):
        k_len = stop - start
        if cfg.model == "threshold" and cfg.noise != "none":
            z = torch.randn(2 if cfg.noise == "sparse" else 1, k_len, n_rep, n, generator=gen, device=dev, dtype=dtype)
            xi = z[0] * (z[1] > SPARSE_NOISE_CUT) if cfg.noise == "sparse" else z[0]
            drive = cfg.b * (1 + cfg.noise_std * xi)
        else:
            drive = torch.full((k_len, n_rep, n), cfg.b, device=dev, dtype=dtype)
        if tuning.shape[1]:
            vel = torch.as_tensor(velocity[:, start:stop], device=dev, dtype=dtype).transpose(0, 1)
            drive = drive * (1 + vel @ torch.as_tensor(tuning, device=dev, dtype=dtype).T)
        spikes = torch.empty(k_len, n_rep, n, dtype=dtype, device=dev)
        for k in range(k_len):
            u = s @ w_t
            if driven:
                u = torch.gather(u, 1, (ar - shifts_t[:, start + k, None]) % n)
            g = r * u + drive[k]
            if cfg.model == "threshold":
                spk = (g > cfg.threshold).to(dtype)
            else:
                spk = torch.poisson(cfg.gain * torch.clamp(g - cfg.threshold, min=0.0), generator=gen)
            s = s * cfg.decay + spk
            spikes[k] = spk
        if start >= n_burn:
            kk, bb, ii = torch.nonzero(spikes, as_tuple=True)
            counts = spikes[kk, bb, ii].to(torch.int32)
            for rep in range(n_rep):
                sel = bb == rep
                collected[rep].append((kk[sel] + (start - n_burn), ii[sel], counts[sel]))
    out = []
    for parts in collected:
        if parts:
            out.append(tuple(torch.cat(x) for x in zip(*parts)))
        else:
            empty = torch.empty(0, dtype=torch.int64, device=dev)
            out.append((empty, empty, empty.to(torch.int32)))
    return out
