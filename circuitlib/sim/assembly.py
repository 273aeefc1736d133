"""Heterogeneous rate assemblies (Stern, Istrate & Mazzucato 2023; Allier et al. 2026, Eq. 2).

Each neuron i has a type k(i) with time constant tau, self-coupling s, transfer width gamma and
linear leak theta. With gain g and an optional multiplicative field Omega_i(t), in units of time:

    dx_i/dt = phi_k(i)(x_i) + g Omega_i(t) sum_j W_ij psi_ij(x_j) + eta_i(t)
    phi_k(x)   = -x / tau_k + s_k tanh(x)                     (the neuron's own update)
    psi_ij(x)  = tanh(x / gamma) - theta_k(j) x               (the transfer function)

where gamma is the sender's (``gamma_of="sender"``, the "transmitters" model) or the receiver's
(``gamma_of="receiver"``). The baseline has gamma = 1 and theta = 0, so psi = tanh. Euler steps of
``dt``. Two noise models (``noise_on``):

* ``"derivative"``: eta has standard deviation ``noise_std`` per unit time-derivative, so each step
  adds ``dt * noise_std * N(0, 1)`` to x; the returned ``dxdt[t] = (x[t+1] - x[t]) / dt`` is the
  exact derivative the step used (drift plus the noise drawn for that step);
* ``"state"`` (what the reference code of Allier et al. does): each step adds
  ``noise_std * N(0, 1)`` to x after the Euler step, and ``dxdt[t]`` is the noise-free drift at
  ``x[t]``, so the regression target is clean while the states carry the noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._device import resolve_device
from ..data.rates import RateActivity

GAMMA_OWNERS = ("sender", "receiver")
NOISE_MODELS = ("derivative", "state")


@dataclass(frozen=True, eq=False)
class NeuronTypes:
    """Per-type parameters, each a float64 tensor ``[K]``: time constant, self-coupling, width, leak."""

    tau: torch.Tensor
    s: torch.Tensor
    gamma: torch.Tensor
    theta: torch.Tensor

    def __post_init__(self):
        values = [torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in
                  (self.tau, self.s, self.gamma, self.theta)]
        k = len(values[0])
        if k == 0 or any(len(v) != k for v in values):
            raise ValueError(f"tau, s, gamma and theta need one value per type (same length >= 1), "
                             f"got lengths {[len(v) for v in values]}.")
        if not (values[0] > 0).all() or not (values[2] > 0).all():
            raise ValueError("tau and gamma must be positive for every type.")
        for name, v in zip(("tau", "s", "gamma", "theta"), values):
            object.__setattr__(self, name, v)

    def __len__(self) -> int:
        return len(self.tau)

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        """True update function of every type on samples ``x`` [M] -> ``[K, M]``."""
        x = x.to(torch.float64)
        return -x / self.tau[:, None] + self.s[:, None] * torch.tanh(x)

    def psi(self, x: torch.Tensor, width_type=None, leak_type=None) -> torch.Tensor:
        """True transfer function tanh(x / gamma_a) - theta_b x on ``x`` [M].

        ``width_type`` / ``leak_type`` pick the types whose gamma / theta apply (default: all types,
        giving ``[K, M]``); pass both as index tensors of equal length for ``[P, M]``.
        """
        x = x.to(torch.float64)
        g = self.gamma if width_type is None else self.gamma[width_type]
        th = self.theta if leak_type is None else self.theta[leak_type]
        return torch.tanh(x / g[:, None]) - th[:, None] * x


def baseline_types() -> NeuronTypes:
    """The paper's four types: tau in {1, 0.5} crossed with s in {1, 2}; psi = tanh."""
    return NeuronTypes(tau=[1.0, 1.0, 0.5, 0.5], s=[1.0, 2.0, 1.0, 2.0], gamma=[1.0] * 4, theta=[0.0] * 4)


def assign_types(n: int, fractions) -> torch.Tensor:
    """Neuron types ``[n]`` (long) in contiguous blocks with the given fractions (normalised);
    block sizes are rounded so that they sum to n exactly."""
    f = torch.as_tensor(fractions, dtype=torch.float64)
    if f.dim() != 1 or len(f) == 0 or (f < 0).any() or f.sum() <= 0:
        raise ValueError(f"fractions must be a non-empty 1-D sequence of non-negative numbers, got {fractions!r}.")
    edges = torch.round(torch.cumsum(f / f.sum(), 0) * n).long()
    counts = torch.diff(torch.cat([torch.zeros(1, dtype=torch.long), edges]))
    return torch.repeat_interleave(torch.arange(len(f)), counts)


