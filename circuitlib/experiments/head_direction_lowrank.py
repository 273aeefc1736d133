"""A low-rank network fitted to the head-direction cells (Kim et al. 2026's question on real data).

The 19 cells of chapter 7, smoothed to rates, are fitted by a rank-2 network whose angular head
velocity gates part of its connectivity (:class:`~circuitlib.infer.lowrank_rnn.GatedLowRankRNN`).
Does its latent state form a ring that tracks the head angle? On held-out stretches:

* decoding: the latent angle (after one sign and offset fitted on training data,
  :class:`LatentAngle`) against the tracked angle, beside a population-vector decoder of the rates;
* dynamics: from a recorded state, the network runs ``H`` bins on its own with only the recorded
  velocity as input (:func:`rollout_errors`); if it integrates the velocity, its decoded angle
  beats holding the first decoded angle fixed, and its latent radius settles (a ring);
* the connectivity distribution: per-neuron parameters of the fit learned by a flow (and one
  Gaussian), new large networks sampled from each and their latent fields compared with the
  fitted network's (:func:`sampled_network_check`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import metrics
from ..data.head_direction import rayleigh, smoothed_activity, tuning_curves
from ..data.rates import RateActivity
from ..infer.flows import ConnectivityFlow, FlowConfig, GaussianConnectivity
from ..infer.lowrank_rnn import GatedLowRankRNN
from ..lowrank_dynamics import DTYPE, GatedLowRank


def rate_stretches(stretches, sigma: float, min_bins: int = 2) -> tuple[list[RateActivity], list[torch.Tensor]]:
    """Smoothed rates with the head velocity as input (:func:`~circuitlib.data.head_direction.smoothed_activity`)
    and the head angle [T] of every stretch of at least ``min_bins`` bins (SpikeTrains with theta)."""
    kept = [s for s in stretches if s.n_steps >= min_bins]
    if not kept:
        raise ValueError(f"no stretch has {min_bins} bins or more.")
    return [smoothed_activity(s, sigma) for s in kept], [s.theta.double() for s in kept]


@dataclass(frozen=True)
class LatentAngle:
    """Head angle from the latent: ``sign * atan2(kappa - centre) + offset`` (rad), ``centre`` [2]."""

    centre: torch.Tensor
    sign: int
    offset: float

    @classmethod
    def fit(cls, kappa: torch.Tensor, theta: torch.Tensor) -> LatentAngle:
        """Centre (the mean latent), sign (the latent plane may be mirrored) and offset that best
        align ``kappa`` [T, 2] to ``theta`` [T]."""
        if kappa.dim() != 2 or kappa.shape[1] != 2 or theta.shape != kappa.shape[:1]:
            raise ValueError(f"need kappa [T, 2] and theta [T], got {tuple(kappa.shape)} and {tuple(theta.shape)}.")
        centre = kappa.mean(0)
        psi = torch.atan2(kappa[:, 1] - centre[1], kappa[:, 0] - centre[0])
        resultant = {s: torch.polar(torch.ones_like(psi), theta - s * psi).mean() for s in (1, -1)}
        sign = max(resultant, key=lambda s: float(resultant[s].abs()))
        return cls(centre, sign, float(torch.angle(resultant[sign])))

    def __call__(self, kappa: torch.Tensor) -> torch.Tensor:
        """Decoded angles [...] of latents ``kappa`` [..., 2]."""
        k = kappa - self.centre
        return self.sign * torch.atan2(k[..., 1], k[..., 0]) + self.offset


def preferred_directions(stretches) -> torch.Tensor:
    """Each cell's preferred direction [N] (rad): the Rayleigh direction of its tuning curve over
    ``stretches`` (SpikeTrains with theta), e.g. the training part only."""
    counts = torch.cat([s.to_dense(torch.float64) for s in stretches])
    centres, curves = tuning_curves(counts, torch.cat([s.theta.double() for s in stretches]))
    return rayleigh(curves, centres)[1]


def population_vector(rates: torch.Tensor, preferred: torch.Tensor) -> torch.Tensor:
    """The population-vector estimate ``arg sum_i r_i exp(i phi_i)`` [T] of rates [T, N] and
    preferred directions ``phi`` [N] (rad)."""
    rates = torch.as_tensor(rates, dtype=DTYPE)
    phi = torch.as_tensor(preferred, dtype=DTYPE)
    return torch.atan2(rates @ phi.sin(), rates @ phi.cos())


def fit_tau(train: list[RateActivity], train_theta: list[torch.Tensor], validation: list[RateActivity],
            validation_theta: list[torch.Tensor], taus, horizon: int, rank: int = 2, stride: int = 20) -> dict:
    """Fit one network per time constant in ``taus`` (s) and keep the one whose ``horizon``-bin
    rollouts decode the validation angles best (head angles ``*_theta``, one [T] per stretch).
    Returns ``model``, ``decoder``, ``tau`` and ``validation`` (tau -> mean rollout error, deg)."""
    scores, fits = {}, {}
    for tau in taus:
        model = GatedLowRankRNN(rank, tau).fit(train)
        decoder = latent_decoder(model, train, train_theta)
        errors = rollout_errors(model, decoder, validation, validation_theta, [horizon], stride)
        scores[tau] = errors[horizon]["rollout"]
        fits[tau] = (model, decoder)
    best = min(scores, key=scores.get)
    return dict(model=fits[best][0], decoder=fits[best][1], validation=scores, tau=best)


def latent_decoder(model: GatedLowRankRNN, stretches: list[RateActivity], thetas: list[torch.Tensor]) -> LatentAngle:
    """:class:`LatentAngle` fitted on the recorded latents of ``stretches`` and their head angles."""
    kappa = torch.cat([model.network.latent(model.standardise(s.x)) for s in stretches])
    return LatentAngle.fit(kappa, torch.cat(thetas))


def rollout_errors(model: GatedLowRankRNN, decoder: LatentAngle, stretches: list[RateActivity],
                   thetas: list[torch.Tensor], horizons, stride: int = 20) -> dict:
    """From recorded states every ``stride`` bins, run the network ``max(horizons)`` bins under the
    recorded velocity. Per horizon H (bins): mean decoding error (deg) of the ``rollout`` after H
    bins, of ``hold`` (the decoded start angle kept), and ``radius_cv`` (sd / mean over the starts
    of the latent's distance from the decoder's centre after H bins); H = 0 is the recorded state."""
    horizons = sorted(set(int(h) for h in horizons))
    if not horizons or horizons[0] < 0:
        raise ValueError(f"horizons must be bins >= 0, got {horizons}.")
    longest = horizons[-1]
    x0, u, target = [], [], []
    for s, theta in zip(stretches, thetas):
        starts = torch.arange(0, max(s.n_frames - longest, 0), stride)
        steps = starts[:, None] + torch.arange(longest + 1)
        x0.append(s.x[starts])
        u.append(s.inputs[steps[:, :-1], 0])
        target.append(theta[steps])
    if not x0 or sum(len(a) for a in x0) == 0:
        raise ValueError(f"no stretch is longer than the longest horizon ({longest} bins).")
    kappa = model.network.latent(model.rollout(torch.cat(x0), torch.cat(u), stretches[0].dt))  # [B, H+1, 2]
    target = torch.cat(target)
    angles = decoder(kappa)
    out = {}
    for h in horizons:
        radius = (kappa[:, h] - decoder.centre).norm(dim=1)
        out[h] = dict(rollout=float(metrics.angle_error_deg(angles[:, h], target[:, h]).mean()),
                      hold=float(metrics.angle_error_deg(angles[:, 0], target[:, h]).mean()),
                      radius_cv=float(radius.std() / radius.mean()))
    return out


def settle(network: GatedLowRank, kappa0: torch.Tensor, duration: float, u: float = 0.0,
           h: float = 0.05) -> torch.Tensor:
    """Latent trajectories [B, T, 2] over ``duration`` time constants from ``kappa0`` [B, 2] under a
    constant input ``u`` (Euler steps of ``h``)."""
    out = [kappa0.to(DTYPE)]
    for _ in range(round(duration / h)):
        out.append(out[-1] + h * network.field(out[-1], u))
    return torch.stack(out, 1)


def ring_summary(ends: torch.Tensor, centre: torch.Tensor | None = None, angle_bins: int = 36) -> dict:
    """Where trajectories end (``ends`` [B, 2]), about ``centre`` [2] (default: their mean): mean
    radius, radius cv and the fraction of ``angle_bins`` angle bins they reach (1: spread around a
    ring; small: a few fixed points)."""
    ends = ends - (ends.mean(0) if centre is None else centre)
    radius = ends.norm(dim=1)
    bins = ((torch.atan2(ends[:, 1], ends[:, 0]) + math.pi) / (2 * math.pi) * angle_bins).long() % angle_bins
    return dict(radius=float(radius.mean()), radius_cv=float(radius.std() / radius.mean()),
                angle_coverage=len(set(bins.tolist())) / angle_bins)


def sine_correlation(w: torch.Tensor, angles: torch.Tensor) -> float:
    """Pearson correlation of the off-diagonal couplings ``w`` [N, N] (row = receiver) with
    sin(angle_i - angle_j): +-1 for a coupling that turns activity one way around the ring, 0
    for one that depends on the angle difference symmetrically."""
    angles = torch.as_tensor(angles, dtype=DTYPE)
    off = ~torch.eye(len(angles), dtype=torch.bool)
    pair = torch.stack([torch.as_tensor(w, dtype=DTYPE)[off], torch.sin(angles[:, None] - angles[None])[off]])
    return float(torch.corrcoef(pair)[0, 1])


def field_error(reference: GatedLowRank, other: GatedLowRank, kappa: torch.Tensor, inputs) -> float:
    """Relative L2 distance of ``other``'s latent field from ``reference``'s on points ``kappa`` [G, 2]
    and every input in ``inputs``."""
    ref = torch.stack([reference.field(kappa, u) for u in inputs])
    est = torch.stack([other.field(kappa, u) for u in inputs])
    return float((est - ref).norm() / ref.norm())


def sampled_network_check(network: GatedLowRank, n_neurons: int, grid: torch.Tensor, inputs, kappa0: torch.Tensor,
                          duration: float, centre: torch.Tensor | None = None, config: FlowConfig | None = None,
                          seed: int = 0, device: str | torch.device = "auto") -> dict:
    """Train a flow and one Gaussian on the per-neuron parameters of ``network`` (``[m, b]`` and, given
    them, ``[n, n_gate]``), sample a network of ``n_neurons`` from each, and score it against the
    fitted network: ``field_error`` on ``grid`` [G, 2] under ``inputs`` (rad/s), and the ring
    summary (about ``centre``) of where trajectories from ``kappa0`` end after ``duration`` time
    constants (u = 0); the flow trains on ``device``.
    Returns name -> (scores, sampled GatedLowRank); "fitted" is the network itself."""
    m_bias, n_both = network.rows()
    samplers = {"flow": ConnectivityFlow(m_bias.shape[1], config or FlowConfig(), seed=seed, device=device),
                "gaussian": GaussianConnectivity(m_bias.shape[1])}
    out = {"fitted": (ring_summary(settle(network, kappa0, duration)[:, -1], centre), network)}
    for name, sampler in samplers.items():
        sampled = GatedLowRank.from_rows(*sampler.fit(m_bias, n_both).sample(n_neurons, seed=seed))
        scores = ring_summary(settle(sampled, kappa0, duration)[:, -1], centre)
        scores["field_error"] = field_error(network, sampled, grid.to(DTYPE), inputs)
        out[name] = (scores, sampled)
    return out
