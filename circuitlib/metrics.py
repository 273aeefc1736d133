"""Scores for inferred connectivity and predicted activity.

* :func:`inference_error` — the normalised inference error Delta of Das & Fiete (2020) with the
  conventions of Yoon (2025, App. F), plus its bias/variance split;
* :func:`bits_per_spike` — held-out Poisson log-likelihood gain over a homogeneous Poisson model
  (Yoon 2025, Eq. 19), in bits per spike;
* :func:`linear_fit` — R^2 and slope of inferred against true weights (Allier et al. 2026).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._validate import square_matrix


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
                    scale: str = "l1") -> InferenceError:
    """Normalised inference error Delta = ||W - alpha E||_F / ||W||_F over off-diagonal pairs.

    true_w: ``[M, M]`` true weights on a ring of M positions. est_w: ``[N, N]`` inferred weights
    (row = receiver). positions: ``[N]`` ring position of each inferred neuron (default: the
    identity, N = M); only pairs of observed neurons are compared. Every entry is aligned by its
    ring offset ``(pos_j - pos_i) mod M``; the mean aligned inferred profile is matched to the mean
    aligned true profile by one global scale alpha (``scale="l1"``: least absolute deviation, the
    paper's choice; ``"lsq"``: least squares), which then scales the whole matrix.
    """
    true_w = square_matrix("true_w", true_w)
    est_w = square_matrix("est_w", est_w).to(true_w.device)
    m, n = true_w.shape[0], est_w.shape[0]
    if positions is None:
        if n != m:
            raise ValueError(f"est_w is {n}x{n} but true_w is {m}x{m}; pass positions (ring index of each "
                             "inferred neuron) to compare a subset.")
        positions = torch.arange(m, device=true_w.device)
    positions = torch.as_tensor(positions, device=true_w.device).long()
    if positions.shape != (n,):
        raise ValueError(f"positions must have one entry per inferred neuron ({n}), got shape {tuple(positions.shape)}.")
    if positions.min() < 0 or positions.max() >= m or positions.unique().numel() != n:
        raise ValueError(f"positions must be distinct ring indices in [0, {m}).")
    if scale not in ("l1", "lsq"):
        raise ValueError(f"scale must be 'l1' or 'lsq', got {scale!r}.")

    t = true_w[positions][:, positions]
    offsets = torch.remainder(positions[None, :] - positions[:, None], m)
    off_diag = ~torch.eye(n, dtype=torch.bool, device=t.device)
    k, tv, ev = offsets[off_diag], t[off_diag], est_w[off_diag]
    norm = tv.norm()
    if norm == 0:
        raise ValueError("true_w is zero on the compared off-diagonal entries; Delta is undefined.")
    # mean aligned profiles over ring offsets [M]; offsets no observed pair spans stay out of the fit
    counts = torch.bincount(k, minlength=m).to(torch.float64)
    seen = counts > 0
    t_mean = torch.zeros(m, dtype=torch.float64, device=t.device).index_add_(0, k, tv) / counts.clamp_min(1)
    e_mean = torch.zeros(m, dtype=torch.float64, device=t.device).index_add_(0, k, ev) / counts.clamp_min(1)
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
