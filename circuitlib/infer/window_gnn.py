r"""The ring GNN in its time-parallel form: every predicted bin depends on a fixed window of the past.

Yoon (2025) predicts bin t+1 with a GRU whose state is carried from bin to bin, so training is
sequential in time (:mod:`circuitlib.infer.ring_gnn`, kept for the paper's text). Here nothing is
carried: the prediction of bin t reads only the l bins t-l .. t-1 of every neuron, so any set of
bins is one batch and an Adam step can see thousands of bins from anywhere in the recording.
Three parts, each a module a reader can see:

**Structure** (:class:`Structure`, Eqs. 1-2 of the paper) proposes w [n, n] once per Adam step, as
a sum of parts, symmetrised (unless ``directed``) with a zero diagonal::

    z_i  = f_out(vec(BN(ReLU(Conv1D(x_i)))))                 the paper's spike embedding (embed_dim > 0)
    q_i  = cos/sin(2 pi k p_i / N), k = 1..K                  ring position (``ring_position`` K)
    w_ij = sym [ g([z_i, z_j]) + g_ring([q_i, q_j, d_ij]) + R_ij ]

with d_ij in [0, 1] the ring distance (``ring_distance``) and R a free residual (``residual``).
The spike part is the paper's; the ring part is the positional encoding of the lab's follow-up
(a labelled prior; with ``embed_dim=0`` it is all of w); R is a prior-free way out of the aliasing
of neurons a quarter-ring apart. Each part has its own MLP, so a prior is added, not mixed into
the spike embedding's input. On a torus (a grid-cell sheet, :func:`node_geometry`) q_i holds the
harmonics of both axes' angles and d_ij is the toroidal distance.

**Messages** (:class:`Messages`): the sender's causal filter bank h_j = ReLU(F x_j^{t-l:t} + b) [C]
and the coupling input a_i = (1/n) sum_j w_ij m_ij, with one of

* ``"positive"``: m_j = k . x_j^{t-l:t}, one causal kernel k = softplus(kappa) >= 0, so a message grows
  with the sender's spikes and the sign of a coupling lives in w (w < 0 is inhibition, as in a GLM).
  The whole sum is one ``[n, n] @ [n, B]`` matmul;
* ``"sender"``: m_j = v . phi(h_j) (the message depends on the sender only: one matmul as well);
* ``"pair"``: m_ij = v . phi([h_i, h_j]), the paper's Eq. 5 (only phi's ReLU runs on every pair).

**Predictor** (:class:`Predictor`, Eqs. 7-8): u_i = b_i + eta . x_i^{t-l:t} (own history, a causal
filter, ``own_history``) + a_i (+ e(theta_t - theta~_i - beta), the angle encoder with a learned
rotation beta, when the data carry an angle); the rate of the next bin is lambda_i = r_i g(u_i)
with a learned monotone link g (``link="monotone"``: a positive sum of softplus ramps, which
can take the threshold-linear shape of the ring's LNP generator, 32 relu(r W s + b)) or
lambda_i = exp(u_i) (``link="exp"``, the GLM's). r_i starts at each neuron's mean count per bin.

Hidden neurons (App. B.2): of the n ring positions only ``observed`` carry spikes; the hidden
positions' z and messages are interpolated along the ring from the nearest observed ones (one
fixed [n, N_obs] matrix), and their predictions are never scored.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..ring_geometry import check_positions, lattice_shape, torus_distance, wrap_angle
from ._mlp import mlp
from .ring_gnn import SpikeEncoder, pair_relu_sum, ring_interpolation, torus_interpolation

MESSAGES = ("positive", "sender", "pair")
LINKS = ("monotone", "exp")


def causal_filter(x: torch.Tensor, kernels: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Each of ``kernels`` [K, l] (oldest bin first) applied to the l bins before every bin of
    ``x`` [S, N, l + C]: -> [S, N, K, C], entry c the filtered past of bin l + c of each chunk.

    One or two kernels run as one matmul with their banded (Toeplitz) matrix [K C, l + C - 1]: on the
    CPU that is about 4x faster than conv1d's single-channel path (forward + backward, 3,200 rows of
    275 bins, 2 threads: 5.4 against 20.7 ms); a filter bank (K > 2) runs as conv1d, which wins there.
    """
    s, n, length = x.shape
    k, c = kernels.shape[0], length - kernels.shape[1]
    past = x[..., :-1].reshape(s * n, length - 1)
    if k > 2:
        return F.conv1d(past[:, None], kernels[:, None], bias).view(s, n, k, c)
    # row (kk, t) of the band holds kernel kk at columns t .. t + l - 1: a zero-padded kernel of
    # period l + C laid out in rows of l + C - 1 shifts by one column per row
    band = torch.cat([kernels, kernels.new_zeros(k, c)], 1).repeat(1, c)[:, : c * (length - 1)]
    out = (past @ band.reshape(k * c, length - 1).T).view(s, n, k, c)
    return out if bias is None else out + bias[:, None]


