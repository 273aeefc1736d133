"""The benchmark of chapter 13: every method on every generator over seeds, as cells of
:mod:`circuitlib.experiments.sweep`.

    from circuitlib.experiments import benchmark, sweep
    cells = benchmark.grid("quick", seeds=[0])               # list of sweep.Cell
    with sweep.local_client(2) as client:                # closed (workers ended) on exit
        df = sweep.run_sweep(cells, "results/benchmark", client=client)
    board = sweep.leaderboard(df[df.generator.isin(benchmark.EI)], "auroc")

Importing this module registers, beside what :mod:`~circuitlib.experiments.sweep` registers:

generators (``(seed, device, **params) -> (data, Truth)``)
    ``ring_threshold``, ``ring_lnp``: the Mexican-hat ring of Yoon et al. (2025) (four bumps), its
    two spike models; ``ring_single_bump``: local excitation and broad inhibition (one bump) with
    the sinusoidal drive of chapter 5 that moves the bump; all scored by Delta ("ring").
    ``ei``, ``ei_common``: the Dale's-law E/I network of :mod:`circuitlib.sim.ei_network`, without
    and with a shared slow input to half the neurons (``common_strength`` 0.5); scored by the
    edge metrics ("directed": ROC AUC and average precision of |w| over off-diagonal pairs).
    ``assembly``: the sparse rate assembly of Allier et al. (2026) (Supp. Table 1, "Sparse", 5 %
    of W non-zero) scaled to ``n_neurons`` and ``n_frames``; scored by W R^2 and slope ("rate",
    W in the simulator's units). Data are a (train, validation, test) triple of contiguous frames.

methods (``factory(device=..., **hp)``)
    ``ccg`` (:class:`~circuitlib.infer.ccg.CCG`), ``pearson_lag`` (Pearson correlation of 1 ms
    counts, its largest value over sender lags 0-10 ms: ``Correlation(max_lag=0.01)``), ``linear_rate``
    (:class:`~circuitlib.infer.linear_rate.LinearRate`, dx/dt regressed on tanh(x)) and
    ``assembly_gnn`` (:class:`~circuitlib.infer.assembly.AssemblyEstimator`, regularisation given
    as its four scalar coefficients so a cell stays plain data).

:data:`CONFIGS` holds the one documented configuration of each method at each scale,
:data:`APPLIES` which methods run on which generators, :data:`GENERATOR_PARAMS` the data of each
scale; :func:`grid` crosses them with seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch

from .. import metrics
from ..data.rates import RateActivity
from ..infer.assembly_training import Regularisation
from ..sim import ei_network, ring
from ..sim.assembly import AssemblyActivity
from . import sweep
from .assembly import BASELINE, TRANSMITTERS, simulator_weights
from .assembly_runs import w_scores
from .sweep import Cell, Estimator, Truth, register_generator, register_method, register_metrics

SCALES = ("ci", "quick", "paper")
RINGS = ("ring_threshold", "ring_lnp", "ring_single_bump")
DRIVEN = ("ring_single_bump",)
"""The generators whose data carry the drive angle theta."""
EI = ("ei", "ei_common")
ASSEMBLIES = ("assembly", "assembly_transmitters")
GENERATOR_NAMES = RINGS + EI + ASSEMBLIES


# ---------------------------------------------------------------------------------------------
# generators
# ---------------------------------------------------------------------------------------------
@register_generator("ring_threshold")
def ring_threshold(seed: int, device: str, **params):
    """The Mexican-hat ring (four bumps), threshold spike model; ``params`` as for sweep's ``ring``."""
    return sweep.ring_generator(seed, device, profile="mexican_hat", model="threshold", **params)


@register_generator("ring_lnp")
def ring_lnp(seed: int, device: str, **params):
    """The Mexican-hat ring (four bumps), LNP spike model (the reference operating point, g_th = 0)."""
    return sweep.ring_generator(seed, device, profile="mexican_hat", model="lnp", **params)


