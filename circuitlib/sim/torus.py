"""Grid-cell torus: a two-dimensional continuous attractor of spiking neurons (after Burak & Fiete
2009), the step beyond the ring that Yoon 2025 names.

Neurons tile an L1 x L2 sheet with periodic boundaries; neuron ``p = row * L2 + col`` (see
:mod:`circuitlib.ring_geometry`). Connectivity is the ring's Mexican hat in toroidal distance d:

    W[i, j] = amplitude * (exp(-d_ij^2 / 2 sigma1^2) - a exp(-d_ij^2 / 2 sigma2^2)),   a > 1

purely inhibitory with a negative diagonal, like the ring's. For sigma1 close to sigma2 = sigma the
least inhibited Fourier mode of this 2-D kernel has wavenumber ``2 / sigma``, i.e. a wavelength of
``pi sigma`` neurons (on the ring, ``2 pi sigma / sqrt 3``); three such plane waves at 60 degrees
give the triangular (hexagonal) lattice of bumps. The dynamics, both spike models and both
backends are those of :mod:`circuitlib.sim.ring` with this W. Besides the generator, the module
measures the pattern: its spatial power spectrum, the number of bumps, the 2-D autocorrelation.

Velocity input (Burak & Fiete 2009): every neuron prefers one of four directions e_i (2 x 2 blocks),
its outgoing kernel is centred ``shift`` neurons along e_i, and its tonic input is
``b (1 + velocity_gain e_i . v(t))``. The neurons that prefer the direction of v fire more and push
the lattice that way: :func:`pattern_displacement` measures how far it moves.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from scipy.signal import lfilter

from .._validate import square_matrix
from ..data.spikes import SpikeTrain
from ..ring_geometry import lattice_shape, signed_offsets, torus_coordinates, torus_distance
from . import ring


def _sheet(shape) -> tuple[int, int]:
    if not isinstance(shape, (tuple, list)):
        raise ValueError(f"shape is the sheet's (rows, columns), e.g. (16, 16); got {shape!r}.")
    l1, l2 = lattice_shape(tuple(shape))
    if min(l1, l2) < 4:
        raise ValueError(f"a sheet needs at least 4 x 4 neurons to hold a bump, got {l1} x {l2}.")
    return l1, l2


def preferred_directions(shape) -> torch.Tensor:
    """Each neuron's preferred direction for the velocity input, a unit vector (rows, columns):
    float64 ``[L1 L2, 2]``. Every 2 x 2 block holds all four, +row and +col on its first row,
    -col and -row on its second (Burak & Fiete 2009); both sides must be even."""
    l1, l2 = _sheet(shape)
    if l1 % 2 or l2 % 2:
        raise ValueError(f"direction-tuned neurons come in 2 x 2 blocks; give even sides, got {l1} x {l2}.")
    rc = torus_coordinates((l1, l2))
    block = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, -1.0], [-1.0, 0.0]]], dtype=torch.float64)
    return block[rc[:, 0] % 2, rc[:, 1] % 2]


def mexican_hat(shape=(16, 16), sigma1: float = 2.49, sigma2: float = 2.5, a: float = 1.0005,
                amplitude: float = 1.5, shift: float = 0.0) -> torch.Tensor:
    """The torus kernel of the module docstring, ``[L1 L2, L1 L2]`` float64 (row = receiver).

    Defaults: bumps about ``pi * 2.5 = 7.9`` neurons apart (4 on a 16 x 16 sheet, 9 on 24 x 24),
    diagonal -7.5e-4 and minimum -4.7e-3 (at d = 3.6), the scale of the ring's Table-4 profile, so the ring's
    constants (r, b, threshold) hold the pattern at 5-30 Hz mean rate (measured in chapter 14).
    shift > 0: the velocity-ready form, each sender's kernel centred ``shift`` neurons along its
    :func:`preferred_directions` (``d_ij`` measured from ``x_j + shift e_j``; even sides only).
    """
    if not (sigma1 > 0 and sigma2 > 0 and a > 0 and amplitude > 0):
        raise ValueError(f"sigma1, sigma2, a and amplitude must be positive, got {sigma1}, {sigma2}, {a}, {amplitude}.")
    if shift < 0:
        raise ValueError(f"shift is a distance in neurons, >= 0; got {shift}.")
    sheet = _sheet(shape)
    if shift == 0:
        d2 = torus_distance(sheet) ** 2
    else:
        rc = torus_coordinates(sheet).double()
        diff = rc[:, None] - rc[None] - shift * preferred_directions(sheet)[None]
        size = torch.tensor(sheet, dtype=torch.float64)
        d2 = (torch.remainder(diff + size / 2, size) - size / 2).pow(2).sum(-1)
    return amplitude * (torch.exp(-d2 / (2 * sigma1**2)) - a * torch.exp(-d2 / (2 * sigma2**2)))


VELOCITY_SHIFT = 1.0  # neurons: the default kernel offset of the velocity-ready network


def simulate(model: str = "threshold", duration: float = 1.0, shape=(16, 16), seed: int | Sequence[int] = 0,
             device: str | torch.device = "auto", *, weights: torch.Tensor | None = None, burn_in: float = 0.5,
             r: float | Sequence[float] = 0.025, velocity: torch.Tensor | None = None, velocity_gain: float = 0.1,
             backend: str = "auto", progress: bool = False, **params) -> SpikeTrain | list[SpikeTrain]:
    """Simulate the torus network; spikes of its ``L1 L2`` neurons after ``burn_in`` seconds.

    shape: (L1, L2) sheet; ``weights`` ``[L1 L2, L1 L2]`` (default :func:`mexican_hat` of that
    shape; with a velocity, ``mexican_hat(shape, shift=VELOCITY_SHIFT)``). velocity ``[T, 2]`` or
    ``[B, T, 2]`` (rows, columns; T = duration / dt; none during burn-in), dimensionless commands
    with tonic input ``b (1 + velocity_gain e_i . v)`` (module docstring; even sides). Everything
    else as :func:`circuitlib.sim.ring.simulate` (model "threshold" or "lnp", seeds and r broadcast
    to batched replicas, backend "events" / "dense" / "auto", the
    :class:`~circuitlib.sim.ring.RingParams` constants as keywords).
    """
    if "theta" in params:
        raise ValueError("the torus takes no angle drive theta (a ring rotation); simulate it without.")
    l1, l2 = _sheet(shape)
    tuning = None if velocity is None else velocity_gain * preferred_directions((l1, l2))
    if weights is None:
        w = mexican_hat((l1, l2), shift=0.0 if velocity is None else VELOCITY_SHIFT)
    else:
        w = square_matrix("weights", weights)
    if w.shape[0] != l1 * l2:
        raise ValueError(f"weights are {tuple(w.shape)} but a {l1} x {l2} sheet has {l1 * l2} neurons.")
    return ring.simulate(model, duration, l1 * l2, seed, device, weights=w, burn_in=burn_in, r=r,
                         velocity=velocity, tuning=tuning, backend=backend, progress=progress, **params)


def smooth_velocity(duration: float, dt: float = 1e-4, speed: float = 1.0, timescale: float = 0.5,
                    seed: int = 0) -> torch.Tensor:
    """A random 2-D velocity command: two independent Ornstein-Uhlenbeck processes with stationary
    standard deviation ``speed`` and correlation time ``timescale`` seconds, starting at rest.
    float64 ``[T, 2]`` (rows, columns), T = duration / dt."""
    if not (duration > 0 and dt > 0 and timescale > 0 and speed >= 0):
        raise ValueError(f"need duration, dt, timescale > 0 and speed >= 0; "
                         f"got {duration}, {dt}, {timescale}, {speed}.")
    n = max(1, round(duration / dt))
    gen = torch.Generator().manual_seed(seed)
    kicks = torch.randn(n, 2, generator=gen, dtype=torch.float64) * speed * math.sqrt(2 * dt / timescale)
    kicks[0] = 0.0                                                       # at rest
    # v[k] = (1 - dt / timescale) v[k - 1] + kicks[k], as one linear filter
    return torch.from_numpy(lfilter([1.0], [1.0, dt / timescale - 1], kicks.numpy(), axis=0))


def _count_images(train: SpikeTrain, shape, window: float, at_least: int) -> torch.Tensor:
    """The sheet's spike counts in consecutive windows of ``window`` seconds: float64 ``[W, L1, L2]``
    (a last partial window dropped); at least ``at_least`` windows must fit."""
    l1, l2 = _sheet(shape)
    if train.n_neurons != l1 * l2:
        raise ValueError(f"the train has {train.n_neurons} neurons but a {l1} x {l2} sheet has {l1 * l2}.")
    steps = round(window / train.dt)
    n_win = train.n_steps // max(steps, 1)
    if steps < 1 or n_win < at_least:
        raise ValueError(f"a window of {window} s must hold at least one step (dt={train.dt} s) and {at_least} "
                         f"of them must fit in the train's {train.duration} s.")
    images = torch.zeros(n_win, l1 * l2, dtype=torch.float64)
    keep = train.times < n_win * steps
    images.index_put_((train.times[keep].cpu() // steps, train.neurons[keep].cpu()),
                      train.counts[keep].cpu().double(), accumulate=True)
    return images.view(n_win, l1, l2)


def power_spectrum(train: SpikeTrain, shape, window: float = 0.05) -> torch.Tensor:
    """Mean spatial power ``|FFT2|^2`` of the sheet's spike-count images in windows of ``window``
    seconds, each with its mean removed: float64 ``[L1, L2]`` indexed by frequency (cycles per
    sheet, modulo L). A power spectrum ignores where the pattern is, so a drifting lattice adds up.
    """
    images = _count_images(train, shape, window, 1)
    images = images - images.mean((1, 2), keepdim=True)
    return torch.fft.fft2(images).abs().pow(2).mean(0)


def lattice_modes(spectrum: torch.Tensor) -> torch.Tensor:
    """The two strongest non-collinear spatial frequencies of a spectrum ``[L1, L2]`` (from
    :func:`power_spectrum`) as signed integer vectors (cycles per sheet): int64 ``[2, 2]``."""
    l1, l2 = spectrum.shape
    freqs = torch.stack(torch.meshgrid(signed_offsets(l1), signed_offsets(l2), indexing="ij"), -1).reshape(-1, 2)
    power = spectrum[freqs[:, 0] % l1, freqs[:, 1] % l2].clone()
    power[(freqs == 0).all(1)] = -1.0
    order = torch.argsort(power, descending=True)
    first = freqs[order[0]]
    for k in order[1:]:
        if first[0] * freqs[k, 1] - first[1] * freqs[k, 0] != 0:
            return torch.stack([first, freqs[k]])
    raise ValueError("the spectrum has no two non-collinear modes; is the sheet active at all?")


def bump_count(train: SpikeTrain, shape, window: float = 0.05) -> int:
    """Bumps on the sheet: the area of the pattern's unit cell in reciprocal space, ``|det|`` of
    :func:`lattice_modes` (the number of lattice points a periodic pattern puts on the torus)."""
    modes = lattice_modes(power_spectrum(train, shape, window))
    return int(abs(modes[0, 0] * modes[1, 1] - modes[0, 1] * modes[1, 0]))


def pattern_displacement(train: SpikeTrain, shape, frame: float = 0.01, smoothing: float = 0.025,
                         max_cycles: float = 4.0) -> torch.Tensor:
    """How far the pattern has moved since the first frame: float64 ``[F, 2]`` (rows, columns),
    neurons, one row per ``frame`` seconds.

    Frames are the sheet's spike counts, smoothed by an exponential filter of ``smoothing`` seconds.
    A translation x multiplies every spatial Fourier coefficient by ``exp(-2 pi i k.x)``, so the step
    between two frames is the weighted least-squares fit of the phase changes of the modes with
    ``0 < |k| <= max_cycles`` cycles per sheet (weights: the cross-power). It needs steps under half
    the bump spacing per frame and no particular lattice: mode hops do not bias it.
    """
    if not (smoothing > 0 and max_cycles >= 1):
        raise ValueError(f"need smoothing > 0 s and max_cycles >= 1; got {smoothing}, {max_cycles}.")
    images = _count_images(train, shape, frame, 2)
    n_frames, l1, l2 = images.shape
    decay = math.exp(-frame / smoothing)
    for k in range(1, n_frames):
        images[k] += decay * images[k - 1]
    freqs = torch.fft.fft2(images)
    cycles = [torch.fft.fftfreq(size, 1 / size, dtype=torch.float64) for size in (l1, l2)]   # per sheet, FFT order
    k = torch.stack(torch.meshgrid(*cycles, indexing="ij"), -1)
    use = (k.norm(dim=-1) > 0) & (k.norm(dim=-1) <= max_cycles)
    wave = 2 * math.pi * k[use] / torch.tensor([l1, l2], dtype=torch.float64)        # [M, 2] rad / neuron
    cross = freqs[:-1, use].conj() * freqs[1:, use]                                   # [F - 1, M]
    weight, phase = cross.abs(), cross.angle()
    normal = torch.einsum("fm,mi,mj->fij", weight, wave, wave)
    steps_xy = torch.linalg.solve(normal, -torch.einsum("fm,mi->fi", weight * phase, wave))
    return torch.cat([torch.zeros(1, 2, dtype=torch.float64), torch.cumsum(steps_xy, 0)])


def autocorrelation(train: SpikeTrain, shape, window: float = 0.05) -> torch.Tensor:
    """Mean 2-D spatial autocorrelation of the windowed spike-count images, normalised to 1 at zero
    shift: float64 ``[L1, L2]`` with zero shift at pixel ``(L1 // 2, L2 // 2)``."""
    l1, l2 = _sheet(shape)
    acorr = torch.fft.ifft2(power_spectrum(train, shape, window)).real
    return torch.roll(acorr / acorr[0, 0], (l1 // 2, l2 // 2), (0, 1))


def autocorrelation_peaks(acorr: torch.Tensor) -> torch.Tensor:
    """Shifts of the positive local maxima (8 neighbours, periodic) of a centred autocorrelation
    ``[L1, L2]``, zero shift left out, nearest first: float64 ``[K, 2]`` (rows, columns)."""
    l1, l2 = acorr.shape
    neighbours = torch.stack([torch.roll(acorr, (u, v), (0, 1)) for u in (-1, 0, 1) for v in (-1, 0, 1) if u or v])
    peak = (acorr > neighbours.max(0).values) & (acorr > 0)
    peak[l1 // 2, l2 // 2] = False
    shifts = torch.nonzero(peak).double() - torch.tensor([l1 // 2, l2 // 2], dtype=torch.float64)
    return shifts[torch.argsort(shifts.norm(dim=1), stable=True)]


def nearest_peak_count(acorr: torch.Tensor, tolerance: float = 0.2) -> int:
    """Autocorrelation peaks within ``1 + tolerance`` of the nearest one's distance: 6 for a
    triangular lattice, 4 for a square one (:func:`autocorrelation_peaks`)."""
    shifts = autocorrelation_peaks(acorr)
    if len(shifts) == 0:
        return 0
    dist = shifts.norm(dim=1)
    return int((dist <= (1 + tolerance) * dist[0]).sum())


def peak_angles(acorr: torch.Tensor, tolerance: float = 0.2) -> torch.Tensor:
    """Directions (degrees, in ``[0, 360)``) of the nearest autocorrelation peaks, sorted; 60 degrees
    apart for a triangular lattice. float64 ``[K]``."""
    shifts = autocorrelation_peaks(acorr)
    dist = shifts.norm(dim=1)
    near = shifts[dist <= (1 + tolerance) * dist[0]]
    return torch.sort(torch.rad2deg(torch.atan2(near[:, 0], near[:, 1])) % 360).values

