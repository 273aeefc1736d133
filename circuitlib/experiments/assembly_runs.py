"""The pipeline of the assembly chapters: fit, refine, map W to the simulator's units, score it
against the truth (R^2 and slope, as Allier et al. 2026 report), read types and formulas off the
learned model, roll it out, and set the numbers beside the paper's.

    run = fit_assembly(sim, n_steps=2000, refine_stride=4)     # AssemblyFit
    run.scores                     # w_r2, w_slope (and w_r2_adam, w_slope_adam with refinement), seconds
    type_scores(run.estimator.model.latents, sim.types)        # accuracy of the latent clusters
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch

from .. import metrics
from ..infer import symbolic
from ..infer.assembly import AssemblyEstimator
from ..sim.assembly import AssemblyActivity, simulate
from .assembly import AssemblyExperiment, simulator_weights

ROLLOUT_STEPS = (200, 400, 800)


def w_scores(sim: AssemblyActivity, w: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[float, float]:
    """R^2 and slope of ``w`` [N, N] (simulator units) against the true W over ``mask`` (default:
    off the diagonal)."""
    mask = ~torch.eye(sim.n_neurons, dtype=torch.bool) if mask is None else mask
    r2, slope, _ = metrics.linear_fit(sim.weights.cpu(), w, mask)
    return r2, slope


@dataclass
class AssemblyFit:
    """One fit of a simulated assembly: ``estimator`` (refined when asked), ``adam`` (its state
    before least squares; the estimator itself without refinement), ``weights`` and
    ``adam_weights`` [N, N] in the simulator's units, ``scores`` (w_r2, w_slope, w_r2_adam,
    w_slope_adam, seconds) and ``curve`` [(step, W R^2)] recorded during training."""

    sim: AssemblyActivity
    estimator: AssemblyEstimator
    adam: AssemblyEstimator
    weights: torch.Tensor
    adam_weights: torch.Tensor
    scores: dict
    curve: list = field(default_factory=list)


def fit_assembly(sim: AssemblyActivity, refine: bool = True, record: int = 0, grid: torch.Tensor | None = None,
                 **hyperparameters) -> AssemblyFit:
    """Fit an :class:`AssemblyEstimator` (``hyperparameters``) to ``sim`` with Adam, then, with
    ``refine``, by least squares; score W at both stages. ``record`` > 0 logs W's R^2 that many
    times during training; ``grid`` is where psi* is matched to the true psi
    (:func:`~circuitlib.experiments.assembly.simulator_weights`)."""
    if record < 0:
        raise ValueError(f"record is a number of evaluations >= 0, got {record}.")
    curve = []
    if record:
        n_steps = hyperparameters.get("n_steps", 1000)
        hyperparameters.update(log_every=max(n_steps // record, 1), callback=lambda step, est: curve.append(
            (step, w_scores(sim, simulator_weights(est.model, sim, grid))[0])))
    start = time.perf_counter()
    recording = sim.recording()
    est = AssemblyEstimator(refine=False, **hyperparameters).fit(recording)
    adam_weights = simulator_weights(est.model, sim, grid)
    scores = dict(zip(("w_r2_adam", "w_slope_adam"), w_scores(sim, adam_weights)))
    adam, weights = est, adam_weights
    if refine:
        adam = copy.deepcopy(est)
        est.refine(recording)
        weights = simulator_weights(est.model, sim, grid)
        scores.update(zip(("w_r2", "w_slope"), w_scores(sim, weights)))
    else:
        scores.update(w_r2=scores["w_r2_adam"], w_slope=scores["w_slope_adam"])
    scores["seconds"] = time.perf_counter() - start
    return AssemblyFit(sim, est, adam, weights, adam_weights, scores, curve)


def run_experiment(exp: AssemblyExperiment, seed: int = 0, device="auto", refine: bool = True, record: int = 0,
                   simulate_kwargs: dict | None = None, **hyperparameters) -> AssemblyFit:
    """Simulate ``exp`` and fit it with the row's psi* input, regularisation and L1 warm-up."""
    sim = exp.simulate(seed=seed, device=device, **(simulate_kwargs or {}))
    return fit_assembly(sim, refine=refine, record=record, psi_input=exp.psi_input, regularisation=exp.regularisation,
                        l1_warmup=exp.l1_warmup, seed=seed, device=device, **hyperparameters)


