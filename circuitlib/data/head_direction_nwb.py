"""The Peyrache et al. (2015) head-direction sessions as published in NWB on DANDI (dandiset 000056,
"Internally organized mechanisms of the head direction sense"), read with pynwb (optional:
``pip install "circuitlib[nwb]"``) into the same :class:`HDRecording` as ``head_direction.load()``.

Layout of the DANDI files (version 0.210812.1518), as listed for Mouse12-120806 and the other
sessions in magland/ai_generated_dandiset_summaries (dandisets/000056/summary_prompt.md) and as
written by the conversion code catalystneuro/buzsaki-lab-to-nwb
(buzsaki_lab_to_nwb/peyrache_code/peyrachemiscdatainterface.py):

* ``units``: ``id`` and ``spike_times`` (s) only: 75 sorted units in Mouse12-120806, with no
  region, location or cell-type column. The 19 HD cells of ``dataHD.mat`` are not marked; pick
  them with ``head_direction.hd_scores`` on the result and pass their ids as ``units``.
* No head-angle series (no CompassDirection). ``processing['behavior']['SubjectPosition']`` is a
  Position with two SpatialSeries, ``RedLED`` and ``BlueLED``, (x, y) per frame at 1250/32 Hz from
  t = 0, "Values of -1 indicate that LED detection failed". The head angle is taken, as in
  Peyrache's ``HeadDirection_Wrapper.m`` (dx, dy = whl columns 1-2 minus columns 3-4; the
  conversion puts columns 1-2 in RedLED, 3-4 in BlueLED), as atan2 of RedLED minus BlueLED.
* No ``epochs`` table. ``processing['behavior']['states']`` is a TimeIntervals with a ``label``
  column, "Awake", "Non-REM" or "REM" (from ``SleepState.states.mat``).

Assumptions, not checked against a downloaded file: that this angle equals the one in
``dataHD.mat`` (same formula and LEDs, but its origin and sense were not compared); that the
"Awake" rows cover the open-field exploration of ``dataHD.mat`` (they may also hold waking in the
home cage; bins there count only where the LEDs were tracked); that spike and tracking times
share one clock. A file with a head-angle series instead (CompassDirection or a 1-D SpatialSeries,
radians unless its unit says degrees) is read too: pass its name as ``tracking``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from ..ring_geometry import wrap_angle
from . import head_direction as hd
from .head_direction import BIN_WIDTH, HDRecording, check_angles, rayleigh, segments_from_times, tuning_curves

DANDISET, VERSION = "000056", "0.210812.1518"
ASSET = "sub-Mouse12/sub-Mouse12_ses-Mouse12-120806_behavior+ecephys.nwb"
FILENAME = Path(ASSET).name
DOWNLOAD = (f'dandi download "https://api.dandiarchive.org/api/dandisets/{DANDISET}/versions/{VERSION}'
            f'/assets/?path={ASSET.replace("+", "%2B")}"')
ALIASES = {"wake": ("wake", "awake")}  # epoch="wake" selects the DANDI label "Awake"


def find(path: str | os.PathLike | None = None) -> Path:
    """The NWB file: at ``path``, or where ``head_direction.candidates`` looks; otherwise a
    FileNotFoundError that says how to fetch it."""
    return hd.find(path, FILENAME, fetch=(
        f"Session Mouse12-120806 of DANDI:{DANDISET} ({ASSET}, large: it holds the raw broadband data) "
        f"can be fetched with the dandi CLI (pip install dandi):\n  {DOWNLOAD}\nthen pass path=..., or put "
        "it in one of the places above."))


def load_nwb(path: str | os.PathLike | None = None, bin_width: float = BIN_WIDTH, epoch="wake", units=None,
             max_step: float = 0.05, *, tracking: str = "SubjectPosition",
             leds: tuple[str, str] = ("RedLED", "BlueLED"), intervals: str = "states") -> HDRecording:
    """Bin a DANDI:000056 session into an :class:`HDRecording`: ``counts`` [T, N] spikes per
    ``bin_width`` s bin, ``theta`` [T] head angle (rad, [0, 2 pi)) at the bin centres, ``segments``
    the runs of kept bins, ``preferred`` [N] Rayleigh direction of the tuning curves (rad; NaN for
    a unit without spikes in the kept bins). ``path``: the .nwb file; None looks where
    ``head_direction.candidates`` does.

    ``epoch``: a label of the ``intervals`` table (looked up in ``nwb.intervals``, then in
    ``processing['behavior']``; rows are matched on its ``label`` column, else on ``tags``, case
    blind; "wake" also matches "Awake"), a sequence of (start, stop) s, or None (the whole tracked
    span). Overlapping or touching intervals are merged. ``units``: unit ids (``nwb.units.id``),
    default all, in the order given. ``tracking``: the Position holding the two ``leds``
    (front, back) in ``processing['behavior']``, or a head-angle series / CompassDirection there.

    Bins are half-open, laid from each interval's start; a last partial bin is left out, and
    spikes outside the bins are not counted. The angle at a bin centre is interpolated on the
    circle between the two tracking frames around it. A bin is dropped when either frame is
    untracked (an LED at -1 or NaN, or a NaN angle), lies more than ``max_step`` s from the centre,
    or does not exist (before the first or after the last frame). Segments split at every dropped
    bin and between intervals, so no segment spans a gap.
    """
    try:
        from pynwb import NWBHDF5IO
    except ImportError as err:
        raise ImportError('load_nwb needs pynwb, which is optional: pip install "circuitlib[nwb]"') from err
    file = find(path)
    with NWBHDF5IO(str(file), "r") as io:
        nwb = io.read()
        behavior = dict(nwb.processing["behavior"].data_interfaces) if "behavior" in nwb.processing else {}
        spikes = _spike_times(nwb, units, file)
        times, angle = _head_angle(behavior, tracking, leds)
        spans = _spans(nwb, behavior, epoch, intervals, times)

    # bins of all spans on one axis; the bin between two spans is a gap bin, never kept
    edges, is_bin = [], []
    for start, stop in spans:
        n = int(math.floor((stop - start) / bin_width + 1e-9))
        if n > 0:
            edges.append(start + bin_width * np.arange(n + 1))
            is_bin.append(np.r_[np.ones(n, bool), False])
    if not edges:
        raise ValueError(f"epoch {epoch!r} is empty: its intervals {spans.tolist()} hold no whole {bin_width} s bin.")
    edges, is_bin = np.concatenate(edges), np.concatenate(is_bin)[:-1]
    centres = (edges[:-1] + edges[1:]) / 2
    theta, keep = _angle_at(times, angle, centres, max_step)
    keep &= is_bin
    if not keep.any():
        raise ValueError(f"no bin of epoch {epoch!r} has tracking within {max_step} s on both sides; "
                         f"the tracking spans {times[0]:.1f}-{times[-1]:.1f} s.")
    counts = np.zeros((centres.size, len(spikes)), np.int64)
    for j, st in enumerate(spikes):
        index = np.searchsorted(edges, st, side="right") - 1
        index = index[(index >= 0) & (index < centres.size)]
        counts[:, j] = np.bincount(index, minlength=centres.size)
    counts, theta = torch.as_tensor(counts[keep]), check_angles(torch.as_tensor(theta[keep]))
    segments = segments_from_times(np.flatnonzero(keep).astype(np.float64), max_step=1.5)
    angle_bins, curves = tuning_curves(counts, theta, bin_width)
    _, preferred = rayleigh(curves, angle_bins)
    return HDRecording(counts, theta, segments, preferred, bin_width)


def _times(series) -> np.ndarray:
    """Frame times [S] (s) of a TimeSeries, from its timestamps or its starting time and rate."""
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:], np.float64)
    return series.starting_time + np.arange(len(series.data)) / series.rate


def _head_angle(behavior: dict, tracking: str, leds) -> tuple[np.ndarray, np.ndarray]:
    """Frame times [S] (s) and head angle [S] (rad, NaN where untracked)."""
    if tracking not in behavior:
        raise ValueError(f"processing['behavior'] has no {tracking!r}; it holds {sorted(behavior)}. "
                         f"Pass tracking=<the head-angle series or the Position with the LEDs>.")
    found = behavior[tracking]
    series = dict(getattr(found, "spatial_series", None) or {tracking: found})
    if all(name in series for name in leds):
        front, back = (series[name] for name in leds)
        times = _times(front)
        xy = [np.asarray(s.data[:], np.float64) for s in (front, back)]
        if not np.array_equal(times, _times(back)) or any(d.shape != (times.size, 2) for d in xy):
            raise ValueError(f"LEDs {leds} must be (x, y) series [S, 2] on the same frames.")
        bad = np.any([(d == -1) | ~np.isfinite(d) for d in xy], axis=(0, 2))
        angle = np.arctan2(xy[0][:, 1] - xy[1][:, 1], xy[0][:, 0] - xy[1][:, 0])
        angle[bad] = np.nan
    elif len(series) == 1:
        s = next(iter(series.values()))
        angle = np.asarray(s.data[:], np.float64).squeeze()
        if angle.ndim != 1:
            raise ValueError(f"{tracking!r} must be a 1-D head angle, got shape {np.shape(s.data)}.")
        angle = angle * (s.conversion if np.isfinite(s.conversion) else 1.0)
        angle = np.deg2rad(angle) if str(s.unit).lower().startswith("deg") else angle
        times = _times(s)
    else:
        raise ValueError(f"{tracking!r} holds the series {sorted(series)}, not both LEDs {list(leds)} nor "
                         f"one head-angle series: pass leds=(front, back) from these names.")
    if times.size < 2 or np.any(np.diff(times) <= 0):
        raise ValueError(f"{tracking!r} needs at least 2 frames with increasing times.")
    return times, angle


def _spans(nwb, behavior: dict, epoch, intervals: str, times: np.ndarray) -> np.ndarray:
    """The epoch as sorted, merged [K, 2] (start, stop) s."""
    if epoch is None:
        spans = np.array([[times[0], times[-1]]])
    elif isinstance(epoch, str):
        tables = {**{k: v for k, v in behavior.items() if "start_time" in getattr(v, "colnames", ())},
                  **dict(nwb.intervals or {})}
        if intervals not in tables:
            raise ValueError(f"the file has no interval table {intervals!r}; it holds {sorted(tables)} "
                             f"(nwb.intervals and processing['behavior']). Pass intervals=<one of these>.")
        table = tables[intervals]
        column = "label" if "label" in table.colnames else "tags" if "tags" in table.colnames else None
        if column is None:
            raise ValueError(f"interval table {intervals!r} has neither a 'label' nor a 'tags' column.")
        labels = [[str(x).lower() for x in (v if column == "tags" else [v])] for v in table[column][:]]
        wanted = ALIASES.get(epoch.lower(), (epoch.lower(),))
        rows = [i for i, row in enumerate(labels) if set(row) & set(wanted)]
        if not rows:
            raise ValueError(f"no row of {intervals!r} has {column} {epoch!r}; present: "
                             f"{sorted({x for row in labels for x in row})}.")
        spans = np.stack([np.asarray(table["start_time"][:], np.float64)[rows],
                          np.asarray(table["stop_time"][:], np.float64)[rows]], 1)
    else:
        spans = np.asarray(epoch, np.float64).reshape(-1, 2)
    spans = spans[np.argsort(spans[:, 0])]
    merged = [list(spans[0])]
    for start, stop in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return np.array(merged)


def _spike_times(nwb, units, file: Path) -> list[np.ndarray]:
    """Spike times (s) of the selected units, in the order of ``units``."""
    if nwb.units is None or len(nwb.units) == 0:
        raise ValueError(f"{file} has no units (nwb.units is empty): nothing to bin.")
    ids = [int(i) for i in nwb.units.id[:]]
    rows = list(range(len(ids))) if units is None else []
    if units is not None:
        missing = [u for u in units if int(u) not in ids]
        if missing or not len(units):
            raise ValueError(f"units {list(units)} must be a non-empty list of unit ids; missing {missing}; "
                             f"the file has ids {ids[0]}..{ids[-1]} ({len(ids)} units).")
        rows = [ids.index(int(u)) for u in units]
    return [np.asarray(nwb.units["spike_times"][r], np.float64) for r in rows]


def _angle_at(times: np.ndarray, angle: np.ndarray, centres: np.ndarray, max_step: float):
    """Angle [T] (rad, [0, 2 pi)) at ``centres`` [T], interpolated on the circle between the two
    frames around each, and whether both frames are tracked and within ``max_step`` s [T] bool."""
    k = np.searchsorted(times, centres, side="right") - 1
    ok = (k >= 0) & (k < times.size - 1)
    k = np.clip(k, 0, times.size - 2)
    t0, t1, a0, a1 = times[k], times[k + 1], angle[k], angle[k + 1]
    ok &= np.isfinite(a0) & np.isfinite(a1) & (centres - t0 <= max_step) & (t1 - centres <= max_step)
    step = wrap_angle(a1 - a0)
    theta = np.remainder(a0 + (centres - t0) / (t1 - t0) * step, 2 * math.pi)
    theta[~ok | (theta >= 2 * math.pi)] = 0.0  # rounding can give exactly 2 pi
    return theta, ok