def cauchy_weights(n: int, seed: int = 0, density: float = 1.0, exponent: float = 0.7,
                   clip: float = 25.0, device="auto") -> torch.Tensor:
    """Heavy-tailed connectivity ``[n, n]`` (float32): standard Cauchy draws, |w| > clip set to 0,
    divided by n**exponent, zero diagonal, and a random mask keeping a fraction ``density`` of the
    off-diagonal entries. Row i receives, column j sends.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}.")
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density is the fraction of non-zero weights, in (0, 1]; got {density}.")
    dev = resolve_device(device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    u = torch.rand(n, n, generator=gen, dtype=torch.float64)
    w = torch.tan(math.pi * (u - 0.5))
    w[w.abs() > clip] = 0.0
    w /= n ** exponent
    if density < 1.0:
        w *= torch.rand(n, n, generator=gen, dtype=torch.float64) < density
    w.fill_diagonal_(0.0)
    return w.to(device=dev, dtype=torch.float32)


@dataclass(frozen=True, eq=False)
class AssemblyActivity:
    """A simulated recording. ``x`` and ``dxdt`` are ``[T, N]``; ``field`` is ``[T, N]`` or None."""

    x: torch.Tensor
    dxdt: torch.Tensor
    weights: torch.Tensor
    types: torch.Tensor
    params: NeuronTypes
    gain: float
    dt: float
    gamma_of: str
    field: torch.Tensor | None = None
    positions: torch.Tensor | None = None

    @property
    def n_neurons(self) -> int:
        return self.x.shape[1]

    def recording(self) -> RateActivity:
        """What a fit sees: states and derivatives ``[T, N]`` every ``dt``. The field, the weights
        and the types stay here, as the ground truth."""
        return RateActivity(self.x, self.dt, self.dxdt)

    def psi_true(self, x: torch.Tensor) -> torch.Tensor:
        """Each neuron's transfer function as a *sender* on ``x`` [M] -> ``[N, M]``.

        Defined for models whose psi depends only on the sender (receiver-owned gamma makes it
        pairwise; use ``params.psi`` with both type indices then).
        """
        if self.gamma_of != "sender" and not torch.all(self.params.gamma == self.params.gamma[0]):
            raise ValueError("psi depends on the receiver here (gamma_of='receiver'); call "
                             "params.psi(x, width_type, leak_type) for each receiver/sender pair.")
        return self.params.psi(x, self.types, self.types)

    def phi_true(self, x: torch.Tensor) -> torch.Tensor:
        """Each neuron's update function on ``x`` [M] -> ``[N, M]``."""
        return self.params.phi(x)[self.types]


class AssemblyDynamics:
    """The right-hand side of Eq. 2 for a fixed network, batched over states ``x`` [B, N]."""

    def __init__(self, weights: torch.Tensor, types: torch.Tensor, params: NeuronTypes,
                 gain: float = 10.0, gamma_of: str = "sender"):
        if weights.dim() != 2 or weights.shape[0] != weights.shape[1]:
            raise ValueError(f"weights must be a square [N, N] matrix, got shape {tuple(weights.shape)}.")
        if not torch.isfinite(weights).all():
            raise ValueError("weights contain NaN or inf.")
        if types.shape != (weights.shape[0],):
            raise ValueError(f"types must hold one type index per neuron ([{weights.shape[0]}]), "
                             f"got shape {tuple(types.shape)}.")
        if types.min() < 0 or types.max() >= len(params):
            raise ValueError(f"type indices must lie in 0..{len(params) - 1}; got {int(types.min())}.."
                             f"{int(types.max())}.")
        if gamma_of not in GAMMA_OWNERS:
            raise ValueError(f"gamma_of must be one of {GAMMA_OWNERS}, got {gamma_of!r}.")
        dev, dtype = weights.device, weights.dtype
        self.weights, self.gain, self.gamma_of = weights, gain, gamma_of
        self.types = types.to(dev)
        self.inv_tau = (1.0 / params.tau).to(dev, dtype)[self.types]
        self.s = params.s.to(dev, dtype)[self.types]
        self.gamma = params.gamma.to(dev, dtype)[self.types]
        self.theta = params.theta.to(dev, dtype)[self.types]
        # receiver-owned gamma: one dense product per distinct width, on that width's receiving rows
        self.width_groups = [(g.item(), torch.nonzero(self.gamma == g).squeeze(1))
                             for g in torch.unique(self.gamma)] if gamma_of == "receiver" else []

    def messages(self, x: torch.Tensor) -> torch.Tensor:
        """sum_j W_ij psi_ij(x_j) for states ``x`` [B, N] -> [B, N]."""
        leak = self.theta * x
        if self.gamma_of == "sender" or len(self.width_groups) == 1:
            width = self.gamma if self.gamma_of == "sender" else self.width_groups[0][0]
            return (torch.tanh(x / width) - leak) @ self.weights.T
        out = -(leak @ self.weights.T)
        for width, rows in self.width_groups:
            out[:, rows] += torch.tanh(x / width) @ self.weights[rows].T
        return out

    def __call__(self, x: torch.Tensor, field: torch.Tensor | None = None) -> torch.Tensor:
        """Noise-free dx/dt at states ``x`` [B, N], with an optional field ``[B, N]`` on the messages."""
        msg = self.messages(x)
        if field is not None:
            msg = field * msg
        return -x * self.inv_tau + self.s * torch.tanh(x) + self.gain * msg