@register_generator("ring_single_bump")
def ring_single_bump(seed: int, device: str, *, n: int = 100, duration: float = 60.0, model: str = "threshold",
                     amplitude: float = math.pi / 2, period: float = 2.0, **params):
    """Local excitation, broad inhibition (one bump) on a ring of ``n``, driven by
    ``theta(t) = amplitude sin(2 pi t / period)`` (radians; chapter 5), so the bump sweeps the ring."""
    w = ring.local_excitation_broad_inhibition(n)
    theta = ring.sinusoidal_drive(duration, amplitude=amplitude, period=period, **({"dt": params["dt"]}
                                                                                   if "dt" in params else {}))
    train = ring.simulate(model, duration=duration, n=n, seed=seed, device=device, weights=w, theta=theta, **params)
    return train, Truth(w, "ring")


def _ei(seed, device, common_strength, **params):
    train, truth = ei_network.simulate(seed=seed, device=device, common_strength=common_strength, **params)
    return train, Truth(truth.weights, "directed")


@register_generator("ei")
def ei(seed: int, device: str, **params):
    """The E/I network (:func:`circuitlib.sim.ei_network.simulate`) without a shared input."""
    if params.get("common_strength", 0.0):
        raise ValueError("'ei' has no shared input; use the 'ei_common' generator for one.")
    params.pop("common_strength", None)
    return _ei(seed, device, 0.0, **params)


@register_generator("ei_common")
def ei_common(seed: int, device: str, common_strength: float = 0.5, **params):
    """The E/I network with a shared slow input (OU, 0.3 s) of ``common_strength`` to half the neurons."""
    if not common_strength > 0:
        raise ValueError("'ei_common' needs common_strength > 0; use 'ei' for the network without it.")
    return _ei(seed, device, common_strength, **params)


@dataclass(frozen=True)
class RateTruth(Truth):
    """A rate assembly's truth: ``weights`` and the simulated ``activity`` (types, psi, gain), which
    the "rate" metrics need to put a learned W into the simulator's units."""

    activity: AssemblyActivity | None = None


ASSEMBLY_ROWS = {"assembly": BASELINE, "assembly_transmitters": TRANSMITTERS}


def _assembly(row, seed, device, n_neurons, n_frames, fractions=(0.8, 0.1, 0.1)):
    sim = row.scaled(n_neurons=n_neurons, n_frames=n_frames).simulate(seed=seed, device=device)
    edges = [0]
    for f in fractions[:-1]:
        edges.append(edges[-1] + round(f * n_frames))
    edges.append(n_frames)
    recording = sim.recording()
    parts = tuple(RateActivity(recording.x[a:b], recording.dt, recording.dxdt[a:b], start=a * recording.dt)
                  for a, b in zip(edges, edges[1:]))
    return parts, RateTruth(sim.weights.cpu().double(), "rate", sim)


@register_generator("assembly")
def assembly(seed: int, device: str, *, n_neurons: int = 100, n_frames: int = 10_000):
    """The baseline row of Allier et al. (2026) (dense Cauchy W, psi = tanh, four neuron types, no
    noise) at ``n_neurons`` x ``n_frames`` (dt = 0.01); contiguous 80/10/10 % train / validation / test."""
    return _assembly(BASELINE, seed, device, n_neurons, n_frames)


@register_generator("assembly_transmitters")
def assembly_transmitters(seed: int, device: str, *, n_neurons: int = 100, n_frames: int = 10_000):
    """The "Transmitters" row: as ``assembly`` but psi_j = tanh(x_j / gamma_j), widths 1, 2, 4, 8 by
    type, so a regression on tanh(x) is misspecified while the GNN learns psi*."""
    return _assembly(TRANSMITTERS, seed, device, n_neurons, n_frames)


@register_metrics("rate")
def rate_metrics(truth: RateTruth, estimator) -> dict:
    """W R^2 and slope against the simulator's W (off the diagonal). The assembly GNN's W is put in
    the simulator's units by matching its psi* to the true psi
    (:func:`~circuitlib.experiments.assembly.simulator_weights`); a regression on tanh(x) is in
    units of g W and is divided by the gain g."""
    sim = truth.activity
    model = getattr(estimator, "model", None)
    w = simulator_weights(model, sim) if model is not None else estimator.weights / sim.gain
    r2, slope = w_scores(sim, w)
    return {"w_r2": r2, "w_slope": slope}


# ---------------------------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------------------------
register_method("ccg")(Estimator("circuitlib.infer.ccg", "CCG"))
register_method("pearson_lag")(Estimator("circuitlib.infer.correlation", "Correlation", ("pearson",),
                                         (("bin_width", 1e-3), ("max_lag", 0.01))))
