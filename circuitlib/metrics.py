"""Scores for inferred connectivity and predicted activity.

* :func:`inference_error` — the normalised inference error Delta of Das & Fiete (2020) with the
  conventions of Yoon (2025, App. F), plus its bias/variance split;
* :func:`bits_per_spike` — held-out Poisson log-likelihood gain over a homogeneous Poisson model
  (Yoon 2025, Eq. 19), in bits per spike;
* :func:`linear_fit` — R^2 and slope of inferred against true weights (Allier et al. 2026);
  :func:`r2_score` — R^2 of predicted activity; :func:`angle_error_deg` — circular decoding error;
* :func:`ks_statistic` — the two-sample Kolmogorov-Smirnov distance of 1-D samples (e.g. the
  norms |m| of sampled loadings against the true distribution's, Kim et al. 2026);
* heterogeneous assemblies (Allier et al. 2026): :func:`cluster_latents` and :func:`match_clusters`
  (neuron types from the learned latents a_i), :func:`transfer_scale` and :func:`corrected_weights`
  (undo the W·psi scale ambiguity and the gain), :func:`rollout_scores` (R^2 of rollouts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.stats import ks_2samp
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import silhouette_score

from ._validate import square_matrix
from .ring_geometry import check_positions, lattice_shape, mean_profile, ring_offsets, wrap_angle


@dataclass(frozen=True)
class InferenceError:
    """Delta with its parts (all relative to ||W||_F over the compared off-diagonal entries).

    ``bias``: error of the scaled mean aligned profile (systematic, e.g. spurious side dips);
    ``variance``: spread of the scaled aligned rows around that mean (noise across neurons).
    For a rotation-invariant true W, ``delta**2 == bias**2 + variance**2`` exactly.
    """

    delta: float
    scale: float
    bias: float
    variance: float

    def __float__(self) -> float:
        return self.delta


def _weighted_median(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    order = torch.argsort(values)
    v, c = values[order], torch.cumsum(weights[order], 0)
    return v[torch.searchsorted(c, 0.5 * c[-1])]


def inference_error(true_w: torch.Tensor, est_w: torch.Tensor, positions: torch.Tensor | None = None,
                    scale: str = "l1", torus: tuple[int, int] | None = None) -> InferenceError:
    """Normalised inference error Delta = ||W - alpha E||_F / ||W||_F over off-diagonal pairs.

    true_w: ``[M, M]`` true weights on a ring of M positions. est_w: ``[N, N]`` inferred weights
    (row = receiver). positions: ``[N]`` ring position of each inferred neuron (default: the
    identity, N = M); only pairs of observed neurons are compared. Every entry is aligned by its
    ring offset ``(pos_j - pos_i) mod M``; the mean aligned inferred profile is matched to the mean
    aligned true profile by one global scale alpha (``scale="l1"``: least absolute deviation, the
    paper's choice; ``"lsq"``: least squares), which then scales the whole matrix.
    ``torus=(L1, L2)``: the M = L1 L2 positions form a torus instead (row-major, see
    :mod:`circuitlib.ring_geometry`), and entries are aligned by their 2-D offset on it.
    """
    true_w = square_matrix("true_w", true_w)
    est_w = square_matrix("est_w", est_w).to(true_w.device)
    if scale not in ("l1", "lsq"):
        raise ValueError(f"scale must be 'l1' or 'lsq', got {scale!r}.")
    if positions is None and est_w.shape != true_w.shape:
        raise ValueError(f"est_w is {tuple(est_w.shape)} but true_w is {tuple(true_w.shape)}; pass positions "
                         "(ring index of each inferred neuron) to compare a subset.")
    lattice = _lattice(true_w, torus)
    positions, m = check_positions(positions, est_w.shape[0], lattice, true_w.device)
    t = true_w[positions][:, positions].double()
    k = ring_offsets(positions, lattice)
    off_diag = k != 0
    tv, ev, k = t[off_diag], est_w.double()[off_diag], k[off_diag]
    norm = tv.norm()
    if norm == 0:
        raise ValueError("true_w is zero on the compared off-diagonal entries; Delta is undefined.")
    # mean aligned profiles over ring offsets [M]; offsets no observed pair spans stay out of the fit
    t_mean, counts = mean_profile(t, positions, lattice)
    e_mean, _ = mean_profile(est_w, positions, lattice)
    seen = counts > 0
    t_prof, e_prof = t_mean[seen], e_mean[seen]

    if scale == "lsq":
        denom = (e_prof**2).sum()
        alpha = float((t_prof * e_prof).sum() / denom) if denom > 0 else 0.0
    else:
        nz = e_prof != 0
        alpha = float(_weighted_median(t_prof[nz] / e_prof[nz], e_prof[nz].abs())) if nz.any() else 0.0

    return InferenceError(
        delta=float((tv - alpha * ev).norm() / norm),
        scale=alpha,
        bias=float((t_mean[k] - alpha * e_mean[k]).norm() / norm),
        variance=float(abs(alpha) * (ev - e_mean[k]).norm() / norm),
    )


def _lattice(true_w: torch.Tensor, torus):
    """The lattice of ``true_w`` ``[M, M]``: a ring of M, or the torus ``torus`` (whose size must be M)."""
    if torus is None:
        return true_w.shape[0]
    shape = lattice_shape(torus)
    if shape[0] * shape[1] != true_w.shape[0]:
        raise ValueError(f"true_w is {tuple(true_w.shape)} but the torus {shape} has {shape[0] * shape[1]} positions.")
    return shape


def profile_correlation(true_w: torch.Tensor, est_w: torch.Tensor, positions=None,
                        torus: tuple[int, int] | None = None) -> float:
    """Pearson correlation of the mean ring-aligned profiles of ``true_w`` ``[M, M]`` and ``est_w``
    ``[N, N]`` (``positions`` ``[N]``: ring index of each inferred neuron, default the whole ring).

    Only pairs of observed neurons enter, each aligned by its ring offset; offset 0 and offsets no
    observed pair spans are left out. Unlike Delta it ignores scale and offset: +1 is the right
    shape, -1 the mirror image. ``torus=(L1, L2)``: as in :func:`inference_error`.
    """
    true_w, est_w = square_matrix("true_w", true_w), square_matrix("est_w", est_w)
    if positions is None and true_w.shape != est_w.shape:
        raise ValueError(f"true_w {tuple(true_w.shape)} and est_w {tuple(est_w.shape)} must have the same shape, "
                         "or pass positions (ring index of each inferred neuron).")
    lattice = _lattice(true_w, torus)
    positions, _ = check_positions(positions, est_w.shape[0], lattice)
    sub = true_w.detach().double().cpu()[positions][:, positions]
    (t_prof, counts), (e_prof, _) = (mean_profile(w.detach().cpu(), positions, lattice) for w in (sub, est_w))
    seen = counts > 0
    return float(torch.corrcoef(torch.stack([t_prof[seen], e_prof[seen]]))[0, 1])


def angle_differences(angles: torch.Tensor) -> torch.Tensor:
    """|angles_i - angles_j| wrapped to [0, pi]: ``angles`` [N] rad -> [N, N]."""
    angles = torch.as_tensor(angles, dtype=torch.float64)
    return wrap_angle(angles[:, None] - angles[None]).abs()


def coupling_contrast(w: torch.Tensor, angles: torch.Tensor, near: float = math.radians(30),
                      far: float = math.radians(120)) -> float:
    """Local excitation minus distant coupling, in standard deviations of w.

    ``w`` [N, N] couplings among N neurons whose preferred angles are ``angles`` [N] (rad); the
    off-diagonal entries are divided by their standard deviation, and the result is their mean over
    pairs less than ``near`` apart minus their mean over pairs more than ``far`` apart (> 0: local
    excitation, surround inhibition). Raises if either group of pairs is empty.
    """
    w = square_matrix("w", w).to(torch.float64)
    d = angle_differences(angles).to(w.device)
    if d.shape != w.shape:
        raise ValueError(f"angles must give one angle per neuron of w ({w.shape[0]}), got {tuple(angles.shape)}.")
    off = ~torch.eye(w.shape[0], dtype=torch.bool, device=w.device)
    spread = w[off].std()
    if not spread > 0:
        raise ValueError("w is constant off the diagonal; its contrast is undefined.")
    close, distant = off & (d < near), d > far
    if not close.any() or not distant.any():
        raise ValueError(f"no pair of neurons is closer than {math.degrees(near):.0f} deg or none is farther "
                         f"than {math.degrees(far):.0f} deg apart; the contrast is undefined.")
    return float((w[close].mean() - w[distant].mean()) / spread)


@dataclass(frozen=True)
class BitsPerSpike:
    """Mean bits per spike over neurons that spiked; ``silent`` lists the neurons left out."""

    mean: float
    per_neuron: torch.Tensor  # [N - len(silent)]
    neurons: torch.Tensor  # [N - len(silent)] indices of the scored neurons
    silent: list[int]

    def __float__(self) -> float:
        return self.mean


def bits_per_spike(counts: torch.Tensor, rates: torch.Tensor) -> BitsPerSpike:
    """Yoon 2025 Eq. 19: Poisson log-likelihood of ``rates`` minus that of each neuron's constant
    mean rate on the same data, per spike, in bits, averaged over neurons.

    counts: ``[T, N]`` observed spike counts per bin. rates: ``[T, N]`` predicted expected counts
    per bin (>= 0, > 0 wherever a spike occurred). Neurons without spikes have no score: they are
    excluded from the average and returned in ``silent`` (never NaN).
    """
    counts, rates = torch.as_tensor(counts), torch.as_tensor(rates)
    if counts.dim() != 2 or counts.shape != rates.shape:
        raise ValueError(f"counts and rates must both be [T, N] of one shape, got {tuple(counts.shape)} "
                         f"and {tuple(rates.shape)}.")
    counts, rates = counts.to(torch.float64), rates.to(counts.device, torch.float64)
    if not (torch.isfinite(counts).all() and torch.isfinite(rates).all()):
        raise ValueError("counts or rates contain NaN or inf.")
    if (counts < 0).any() or (rates < 0).any():
        raise ValueError("counts and rates must be non-negative (rates are expected counts per bin).")
    if ((rates == 0) & (counts > 0)).any():
        raise ValueError("a predicted rate is 0 in a bin with spikes (log-likelihood -inf); "
                         "floor the model's rates, e.g. rates.clamp_min(1e-8).")
    total = counts.sum(0)
    if (total == 0).all():
        raise ValueError("no neuron spiked in these data; bits per spike is undefined.")
    keep = total > 0
    x, lam = counts[:, keep], rates[:, keep]
    lam_bar = x.mean(0)
    ll_model = torch.xlogy(x, lam).sum(0) - lam.sum(0)
    ll_homog = torch.xlogy(x, lam_bar).sum(0) - lam_bar * x.shape[0]
    per_neuron = (ll_model - ll_homog) / total[keep] / math.log(2)
    return BitsPerSpike(float(per_neuron.mean()), per_neuron, torch.nonzero(keep).flatten(),
                        torch.nonzero(~keep).flatten().tolist())


def ks_statistic(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of 1-D samples ``a`` [S] and ``b`` [S']: the largest
    gap between their empirical distribution functions, in [0, 1] (0: the same sample law)."""
    a, b = (np.asarray(torch.as_tensor(v).detach().cpu(), dtype=float).ravel() for v in (a, b))
    if len(a) < 1 or len(b) < 1 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"need two non-empty finite samples, got sizes {len(a)} and {len(b)}.")
    return float(ks_2samp(a, b).statistic)