class RampSum(torch.autograd.Function):
    """``g(u) = sum_k w_k softplus(a_k (u - c_k))`` for u [...] and a, c, w [K]: the monotone link.

    Written out with its gradients, so that the [..., K] intermediates are passed over 8 times per
    step instead of about 16 times by autograd of the elementwise form (same values up to rounding;
    ``tests/test_infer_window_gnn.py`` checks both against each other and with gradcheck)."""

    @staticmethod
    def forward(ctx, u, a, c, w):
        z = torch.addcmul(-(a * c), u[..., None], a)                    # a (u - c)
        ramps = F.softplus(z)
        ctx.save_for_backward(u, a, c, w, z, ramps)
        return ramps @ w

    @staticmethod
    def backward(ctx, grad):
        u, a, c, w, z, ramps = ctx.saved_tensors
        k = w.shape[0]
        slope = torch.sigmoid(z).reshape(-1, k)                           # softplus'(z)
        g = grad.reshape(-1)
        grad_u = (slope @ (a * w)).view_as(u) * grad
        sum_g, sum_ug = slope.T @ g, slope.T @ (u.reshape(-1) * g)       # [K] each (two mv: a [K, 2] mm is slower)
        grad_a = w * (sum_ug - c * sum_g)
        grad_c = -w * a * sum_g
        grad_w = ramps.reshape(-1, k).T @ g
        return grad_u, grad_a, grad_c, grad_w


def _is_identity(interp: torch.Tensor) -> bool:
    """Whether ``interp`` [n, N_obs] is the identity (every node observed, in order): its products are skipped."""
    return interp.shape[0] == interp.shape[1] and torch.equal(interp, torch.eye(interp.shape[0], device=interp.device))


def pair_mlp(net: nn.Sequential, left: torch.Tensor, right: torch.Tensor, extra: torch.Tensor | None = None):
    """``net([left_i, right_j, extra_ij])[0]`` for every pair: [n, n], from ``left`` [n, a], ``right``
    [n, b] and ``extra`` [n, n, c] or None. The first layer is split by its inputs, so no
    [n, n, a + b + c] tensor is formed and the per-node parts cost O(n), not O(n^2)."""
    first, a, b = net[0], left.shape[1], right.shape[1]
    h = (left @ first.weight[:, :a].T)[:, None] + (right @ first.weight[:, a:a + b].T + first.bias)[None]
    if extra is not None:
        h = h + extra @ first.weight[:, a + b:].T
    return net[1:](h)[..., 0]


