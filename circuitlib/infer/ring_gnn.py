r"""The ring GNN of Yoon (2025, Sec. 3.2 and App. B) in the paper's carried-GRU form: a structure
module proposes the connectivity w, a message-passing spike predictor must explain the next time
bin with it, running sequentially in time (a GRU state carried from bin to bin).

This form is kept for the paper's text and as the baseline of ``benchmarks/ring_gnn.py``; the
chapters use the time-parallel :class:`circuitlib.infer.WindowGNN`, whose structure module also
carries the residual, ring-prior and directed options.

Structure learning (Eqs. 1-2), from each neuron's whole spike train x_i [L]::

    z_i  = f_out(vec(BN(ReLU(Conv1D(x_i)))))        32 kernels of width l = 2 tau / dt, stride 0.2 tau / dt
    w_ij = MLP([z_i, z_j])                          symmetrised, zero diagonal, not forced to be circulant

Spike prediction (Eqs. 4-8), for every bin t::

    h_i^t       = BN(ReLU(Conv1D(x_i^{t-l+1:t})))   the same convolution (shared weights), stride 1
    m_ij^t      = phi([h_i^t, h_j^t])               ``message="pair"`` (the paper)
    a_i^t       = sum_j w_ij m_ij^t
    s_i^t       = GRU(a_i^t, ...)                   ``update``: "step" feeds h_i^t as the GRU state
                                                     (Eq. 6 read literally); "carried" keeps a GRU
                                                     state across time with input [a_i^t, h_i^t]
    log lambda_i^{t+1} = f_dec(s_i^t) + c_i,   x_i^{t+1} ~ Poisson(lambda_i^{t+1})

with a per-neuron offset c_i (ours; :class:`RingGNN` starts it at each neuron's mean log count per
bin, so low-rate data do not start at ~1 spike per bin).

Options that are ours, for the identifiability study: ``message="sender"`` (phi(h_j): the coupling's
shape can no longer depend on the receiver) and ``"positive"`` (m_j^t = sum_k softplus(kappa)_ck x_j^{t-k}:
``hidden`` causal filters with non-negative weights of the sender's last l bins, appended to h_j,
so every message grows with the sender's spikes and the coupling's sign must live in w);
``update="additive"`` moves the coupling out of the GRU: the GRU reads only the neuron's own
history, and log lambda_i = f_dec(s_i) + mean_k a_ik / n, so the rate is monotone in every w_ij when
messages are non-negative (with ``"positive"``, w < 0 can only mean inhibition, as in a GLM).
``own_history=False`` hides a neuron's own spike history from its update (the GRU sees only
a_i^t, from a zero state), so that, as in the paper's GLM, only the coupling can predict a spike.

Extensions (App. B): an angle encoder f_enc,theta(theta_t - theta~_i - b) with a learnable rotation
b, concatenated to h_i^t; hidden neurons, whose z_j and h_j^t are interpolated from the two nearest
observed neurons on the ring (one fixed [N, N_obs] matrix) and which are never scored.

The message sum has a dense path (one broadcast over all pairs; phi's first layer split into
receiver and sender halves) and a ``torch_geometric`` ``MessagePassing`` path over the complete
graph; they agree to rounding.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import MessagePassing

from ..ring_geometry import torus_distance
from ._mlp import mlp

MESSAGES = ("pair", "sender", "positive")
UPDATES = ("carried", "step", "additive")
PATHS = ("dense", "edges")
READOUTS = ("flatten", "mean")


def check_options(message: str, update: str, readout: str, path: str) -> None:
    """Raise ``ValueError`` naming the allowed values unless the architecture options are valid."""
    for name, value, allowed in (("message", message, MESSAGES), ("update", update, UPDATES),
                                 ("readout", readout, READOUTS), ("path", path, PATHS)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")


def _observed_nodes(observed, n: int) -> torch.Tensor:
    """``observed`` as int64 [N_obs]: at least 2 distinct node indices in [0, n)."""
    observed = torch.as_tensor(observed).long()
    if observed.dim() != 1 or observed.numel() < 2 or observed.unique().numel() != observed.numel():
        raise ValueError("observed must list at least 2 distinct node positions.")
    if observed.min() < 0 or observed.max() >= n:
        raise ValueError(f"observed node positions must lie in [0, {n}).")
    return observed


def ring_interpolation(n: int, observed: torch.Tensor, positions: torch.Tensor | None = None,
                       ring_size: int | None = None) -> torch.Tensor:
    """[n, N_obs] matrix mapping observed neurons' features to all n nodes of a ring.

    Node k sits at ring position ``positions[k]`` (strictly increasing, on a ring of ``ring_size``
    positions; default: node k at position k of a ring of n). ``observed`` [N_obs] are node indices.
    Row of an observed node: one-hot. Row of a hidden node: linear interpolation, by ring distance,
    between the nearest observed nodes on either side (App. B.2).
    """
    observed = _observed_nodes(observed, n)
    positions = torch.arange(n) if positions is None else torch.as_tensor(positions).long()
    ring_size = n if ring_size is None else ring_size
    if positions.shape != (n,) or (positions.diff() <= 0).any() or positions[0] < 0 or positions[-1] >= ring_size:
        raise ValueError(f"positions must be {n} strictly increasing ring positions in [0, {ring_size}).")
    order = torch.argsort(observed)
    pos = observed[order]
    out = torch.zeros(n, observed.numel())
    for p in range(n):
        k = int(torch.searchsorted(pos, torch.tensor(p)))
        if k < len(pos) and pos[k] == p:
            out[p, order[k]] = 1.0
            continue
        lo, hi = k - 1, k % len(pos)                  # neighbours; wrap around the ring
        d_lo = int(positions[p] - positions[pos[lo]]) % ring_size
        d_hi = int(positions[pos[hi]] - positions[p]) % ring_size
        out[p, order[lo]] = d_hi / (d_lo + d_hi)
        out[p, order[hi]] = d_lo / (d_lo + d_hi)
    return out


def torus_interpolation(observed: torch.Tensor, positions: torch.Tensor, shape: tuple[int, int],
                        neighbours: int = 4) -> torch.Tensor:
    """[n, N_obs] matrix mapping observed nodes' features to all n nodes on a torus ``shape`` (L1, L2).

    Node k sits at torus position ``positions[k]`` (``row * L2 + col``); ``observed`` [N_obs] are
    node indices. Row of an observed node: one-hot. Row of a hidden node: inverse-distance weights
    over its ``neighbours`` nearest observed nodes in toroidal distance (ties: lower index first);
    on a ring, the two nearest on either side with these weights are :func:`ring_interpolation`.
    """
    n = positions.numel()
    observed = _observed_nodes(observed, n)
    dist = torus_distance(shape)[positions][:, positions[observed]]               # [n, N_obs]
    k = min(neighbours, observed.numel())
    idx = torch.argsort(dist, dim=1, stable=True)[:, :k]
    weights = 1 / dist.gather(1, idx).clamp_min(1e-12)
    out = torch.zeros(n, observed.numel(), dtype=torch.float64).scatter_(1, idx, weights / weights.sum(1, keepdim=True))
    out[observed] = torch.eye(observed.numel(), dtype=torch.float64)
    return out.float()


def interpolate_ring_matrix(w_observed: torch.Tensor, observed: torch.Tensor, n: int) -> torch.Tensor:
    """Full [n, n] matrix from weights among observed neurons ``w_observed`` [N_obs, N_obs].

    Circular 2-D linear interpolation (Yoon 2025, Sec. 4.4): each row is interpolated along the
    ring between the nearest observed columns, then each column between the nearest observed rows,
    i.e. P W P^T with P = ``ring_interpolation(n, observed)``. Entries between observed positions
    are exact; a matrix that is linear along the ring between observed positions is reproduced.
    """
    observed = torch.as_tensor(observed).long()
    if w_observed.dim() != 2 or w_observed.shape != (observed.numel(), observed.numel()):
        raise ValueError(f"w_observed must be [N_obs, N_obs] with N_obs = len(observed) = {observed.numel()}, "
                         f"got {tuple(w_observed.shape)}.")
    p = ring_interpolation(n, observed).to(w_observed)
    return p @ w_observed @ p.T


def pair_relu_sum(recv: torch.Tensor, send: torch.Tensor, w: torch.Tensor, chunk: int = 16) -> torch.Tensor:
    """sum_j w_ij ReLU(recv_i + send_j): ``recv``, ``send`` [..., n, H], ``w`` [n, n] -> [..., n, H].

    The [..., n, n, H] pair tensor is formed ``chunk`` leading entries (bins) at a time, in the
    backward pass too (recomputed there, not stored), so memory stays O(chunk n^2 H)."""
    lead = recv.shape[:-2]
    out = _PairReluSum.apply(recv.reshape(-1, *recv.shape[-2:]), send.reshape(-1, *send.shape[-2:]), w, chunk)
    return out.view(*lead, *out.shape[-2:])


class _PairReluSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, recv, send, w, chunk):
        ctx.save_for_backward(recv, send, w)
        ctx.chunk = chunk
        out = torch.empty_like(recv)
        for a in range(0, recv.shape[0], chunk):
            pre = recv[a:a + chunk, :, None, :] + send[a:a + chunk, None, :, :]           # [c, n, n, H]
            out[a:a + chunk] = torch.einsum("ij,bijh->bih", w, pre.clamp_min_(0))
        return out

    @staticmethod
    def backward(ctx, grad):
        recv, send, w = ctx.saved_tensors
        g_recv, g_send, g_w = torch.empty_like(recv), torch.empty_like(send), torch.zeros_like(w)
        for a in range(0, recv.shape[0], ctx.chunk):
            pre = recv[a:a + ctx.chunk, :, None, :] + send[a:a + ctx.chunk, None, :, :]
            g = grad[a:a + ctx.chunk]                                                    # [c, n, H]
            g_w += torch.einsum("bih,bijh->ij", g, pre.clamp_min(0))
            gate = (pre > 0) * (w[..., None] * g[:, :, None, :])                        # d out_i / d pre_ij
            g_recv[a:a + ctx.chunk] = gate.sum(2)
            g_send[a:a + ctx.chunk] = gate.sum(1)
        return g_recv, g_send, g_w, None


class SpikeEncoder(nn.Module):
    """f_Conv1D of Eqs. 1 and 4: ``x`` [B, L] counts -> [B, channels, L'] after ReLU and BatchNorm.

    ``batch_stats=True`` (the structure pass over the whole recording) always normalises with the
    statistics of the recording it reads, in training and evaluation alike (with the flattened
    readout, f_out is tuned to exactly those), and in training updates the running statistics;
    the spike predictor uses the running ones (``False``): batch statistics of a window would leak
    its future bins into every prediction. ``copy_params=True`` computes with copies of the
    parameters (gradients still reach them), so the graph stays valid while they are stepped in place.
    """

    def __init__(self, width: int, channels: int = 32):
        super().__init__()
        self.width = width
        self.conv = nn.Conv1d(1, channels, width)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor, stride: int = 1, batch_stats: bool = True,
                copy_params: bool = False) -> torch.Tensor:
        n = self.norm
        weight, bias, gain, shift = (t.clone() if copy_params else t
                                     for t in (self.conv.weight, self.conv.bias, n.weight, n.bias))
        y = F.relu(F.conv1d(x[:, None], weight, bias, stride=stride))
        if batch_stats:
            track = self.training
            return F.batch_norm(y, n.running_mean if track else None, n.running_var if track else None,
                                gain, shift, True, n.momentum, n.eps)
        scale = n.weight * torch.rsqrt(n.running_var + n.eps)                   # BN with running statistics
        return torch.addcmul((n.bias - n.running_mean * scale)[:, None], y, scale[:, None])


class _EdgeMessages(MessagePassing):
    """sum_j w_ij m_ij over the complete graph; node features are [N, ..., H]."""

    def __init__(self):
        super().__init__(aggr="add", node_dim=0)

    def forward(self, h, edge_index, edge_weight, message_fn):
        return self.propagate(edge_index, h=h, w=edge_weight, message_fn=message_fn)

    def message(self, h_i, h_j, w, message_fn):
        return w.view(-1, *[1] * (h_j.dim() - 1)) * message_fn(h_i, h_j)


class RingGNNNet(nn.Module):
    """Both modules, carried-GRU form, for a ring of ``n`` positions of which ``observed`` [N_obs] have spikes.

    ``width`` l and ``stride`` are in bins; ``structure_length`` is the number of bins the
    structure module reads (fixes f_out's size when ``readout="flatten"``, the paper's vec;
    ``"mean"`` averages over time instead). ``embed_dim`` >= 1 is the size of z.
    ``input_dim`` > 0 switches the angle encoder on.
    Nodes sit at ring ``positions`` [n] of a ring of ``ring_size`` (default: evenly spaced, node k
    at k of n); they set the preferred angles 2 pi position / ring_size and the interpolation.
    ``log_rate_offset`` [n] is the per-neuron c_i.
    """

    def __init__(self, n: int, observed: torch.Tensor, width: int, stride: int, structure_length: int,
                 channels: int = 32, embed_dim: int = 16, hidden: int = 32, input_dim: int = 0,
                 message: str = "pair", update: str = "carried", readout: str = "flatten",
                 path: str = "dense", own_history: bool = True,
                 positions: torch.Tensor | None = None, ring_size: int | None = None):
        super().__init__()
        check_options(message, update, readout, path)
        if embed_dim < 1:
            raise ValueError(f"embed_dim must be >= 1, got {embed_dim}.")
        if width < 1 or stride < 1 or structure_length < width:
            raise ValueError(f"need width >= 1, stride >= 1 and structure_length >= width bins; got "
                             f"{width}, {stride}, {structure_length}.")
        self.n, self.width, self.stride = n, width, stride
        self.message, self.update, self.readout, self.path = message, update, readout, path
        self.own_history = own_history
        self.register_buffer("interp", ring_interpolation(n, observed, positions, ring_size))
        self.register_buffer("observed", torch.as_tensor(observed).long())
        self.all_observed = bool(torch.equal(self.observed, torch.arange(n)))     # interp is the identity
        at = torch.arange(n) if positions is None else torch.as_tensor(positions)
        self.register_buffer("preferred", 2 * math.pi * at.long() / (ring_size or n))     # theta~_i
        self.register_buffer("edge_index", (~torch.eye(n, dtype=torch.bool)).nonzero().T.flip(0).contiguous())
        self.encoder = SpikeEncoder(width, channels)
        n_positions = (structure_length - width) // stride + 1
        features = channels * (n_positions if readout == "flatten" else 1)
        self.f_out = nn.Linear(features, embed_dim)
        self.pair_mlp = mlp([2 * embed_dim, 32, 32, 1])
        self.input_encoder = mlp([2, hidden, input_dim]) if input_dim > 0 else None
        self.rotation = nn.Parameter(torch.zeros(())) if input_dim > 0 else None       # b of Eq. 17
        self.kappa = nn.Parameter(torch.randn(hidden, 1, width) - 2.0) if message == "positive" else None
        node_dim = channels + (hidden if message == "positive" else 0) + input_dim
        self.phi = mlp([node_dim * (2 if message == "pair" else 1), hidden, hidden]) if message != "positive" else None
        if update == "step":
            self.gru = nn.GRUCell(hidden, node_dim)
            state_dim = node_dim
        elif update == "additive":
            self.gru = nn.GRU(node_dim, hidden) if own_history else None
            state_dim = hidden
        else:
            self.gru = nn.GRU(hidden + (node_dim if own_history else 0), hidden)
            state_dim = hidden
        self.decoder = nn.Linear(state_dim, 1)
        self.log_rate_offset = nn.Parameter(torch.zeros(n))                         # c_i, set by RingGNN.fit
        self._edges = _EdgeMessages()

    # -- structure learning ------------------------------------------------------------------
    def embeddings(self, x_struct: torch.Tensor, copy_params: bool = False) -> torch.Tensor:
        """z for all n positions from the observed spike trains ``x_struct`` [N_obs, L] -> [n, embed_dim].
        ``copy_params``: see :class:`SpikeEncoder`."""
        feats = self.encoder(x_struct, stride=self.stride, copy_params=copy_params)   # [N_obs, C, L']
        z = self.f_out(feats.flatten(1) if self.readout == "flatten" else feats.mean(-1))
        return z if self.all_observed else self.interp @ z

    def connectivity(self, x_struct: torch.Tensor, copy_params: bool = False) -> torch.Tensor:
        """w [n, n]: MLP([z_i, z_j]), symmetrised, zero diagonal (Eq. 2). ``copy_params=True``: the
        graph of w survives in-place steps of the shared encoder (training with ``structure_every`` > 1)."""
        z = self.embeddings(x_struct, copy_params)
        pairs = torch.cat([z[:, None].expand(-1, self.n, -1), z[None].expand(self.n, -1, -1)], -1)
        raw = self.pair_mlp(pairs)[..., 0]
        return 0.5 * (raw + raw.T) * (1 - torch.eye(self.n, device=raw.device))

    # -- spike prediction --------------------------------------------------------------------
    def observed_nll(self, log_rate: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Poisson NLL (up to log x!) of ``counts`` [..., N_obs] under ``log_rate`` [..., n], mean over
        bins and observed neurons; hidden positions have no spikes to explain and get no loss."""
        log_rate = log_rate[..., self.observed]
        return (log_rate.exp() - counts * log_rate).mean()

    def node_states(self, x: torch.Tensor, theta: torch.Tensor | None) -> torch.Tensor:
        """h^t for all positions: ``x`` [B, N_obs, l - 1 + T] counts, ``theta`` [B, T] -> [B, T, n, H]."""
        b, n_obs, length = x.shape
        flat = x.reshape(b * n_obs, length)
        h = self.encoder(flat, batch_stats=False)                                # [B N_obs, C, T]
        if self.kappa is not None:                                               # monotone sender filters
            h = torch.cat([h, F.conv1d(flat[:, None], F.softplus(self.kappa))], 1)
        h = h.view(b, n_obs, h.shape[1], -1).permute(0, 3, 1, 2)                 # [B, T, N_obs, C (+ hidden)]
        if not self.all_observed:
            h = torch.einsum("pk,btkc->btpc", self.interp, h)
        if self.input_encoder is not None:
            if theta is None:
                raise ValueError("this model encodes an external angle: pass theta for every bin.")
            delta = theta[..., None] - self.preferred - self.rotation             # [B, T, n]
            h = torch.cat([h, self.input_encoder(torch.stack([delta.cos(), delta.sin()], -1))], -1)
        return h

    def _message_fn(self, h_i, h_j):
        if self.message == "pair":
            return self.phi(torch.cat([h_i, h_j], -1))
        if self.message == "positive":
            c = self.encoder.conv.out_channels
            return h_j[..., c:c + self.kappa.shape[0]]
        return self.phi(h_j)

    def aggregate(self, h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """a_i = sum_j w_ij m_ij for node states ``h`` [..., n, H] -> [..., n, hidden]."""
        if self.path == "edges":
            src, dst = self.edge_index
            hn = h.movedim(-2, 0)                                                 # [n, ..., H]
            return self._edges(hn, self.edge_index, w[dst, src], self._message_fn).movedim(0, -2)
        if self.message != "pair":
            return torch.einsum("ij,...jh->...ih", w, self._message_fn(None, h))
        # phi = L2(ReLU(L1([h_i, h_j]))): split L1 into receiver and sender halves, and sum over
        # senders before the linear L2, so that only the ReLU runs on every pair.
        first, last = self.phi[0], self.phi[2]
        d = h.shape[-1]
        recv = h @ first.weight[:, :d].T + first.bias                            # [..., n, hidden]
        send = h @ first.weight[:, d:].T
        summed = pair_relu_sum(recv, send, w)                                    # [..., n, hidden]
        return F.linear(summed, last.weight) + w.sum(1)[:, None] * last.bias

    def forward(self, x: torch.Tensor, w: torch.Tensor, theta: torch.Tensor | None = None,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """log lambda of the bin after each of the last T bins.

        ``x`` [B, N_obs, l - 1 + T] counts, ``w`` [n, n], ``theta`` [B, T] (angle of the bins whose
        rates are predicted from), ``state`` [1, B n, hidden] GRU state carried from the previous
        window. Returns log rates [B, T, n] and the new state (None for ``update="step"``).
        """
        h = self.node_states(x, theta)                                           # [B, T, n, H]
        b, t, n, _ = h.shape
        if self.update == "additive" and self.path == "dense" and self.message != "pair":
            # mean_k (sum_j w_ij m_jk) = sum_j w_ij mean_k m_jk: one [n, n] matmul, not one per channel
            coupling = self._message_fn(None, h).mean(-1) @ w.T / n                   # [B, T, n]
        else:
            agg = self.aggregate(h, w)
            coupling = agg.mean(-1) / n if self.update == "additive" else None
        if self.update == "step":
            state0 = h if self.own_history else torch.zeros_like(h)
            s = self.gru(agg.reshape(-1, agg.shape[-1]), state0.reshape(-1, h.shape[-1])).view(b, t, n, -1)
            return self.decoder(s)[..., 0] + self.log_rate_offset, None
        if self.update == "additive":
            if self.gru is None:
                return self.decoder.bias + self.log_rate_offset + coupling, None
            out, state = self.gru(h.permute(1, 0, 2, 3).reshape(t, b * n, -1), state)
            log_rate = self.decoder(out.view(t, b, n, -1).permute(1, 0, 2, 3))[..., 0] + self.log_rate_offset
            return log_rate + coupling, state
        seq = torch.cat([agg, h], -1) if self.own_history else agg
        seq = seq.permute(1, 0, 2, 3).reshape(t, b * n, -1)
        out, state = self.gru(seq, state)
        return self.decoder(out.view(t, b, n, -1).permute(1, 0, 2, 3))[..., 0] + self.log_rate_offset, state