def type_scores(latents: torch.Tensor, types: torch.Tensor, k_range=range(2, 11), seed: int = 0) -> dict:
    """Neuron types read off learned ``latents`` [N, D] against the true ``types`` [N]: K-means and
    Ward with K chosen by the silhouette in ``k_range`` (``accuracy``, ``k``, ``accuracy_ward``,
    ``k_ward``, ``silhouette``), and K-means told the true number of types (``accuracy_k_given``)."""
    latents, types = latents.detach().cpu(), types.cpu()
    kmeans = metrics.cluster_latents(latents, k_range, method="kmeans", seed=seed)
    ward = metrics.cluster_latents(latents, k_range, method="hierarchical")
    given = metrics.cluster_latents(latents, [len(types.unique())], method="kmeans", seed=seed)
    return dict(accuracy=metrics.match_clusters(types, kmeans.labels)[0], k=kmeans.k, silhouette=kmeans.silhouette,
                accuracy_ward=metrics.match_clusters(types, ward.labels)[0], k_ward=ward.k,
                accuracy_k_given=metrics.match_clusters(types, given.labels)[0])


def sender_transfer(est: AssemblyEstimator, sim: AssemblyActivity, grid: torch.Tensor) -> torch.Tensor:
    """Each sender's learned psi* on ``grid`` [M], minus psi*(0) and divided by its scale against the
    true psi (the simulator's units): ``[N, M]``."""
    learned = est.transfer_function(grid)
    return learned / metrics.transfer_scale(learned, sim.psi_true(grid.cpu()))[:, None]


def pair_transfer(est: AssemblyEstimator, sim: AssemblyActivity, grid: torch.Tensor, receiver_type: int,
                  sender_type: int, per_type: int = 5) -> torch.Tensor:
    """Learned psi* of ``per_type`` receivers of one type from ``per_type`` senders of another, in the
    simulator's units (as :func:`sender_transfer`): ``[per_type^2, M]``."""
    types = sim.types.cpu()
    receivers = torch.nonzero(types == receiver_type).flatten()[:per_type]
    senders = torch.nonzero(types == sender_type).flatten()[:per_type]
    curves = torch.cat([est.transfer_function(grid, slice(i, i + 1))[0, senders] for i in receivers.tolist()])
    true = sim.params.psi(grid.cpu(), torch.tensor([receiver_type]), torch.tensor([sender_type]))[0]
    return curves / metrics.transfer_scale(curves, true.expand_as(curves))[:, None]


def recovered_formula(x: torch.Tensor, curves: torch.Tensor) -> str:
    """The sparse-regression formula (:mod:`circuitlib.infer.symbolic`, default library) of the
    median of ``curves`` [K, M] sampled on ``x`` [M]."""
    curve = curves.median(0).values if curves.dim() == 2 else curves
    return symbolic.format_formula(symbolic.sparse_regression(x.cpu(), curve, symbolic.default_library()))


def update_formulas(est: AssemblyEstimator, sim: AssemblyActivity, x: torch.Tensor) -> list[tuple[str, str, str]]:
    """(name, true formula, recovered formula) of each type's update function phi_k, from the
    median learned curve of the type's neurons on ``x`` [M]."""
    curves, types, p = est.update_function(x), sim.types.cpu(), sim.params
    return [(f"phi_{k + 1}", f"-{1 / p.tau[k]:g} x + {p.s[k]:g} tanh(x)", recovered_formula(x, curves[types == k]))
            for k in range(len(p))]


def fresh_run(sim: AssemblyActivity, n_frames: int, seed: int) -> AssemblyActivity:
    """The network of ``sim`` (same W, types, functions, gain) simulated from a new initial state."""
    return simulate(sim.n_neurons, n_frames, params=sim.params, weights=sim.weights, gain=sim.gain,
                    gamma_of=sim.gamma_of, dt=sim.dt, seed=seed, device=sim.x.device)


def rollout_against(est: AssemblyEstimator, truth: AssemblyActivity, steps=ROLLOUT_STEPS):
    """Roll ``est`` out from ``truth``'s first state for all its frames; returns the predicted states
    ``[T, N]`` and ``{step: (R^2, slope)}`` (:func:`~circuitlib.metrics.rollout_scores`)."""
    predicted = est.rollout(truth.x[0], truth.x.shape[0])
    return predicted, metrics.rollout_scores(truth.x.cpu(), predicted, steps=steps)


def transplant(est: AssemblyEstimator, sim: AssemblyActivity, new: AssemblyActivity,
               grid: torch.Tensor) -> AssemblyEstimator:
    """The learned functions on a new network (Supp. Figs. 5-6): a copy of ``est`` whose neurons take
    the mean latent, gain and leak of the training neurons of their type in ``new``, and whose W
    is ``new``'s in the model's units (times the gain, divided by the mean psi* scale on ``grid``)."""
    if new.n_neurons != sim.n_neurons or len(new.params) != len(sim.params):
        raise ValueError("the new network needs as many neurons and types as the trained one.")
    out = copy.deepcopy(est)
    model, trained = out.model, est.model
    with torch.no_grad():
        for k in range(len(sim.params)):
            old, now = sim.types == k, new.types == k
            model.latents[now] = trained.latents[old].mean(0)
            model.phi_gain[now] = trained.phi_gain[old].mean()
            model.phi_leak[now] = trained.phi_leak[old].mean()
        n = sim.n_neurons
        scale = metrics.transfer_scale(est.transfer_function(grid), torch.tanh(grid.cpu()).expand(n, -1)).mean()
        model.weight.copy_((new.weights * new.gain / scale).to(model.weight))
    out.weights = model.effective_weights()
    return out


