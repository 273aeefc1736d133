"""Real head-direction cells: session Mouse12-120806 of Peyrache et al. (2015), 19 cells of the
anterodorsal thalamus, as used by Yoon (2025, Sec. 4.5 and App. E).

``load()`` reads ``dataHD.mat`` (10 ms spike counts during wake exploration and the head angle),
checks its sha256 and returns an :class:`HDRecording` with the segments between tracking gaps.
The file is looked up, in this order, at an explicit path, under ``$CIRCUITLIB_DATA`` (``hd/`` or
directly), in ``../shared/data/hd/`` next to the repository, and in the download cache
(``download()`` fetches it there; it needs network access).

The HD-cell criteria of App. E: tuning curves in 3 degree bins smoothed by a 14.5 degree boxcar,
their Rayleigh vector length, and a null from circularly shifting each spike train against the
angle (99th percentile). ``smoothed_activity`` turns one stretch into smoothed rates with the
angular head velocity as input, for rate models (chapter 12, the head-direction section).
"""
from __future__ import annotations

import hashlib
import math
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.io import loadmat
from scipy.ndimage import gaussian_filter1d

from ..ring_geometry import wrap_angle
from .rates import RateActivity
from .spikes import SpikeTrain

FILENAME = "dataHD.mat"
SHA256 = "4cadf140878e97587631dd343b6a861329e89e9e9d59a7b6a10f23c1d162e62e"
URL = ("https://raw.githubusercontent.com/PeyracheLab/Class-Decoding/"
       "43ff5a6912b1f54f61ba131fe5ec9f0a362bd5cb/dataHD.mat")  # pinned commit; sha256 checked
