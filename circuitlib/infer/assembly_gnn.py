"""The assembly GNN of Allier et al. (2026): connectivity, neuron types and signalling functions
learned by regressing the observed dx/dt.

    xhat_i = phi*(a_i, x_i) + Omega*(p_i, t) sum_j W_ij psi*(., x_j)                     (Eq. 3)

phi* and psi* are MLPs, a_i a learnable latent per neuron, W a learnable [N, N] matrix with no
self-coupling (and, optionally, a mask of entries known to be zero), Omega* a SIREN of the
neuron's position p_i and time (only when positions are given). psi* sees ``psi_input``:

    "x"       psi*(x_j)                 the baseline: one transfer function
    "sender"  psi*(a_j, x_j)            "transmitters": the sender's type sets the function
    "pair"    psi*(a_i, a_j, x_j)       "transmitters & receptors": a function per type pair

The message sum has three interchangeable paths (``message_path``):

    "dense"     W @ psi*(.)              one matrix product; only when psi* ignores the receiver
    "pairwise"  psi* on every (i, j)     receivers in chunks of ``chunk_size``: memory ~ B·chunk·N,
                                         in training too (each chunk's activations are recomputed
                                         in the backward pass instead of kept)
    "edges"     torch_geometric          MessagePassing over the non-zero entries of the mask

The dense path evaluates psi* N times per frame instead of N^2 times. ``"auto"`` picks dense when
it applies, pairwise otherwise.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from torch_geometric.nn import MessagePassing

from ..train import seeded
from ._mlp import mlp

PSI_INPUTS = ("x", "sender", "pair")
MESSAGE_PATHS = ("auto", "dense", "pairwise", "edges")


class MLP(nn.Sequential):
    """``n_layers`` linear layers of width ``hidden`` with ReLU between; last layer outputs 1."""

    def __init__(self, n_in: int, hidden: int = 64, n_layers: int = 3):
        if n_layers < 2:
            raise ValueError(f"an MLP needs at least 2 layers, got {n_layers}.")
        super().__init__(*mlp([n_in] + [hidden] * (n_layers - 1) + [1]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` [..., n_in] -> [...]."""
        return super().forward(z).squeeze(-1)