def field_scores(est: AssemblyEstimator, sim: AssemblyActivity, n_frames: int = 400) -> dict:
    """The learned field Omega* against the true one on the modulated neurons at ``n_frames`` evenly
    spaced frames: ``r2``, ``slope``, ``learned`` and ``true`` [frames, modulated] (float64), and
    the per-neuron scale symmetry of Eq. 3 (Omega*_i / k_i, k_i W_i.): ``k`` [modulated] the
    least-squares factor with Omega ~ k_i Omega*_i, ``r2_scaled``, ``slope_scaled`` after it."""
    modulated = torch.isfinite(sim.positions).all(1).cpu()
    frames = torch.arange(0, sim.x.shape[0], max(sim.x.shape[0] // n_frames, 1))
    learned = est.field(frames * sim.dt)[:, modulated].double()
    true = sim.field.cpu()[frames][:, modulated].double()
    k = (learned * true).sum(0) / learned.pow(2).sum(0)
    r2, slope, _ = metrics.linear_fit(true, learned)
    r2_scaled, slope_scaled, _ = metrics.linear_fit(true, learned * k)
    return dict(r2=r2, slope=slope, learned=learned, true=true, k=k, r2_scaled=r2_scaled, slope_scaled=slope_scaled,
                modulated=modulated)


def markdown_table(header, rows, formats=None) -> str:
    """A Markdown table: ``header`` [C] titles, ``rows`` of C values, ``formats`` [C] format specs
    for numbers (default ``.3f``); None shows as "–"."""
    formats = formats or [".3f"] * len(header)

    def cell(v, f):
        return "–" if v is None else format(v, f) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v, f) for v, f in zip(row, formats)) + " |" for row in rows]
    return "\n".join(lines)


def beside_paper(rows, scale: str) -> str:
    """Our numbers beside the paper's: ``rows`` of (label, ours, experiment, key), the paper's value
    read from ``experiment.paper[key]`` ("–" where the paper gives none)."""
    return markdown_table(["", f"ours ({scale})", "paper"],
                          [(label, ours, exp.paper.get(key)) for label, ours, exp, key in rows], [".3f", ".3f", ".2f"])


def condition_number(sim: AssemblyActivity) -> float:
    """Condition number of the regression for W with the true psi: of tanh(x) [T, N] over frames."""
    return float(torch.linalg.cond(torch.tanh(sim.x.double())).cpu())


def varying_senders(sim: AssemblyActivity, threshold: float = 0.05) -> torch.Tensor:
    """Senders ``[N]`` (bool) whose output tanh(x_j) varies over the recording (sd > ``threshold``):
    only their outgoing weights can be told apart from a constant input to their targets."""
    return torch.tanh(sim.x.double()).std(0).cpu() > threshold


def r2_varying_senders(run: AssemblyFit, threshold: float = 0.05) -> tuple[float, float]:
    """R^2 of Adam's W over the columns of :func:`varying_senders` (diagonal excluded), and their share."""
    keep = varying_senders(run.sim, threshold)
    n = keep.numel()
    return w_scores(run.sim, run.adam_weights, keep[None, :].expand(n, n) & ~torch.eye(n, dtype=torch.bool))[0], \
        float(keep.double().mean())


def modulated_row_scores(run: AssemblyFit, field: dict) -> dict:
    """W's R^2 and slope on the rows of unmodulated and of modulated neurons, and over all rows once
    each modulated row's share of the scale symmetry (``field["k"]`` of :func:`field_scores`) is
    moved from Omega* into W: keys ``unmodulated``, ``modulated``, ``scale_moved``, each (R^2, slope)."""
    modulated, n = field["modulated"], run.sim.n_neurons
    off = ~torch.eye(n, dtype=torch.bool)
    moved = run.weights.clone()
    moved[modulated] = run.weights[modulated] / field["k"][:, None]
    return dict(unmodulated=w_scores(run.sim, run.weights, off & ~modulated[:, None]),
                modulated=w_scores(run.sim, run.weights, off & modulated[:, None]),
                scale_moved=w_scores(run.sim, moved))