ENV = "CIRCUITLIB_DATA"
BIN_WIDTH = 0.01  # s, the file's bins
REPO = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Where ``download`` puts the file: ``$XDG_CACHE_HOME/circuitlib/hd`` (default ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "circuitlib" / "hd"


def candidates(path: str | os.PathLike | None = None, filename: str = FILENAME) -> list[Path]:
    """The places searched for ``filename``, in order."""
    if path is not None:
        return [Path(path)]
    places = []
    if os.environ.get(ENV):
        root = Path(os.environ[ENV])
        places += [root / "hd" / filename, root / filename]
    return places + [REPO.parent / "shared" / "data" / "hd" / filename, cache_dir() / filename]


def find(path: str | os.PathLike | None = None, filename: str = FILENAME, fetch: str | None = None) -> Path:
    """The first existing candidate; otherwise a FileNotFoundError that lists the places and says
    how to get the file (``fetch``; default: how to get ``dataHD.mat``)."""
    for place in candidates(path, filename):
        if place.is_file():
            return place
    tried = "\n  ".join(str(p) for p in candidates(path, filename))
    fetch = fetch or (f"{FILENAME} is session Mouse12-120806 of Peyrache et al. (2015). Put it in one of "
                      f"these places, set {ENV} to its folder, pass path=..., or run "
                      "circuitlib.data.head_direction.download() on a machine with network access.")
    raise FileNotFoundError(f"{filename} was not found. Looked in:\n  {tried}\n{fetch}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(directory: str | os.PathLike | None = None) -> Path:
    """Fetch ``dataHD.mat`` from the PeyracheLab/Class-Decoding repository into ``directory``
    (default :func:`cache_dir`), verify its sha256 and return its path. Needs network access."""
    target = Path(directory) if directory is not None else cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / (FILENAME + ".part")
    urllib.request.urlretrieve(URL, tmp)
    if sha256(tmp) != SHA256:
        tmp.unlink()
        raise ValueError(f"the file downloaded from {URL} does not have the expected sha256; it was removed.")
    return tmp.replace(target / FILENAME)


@dataclass(frozen=True)
class HDRecording:
    """Wake exploration: ``counts`` [T, N] spikes per 10 ms bin, ``theta`` [T] head angle in
    [0, 2 pi), ``segments`` [(start, stop)] bin ranges between tracking gaps (never model history
    across one), ``preferred`` [N] the file's preferred directions (rad)."""

    counts: torch.Tensor
    theta: torch.Tensor
    segments: list[tuple[int, int]]
    preferred: torch.Tensor
    bin_width: float = BIN_WIDTH

    @property
    def n_neurons(self) -> int:
        return self.counts.shape[1]

    def stretches(self, fractions: tuple[float, ...] = (0.8, 0.1, 0.1)) -> tuple[list[SpikeTrain], ...]:
        """Consecutive parts holding ``fractions`` of the bins in time order, each a list of
        SpikeTrains (with theta), one per stretch between tracking gaps; a part boundary inside a
        segment cuts it in two. Every bin lands in exactly one part."""
        if not fractions or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-9:
            raise ValueError(f"fractions must be positive and sum to 1, got {fractions}.")
        total = self.counts.shape[0]
        bounds = [0, *[round(total * f) for f in np.cumsum(fractions)[:-1]], total]
        parts = []
        for lo, hi in zip(bounds, bounds[1:]):
            cuts = [(max(a, lo), min(b, hi)) for a, b in self.segments if max(a, lo) < min(b, hi)]
            parts.append([SpikeTrain.from_dense(self.counts[a:b], self.bin_width, self.theta[a:b].float())
                          for a, b in cuts])
        return tuple(parts)


def segments_from_times(times: np.ndarray, max_step: float = 0.05) -> list[tuple[int, int]]:
    """Bin ranges [start, stop) split wherever the time stamp jumps by more than ``max_step`` s
    (or runs backwards)."""
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError("times must be a non-empty 1-D array of time stamps (s).")
    step = np.diff(times)
    cuts = np.flatnonzero((step > max_step) | (step < 0)) + 1
    edges = [0, *cuts.tolist(), times.size]
    return [(a, b) for a, b in zip(edges, edges[1:])]


def load(path: str | os.PathLike | None = None, max_step: float = 0.05, check: bool = True) -> HDRecording:
    """Read, verify (``check``: sha256) and segment the wake part of ``dataHD.mat``."""
    file = find(path)
    if check and sha256(file) != SHA256:
        raise ValueError(f"{file} is not the expected {FILENAME} (sha256 differs): it is corrupt or another "
                         f"file; fetch a fresh copy with circuitlib.data.head_direction.download().")
    mat = loadmat(file)
    for key in ("Qrun", "angRun", "prefHD"):
        if key not in mat:
            raise ValueError(f"{file} has no variable {key!r}; it is not the Peyrache HD file this loader reads.")
    counts, ang = mat["Qrun"], mat["angRun"]
    if counts.ndim != 2 or ang.shape != (counts.shape[0], 2):
        raise ValueError(f"Qrun {counts.shape} and angRun {ang.shape} must be [T, N] and [T, 2].")
    theta = check_angles(torch.as_tensor(np.remainder(ang[:, 1], 2 * math.pi)))
    return HDRecording(torch.as_tensor(counts.astype(np.int64)), theta, segments_from_times(ang[:, 0], max_step),
                       torch.as_tensor(mat["prefHD"][:, 0] % (2 * math.pi)))


def check_angles(theta: torch.Tensor) -> torch.Tensor:
    """``theta`` [T] must be finite radians in [0, 2 pi)."""
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if theta.dim() != 1 or not torch.isfinite(theta).all():
        raise ValueError("head angles must be a finite 1-D array of radians.")
    if theta.min() < 0 or theta.max() >= 2 * math.pi:
        raise ValueError(f"head angles must lie in [0, 2 pi); got [{theta.min():.3f}, {theta.max():.3f}]. "
                         "Wrap them with numpy.remainder(theta, 2 * numpy.pi).")
    return theta


def tuning_curves(counts: torch.Tensor, theta: torch.Tensor, bin_width: float = BIN_WIDTH,
                  bin_deg: float = 3.0, smooth_deg: float = 14.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Firing rate (Hz) against head angle: ``counts`` [T, N], ``theta`` [T] rad -> centres [B] (rad)
    and curves [N, B], B = 360 / bin_deg, smoothed by a circular boxcar ``smooth_deg`` wide (the
    number of bins it spans is rounded to the nearest odd number). Angle bins never visited are NaN
    before smoothing and are skipped by it."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    theta = check_angles(theta)
    if counts.dim() != 2 or counts.shape[0] != theta.shape[0]:
        raise ValueError(f"counts must be [T, N] with T = len(theta) = {theta.shape[0]}, got {tuple(counts.shape)}.")
    n_bins = round(360 / bin_deg)
    index = torch.clamp((theta / (2 * math.pi) * n_bins).long(), max=n_bins - 1)
    occupancy = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, index, torch.ones_like(theta)) * bin_width
    spikes = torch.zeros(n_bins, counts.shape[1], dtype=torch.float64).index_add_(0, index, counts)
    width = max(1, 2 * round((smooth_deg / bin_deg - 1) / 2) + 1)
    kernel_offsets = torch.arange(width) - width // 2
    rolled_spikes = torch.stack([torch.roll(spikes, int(k), 0) for k in kernel_offsets]).sum(0)
    rolled_occ = torch.stack([torch.roll(occupancy, int(k), 0) for k in kernel_offsets]).sum(0)
    curves = (rolled_spikes / rolled_occ[:, None]).T
    centres = (torch.arange(n_bins, dtype=torch.float64) + 0.5) * 2 * math.pi / n_bins
    return centres, curves


def rayleigh(curves: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rayleigh vector length [N] (0: flat, 1: one angle) and its direction [N] in [0, 2 pi)."""
    total = curves.nansum(-1)
    x, y = (curves * centres.cos()).nansum(-1) / total, (curves * centres.sin()).nansum(-1) / total
    return torch.hypot(x, y), torch.remainder(torch.atan2(y, x), 2 * math.pi)


def hd_scores(counts: torch.Tensor, theta: torch.Tensor, segments=None, n_shuffles: int = 500,
              percentile: float = 99.0, bin_width: float = BIN_WIDTH, seed: int = 0) -> dict:
    """App. E's criterion: each cell's Rayleigh length against a null from circular shifts of its
    spike train relative to the angle (by at least 20 s). Returns ``length`` [N], ``threshold`` [N]
    (the null's percentile), ``is_hd`` [N] bool and ``preferred`` [N] (rad)."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    theta = check_angles(theta)
    centres, curves = tuning_curves(counts, theta, bin_width)
    length, preferred = rayleigh(curves, centres)
    gen = torch.Generator().manual_seed(seed)
    t = counts.shape[0]
    min_shift = min(t // 2, round(20.0 / bin_width))
    null = torch.empty(n_shuffles, counts.shape[1], dtype=torch.float64)
    for k in range(n_shuffles):
        shift = int(torch.randint(min_shift, t - min_shift + 1, (1,), generator=gen))
        null[k] = rayleigh(tuning_curves(torch.roll(counts, shift, 0), theta, bin_width)[1], centres)[0]
    threshold = torch.quantile(null, percentile / 100, dim=0)
    return dict(length=length, threshold=threshold, is_hd=length > threshold, preferred=preferred)


def ring_positions(preferred: torch.Tensor, n: int = 100) -> torch.Tensor:
    """Nearest of ``n`` evenly spaced ring positions (2 pi k / n) to each preferred direction [N];
    a position already taken goes to the next-nearest free one, cells in order of distance."""
    preferred = torch.remainder(torch.as_tensor(preferred, dtype=torch.float64), 2 * math.pi)
    if preferred.numel() > n:
        raise ValueError(f"{preferred.numel()} cells cannot take distinct places on a ring of {n}.")
    grid = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    dist = wrap_angle(preferred[:, None] - grid[None])
    out = torch.full((preferred.numel(),), -1, dtype=torch.long)
    taken = torch.zeros(n, dtype=torch.bool)
    for cell in torch.argsort(dist.abs().min(1).values):
        order = torch.argsort(dist[cell].abs())
        out[cell] = order[~taken[order]][0]
        taken[out[cell]] = True
    return out


def smoothed_activity(stretch: SpikeTrain, sigma: float = 0.1) -> RateActivity:
    """One stretch between tracking gaps as rates: ``x`` [T, N] the spike counts smoothed by a
    Gaussian of sd ``sigma`` seconds, in Hz; ``inputs`` [T, 1] the angular head velocity (rad/s,
    counter-clockwise positive), the derivative of the unwrapped angle smoothed the same way;
    ``dt`` the bin width. Edges repeat the first and last bins (nothing is read across a gap)."""
    if stretch.theta is None:
        raise ValueError("the stretch carries no head angle (theta); take stretches from HDRecording.stretches.")
    if not sigma > 0 or stretch.n_steps < 2:
        raise ValueError(f"need sigma > 0 s and a stretch of >= 2 bins, got {sigma} and {stretch.n_steps}.")
    width = sigma / stretch.dt
    counts = stretch.to_dense(torch.float64).numpy()
    rates = gaussian_filter1d(counts, width, axis=0, mode="nearest") / stretch.dt
    angle = gaussian_filter1d(np.unwrap(stretch.theta.double().numpy()), width, mode="nearest")
    velocity = np.gradient(angle, stretch.dt)
    return RateActivity(torch.from_numpy(rates), stretch.dt, inputs=torch.from_numpy(velocity)[:, None])
