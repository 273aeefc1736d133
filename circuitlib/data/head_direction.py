"""Real head-direction cells: session Mouse12-120806 of Peyrache et al. (2015), 19 cells of the
anterodorsal thalamus, as used by Yoon (2025, Sec. 4.5 and App. E).

``load()`` reads ``dataHD.mat`` (10 ms spike counts during wake exploration and the head angle),
checks its sha256 and returns an :class:`HDRecording` with the segments between tracking gaps.
The file is looked up, in this order, at an explicit path, under ``$CIRCUITLIB_DATA`` (``hd/`` or
directly), in ``../shared/data/hd/`` next to the repository, and in the download cache
(``download()`` fetches it there; it needs network access).

The HD-cell criteria of App. E: tuning curves in 3 degree bins smoothed by a 14.5 degree boxcar,
their Rayleigh vector length, and a null from circularly shifting each spike train against the
angle (99th percentile).
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


def candidates(path: str | os.PathLike | None = None) -> list[Path]:
    """The places searched for ``dataHD.mat``, in order."""
    if path is not None:
        return [Path(path)]
    places = []
    if os.environ.get(ENV):
        root = Path(os.environ[ENV])
        places += [root / "hd" / FILENAME, root / FILENAME]
    return places + [REPO.parent / "shared" / "data" / "hd" / FILENAME, cache_dir() / FILENAME]


def find(path: str | os.PathLike | None = None) -> Path:
    """The first existing candidate; otherwise a FileNotFoundError that says where to put the file."""
    for place in candidates(path):
        if place.is_file():
            return place
    tried = "\n  ".join(str(p) for p in candidates(path))
    raise FileNotFoundError(
        f"{FILENAME} (Peyrache et al. 2015, session Mouse12-120806) was not found. Looked in:\n  {tried}\n"
        f"Put the file in one of these places, set {ENV} to its folder, pass path=..., or run "
        f"circuitlib.data.head_direction.download() on a machine with network access.")


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
    dist = torch.remainder(preferred[:, None] - grid[None] + math.pi, 2 * math.pi) - math.pi
    out = torch.full((preferred.numel(),), -1, dtype=torch.long)
    taken = torch.zeros(n, dtype=torch.bool)
    for cell in torch.argsort(dist.abs().min(1).values):
        order = torch.argsort(dist[cell].abs())
        out[cell] = order[~taken[order]][0]
        taken[out[cell]] = True
    return out