register_method("linear_rate")(Estimator("circuitlib.infer.linear_rate", "LinearRate"))


@register_method("assembly_gnn")
def assembly_gnn(*, device: str = "auto", alpha: float = 1.0, beta: float = 0.0, gamma: float = 10.0,
                 zeta: float = 0.0, **hp):
    """:class:`~circuitlib.infer.assembly.AssemblyEstimator` with ``Regularisation(alpha, beta, gamma, zeta)``."""
    from ..infer.assembly import AssemblyEstimator
    return AssemblyEstimator(regularisation=Regularisation(alpha, beta, gamma, zeta), device=device, **hp)


# ---------------------------------------------------------------------------------------------
# the grid
# ---------------------------------------------------------------------------------------------
APPLIES: dict[str, tuple[str, ...]] = {
    "pearson": RINGS + EI, "pearson_lag": EI, "partial": RINGS + EI, "seqnmf": RINGS + EI, "tca": RINGS + EI,
    "ccg": RINGS + EI,
    "glm_free": RINGS + EI, "glm_shared": RINGS, "ring_gnn": RINGS + EI,
    "assembly_gnn": ASSEMBLIES, "linear_rate": ASSEMBLIES,
}
"""method -> the generators it runs on. The shared-profile GLM assumes a circulant W (rings only);
on the E/I network the ring GNN runs with ``directed=True`` (w not symmetrised, so w_ij and w_ji
can differ), on the driven single bump with its angle encoder; the rate methods read rate activity."""

GENERATOR_PARAMS: dict[str, dict[str, dict]] = {
    # rings: 100 neurons, seconds of recording (80 % train); E/I: 100 neurons at 10-30 Hz, seconds;
    # assemblies: neurons x frames (dt = 0.01)
    "ci": {**dict.fromkeys(RINGS, {"duration": 6.0}), **dict.fromkeys(EI, {"duration": 30.0}),
           **dict.fromkeys(ASSEMBLIES, {"n_neurons": 100, "n_frames": 10_000})},
    "quick": {**dict.fromkeys(RINGS, {"duration": 20.0}), **dict.fromkeys(EI, {"duration": 60.0}),
              **dict.fromkeys(ASSEMBLIES, {"n_neurons": 100, "n_frames": 10_000})},
    "paper": {**dict.fromkeys(RINGS, {"duration": 480.0}), **dict.fromkeys(EI, {"duration": 600.0}),
              **dict.fromkeys(ASSEMBLIES, {"n_neurons": 1000, "n_frames": 100_000})},
}

_GNN_RING = {"residual": True, "residual_lr": [0.3, 10.0], "batch_bins": 4096}
GNN_SPARSE_L1 = (0.0, 1e-4, 1e-3)
"""The ring GNN's L1 strengths on w for the E/I network, one decade apart, chosen on validation with
R's rate (per entry of w, in units of the mean negative log-likelihood per bin and neuron); at quick on
ei_common, 1e-3 pushes w to zero and 1e-4 predicts held-out spikes better than none."""
_GNN_ASSEMBLY = {"lr_weights": 4e-3, "lr_functions": 1e-3, "lr_latents": 3e-2, "refine_stride": 4}
CONFIGS: dict[str, dict[str, dict]] = {
    scale: {
        # zero-lag correlation of 10 ms counts; partial: the negated, normalised precision matrix
        "pearson": {}, "partial": {},
        # the largest Pearson correlation of 1 ms counts over sender lags 0-10 ms (directed)
        "pearson_lag": {},
        # 10 sequence templates of 2 lags on 10 ms bins / rank-10 CP of 10 segments, 20 ms smoothing (chapter 2)
        "seqnmf": {"n_components": 10, "n_iter": iters}, "tca": {"rank": 10, "n_iter": iters},
        # excess synchrony at 1-5 ms lags over a 20 ms interval-jitter null, z-scored (the defaults)
        "ccg": {},
        # Poisson GLMs on 1 ms bins, 10 raised-cosine bases over 20 ms, L-BFGS capped at glm_iter;
        # the free form with the estimator's own default penalty
        "glm_free": {"max_iter": glm_iter}, "glm_shared": {"max_iter": glm_iter},
        # the time-parallel GNN of chapter 3, continued, in its prior-free form (monotone messages, a free
        # residual on w, its rate 0.3 or 10 chosen on validation; structure module on structure_bins bins),
        # early stopping on validation
        "ring_gnn": {**_GNN_RING, "steps": gnn_steps, "structure_bins": structure_bins},
        # chapter 8's learning rates; Adam steps, then least squares on every 4th frame
        "assembly_gnn": {**_GNN_ASSEMBLY, "n_steps": steps},
        # plain least squares (a 1e-8 ridge keeps the solve well posed)
        "linear_rate": {},
    }
    for scale, iters, glm_iter, gnn_steps, structure_bins, steps in (
        ("ci", 20, 20, 100, 2000, 500), ("quick", 100, 60, 400, 2000, 2000), ("paper", 500, 2000, 3000, 8000, 20_000))
}
"""scale -> method -> hyper-parameters (each method's one configuration; only budgets grow with scale)."""