class Siren(nn.Module):
    """Coordinate network with sine activations (Sitzmann et al. 2020): [..., n_in] -> [...].

    ``omega`` scales the first layer's frequencies; hidden layers use the SIREN initialisation.
    The output is 1 + net(...), so an untrained field leaves the messages unchanged.
    """

    def __init__(self, n_in: int = 3, hidden: int = 128, n_layers: int = 5, omega: float = 30.0):
        super().__init__()
        dims = [n_in] + [hidden] * (n_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(hidden, 1)
        self.omega = omega
        with torch.no_grad():
            self.layers[0].weight.uniform_(-1.0 / n_in, 1.0 / n_in)
            for layer in self.layers[1:]:
                bound = math.sqrt(6.0 / hidden) / omega
                layer.weight.uniform_(-bound, bound)
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in self.layers:
            h = torch.sin(self.omega * layer(h))
        return 1.0 + self.out(h).squeeze(-1)


def psi_features(psi_input: str, x: torch.Tensor, a_i: torch.Tensor | None, a_j: torch.Tensor) -> torch.Tensor:
    """Input of psi*: the latents ``psi_input`` asks for, then x. ``x`` [...]; ``a_i``, ``a_j``
    broadcastable to [..., D] -> [..., d]."""
    parts = {"x": [], "sender": [a_j], "pair": [a_i, a_j]}[psi_input]
    return torch.cat([p.expand(*x.shape, -1) for p in parts] + [x[..., None]], dim=-1)


class _EdgeMessages(MessagePassing):
    """sum_j W_ij psi*(., x_j) as per-edge messages; node features are frames ``[N, B]``."""

    def __init__(self):
        super().__init__(aggr="add")

    def forward(self, x, latents, edge_index, edge_weight, psi, psi_input):
        return self.propagate(edge_index, x=x, a=latents, w=edge_weight, psi=psi, psi_input=psi_input)

    def message(self, x_j, a_i, a_j, w, psi, psi_input):
        return w[:, None] * psi(psi_features(psi_input, x_j, a_i[:, None], a_j[:, None]))


class AssemblyGNN(nn.Module):
    """The model of Eq. 3 for ``n_neurons`` neurons; ``forward(x [B, N], t [B]) -> dx/dt [B, N]``.

    ``mask`` [N, N] (bool) marks entries allowed to be non-zero (default: all but the diagonal).
    ``positions`` [N, 2] (in [-1, 1]) switch the field Omega* on for the neurons whose row is finite
    (a NaN row means "not modulated": Omega = 1); ``t`` is then the frame time scaled to [-1, 1]
    by the caller. ``latents`` [N, latent_dim] sets the starting a_i (default: all ones);
    ``fixed_latents`` freezes them, which with the default is the paper's ablation that treats all
    neurons as one type. The buffers ``phi_gain`` kappa_i and ``phi_leak`` lambda_i [N] turn the
    update into kappa_i phi*(a_i, x) - lambda_i x; they stay 1 and 0 unless
    :func:`~circuitlib.infer.assembly_training.refine_least_squares` solves for them.
    """

    def __init__(self, n_neurons: int, latent_dim: int = 2, psi_input: str = "x", hidden: int = 64,
                 n_layers: int = 3, mask: torch.Tensor | None = None, positions: torch.Tensor | None = None,
                 message_path: str = "auto", chunk_size: int = 64, fixed_latents: bool = False,
                 latents: torch.Tensor | None = None, weight_init_std: float = 1e-3, seed: int = 0):
        super().__init__()
        if psi_input not in PSI_INPUTS:
            raise ValueError(f"psi_input must be one of {PSI_INPUTS}, got {psi_input!r}.")
        if message_path not in MESSAGE_PATHS:
            raise ValueError(f"message_path must be one of {MESSAGE_PATHS}, got {message_path!r}.")
        if message_path == "dense" and psi_input == "pair":
            raise ValueError("the dense path needs psi* independent of the receiver; with psi_input='pair' "
                             "use message_path='pairwise' or 'edges'.")
        if n_neurons < 2 or latent_dim < 1 or chunk_size < 1:
            raise ValueError(f"need n_neurons >= 2, latent_dim >= 1, chunk_size >= 1; got {n_neurons}, "
                             f"{latent_dim}, {chunk_size}.")
        gen = torch.Generator().manual_seed(seed)
        self.n_neurons, self.psi_input, self.chunk_size = n_neurons, psi_input, chunk_size
        self.message_path = message_path if message_path != "auto" else (
            "pairwise" if psi_input == "pair" else "dense")
        if mask is None:
            mask = ~torch.eye(n_neurons, dtype=torch.bool)
        elif mask.shape != (n_neurons, n_neurons) or mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool [{n_neurons}, {n_neurons}] tensor, got "
                             f"{mask.dtype} {tuple(mask.shape)}.")
        mask = mask & ~torch.eye(n_neurons, dtype=torch.bool)
        self.register_buffer("mask", mask)
        self.register_buffer("phi_gain", torch.ones(n_neurons))
        self.register_buffer("phi_leak", torch.zeros(n_neurons))
        self.register_buffer("edge_index", mask.nonzero().T.flip(0).contiguous())   # [2, E]: sender, receiver
        self.weight = nn.Parameter(weight_init_std * torch.randn(n_neurons, n_neurons, generator=gen) * mask)
        if latents is None:
            latents = torch.ones(n_neurons, latent_dim)
        elif latents.shape != (n_neurons, latent_dim) or not torch.isfinite(latents).all():
            raise ValueError(f"latents must be a finite [N, latent_dim] = [{n_neurons}, {latent_dim}] tensor, "
                             f"got shape {tuple(latents.shape)}.")
        self.latents = nn.Parameter(latents.clone().float(), requires_grad=not fixed_latents)
        with seeded(seed):
            self.phi = MLP(latent_dim + 1, hidden, n_layers)
            n_psi = {"x": 1, "sender": latent_dim + 1, "pair": 2 * latent_dim + 1}[psi_input]
            self.psi = MLP(n_psi, hidden, n_layers)
            self.field = None if positions is None else Siren()
        if positions is not None:
            if positions.shape != (n_neurons, 2):
                raise ValueError(f"positions must be [N, 2] = [{n_neurons}, 2], got {tuple(positions.shape)}.")
            self.register_buffer("positions", torch.nan_to_num(positions.float()))
            self.register_buffer("modulated", torch.isfinite(positions).all(1))
            self.register_buffer("modulated_index", self.modulated.nonzero().flatten())
        self._edges = _EdgeMessages()

    # -- pieces of Eq. 3 ---------------------------------------------------------------------------
    def effective_weights(self) -> torch.Tensor:
        """W with the mask applied (zero diagonal): ``[N, N]``, row receives, column sends."""
        return self.weight * self.mask

    def update(self, x: torch.Tensor) -> torch.Tensor:
        """kappa_i phi*(a_i, x_i) - lambda_i x_i for ``x`` [B, N] -> [B, N]."""
        a = self.latents.expand(x.shape[0], -1, -1)
        return self.phi_gain * self.phi(torch.cat([a, x[..., None]], dim=-1)) - self.phi_leak * x

    def update_curves(self, x: torch.Tensor) -> torch.Tensor:
        """Each neuron's update function on a grid ``x`` [M] -> [N, M] (for plots and formulas)."""
        return self.update(x[:, None].expand(-1, self.n_neurons)).T

    def transfer(self, x: torch.Tensor) -> torch.Tensor:
        """psi* per sender for ``x`` [B, N] -> [B, N] (not defined for pairwise psi*)."""
        if self.psi_input == "pair":
            raise ValueError("psi* depends on the receiver (psi_input='pair'); use pair_transfer.")
        return self.psi(psi_features(self.psi_input, x, None, self.latents))

    def pair_transfer(self, x: torch.Tensor, rows: slice) -> torch.Tensor:
        """psi*(a_i, a_j, x_j) for receivers ``rows`` and every sender j.

        ``x`` is [B, N] (or already expanded to [B, R, N], e.g. to differentiate per pair) -> [B, R, N].
        """
        a_i = self.latents[rows]
        if x.dim() == 2:
            x = x[:, None, :].expand(-1, a_i.shape[0], -1)
        return self.psi(psi_features(self.psi_input, x, a_i[:, None], self.latents))

    def messages(self, x: torch.Tensor) -> torch.Tensor:
        """sum_j W_ij psi*(., x_j) for ``x`` [B, N] -> [B, N] on the configured path."""
        w = self.effective_weights()
        if self.message_path == "dense":
            return self.transfer(x) @ w.T
        if self.message_path == "pairwise":
            def chunk(x, w_rows, start):
                return (self.pair_transfer(x, slice(start, start + self.chunk_size)) * w_rows).sum(-1)

            keep = torch.is_grad_enabled()
            out = [checkpoint(chunk, x, w[start:start + self.chunk_size], start, use_reentrant=False) if keep
                   else chunk(x, w[start:start + self.chunk_size], start)
                   for start in range(0, self.n_neurons, self.chunk_size)]
            return torch.cat(out, dim=1)
        src, dst = self.edge_index
        msg = self._edges(x.T, self.latents, self.edge_index, self.weight[dst, src], self.psi, self.psi_input)
        return msg.T

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted dx/dt for states ``x`` [B, N] at scaled times ``t`` [B] (needed with a field)."""
        if x.dim() != 2 or x.shape[1] != self.n_neurons:
            raise ValueError(f"x must be [B, N] with N = {self.n_neurons}, got shape {tuple(x.shape)}.")
        msg = self.messages(x)
        if self.field is not None:
            if t is None or t.shape != (x.shape[0],):
                raise ValueError("this model has a field Omega*(p, t): pass the frame times t [B].")
            msg = self.field_at(t) * msg
        return self.update(x) + msg

    def field_at(self, t: torch.Tensor) -> torch.Tensor:
        """Omega*(p_i, t) at scaled times ``t`` [B] -> [B, N]; 1 for neurons without a position.
        The SIREN runs on the modulated neurons only."""
        if self.field is None:
            raise ValueError("this model has no field Omega*; create it with positions [N, 2] to learn one.")
        idx = self.modulated_index
        p = self.positions[idx].expand(t.shape[0], -1, -1)
        z = torch.cat([p, t[:, None, None].expand(-1, idx.numel(), 1).to(p)], dim=-1)
        ones = torch.ones(t.shape[0], self.n_neurons, dtype=p.dtype, device=p.device)
        return ones.index_copy(1, idx, self.field(z))


def rollout(model: AssemblyGNN, x0: torch.Tensor, n_steps: int, dt: float = 0.01,
            times: torch.Tensor | None = None) -> torch.Tensor:
    """Integrate the learned dynamics with Euler steps from ``x0`` [B, N]; returns [n_steps, B, N]
    (the first entry is x0). ``times`` [n_steps] are the scaled frame times a field model needs."""
    out = torch.empty((n_steps,) + tuple(x0.shape), dtype=x0.dtype, device=x0.device)
    x = x0
    with torch.no_grad():
        for t in range(n_steps):
            out[t] = x
            tt = None if times is None else times[t].expand(x.shape[0])
            x = x + dt * model(x, tt)
    return out