def integrate(dynamics: AssemblyDynamics, x0: torch.Tensor, n_steps: int, dt: float = 0.01,
              noise_std: float = 0.0, field: torch.Tensor | None = None, generator=None,
              noise_on: str = "derivative"):
    """Euler-integrate ``n_steps`` from ``x0`` [B, N]; return states ``[n_steps, B, N]`` and the
    derivatives ``[n_steps, B, N]`` (see the module docstring for ``noise_on``). ``field`` is
    ``[n_steps, N]`` or None."""
    if noise_on not in NOISE_MODELS:
        raise ValueError(f"noise_on must be one of {NOISE_MODELS}, got {noise_on!r}.")
    if field is not None and field.shape[0] < n_steps:
        raise ValueError(f"field covers {field.shape[0]} frames but {n_steps} steps were asked for.")
    xs = torch.empty((n_steps,) + tuple(x0.shape), dtype=x0.dtype, device=x0.device)
    ds = torch.empty_like(xs)
    x = x0
    for t in range(n_steps):
        d = dynamics(x, None if field is None else field[t])
        xs[t] = x
        if noise_std > 0:
            eta = noise_std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            if noise_on == "derivative":
                d = d + eta
            else:
                x = x + eta
        ds[t] = d
        x = x + dt * d
    return xs, ds


def simulate(n_neurons: int = 1000, n_frames: int = 100_000, params: NeuronTypes | None = None,
             fractions=None, weights: torch.Tensor | None = None, density: float = 1.0,
             gain: float = 10.0, gamma_of: str = "sender", dt: float = 0.01, noise_std: float = 0.0,
             noise_on: str = "derivative",
             field: torch.Tensor | None = None, positions: torch.Tensor | None = None,
             burn_in: int = 1000, init_std: float = 5.0, seed: int = 0, device="auto",
             dtype=torch.float32) -> AssemblyActivity:
    """Simulate Eq. 2 for ``n_frames`` recorded frames after ``burn_in`` Euler steps.

    ``params`` defaults to :func:`baseline_types`; ``fractions`` (default equal) sets the share of
    each type; ``weights`` defaults to :func:`cauchy_weights` with ``density``. ``field`` [n_frames, N]
    multiplies the messages (1 for unmodulated neurons; no field during burn-in); ``positions``
    [N, 2] locates neurons for a field model. x(0) ~ N(0, init_std^2). Returns ``[T, N]`` tensors
    on ``device``.
    """
    if n_neurons < 2 or n_frames < 1 or burn_in < 0:
        raise ValueError(f"need n_neurons >= 2, n_frames >= 1, burn_in >= 0; got {n_neurons}, {n_frames}, {burn_in}.")
    if not 0 < dt < 0.5:
        raise ValueError(f"dt must lie in (0, 0.5) (the fastest time constant is 0.5 in the baseline); got {dt}.")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}.")
    dev = resolve_device(device)
    params = baseline_types() if params is None else params
    fractions = [1.0] * len(params) if fractions is None else fractions
    if len(fractions) != len(params):
        raise ValueError(f"fractions needs one entry per type ({len(params)}), got {len(fractions)}.")
    types = assign_types(n_neurons, fractions)
    if weights is None:
        weights = cauchy_weights(n_neurons, seed=seed, density=density, device=dev)
    weights = weights.to(device=dev, dtype=dtype)
    if weights.shape != (n_neurons, n_neurons):
        raise ValueError(f"weights must be [{n_neurons}, {n_neurons}] to match n_neurons, got {tuple(weights.shape)}.")
    if field is not None:
        field = torch.as_tensor(field).to(device=dev, dtype=dtype)
        if field.shape != (n_frames, n_neurons) or not torch.isfinite(field).all():
            raise ValueError(f"field must be a finite [n_frames, N] = [{n_frames}, {n_neurons}] tensor, "
                             f"got shape {tuple(field.shape)}.")
    dyn = AssemblyDynamics(weights, types.to(dev), params, gain=gain, gamma_of=gamma_of)
    gen = torch.Generator(device=dev).manual_seed(seed)
    x0 = init_std * torch.randn(1, n_neurons, generator=gen, device=dev, dtype=dtype)
    if burn_in:
        xb, db = integrate(dyn, x0, burn_in, dt, noise_std, generator=gen, noise_on=noise_on)
        x0 = xb[-1] + dt * db[-1]
    x, d = integrate(dyn, x0, n_frames, dt, noise_std, field=field, generator=gen, noise_on=noise_on)
    return AssemblyActivity(x=x[:, 0], dxdt=d[:, 0], weights=weights, types=types.to(dev), params=params,
                            gain=gain, dt=dt, gamma_of=gamma_of, field=field, positions=positions)