def method_params(method: str, generator: str, scale: str) -> dict:
    """The hyper-parameters of ``method`` on ``generator`` at ``scale``: :data:`CONFIGS`, plus
    ``directed=True`` and an L1 penalty on w chosen on validation (:data:`GNN_SPARSE_L1`) for the ring
    GNN on the E/I network (sparse and directed, where the ring's w is dense), ``use_theta=True`` for it on the driven
    single bump (its angle encoder reads the drive, as in chapter 5; the other methods see spikes
    only) and, for the assembly GNN, the psi* input and regularisation of the generator's row of
    Supp. Tables 1-2."""
    params = dict(CONFIGS[scale][method])
    if method == "ring_gnn" and generator in EI:
        params.update(directed=True, w_l1=list(GNN_SPARSE_L1))
    if method == "ring_gnn" and generator in DRIVEN:
        params["use_theta"] = True
    if method == "assembly_gnn":
        row = ASSEMBLY_ROWS[generator]
        reg = row.regularisation
        params.update(psi_input=row.psi_input, alpha=reg.alpha, beta=reg.beta, gamma=reg.gamma, zeta=reg.zeta,
                      l1_warmup=row.l1_warmup)
    return params


def _check(scale: str, seeds) -> list[int]:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}.")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed.")
    return seeds


def grid(scale: str, seeds=(0,), device: str = "cpu", generators=GENERATOR_NAMES, methods=tuple(APPLIES)) -> list[Cell]:
    """Every applicable (generator, method) pair of :data:`APPLIES` at ``scale`` ("ci": a tiny grid,
    about a minute on 2 cores; "quick": minutes on 2 cores; "paper": the full budgets, meant for a
    cluster with 5 seeds), once per seed; ``generators`` / ``methods`` narrow it."""
    seeds = _check(scale, seeds)
    return [Cell(g, m, GENERATOR_PARAMS[scale][g], method_params(m, g, scale), seed=s, scale=scale, device=device)
            for g in generators for m in methods if g in APPLIES[m] for s in seeds]


LOW_RATE_METHODS = ("pearson", "pearson_lag", "partial", "ccg", "glm_free", "ring_gnn")
_LOW_RATE = {"n": 20, "rates": (1.0, 5.0), "w_exc": 0.7, "w_inh": 3.0}
LOW_RATE_PARAMS = {"ci": {**_LOW_RATE, "duration": 120.0}, "quick": {**_LOW_RATE, "duration": 600.0},
                   "paper": {**_LOW_RATE, "duration": 1800.0}}
"""The low-rate recordings of issue 18: 20 neurons of the E/I network at 1-5 Hz for 2 (ci), 10
(quick) or 30 (paper) minutes, with synapses strong enough for a CCG to find most of them
(w_exc 0.7: a spike doubles the target's rate at its peak; w_inh 3.0), as in recordings where
monosynaptic pairs are found at all."""


def low_rate_grid(scale: str, seeds=(0,), device: str = "cpu", methods=LOW_RATE_METHODS) -> list[Cell]:
    """The E/I network (no shared input) at 1-5 Hz (:data:`LOW_RATE_PARAMS`), each method of
    ``methods`` in its :data:`CONFIGS` configuration, once per seed."""
    seeds = _check(scale, seeds)
    return [Cell("ei", m, LOW_RATE_PARAMS[scale], method_params(m, "ei", scale), seed=s, scale=scale, device=device)
            for m in methods for s in seeds]


