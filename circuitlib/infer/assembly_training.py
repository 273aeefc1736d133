"""Training the assembly GNN: the loss of Allier et al. (2026), Supplementary Eq. 3.

    L = sum_i (xhat_i - dx_i/dt)^2                              prediction
      + alpha sum_i phi*(a_i, 0)^2                              zero steady state
      + beta  sum_i ReLU(d phi*/dx (a_i, x_i))^2                decay (no runaway excitation)
      + gamma sum_ij ReLU(-d psi*/dx (., x_j))^2                monotone transfer (fixes the sign of W)
      + zeta  sum_ij |W_ij|                                     sparsity

Sums run over neurons (and pairs) and are averaged over the frames of a batch. The derivative
terms are evaluated at the batch's own activity; for a pairwise psi* on a random block of
``chunk_size`` receivers, scaled up to all N. Parameter groups get separate Adam learning rates.

Adam leaves a bias that the chaotic dynamics amplify in rollouts (e.g. phi*'s leak ~8 % too
small, absorbed by W through the correlated activity). The loss is linear in W and in a
per-neuron gain and leak on phi*, so :func:`refine_least_squares` solves for those exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ..train import cosine_schedule, run_steps, seeded
from .assembly_gnn import AssemblyGNN


@dataclass(frozen=True)
class Regularisation:
    """Coefficients of Supplementary Eq. 3 (defaults: the paper's baseline row of Supp. Table 2)."""

    alpha: float = 1.0
    beta: float = 0.0
    gamma: float = 10.0
    zeta: float = 0.0

    def __post_init__(self):
        for name in ("alpha", "beta", "gamma", "zeta"):
            if getattr(self, name) < 0:
                raise ValueError(f"regularisation coefficient {name} must be >= 0, got {getattr(self, name)}.")


def _derivative(fn, x: torch.Tensor) -> torch.Tensor:
    """Elementwise d fn / dx where each output depends only on its own input; keeps the graph."""
    x = x.detach().clone().requires_grad_(True)
    return torch.autograd.grad(fn(x).sum(), x, create_graph=True)[0]


REGULARISERS = ("zero_state", "decay", "monotone", "l1")


def regularisers(model: AssemblyGNN, x: torch.Tensor, generator: torch.Generator | None = None,
                 terms=REGULARISERS) -> dict:
    """The penalty terms named in ``terms`` (default: all four, unweighted) for states ``x`` [B, N]."""
    unknown = set(terms) - set(REGULARISERS)
    if unknown:
        raise ValueError(f"unknown penalty terms {sorted(unknown)}; choose from {REGULARISERS}.")
    n = model.n_neurons
    parts = {}
    if "zero_state" in terms:
        parts["zero_state"] = (model.update(x.new_zeros(1, n)) ** 2).sum()
    if "decay" in terms:
        parts["decay"] = (torch.relu(_derivative(model.update, x)) ** 2).sum(1).mean()
    if "l1" in terms:
        parts["l1"] = model.effective_weights().abs().sum()
    if "monotone" in terms and model.psi_input == "pair":
        start = int(torch.randint(0, max(n - model.chunk_size, 0) + 1, (1,), generator=generator))
        rows = slice(start, start + model.chunk_size)
        r = len(range(n)[rows])
        xe = x[:, None, :].expand(-1, r, -1)
        slope = _derivative(lambda z: model.pair_transfer(z, rows), xe)
        parts["monotone"] = (torch.relu(-slope) ** 2).sum((1, 2)).mean() * (n / r)
    elif "monotone" in terms:
        slope = _derivative(model.transfer, x)
        parts["monotone"] = (torch.relu(-slope) ** 2).sum(1).mean() * n
    return parts


def assembly_loss(model: AssemblyGNN, x: torch.Tensor, dxdt: torch.Tensor, reg: Regularisation,
                  t: torch.Tensor | None = None, generator: torch.Generator | None = None):
    """Total loss and its named parts for a batch ``x``, ``dxdt`` [B, N] (``t`` [B] with a field).
    Only the penalties with a positive coefficient are computed (and logged)."""
    pred = model(x, t)
    parts = {"prediction": ((pred - dxdt) ** 2).sum(1).mean()}
    weights = {"zero_state": reg.alpha, "decay": reg.beta, "monotone": reg.gamma, "l1": reg.zeta}
    active = tuple(name for name, coef in weights.items() if coef > 0)
    terms = regularisers(model, x, generator, active)
    total = parts["prediction"]
    for name in active:
        total = total + weights[name] * terms[name]
    return total, {k: v.detach() for k, v in {**parts, **terms}.items()}


def _check_frames(model: AssemblyGNN, x: torch.Tensor, dxdt: torch.Tensor, min_frames: int = 1):
    if x.shape != dxdt.shape or x.dim() != 2 or x.shape[1] != model.n_neurons or x.shape[0] < min_frames:
        raise ValueError(f"x and dxdt must both be [T, N] with N = {model.n_neurons} and T >= {min_frames}; "
                         f"got {tuple(x.shape)} and {tuple(dxdt.shape)}.")
    if not (torch.isfinite(x).all() and torch.isfinite(dxdt).all()):
        raise ValueError("x or dxdt contain NaN or inf; drop or interpolate those frames first.")


def fit_assembly_gnn(model: AssemblyGNN, x: torch.Tensor, dxdt: torch.Tensor, n_steps: int,
                     batch_size: int = 8, reg: Regularisation = Regularisation(),
                     lr_weights: float = 1e-3, lr_latents: float = 7.5e-4, lr_functions: float = 5e-4,
                     lr_field: float = 1e-5, times: torch.Tensor | None = None, l1_warmup: int = 0,
                     lr_final: float = 1.0, seed: int = 0, progress: bool = True, log_every: int = 100,
                     callback=None) -> list[dict]:
    """Adam on random batches of frames: W, latents, the MLPs (and the field) each at their own rate.

    ``x``, ``dxdt`` [T, N] (float, on the model's device); ``times`` [T] scaled frame times for a
    field model; ``l1_warmup`` steps over which the L1 coefficient rises linearly from 0 to
    ``reg.zeta`` (W first fits the data, then is pruned); ``lr_final`` the fraction of every
    learning rate left at the last step, reached by cosine annealing (1: constant rates).
    Returns the logged history of :func:`circuitlib.train.run_steps`.
    """
    _check_frames(model, x, dxdt)
    if model.field is not None and (times is None or times.shape != (x.shape[0],)):
        raise ValueError("a model with a field needs times [T], the frame times scaled to [-1, 1].")
    if batch_size < 1 or batch_size > x.shape[0]:
        raise ValueError(f"batch_size must lie in 1..T = {x.shape[0]}, got {batch_size}.")
    if l1_warmup < 0:
        raise ValueError(f"l1_warmup is a number of steps >= 0, got {l1_warmup}.")
    if not 0 < lr_final <= 1:
        raise ValueError(f"lr_final is the fraction of each learning rate kept at the end, in (0, 1]; got {lr_final}.")
    groups = [{"params": [model.weight], "lr": lr_weights},
              {"params": list(model.phi.parameters()) + list(model.psi.parameters()), "lr": lr_functions}]
    if model.latents.requires_grad:
        groups.append({"params": [model.latents], "lr": lr_latents})
    if model.field is not None:
        groups.append({"params": list(model.field.parameters()), "lr": lr_field})
    optimizer = torch.optim.Adam(groups)
    scheduler = None if lr_final == 1 or n_steps == 0 else cosine_schedule(optimizer, n_steps, lr_final)

    with seeded(seed) as gen:                      # frames drawn from a CPU generator on every device
        def step_loss(step):
            idx = torch.randint(0, x.shape[0], (batch_size,), generator=gen).to(x.device)
            now = reg if step >= l1_warmup else replace(reg, zeta=reg.zeta * step / l1_warmup)
            return assembly_loss(model, x[idx], dxdt[idx], now, None if times is None else times[idx], gen)

        return run_steps(step_loss, optimizer, n_steps, scheduler=scheduler, progress=progress,
                         desc="assembly GNN", log_every=log_every, callback=callback)


def refine_least_squares(model: AssemblyGNN, x: torch.Tensor, dxdt: torch.Tensor,
                         chunk_size: int = 10_000) -> torch.Tensor:
    """Solve exactly, with phi* and psi* fixed, for W and each neuron's gain kappa_i and leak lambda_i.

    Row i is the least-squares fit of dx_i/dt on [psi*(x_j) for j != i, phi*(a_i, x_i), x_i] over
    all frames ``x``, ``dxdt`` [T, N]. One [N, N] Gram matrix of psi* serves every row: leaving
    out j = i uses the bordered inverse, and the two phi* columns a 2 x 2 Schur complement. The
    prediction term of the loss is minimised; the regularisers (and L1) play no part. Needs the
    dense model: psi* independent of the receiver, no field, no mask beyond the diagonal.
    Sets ``model.weight``, ``phi_gain``, ``phi_leak`` and returns the fitted [N, 2] (kappa, lambda).
    """
    n = model.n_neurons
    if model.psi_input == "pair" or model.field is not None or not torch.equal(model.mask,
            ~torch.eye(n, dtype=torch.bool, device=model.mask.device)):
        raise ValueError("refine_least_squares needs psi* independent of the receiver, no field and "
                         "no mask beyond the diagonal; train such models with fit_assembly_gnn only.")
    _check_frames(model, x, dxdt, min_frames=2 * n)                            # a well-posed regression
    f64 = dict(dtype=torch.float64, device=x.device)
    gram, cross = torch.zeros(n, n, **f64), torch.zeros(3, n, n, **f64)   # psi'psi; psi'[y, phi*, x]
    own, own_y = torch.zeros(n, 2, 2, **f64), torch.zeros(n, 2, **f64)    # per neuron [phi*, x]'[phi*, x, y]
    with torch.no_grad():
        gain, leak = model.phi_gain.clone(), model.phi_leak.clone()
        model.phi_gain.fill_(1.0)
        model.phi_leak.zero_()
        for start in range(0, x.shape[0], chunk_size):
            xc, yc = x[start:start + chunk_size], dxdt[start:start + chunk_size]
            psi, phi = model.transfer(xc), model.update(xc)
            gram += (psi.T @ psi).double()
            for k, v in enumerate((yc, phi, -xc)):
                cross[k] += (psi.T @ v).double()
            e = torch.stack([phi, -xc], -1).double()                            # [t, N, 2]
            own += torch.einsum("tna,tnb->nab", e, e)
            own_y += torch.einsum("tna,tn->na", e, yc.double())
        model.phi_gain.copy_(gain)
        model.phi_leak.copy_(leak)
    inv = torch.linalg.inv(gram)
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    cross = cross.masked_fill(eye, 0.0)                                        # column i: senders j != i

    def solve_without_self(rhs):
        """Column i of the result is G_{-i,-i}^{-1} rhs[:, i] (zero at i): the bordered inverse."""
        full = inv @ rhs
        return full - inv * (full.diagonal() / inv.diagonal())

    h_y, h_phi, h_x = (solve_without_self(c) for c in cross)
    schur = own.clone()
    for a, ha in enumerate((h_phi, h_x)):
        for b, cb in enumerate((cross[1], cross[2])):
            schur[:, b, a] -= (cb * ha).sum(0)
    rhs = own_y - torch.stack([(cross[1] * h_y).sum(0), (cross[2] * h_y).sum(0)], -1)
    coef = torch.linalg.solve(schur, rhs)                                      # [N, 2]: kappa, lambda
    weights = (h_y - h_phi * coef[:, 0] - h_x * coef[:, 1]).T
    with torch.no_grad():
        model.weight.copy_(weights.to(model.weight.dtype))
        model.phi_gain.copy_(coef[:, 0])
        model.phi_leak.copy_(coef[:, 1])
    return coef.float()
