"""A sparse, directed excitatory-inhibitory spiking network with known connectivity.

Unlike the rings, nothing here is rotation invariant: each neuron is excitatory (E) or inhibitory
(I), connections are drawn independently with probability ``p_connect``, and by Dale's law every
column j of W (the sender) has one sign. Dynamics on steps of ``dt`` seconds (a Poisson GLM, the
generative model of Pillow et al. 2008 with a one-exponential coupling filter):

    h(t+1)     = a h(t) + n(t),                a = exp(-dt / tau_syn)      synaptic traces [N]
    log lam(t) = b + W h(t) + c * mask * z(t)                              lam: spikes per step
    n_i(t)     ~ Poisson(min(lam_i(t), 1))

so a spike of j at step t multiplies the rate of i by ``exp(W_ij a^(k-1))`` k steps later
(k >= 1; a 1 ms synaptic delay at dt = 1 ms). ``W_ij`` is the peak change of log-rate per
presynaptic spike. z is an optional shared slow input, an Ornstein-Uhlenbeck process of unit
variance and time constant ``common_tau`` (s) that drives the neurons in ``mask`` with strength
c: unconnected neurons that share it correlate (the classic confound of connectivity inference).
The rate cap of one expected spike per step (1000 Hz at 1 ms) lets a rare excitatory cascade
saturate instead of overflowing.

Baselines b set each neuron's target rate r_i (drawn uniformly from ``rates``, Hz) for independent
Poisson senders at their targets (Campbell's theorem for the log-rate's shot noise, and the
log-normal mean of the shared input): ``b_i = log(r_i dt) - sum_j r_j dt sum_k (exp(W_ij a^k) - 1)
- c_i^2 / 2``; the measured rates then sit within a few per cent of the targets on average.

Stability: linearising the exponential link at the target rates lam* = r dt gives
``delta h(t+1) = (a I + diag(lam*) W) delta h(t)``; a network whose spectral radius of
``M = a I + diag(lam*) W`` is >= 1 is refused. (For an excitatory network this is the familiar
condition that the effective gain matrix ``G = diag(lam*) W / (1 - a)``, the integrated
linear response, have spectral radius < 1.) Linear stability is necessary, not sufficient, for an
exponential link: large excitatory weights let fluctuations escape to a runaway state (Gerhard,
Deger & Truccolo 2017). A run whose population rate in any block of 20 000 steps (20 s at 1 ms) exceeds
``RUNAWAY * max(rates)`` is therefore refused as well.

Simulation is event-driven on the CPU (numba): the traces ``W h`` are carried and updated by one
column of W per spike, and Poisson counts come from time rescaling (one exponential draw per
spike, Brown et al. 2002), so a step costs O(N) plus O(N) per spike. Each replica draws its
network from ``numpy.random.default_rng([seed, 0])`` and its dynamics from numba's generator
seeded with ``seed``: the same seed gives the same spikes, alone or in a batch.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numba import njit
from tqdm.auto import tqdm

from .._device import resolve_device
from .._validate import square_matrix
from ..data.spikes import SpikeTrain

RATE_CAP = 1.0          # expected spikes per step at most
RUNAWAY = 5.0           # a block's mean rate above RUNAWAY x the highest target rate is a runaway
_BLOCK = 20_000         # steps per kernel call


@dataclass(frozen=True)
class EITruth:
    """What generated one recording of :func:`simulate`.

    weights: ``[N, N]`` float64, row = receiver i, column = sender j (peak change of log-rate per
    spike of j); excitatory: ``[N]`` bool cell types (False = inhibitory); target_rates: ``[N]`` Hz;
    baseline: ``[N]`` log spikes per step; common_input: ``[T]`` float64, the shared OU input z
    over the kept steps (None without one); common_neurons: ``[N]`` bool, who receives it with
    strength ``common_strength``; tau_syn, dt in seconds.
    """

    weights: torch.Tensor
    excitatory: torch.Tensor
    target_rates: torch.Tensor
    baseline: torch.Tensor
    common_input: torch.Tensor | None
    common_neurons: torch.Tensor
    common_strength: float
    tau_syn: float
    dt: float

    @property
    def edges(self) -> torch.Tensor:
        """``[N, N]`` bool, True where a synapse exists."""
        return self.weights != 0


def random_ei_weights(n: int = 100, frac_exc: float = 0.8, p_connect: float = 0.1, w_exc: float = 0.3,
                      w_inh: float = 2.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random Dale's-law connectivity: ``(W [n, n] float64, excitatory [n] bool)``.

    The first ``round(frac_exc * n)`` neurons are excitatory. Each ordered pair i != j is connected
    with probability ``p_connect``; the weight is ``+w_exc`` from an E sender, ``-w_inh`` from an I
    sender (w_exc, w_inh are magnitudes, peak log-rate change per spike). No autapses.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer number of neurons >= 2, got {n!r}.")
    if not 0.0 <= frac_exc <= 1.0:
        raise ValueError(f"frac_exc must lie in [0, 1], got {frac_exc}.")
    if not 0.0 <= p_connect <= 1.0:
        raise ValueError(f"p_connect must be a probability in [0, 1], got {p_connect}.")
    if not (w_exc >= 0 and w_inh >= 0):
        raise ValueError(f"w_exc and w_inh are magnitudes (Dale's law fixes the sign) and must be >= 0, "
                         f"got w_exc={w_exc}, w_inh={w_inh}.")
    rng = np.random.default_rng([int(seed), 0])
    excitatory = np.arange(n) < round(frac_exc * n)
    connected = rng.random((n, n)) < p_connect
    np.fill_diagonal(connected, False)
    w = connected * np.where(excitatory, w_exc, -w_inh)[None, :]
    return torch.from_numpy(w.astype(np.float64)), torch.from_numpy(excitatory)


def simulate(duration: float = 60.0, n: int = 100, seed: int | Sequence[int] = 0, device: str | torch.device = "auto",
             *, frac_exc: float = 0.8, p_connect: float = 0.1, w_exc: float = 0.3, w_inh: float = 2.0,
             weights: torch.Tensor | None = None, rates: tuple[float, float] = (10.0, 30.0), tau_syn: float = 0.003,
             common_strength: float = 0.0, common_fraction: float = 0.5, common_tau: float = 0.3,
             dt: float = 1e-3, burn_in: float = 0.5, progress: bool = False
             ) -> tuple[SpikeTrain, EITruth] | list[tuple[SpikeTrain, EITruth]]:
    """Simulate the E/I network; return ``(spikes, truth)`` after ``burn_in`` seconds are dropped.

    duration, burn_in, dt, tau_syn, common_tau: seconds. n: neurons, ``frac_exc`` of them
    excitatory. Connectivity: :func:`random_ei_weights` (p_connect, w_exc, w_inh, drawn per seed),
    or ``weights`` ``[n, n]`` given (the same for every seed; each column must have one sign, a
    column with a negative entry makes its neuron inhibitory; the diagonal must be zero).
    rates: (low, high) Hz, each neuron's target rate drawn uniformly in between. Shared input:
    ``common_strength`` c > 0 (log-rate per unit of z) to a random ``common_fraction`` of neurons.

    seed: an int gives one ``(SpikeTrain, EITruth)``; a sequence gives a list of them, one per seed.
    Spikes come back on ``device`` (simulation runs on the CPU). Raises ``ValueError`` for bad
    arguments and for a network whose linearised dynamics are unstable (see the module docstring).

    Defaults: 100 neurons (80 E), 10 % connectivity, 3 ms synapses, w_exc = 0.3 (a spike raises a
    target's rate by 35 % at 1 ms) and w_inh = 2.0 (inhibition-dominated, as in cortex). Measured
    over seeds 0-9 and 300 s: mean rate / target 0.98-1.03 with or without a shared input of
    strength 0.5; w_exc = 0.4 drifts to 1.8 x the targets with that input, 0.7 runs away.
    """
    seeds = [int(seed)] if isinstance(seed, (int, np.integer)) else [int(s) for s in seed]
    if not seeds:
        raise ValueError("seed must be an int or a non-empty sequence of ints.")
    if not (duration > 0 and dt > 0 and burn_in >= 0):
        raise ValueError(f"need duration > 0, dt > 0 and burn_in >= 0 seconds, got {duration}, {dt}, {burn_in}.")
    if not tau_syn > 0 or not common_tau > 0:
        raise ValueError(f"tau_syn and common_tau must be positive seconds, got {tau_syn}, {common_tau}.")
    low, high = (float(r) for r in rates)
    if not 0 < low <= high or high * dt >= RATE_CAP:
        raise ValueError(f"rates must be (low, high) Hz with 0 < low <= high < {RATE_CAP / dt:g} (the rate cap), "
                         f"got {rates}.")
    if common_strength < 0 or not 0.0 <= common_fraction <= 1.0:
        raise ValueError(f"need common_strength >= 0 and common_fraction in [0, 1], got {common_strength}, "
                         f"{common_fraction}.")
    fixed = None if weights is None else _dale_weights(weights, n)
    dev = resolve_device(device)
    n_keep, n_burn = max(1, round(duration / dt)), round(burn_in / dt)
    a = math.exp(-dt / tau_syn)

    out = []
    for s in seeds:
        w, exc = fixed if fixed is not None else random_ei_weights(n, frac_exc, p_connect, w_exc, w_inh, s)
        rng = np.random.default_rng([s, 1])
        target = rng.uniform(low, high, n)
        mask = np.zeros(n, bool)
        if common_strength > 0:
            mask[rng.permutation(n)[: round(common_fraction * n)]] = True
        c = common_strength * mask
        wn = w.numpy()
        _check_stable(wn, target * dt, a, s)
        base = np.log(target * dt) - _shot_noise_log_gain(wn, a) @ (target * dt) - c**2 / 2
        times, neurons, counts, z = _run(wn, base, c, a, math.exp(-dt / common_tau), s, n_burn, n_keep,
                                         RUNAWAY * high * dt * n, progress)
        train = SpikeTrain(times, neurons, counts, n, n_keep, dt).to(dev)
        truth = EITruth(w.clone(), exc.clone(), torch.from_numpy(target), torch.from_numpy(base),
                        torch.from_numpy(z) if common_strength > 0 else None, torch.from_numpy(mask),
                        float(common_strength), tau_syn, dt)
        out.append((train, truth))
    return out if not isinstance(seed, (int, np.integer)) else out[0]


def expected_counts(spikes: SpikeTrain, truth: EITruth, start: int = 0) -> torch.Tensor:
    """The generator's own expected spikes per step ``[T, N]`` (float64, CPU) on ``spikes``, a piece
    of a recording simulated with ``truth`` that begins ``start`` steps after the recording's first
    kept step (``start`` places the piece on the shared input z; without one it does not matter).
    Traces before the piece's first step are taken as empty, which is wrong for the first few
    tau_syn only. The held-out bits/spike of these rates is the ceiling any fitted model has."""
    if abs(spikes.dt - truth.dt) > 1e-12 or spikes.n_neurons != truth.weights.shape[0]:
        raise ValueError(f"spikes (dt {spikes.dt} s, {spikes.n_neurons} neurons) are not from this truth (dt "
                         f"{truth.dt} s, {truth.weights.shape[0]} neurons).")
    x = spikes.to_dense(torch.float64, "cpu").T                               # [N, T]
    a = math.exp(-truth.dt / truth.tau_syn)
    lags = max(1, math.ceil(math.log(1e-12) / math.log(a)))
    kernel = a ** torch.arange(lags, dtype=torch.float64)                       # h(t) = sum_k a^(k-1) n(t-k)
    h = torch.nn.functional.conv1d(torch.nn.functional.pad(x[:, None], (lags, 0)), kernel.flip(0)[None, None])
    log_rate = truth.baseline.double()[:, None] + truth.weights @ h[:, 0, :-1]
    if truth.common_input is not None:
        if start < 0 or start + x.shape[1] > truth.common_input.shape[0]:
            raise ValueError(f"steps {start}..{start + x.shape[1]} lie outside the recording's "
                             f"{truth.common_input.shape[0]} steps of shared input.")
        z = truth.common_input[start:start + x.shape[1]].double()
        log_rate = log_rate + truth.common_strength * truth.common_neurons.double()[:, None] * z[None]
    return log_rate.exp().clamp(max=RATE_CAP).T.contiguous()


def _dale_weights(weights, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Given weights checked for shape, zero diagonal and one sign per column; ``(W, excitatory)``."""
    w = square_matrix("weights", weights).cpu()
    if w.shape[0] != n:
        raise ValueError(f"n={n} but weights are {tuple(w.shape)}; pass n={w.shape[0]} with these weights.")
    if (w.diagonal() != 0).any():
        raise ValueError("weights must have a zero diagonal (the model has no autapses).")
    mixed = ((w > 0).any(0) & (w < 0).any(0)).nonzero().flatten().tolist()
    if mixed:
        raise ValueError(f"columns {mixed} of weights mix signs; by Dale's law each sender (column) is "
                         "excitatory (>= 0) or inhibitory (<= 0).")
    return w, ~(w < 0).any(0)


def _check_stable(w: np.ndarray, lam: np.ndarray, a: float, seed: int) -> None:
    radius = float(np.abs(np.linalg.eigvals(a * np.eye(len(lam)) + lam[:, None] * w)).max())
    if radius >= 1.0:
        raise ValueError(f"the network of seed {seed} is unstable: the linearised one-step map a I + diag(r dt) W has "
                         f"spectral radius {radius:.3f} >= 1, so activity would run away. Weaken w_exc, lower "
                         "p_connect or the target rates, or strengthen w_inh.")


def _shot_noise_log_gain(w: np.ndarray, a: float) -> np.ndarray:
    """``sum_k (exp(W_ij a^k) - 1)`` over k >= 0: the log of the mean rate factor per sender spike rate."""
    k_max = int(math.ceil(math.log(1e-12) / math.log(a))) + 1
    return np.expm1(w[None] * a ** np.arange(k_max)[:, None, None]).sum(0)


def _run(w, base, c, a, rho, seed, n_burn, n_keep, max_per_step, progress):
    """One replica: events (times, neurons, counts) after burn-in and z over the kept steps. Raises
    if a block averages more than ``max_per_step`` spikes per step (a runaway)."""
    n = w.shape[0]
    w_cols = np.ascontiguousarray(w.T)
    _seed(seed % 2**32)
    state = np.zeros(n + 1)                     # [W h (n), z]
    state[n] = _normal()                        # z starts stationary
    budget = np.array([_exponential() for _ in range(n)])
    total = n_burn + n_keep
    buf_t, buf_i, buf_c = np.empty(_BLOCK * n, np.int64), np.empty(_BLOCK * n, np.int64), np.empty(_BLOCK * n, np.int32)
    z = np.empty(total)
    parts = []
    for start in tqdm(range(0, total, _BLOCK), disable=not progress, desc="E/I network"):
        stop = min(start + _BLOCK, total)
        m = _block(w_cols, base, c, a, rho, math.sqrt(1 - rho**2), state, budget, z[start:stop],
                   buf_t, buf_i, buf_c, start - n_burn)
        if buf_c[:m].sum() > max_per_step * (stop - start):
            raise ValueError(f"the network of seed {seed} ran away (population rate above {RUNAWAY:g} x the highest "
                             f"target) although its linearisation is stable: with an exponential link, strong "
                             "excitation lets fluctuations escape. Weaken w_exc or strengthen w_inh.")
        keep = buf_t[:m] >= 0
        parts.append((buf_t[:m][keep].copy(), buf_i[:m][keep].copy(), buf_c[:m][keep].copy()))
    t, i, k = (torch.from_numpy(np.concatenate(p)) for p in zip(*parts))
    return t, i, k, z[n_burn:].copy()


@njit(cache=True)
def _seed(value):
    np.random.seed(value)


@njit(cache=True)
def _normal():
    return np.random.standard_normal()


@njit(cache=True)
def _exponential():
    return np.random.exponential()


@njit(cache=True)
def _block(w_cols, base, c, a, rho, kick, state, budget, z_out, times_out, neurons_out, counts_out, t0):
    """Run ``len(z_out)`` steps in place on ``state`` = [W h, z] and the time-rescaling budgets;
    write events with step index ``t0 + k`` and return their number."""
    n = base.shape[0]
    n_events = 0
    spiking = np.empty(n, np.int64)
    spike_counts = np.empty(n, np.int32)
    for k in range(z_out.shape[0]):
        z = state[n]
        z_out[k] = z
        n_spk = 0
        for i in range(n):
            lam = math.exp(base[i] + state[i] + c[i] * z)
            if lam > RATE_CAP:
                lam = RATE_CAP
            budget[i] -= lam
            count = 0
            while budget[i] <= 0.0:
                count += 1
                budget[i] += np.random.exponential()
            if count:
                spiking[n_spk] = i
                spike_counts[n_spk] = count
                n_spk += 1
        for i in range(n):
            state[i] *= a
        for m in range(n_spk):
            col = w_cols[spiking[m]]
            cnt = spike_counts[m]
            for q in range(n):
                state[q] += cnt * col[q]
            times_out[n_events] = t0 + k
            neurons_out[n_events] = spiking[m]
            counts_out[n_events] = cnt
            n_events += 1
        state[n] = rho * z + kick * np.random.standard_normal()
    return n_events
