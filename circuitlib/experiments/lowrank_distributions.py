"""Why flows: connectivity distributions that one Gaussian cannot hold (Kim et al. 2026).

A network is drawn from a known distribution of loadings, simulated, and fitted by the
maximum-entropy fit; a flow (:class:`~circuitlib.infer.flows.ConnectivityFlow`) and one Gaussian
(:class:`~circuitlib.infer.flows.GaussianConnectivity`) are trained on the fitted loadings, and
networks sampled from each are scored against the true distribution:

* ``ks_norm_m``: the Kolmogorov-Smirnov distance between the norms |m_i| of sampled neurons and
  of a fresh draw from the true distribution (tails and modes of p(m));
* ``field_error``: the relative error of the sampled network's mean-field flow field against the
  true distribution's (:func:`~circuitlib.infer.lowrank.field_error`);
* ``end_radius``: the mean latent norm where trajectories from ``kappa0`` end (a ring's radius, or
  the distance of fixed points from the origin).

    check = distribution_check(lr.heavy_tailed_ring(3.0), 2000, kappa0, FlowConfig(), GRID)
    check.scores["gaussian"]["field_error"], check.scores["flow"]["ks_norm_m"]
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..infer.flows import ConnectivityFlow, FlowConfig, GaussianConnectivity
from ..infer.lowrank import MaxEntFit, field_error
from ..metrics import ks_statistic
from ..sim import lowrank as lr


@dataclass
class DistributionCheck:
    """One :func:`distribution_check`: the fit of the recorded network (``maxent``), the trained
    ``samplers``, ``truth`` and ``samples`` (name -> (m, n) [S, R] float64; "truth" is a fresh draw
    from the true distribution), ``ends`` ("truth" and each sampler -> :func:`end_states` [B, R])
    and ``scores`` (sampler -> ks_norm_m, field_error, end_radius; "truth" has end_radius only)."""

    maxent: MaxEntFit
    samplers: dict
    truth: tuple
    samples: dict
    ends: dict
    scores: dict


def end_states(m: torch.Tensor, n: torch.Tensor, kappa0: torch.Tensor, duration: float = 40.0,
               dt: float = 0.1) -> torch.Tensor:
    """Latent states ``[B, R]`` after ``duration`` time constants (Euler step ``dt``) of the mean field
    of ``(m, n)`` from ``kappa0`` [B, R]: where each trajectory settles."""
    return lr.simulate_latent(m, n, kappa0.to(m), duration=duration, dt=dt, record_every=round(duration / dt),
                              device=m.device)[:, -1]


def distribution_check(dist: lr.Loadings, n_neurons: int, kappa0: torch.Tensor, flow_config: FlowConfig,
                       grid: torch.Tensor, n_samples: int = 20_000, duration: float = 15.0, dt: float = 0.1,
                       seed: int = 0, device: str | torch.device = "auto") -> DistributionCheck:
    """Record ``n_neurons`` of ``dist`` from the initial latents ``kappa0`` [B, R] (``duration`` time
    constants, Euler step ``dt``), fit them, train a flow and a Gaussian on the fitted loadings and
    score ``n_samples`` neurons from each against a fresh draw of ``n_samples`` from ``dist`` (flow
    fields on ``grid`` [G, R])."""
    if n_samples <= 2 * dist.rank:
        raise ValueError(f"n_samples must exceed 2R = {2 * dist.rank}, got {n_samples}.")
    m, n = lr.sample(dist, n_neurons, seed=seed, device=device)
    rec = lr.simulate(m, n, kappa0.to(m) @ m.T, duration=duration, dt=dt, device=device)
    maxent = MaxEntFit(rank=dist.rank, align_to=m).fit(rec)
    samplers = {"flow": ConnectivityFlow(dist.rank, flow_config, seed=seed, device=device),
                "gaussian": GaussianConnectivity(dist.rank)}
    for sampler in samplers.values():
        sampler.fit(maxent.m, maxent.n)
    truth = lr.sample(dist, n_samples, seed=seed + 1, exact=False, device="cpu")
    samples = {name: s.sample(n_samples, seed=seed + 2) for name, s in samplers.items()}
    kappa0 = kappa0.cpu().double()
    ends = {name: end_states(*loadings, kappa0) for name, loadings in (("truth", truth), *samples.items())}
    scores = {"truth": {"end_radius": lr.ring_radius(ends["truth"])}}
    for name, (m_s, n_s) in samples.items():
        scores[name] = {"ks_norm_m": ks_statistic(m_s.norm(dim=1), truth[0].norm(dim=1)),
                        "field_error": field_error(*truth, m_s, n_s, grid),
                        "end_radius": lr.ring_radius(ends[name])}
    return DistributionCheck(maxent, samplers, truth, samples, ends, scores)