def node_geometry(n: int, observed, positions=None, ring_size=None):
    """Where the ``n`` nodes sit: (``interp`` [n, N_obs], ``preferred`` [n, D] angles in rad,
    ``distance`` [n, n] in [0, 1]).

    On a ring of ``ring_size`` M (default n; node k at ``positions[k]``, default k): D = 1, the angle
    2 pi p / M, the distance the ring distance over half the ring, hidden nodes interpolated
    linearly between their observed neighbours (:func:`ring_interpolation`). On a torus
    ``ring_size=(L1, L2)``: D = 2, one angle per axis (2 pi row / L1, 2 pi col / L2), the toroidal
    distance over its largest value on the torus, hidden nodes by inverse-distance weights
    (:func:`torus_interpolation`).
    """
    l1, l2 = lattice_shape(ring_size if ring_size is not None else n)
    if l1 == 1:
        interp = ring_interpolation(n, observed, positions, l2)
        at = torch.arange(n) if positions is None else torch.as_tensor(positions).long()
        preferred = 2 * math.pi * at / l2
        return interp, preferred[:, None], wrap_angle(preferred[:, None] - preferred[None, :]).abs() / math.pi
    at, _ = check_positions(positions, n, (l1, l2))
    if positions is not None and (at.diff() <= 0).any():
        raise ValueError(f"positions must be {n} strictly increasing torus positions in [0, {l1 * l2}).")
    rows, cols = at // l2, at % l2
    preferred = torch.stack([2 * math.pi * rows / l1, 2 * math.pi * cols / l2], 1).float()
    full = torus_distance((l1, l2))
    return torus_interpolation(observed, at, (l1, l2)), preferred, (full[at][:, at] / full.max()).float()


class Structure(nn.Module):
    """w [n, n]: spike-embedding part + ring part + free residual (see the module docstring).

    ``n`` nodes at ``preferred`` angles [n, D] (rad; D = 1 on a ring, 2 on a torus: one angle per
    axis) with lattice distances ``distance`` [n, n] in [0, 1], of which ``interp`` [n, N_obs] maps
    the observed neurons' embeddings to all; ``width`` and ``stride`` (bins) are the encoder's,
    ``structure_length`` the bins it reads (it sizes f_out, the paper's vec). ``embed_dim=0``: the
    spike trains do not enter w.
    """

    def __init__(self, interp: torch.Tensor, preferred: torch.Tensor, distance: torch.Tensor, width: int,
                 stride: int, structure_length: int, embed_dim: int = 16, channels: int = 32, ring_position: int = 0,
                 ring_distance: bool = False, residual: bool = False, directed: bool = False):
        super().__init__()
        if embed_dim < 0 or ring_position < 0:
            raise ValueError(f"embed_dim and ring_position must be >= 0, got {embed_dim}, {ring_position}.")
        if embed_dim == 0 and not (ring_position or ring_distance):
            raise ValueError("embed_dim=0 leaves w nothing to depend on: give ring_position or ring_distance, "
                             "or embed_dim >= 1.")
        if width < 1 or stride < 1 or structure_length < width:
            raise ValueError(f"need width >= 1, stride >= 1 and structure_length >= width bins; got "
                             f"{width}, {stride}, {structure_length}.")
        n = interp.shape[0]
        self.n, self.stride, self.directed = n, stride, directed
        self.register_buffer("interp", interp)
        self.all_observed = _is_identity(interp)
        self.encoder = SpikeEncoder(width, channels) if embed_dim else None
        positions = (structure_length - width) // stride + 1
        self.f_out = nn.Linear(channels * positions, embed_dim) if embed_dim else None
        self.pair_mlp = mlp([2 * embed_dim, 32, 32, 1]) if embed_dim else None
        angles = (preferred[:, :, None] * torch.arange(1, ring_position + 1)).flatten(1)    # [n, D K]
        self.register_buffer("position", torch.cat([angles.cos(), angles.sin()], -1), persistent=False)  # q [n, 2 D K]
        # without positions, w's ring part depends on d alone: g is evaluated once per distinct distance
        self.by_distance = ring_distance and not ring_position
        unique, inverse = torch.unique(distance, return_inverse=True) if self.by_distance else (None, None)
        self.register_buffer("distance", distance[..., None] if ring_distance else None, persistent=False)
        self.register_buffer("unique_distance", None if unique is None else unique[:, None], persistent=False)
        self.register_buffer("distance_index", inverse, persistent=False)
        features = 4 * angles.shape[1] + int(ring_distance)
        self.ring_mlp = mlp([features, 32, 32, 1]) if features else None
        self.residual = nn.Parameter(torch.zeros(n, n)) if residual else None

    def embeddings(self, x_struct: torch.Tensor) -> torch.Tensor:
        """z [n, embed_dim] from the observed spike trains ``x_struct`` [N_obs, L]."""
        z = self.f_out(self.encoder(x_struct, stride=self.stride).flatten(1))
        return z if self.all_observed else self.interp @ z

    def forward(self, x_struct: torch.Tensor) -> torch.Tensor:
        raw = torch.zeros(self.n, self.n, device=self.interp.device)
        if self.encoder is not None:
            z = self.embeddings(x_struct)
            raw = raw + pair_mlp(self.pair_mlp, z, z)
        if self.by_distance:
            raw = raw + self.ring_mlp(self.unique_distance)[self.distance_index, 0]
        elif self.ring_mlp is not None:
            raw = raw + pair_mlp(self.ring_mlp, self.position, self.position, self.distance)
        if self.residual is not None:
            raw = raw + self.residual
        w = raw if self.directed else 0.5 * (raw + raw.T)
        return w * (1 - torch.eye(self.n, device=w.device))