def r2_score(true: torch.Tensor, pred: torch.Tensor) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot of ``pred`` against ``true`` [T, N], pooled
    over neurons, each neuron's mean over frames as the baseline."""
    true, pred = true.double(), pred.double()
    total = (true - true.mean(0)).pow(2).sum()
    if total == 0:
        raise ValueError("the true values do not vary over frames, so R^2 is undefined.")
    return float(1 - (pred - true).pow(2).sum() / total)


def angle_error_deg(estimate, truth) -> torch.Tensor:
    """Absolute circular difference of angles ``estimate`` and ``truth`` (radians, broadcastable), in
    degrees in [0, 180]: e.g. a decoded head direction against the tracked one."""
    estimate, truth = torch.as_tensor(estimate, dtype=torch.float64), torch.as_tensor(truth, dtype=torch.float64)
    if not (torch.isfinite(estimate).all() and torch.isfinite(truth).all()):
        raise ValueError("angles must be finite radians.")
    return torch.rad2deg(wrap_angle(estimate - truth).abs())


def linear_fit(true: torch.Tensor, est: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[float, float, float]:
    """Least-squares line ``est ~ slope * true + intercept`` over (masked) entries.

    Returns ``(r2, slope, intercept)``; R^2 is that of the fitted line (squared Pearson r).
    """
    true, est = torch.as_tensor(true).to(torch.float64), torch.as_tensor(est).to(torch.float64)
    if true.shape != est.shape:
        raise ValueError(f"true and est must have one shape, got {tuple(true.shape)} and {tuple(est.shape)}.")
    if mask is not None:
        true, est = true[mask], est[mask]
    true, est = true.flatten(), est.flatten()
    if not (torch.isfinite(true).all() and torch.isfinite(est).all()):
        raise ValueError("true or est contain NaN or inf.")
    if true.numel() < 2 or true.var() == 0:
        raise ValueError("need at least two distinct true values to fit a line.")
    tc, ec = true - true.mean(), est - est.mean()
    slope = (tc * ec).sum() / (tc**2).sum()
    ss_tot = (ec**2).sum()
    r2 = 1.0 - ((ec - slope * tc) ** 2).sum() / ss_tot if ss_tot > 0 else torch.tensor(0.0)
    return float(r2), float(slope), float(est.mean() - slope * true.mean())


def _labels(name: str, labels) -> np.ndarray:
    labels = np.asarray(torch.as_tensor(labels).cpu())
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of labels, got shape {labels.shape}.")
    return labels


def match_clusters(true_labels, pred_labels) -> tuple[float, dict]:
    """Best one-to-one matching of predicted cluster ids to true type ids (Hungarian algorithm on
    the contingency table).

    true_labels, pred_labels: ``[N]`` integer labels, any ids. Returns ``(accuracy, mapping)``:
    the fraction of neurons whose matched label equals the true one, and ``{pred_id: true_id}`` for
    the matched clusters. With more clusters than types the unmatched clusters count as errors.
    """
    t, p = _labels("true_labels", true_labels), _labels("pred_labels", pred_labels)
    if t.shape != p.shape:
        raise ValueError(f"true_labels and pred_labels need one label per neuron each, got {t.size} and {p.size}.")
    t_ids, t_idx = np.unique(t, return_inverse=True)
    p_ids, p_idx = np.unique(p, return_inverse=True)
    table = np.zeros((len(p_ids), len(t_ids)), dtype=np.int64)
    np.add.at(table, (p_idx, t_idx), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = {p_ids[r].item(): t_ids[c].item() for r, c in zip(rows, cols)}
    return float(table[rows, cols].sum() / t.size), mapping


@dataclass(frozen=True, eq=False)
class ClusterResult:
    """Cluster labels ``[N]`` (int), the chosen number of clusters, and the silhouette score of
    every K tried (empty when all latents coincide and ``k == 1``)."""

    labels: np.ndarray
    k: int
    silhouette: dict = field(default_factory=dict)


CLUSTER_METHODS = ("kmeans", "hierarchical")


def cluster_latents(latents, k_range=range(2, 11), method: str = "kmeans", seed: int = 0) -> ClusterResult:
    """Cluster learned latents ``[N, D]``, choosing K in ``k_range`` by the highest (Euclidean)
    silhouette score, as Allier et al. (2026) do.

    ``method="kmeans"``: KMeans(n_init=10, random_state=seed); ``"hierarchical"``: Ward
    agglomerative clustering. K larger than N - 1 or than the number of distinct latents is
    skipped. Latents that all coincide (e.g. a fixed-latent ablation) give K = 1, all labels 0.
    """
    if method not in CLUSTER_METHODS:
        raise ValueError(f"method must be one of {CLUSTER_METHODS}, got {method!r}.")
    x = torch.as_tensor(latents).detach().cpu().to(torch.float64).numpy()
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"latents must be a non-empty [N, D] array, got shape {x.shape}.")
    if not np.isfinite(x).all():
        raise ValueError("latents contain NaN or inf.")
    ks = sorted(set(int(k) for k in k_range))
    if not ks or ks[0] < 2:
        raise ValueError(f"k_range must hold numbers of clusters >= 2 (silhouette needs two), got {list(k_range)}.")
    n_distinct = len(np.unique(x, axis=0))
    if n_distinct == 1:
        return ClusterResult(np.zeros(len(x), dtype=np.int64), 1, {})
    ks = [k for k in ks if k <= min(len(x) - 1, n_distinct)]
    if not ks:
        raise ValueError(f"{len(x)} latents ({n_distinct} distinct) are too few for any K in k_range; "
                         "need at least K + 1 latents and K distinct ones.")
    fits, scores = {}, {}
    for k in ks:
        model = (KMeans(n_clusters=k, n_init=10, random_state=seed) if method == "kmeans"
                 else AgglomerativeClustering(n_clusters=k, linkage="ward"))
        fits[k] = model.fit_predict(x).astype(np.int64)
        scores[k] = float(silhouette_score(x, fits[k]))
    best = max(scores, key=scores.get)
    return ClusterResult(fits[best], best, scores)


def transfer_scale(learned, true, learned_at_zero=0.0) -> torch.Tensor:
    """Per-sender factor c_j with ``learned_j(x) - learned_j(0) ~ c_j true_j(x)`` (least squares
    through the origin, since the true psi(0) = 0): c_j = <l_j - l_j(0), t_j> / <t_j, t_j>.

    learned, true: ``[N, M]`` (or ``[M]``) functions on the same M samples of x.
    learned_at_zero: ``[N]`` or scalar, each learned function's value at x = 0.
    Returns ``[N]`` (or a scalar tensor), float64.
    """
    lf, t = torch.as_tensor(learned).to(torch.float64), torch.as_tensor(true).to(torch.float64)
    if lf.shape != t.shape or lf.dim() not in (1, 2) or lf.shape[-1] == 0:
        raise ValueError(f"learned and true must both be [N, M] or [M] of one shape, got {tuple(lf.shape)} "
                         f"and {tuple(t.shape)}.")
    lf0 = torch.as_tensor(learned_at_zero).to(lf.device, torch.float64)
    if lf0.numel() == 1:
        lf0 = lf0.reshape(())
    elif lf0.shape != lf.shape[:-1]:
        raise ValueError(f"learned_at_zero must be a scalar or hold one value per function "
                         f"({tuple(lf.shape[:-1])}), got shape {tuple(lf0.shape)}.")
    lf = lf - (lf0 if lf0.dim() == 0 else lf0[..., None])
    denom = (t * t).sum(-1)
    if not torch.isfinite(lf).all() or not torch.isfinite(t).all() or (denom == 0).any():
        raise ValueError("learned and true must be finite, and no true function may be zero on every sample.")
    return (lf * t).sum(-1) / denom


def corrected_weights(weights, scale, gain) -> torch.Tensor:
    """Map a learned W back to the simulator's W: ``W_ij * c_j / g_i`` (row i receives, column j sends).

    weights: ``[N, N]`` learned weights; scale: ``[N]`` or scalar, the sender's
    :func:`transfer_scale` c_j (learned psi_j ~ c_j true psi_j); gain: scalar or ``[N]`` receiver
    gain g_i. Returns float64 ``[N, N]``.
    """
    w = square_matrix("weights", weights)
    c = torch.as_tensor(scale).to(w.device, torch.float64)
    g = torch.as_tensor(gain).to(w.device, torch.float64)
    for name, v in (("scale", c), ("gain", g)):
        if v.numel() != 1 and v.shape != (w.shape[0],):
            raise ValueError(f"{name} must be a scalar or [N] = [{w.shape[0]}], got shape {tuple(v.shape)}.")
    if (g == 0).any() or not (torch.isfinite(c).all() and torch.isfinite(g).all()):
        raise ValueError("scale and gain must be finite and gain non-zero.")
    return w * c.reshape(1, -1) / g.reshape(-1, 1)


def rollout_scores(true, pred, steps=(400, 800)) -> dict[int, tuple[float, float]]:
    """R^2 and slope (:func:`linear_fit`, pred against true) of a rollout after each number of steps.

    true, pred: ``[S, B, N]`` or ``[S, N]`` states, index 0 the shared initial state, so the state
    after ``step`` steps is index ``step`` (all batches and neurons pooled). A step outside
    ``0..S-1`` raises. Returns ``{step: (r2, slope)}``.
    """
    true, pred = torch.as_tensor(true), torch.as_tensor(pred)
    if true.shape != pred.shape or true.dim() not in (2, 3):
        raise ValueError(f"true and pred must both be [S, B, N] or [S, N] of one shape, got "
                         f"{tuple(true.shape)} and {tuple(pred.shape)}.")
    scores = {}
    for step in steps:
        if not 0 <= step < true.shape[0]:
            raise ValueError(f"step {step} is outside the rollout: it holds {true.shape[0]} states "
                             f"(steps 0..{true.shape[0] - 1}); roll out longer or ask for earlier steps.")
        r2, slope, _ = linear_fit(true[step], pred[step])
        scores[int(step)] = (r2, slope)
    return scores


# ---------------------------------------------------------------------------------------------
# edge detection against a known directed W (sparse networks: the E/I generator)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeScores:
    """How well |w_hat| singles out the true edges of W, over the off-diagonal ordered pairs.

    auroc, average_precision: of |w_hat| as a score for "W_ij != 0"; chance_auroc = 0.5 and
    chance_ap = density (the fraction of pairs that are edges) are what a random ranking gets in
    expectation. sign_accuracy: fraction of true edges where sign(w_hat) = sign(W) (w_hat = 0 counts
    as wrong). n_edges, n_pairs: true edges and off-diagonal pairs compared.
    """

    auroc: float
    average_precision: float
    sign_accuracy: float
    chance_auroc: float
    chance_ap: float
    n_edges: int
    n_pairs: int


def edge_scores(true_w, est_w) -> EdgeScores:
    """Edge detection scores of ``est_w`` ``[N, N]`` against the true ``true_w`` ``[N, N]``
    (row = receiver, column = sender; the diagonal is ignored). Raises ``ValueError`` for shapes
    that differ, NaN, or a W whose off-diagonal pairs are all edges or all non-edges (AUC and AP
    are then undefined)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    true_w, est_w = square_matrix("true_w", true_w), square_matrix("est_w", est_w)
    if true_w.shape != est_w.shape:
        raise ValueError(f"true_w and est_w must have one shape, got {tuple(true_w.shape)} and {tuple(est_w.shape)}.")
    off = ~torch.eye(true_w.shape[0], dtype=torch.bool, device=true_w.device)
    w, w_hat = true_w[off].cpu(), est_w.to(true_w.device)[off].cpu()
    edge = (w != 0).numpy()
    n_edges = int(edge.sum())
    if n_edges in (0, edge.size):
        what = "no edges" if n_edges == 0 else "only edges"
        raise ValueError(f"true_w has {what} off the diagonal, so edge detection is undefined; it needs both "
                         "connected and unconnected pairs.")
    score = w_hat.abs().numpy()
    signs = torch.sign(w_hat[w != 0]) == torch.sign(w[w != 0])
    return EdgeScores(float(roc_auc_score(edge, score)), float(average_precision_score(edge, score)),
                      float(signs.double().mean()), 0.5, n_edges / edge.size, n_edges, int(edge.size))