# ---------------------------------------------------------------------------------------------
# reading the results
# ---------------------------------------------------------------------------------------------
FAMILIES = {"rings": (RINGS, "delta"), "E/I network": (EI, "auroc"), "rate assemblies": (ASSEMBLIES, "w_r2")}
"""family -> (its generators, its headline metric): Delta (lower is better), ROC AUC, W R^2."""
GLUE_NAMES = {"ring_gnn": "gnn", "average_precision": "ap"}
"""Method and metric names as chapter 13 glues them (``delta_gnn_ring_threshold``, ``ap_ccg_ei``)."""


def boards(df, metrics_of=None) -> dict:
    """``{(family, metric): sweep.leaderboard}`` of a benchmark frame, one per family and metric
    (default: each family's headline metric, plus average precision for the E/I network); methods
    in the order of :data:`APPLIES`, generators in the order of :data:`GENERATOR_NAMES`."""
    metrics_of = metrics_of or {"rings": ("delta",), "E/I network": ("auroc", "average_precision"),
                                "rate assemblies": ("w_r2",)}
    out = {}
    for family, (generators, _) in FAMILIES.items():
        part = df[df["generator"].isin(generators)]
        for metric in metrics_of.get(family, ()):
            if part.empty or metric not in part:
                continue
            board = sweep.leaderboard(part, metric)
            order = [m for m in APPLIES if m in board.index]
            out[family, metric] = board.loc[order, [(s, g) for s in ("mean", "sd", "n") for g in generators
                                                    if (s, g) in board.columns]]
    return out


def glue_values(df) -> dict:
    """``{f"{metric}_{method}_{generator}": mean over seeds}`` for every entry of :func:`boards` (E/I:
    auroc and ap; rings: delta; assemblies: w_r2), method names as in :data:`GLUE_NAMES`."""
    out = {}
    for (_, metric), board in boards(df).items():
        for method, row in board["mean"].iterrows():
            for generator, value in row.items():
                if value == value:                                     # not NaN
                    name = f"{GLUE_NAMES.get(metric, metric)}_{GLUE_NAMES.get(method, method)}_{generator}"
                    out[name] = float(value)
    return out


def low_rate_ceiling(scale: str, seed: int = 0) -> float:
    """Held-out bits/spike of the generator's own rates (:func:`~circuitlib.sim.ei_network.expected_counts`)
    on the test piece of the low-rate recording of ``scale`` and ``seed``: the most any fitted
    model can reach there, beside which a method's ``bps`` is read."""
    spikes, truth = ei_network.simulate(seed=seed, device="cpu", **LOW_RATE_PARAMS[scale])
    train, validation, test = sweep.split_recording(spikes)
    rates = ei_network.expected_counts(test, truth, start=train.n_steps + validation.n_steps)
    return metrics.bits_per_spike(test.to_dense(torch.float64), rates).mean


LOW_RATE_COLUMNS = ("auroc", "average_precision", "bps", "fit.n_iter", "fit.converged", "fit_seconds")


def low_rate_table(df):
    """Methods x (AUC, AP, held-out bits/spike, iterations, converged, fit seconds) of a
    :func:`low_rate_grid` frame, means over seeds (NaN where a method has no such number)."""
    ok = df[df["status"] == "ok"].copy()
    for column in LOW_RATE_COLUMNS:
        ok[column] = pd.to_numeric(ok[column], errors="coerce") if column in ok else float("nan")
    table = ok.groupby("method")[list(LOW_RATE_COLUMNS)].mean()
    return table.loc[[m for m in LOW_RATE_METHODS if m in table.index]]


def low_rate_glue(table) -> dict:
    """``{f"{name}_{method}_low_rate": value}`` of a :func:`low_rate_table` (auroc, ap, bps,
    iterations, seconds; method names as in :data:`GLUE_NAMES`), leaving out what a method lacks."""
    names = {"auroc": "auroc", "average_precision": "ap", "bps": "bps", "fit.n_iter": "iterations",
             "fit_seconds": "seconds"}
    return {f"{name}_{GLUE_NAMES.get(method, method)}_low_rate": float(row[column])
            for method, row in table.iterrows() for column, name in names.items() if row[column] == row[column]}