class Messages(nn.Module):
    """a_i = (1/n) sum_j w_ij m_ij for windows of the observed neurons' spikes (see the module docstring)."""

    def __init__(self, interp: torch.Tensor, width: int, kind: str = "positive", channels: int = 32,
                 hidden: int = 32):
        super().__init__()
        if kind not in MESSAGES:
            raise ValueError(f"message must be one of {MESSAGES}, got {kind!r}.")
        self.kind = kind
        self.register_buffer("interp", interp)
        self.all_observed = _is_identity(interp)
        if kind == "positive":
            self.kappa = nn.Parameter(torch.full((width,), -2.0))
            return
        self.filters = nn.Linear(width, channels)                           # F, b: the causal filter bank
        self.phi = mlp([channels * (2 if kind == "pair" else 1), hidden, hidden])
        self.readout = nn.Linear(hidden, 1, bias=False)                     # v

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``x`` [S, N_obs, l + C] chunks of centred counts, ``w`` [n, n] -> a [S, C, n] for the
        last C bins of each chunk."""
        n = w.shape[0]
        if self.kind == "positive":
            m = causal_filter(x, F.softplus(self.kappa)[None])[:, :, 0]             # [S, N_obs, C]
            m = m.transpose(1, 2) if self.all_observed else torch.einsum("pk,skc->scp", self.interp, m)
            return m @ w.T / n
        h = torch.relu(causal_filter(x, self.filters.weight, self.filters.bias))    # [S, N_obs, ch, C]
        h = (h.permute(0, 3, 1, 2) if self.all_observed
             else torch.einsum("pk,skhc->schp", self.interp, h).transpose(-1, -2))  # [S, C, n, ch]
        if self.kind == "sender":
            return self.readout(self.phi(h))[..., 0] @ w.T / n
        first, last = self.phi[0], self.phi[2]                # phi = L2 ReLU L1; L1 split by receiver / sender
        c = h.shape[-1]
        recv = h @ first.weight[:, :c].T + first.bias
        send = h @ first.weight[:, c:].T
        summed = F.linear(pair_relu_sum(recv, send, w), last.weight) + w.sum(1)[:, None] * last.bias
        return self.readout(summed)[..., 0] / n


class Predictor(nn.Module):
    """Rates of the next bin from the coupling input and the own history (see the module docstring).

    ``preferred`` [N_obs] angles (rad) of the observed neurons; ``angle_encoder`` adds e(theta - theta~_i - beta).
    """

    def __init__(self, preferred: torch.Tensor, width: int, own_history: bool = True, link: str = "monotone",
                 angle_encoder: bool = False, ramps: int = 8):
        super().__init__()
        if link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}, got {link!r}.")
        n = preferred.shape[0]                                                    # observed neurons
        self.link = link
        self.register_buffer("preferred", preferred)
        self.bias = nn.Parameter(torch.zeros(n))                                  # b_i
        self.log_scale = nn.Parameter(torch.zeros(n))                             # log r_i, set by the fit
        self.history = nn.Parameter(torch.zeros(width)) if own_history else None  # eta
        self.angle = mlp([2, 32, 1]) if angle_encoder else None
        self.rotation = nn.Parameter(torch.zeros(())) if angle_encoder else None      # beta
        if link == "monotone":          # g(u) = sum_k softplus(alpha_k) softplus(softplus(s_k) (u - c_k)); g(0) = 1
            c = torch.linspace(-2.0, 2.0, ramps)
            self.ramp_at = nn.Parameter(c)
            self.ramp_slope = nn.Parameter(torch.full((ramps,), math.log(math.e - 1)))   # softplus -> 1
            alpha = 1 / (ramps * F.softplus(-c))
            self.ramp_weight = nn.Parameter(alpha + torch.log(-torch.expm1(-alpha)))     # softplus^-1(alpha)

    def drive(self, x: torch.Tensor, coupling: torch.Tensor, theta: torch.Tensor | None) -> torch.Tensor:
        """u [S, C, N_obs]: ``x`` [S, N_obs, l + C] chunks of centred counts, ``coupling`` [S, C, N_obs],
        ``theta`` [S, C] (the angle of the bin before each predicted one) or None."""
        u = self.bias + coupling
        if self.history is not None:
            u = u + causal_filter(x, self.history[None])[:, :, 0].transpose(1, 2)
        if self.angle is not None:
            if theta is None:
                raise ValueError("this model encodes an external angle: pass data that carry theta.")
            delta = theta[..., None] - self.preferred - self.rotation
            u = u + self.angle(torch.stack([delta.cos(), delta.sin()], -1))[..., 0]
        return u

    def rate(self, u: torch.Tensor) -> torch.Tensor:
        """Expected counts of the next bin, lambda = r g(u), the shape of ``u``."""
        if self.link == "exp":
            return torch.exp(u + self.log_scale)
        g = RampSum.apply(u, F.softplus(self.ramp_slope), self.ramp_at, F.softplus(self.ramp_weight))
        return g * self.log_scale.exp()


class WindowGNNNet(nn.Module):
    """Structure, messages and predictor for ``n`` ring positions, ``observed`` [N_obs] of them recorded.

    ``width`` l (bins) is both the encoder's filter length and the predictor's window; ``stride``
    the structure encoder's stride; ``positions`` [n] place the nodes on a ring of ``ring_size``
    (default node k at k of n), or on a torus ``ring_size=(L1, L2)`` (position ``row * L2 + col``;
    default node k at position k of n = L1 L2); see :func:`node_geometry`. ``structure`` and
    ``predictor`` hold the keyword arguments of :class:`Structure` and :class:`Predictor`;
    ``message``, ``channels`` and ``hidden`` those of :class:`Messages`.
    """

    def __init__(self, n: int, observed: torch.Tensor, width: int, stride: int, structure_length: int,
                 message: str = "positive", channels: int = 32, hidden: int = 32, positions=None,
                 ring_size: int | tuple[int, int] | None = None, structure: dict | None = None,
                 predictor: dict | None = None):
        super().__init__()
        interp, preferred, distance = node_geometry(n, observed, positions, ring_size)
        self.width = width
        self.register_buffer("observed", torch.as_tensor(observed).long())
        self.register_buffer("mean_counts", torch.zeros(len(self.observed)))          # set by the fit
        self.structure = Structure(interp, preferred, distance, width, stride, structure_length, channels=channels,
                                   **(structure or {}))
        self.messages = Messages(interp, width, message, channels, hidden)
        # the observed neurons first, so that the predictor's rows line up with the data's columns
        self.predictor = Predictor(preferred[self.observed, 0], width, **(predictor or {}))

    def forward(self, x: torch.Tensor, w: torch.Tensor, theta: torch.Tensor | None = None) -> torch.Tensor:
        """Expected counts [S, C, N_obs] of the last C bins of each chunk ``x`` [S, N_obs, l + C] of
        counts, each from the l bins before it, with connectivity ``w`` [n, n]; ``theta`` [S, l + C]
        angles of the chunk's bins (the bin before each predicted one is read).

        Messages and own history read the counts minus each neuron's mean count in the training
        recording (``mean_counts``), so a uniform shift of w is not confounded with the neurons'
        offsets b_i during training (centred inputs; the model class is the same)."""
        x = x - self.mean_counts[:, None]
        coupling = self.messages(x, w)[..., self.observed]
        u = self.predictor.drive(x, coupling, None if theta is None else theta[:, self.width - 1:-1])
        return self.predictor.rate(u)
