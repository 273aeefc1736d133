"""NWB reader for DANDI:000056: a small file written here in the DANDI layout (units, two LEDs in
processing/behavior/SubjectPosition with -1 and NaN frames, a 'states' table), then the binning,
angles, gap segments, preferred directions and error messages are checked against direct numpy."""
import math
import sys
from datetime import datetime, timezone

import numpy as np
import pytest
import torch

from circuitlib.data import head_direction_nwb as hdn

pynwb = pytest.importorskip("pynwb")
from pynwb.behavior import CompassDirection, Position, SpatialSeries  # noqa: E402
from pynwb.epoch import TimeIntervals  # noqa: E402

RATE, DURATION, BW = 1250 / 32, 200.0, 0.01  # the DANDI tracking rate (Hz), s, s
STATES = [(0, 20, "Non-REM"), (20, 110, "Awake"), (110, 130, "REM"), (130, 200, "Awake")]
UNITS = {3: 2.0, 7: 4.5, 11: None}  # id: preferred direction (rad), None = untuned
LOST = slice(round(60 * RATE), round(63 * RATE))  # frames where both LEDs failed (-1)
NAN_FRAMES = [round(t * RATE) for t in (30.0, 30.1, 75.0, 150.0)]  # one LED NaN


def true_angle(t):
    return 0.9 * t + 1.5 * np.sin(0.31 * t)


def spike_times(rng, mu, dt=1e-3):
    t = np.arange(0, DURATION, dt)
    rate = 5.0 if mu is None else 1 + 40 * np.exp(4 * (np.cos(true_angle(t) - mu) - 1))
    fire = rng.random(t.size) < rate * dt
    return np.sort(t[fire] + rng.random(fire.sum()) * dt)


def nwbfile():
    return pynwb.NWBFile(session_description="test", identifier="test",
                         session_start_time=datetime(2012, 8, 6, tzinfo=timezone.utc))


def write(path, nwb):
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.fixture(scope="module")
def dandi_like(tmp_path_factory):
    """Returns (path, spikes {id: times})."""
    rng = np.random.default_rng(0)
    nwb = nwbfile()
    spikes = {uid: spike_times(rng, mu) for uid, mu in UNITS.items()}
    for uid, st in spikes.items():
        nwb.add_unit(spike_times=st, id=uid)
    t = np.arange(int(DURATION * RATE)) / RATE
    centre = np.stack([25 + 10 * np.cos(0.05 * t), 23 + 10 * np.sin(0.07 * t)], 1)
    head = 2.0 * np.stack([np.cos(true_angle(t)), np.sin(true_angle(t))], 1)
    red, blue = centre + head, centre - head
    red[LOST] = blue[LOST] = -1
    blue[NAN_FRAMES, 0] = np.nan
    behavior = nwb.create_processing_module("behavior", "contains behavioral data")
    position = Position(name="SubjectPosition")
    for name, xy in (("RedLED", red), ("BlueLED", blue)):
        position.add_spatial_series(SpatialSeries(name=name, description="(x,y); -1: LED detection failed",
                                                  data=xy, reference_frame="Unknown", conversion=1e-2,
                                                  starting_time=0.0, rate=RATE))
    behavior.add(position)
    states = TimeIntervals(name="states", description="Sleep states of animal.")
    states.add_column(name="label", description="Sleep state.")
    for start, stop, label in STATES:
        states.add_row(start_time=float(start), stop_time=float(stop), label=label)
    behavior.add(states)
    return write(tmp_path_factory.mktemp("nwb") / "session.nwb", nwb), spikes


def expected_bins():
    """Bin edges of the two Awake spans, which bins keep tracking (both frames around the centre
    tracked), and the segments: computed here frame by frame, independently of the reader."""
    valid = np.ones(int(DURATION * RATE), bool)
    valid[LOST] = False
    valid[NAN_FRAMES] = False
    spans = []
    for start, stop, label in STATES:
        if label == "Awake":
            edges = start + BW * np.arange(round((stop - start) / BW) + 1)
            centres = (edges[:-1] + edges[1:]) / 2
            before = np.minimum(np.floor(centres * RATE).astype(int), valid.size - 2)
            keep = valid[before] & valid[before + 1] & (centres < (valid.size - 1) / RATE)
            spans.append((edges, centres, keep))
    segments, offset = [], 0
    for _, _, keep in spans:
        run = None
        for i, k in enumerate(keep):
            if k and run is None:
                run = offset + int(keep[:i].sum())
            if not k and run is not None:
                segments.append((run, offset + int(keep[:i].sum())))
                run = None
        if run is not None:
            segments.append((run, offset + int(keep.sum())))
        offset += int(keep.sum())
    return spans, segments


def test_counts_angles_segments_and_preferred_match_direct_computation(dandi_like):
    path, spikes = dandi_like
    rec = hdn.load_nwb(path)
    spans, segments = expected_bins()
    counts = np.concatenate([np.stack([np.histogram(spikes[u], edges)[0] for u in UNITS], 1)[keep]
                             for edges, _, keep in spans])
    centres = np.concatenate([c[keep] for _, c, keep in spans])
    assert rec.counts.dtype == torch.int64
    np.testing.assert_array_equal(rec.counts.numpy(), counts)
    error = np.remainder(rec.theta.numpy() - true_angle(centres) + math.pi, 2 * math.pi) - math.pi
    assert np.abs(error).max() < 1e-3
    assert rec.segments == segments
    assert len(segments) == 2 + 5  # two Awake spans, split by the -1 block and 4 NaN frames
    for a, b in rec.segments:  # no segment crosses a gap: its bins are consecutive
        assert np.allclose(np.diff(centres[a:b]), BW)
        assert not np.any((centres[a:b] > 60) & (centres[a:b] < 63))
    pref = rec.preferred.numpy()
    for j, mu in enumerate(UNITS.values()):
        if mu is not None:
            assert abs(np.remainder(pref[j] - mu + math.pi, 2 * math.pi) - math.pi) < math.radians(5)


def test_units_are_chosen_by_id_in_the_order_given(dandi_like):
    rec = hdn.load_nwb(dandi_like[0], units=[11, 3])
    full = hdn.load_nwb(dandi_like[0])
    np.testing.assert_array_equal(rec.counts.numpy(), full.counts.numpy()[:, [2, 0]])
    with pytest.raises(ValueError, match="missing \\[5\\].*3..11"):
        hdn.load_nwb(dandi_like[0], units=[5])


def test_missing_names_list_what_the_file_has(dandi_like):
    path = dandi_like[0]
    with pytest.raises(ValueError, match="HeadDirection.*SubjectPosition.*states"):
        hdn.load_nwb(path, tracking="HeadDirection")
    with pytest.raises(ValueError, match="BlueLED.*RedLED"):
        hdn.load_nwb(path, leds=("GreenLED", "BlueLED"))
    with pytest.raises(ValueError, match="epochs.*states"):
        hdn.load_nwb(path, intervals="epochs")
    with pytest.raises(ValueError, match="running.*awake.*non-rem.*rem"):
        hdn.load_nwb(path, epoch="running")
    with pytest.raises(ValueError, match="empty"):
        hdn.load_nwb(path, epoch=[(50.0, 50.005)])


def test_a_compass_series_with_a_time_gap_and_nan_angles(tmp_path):
    """The generic layout: a CompassDirection of angles in (-pi, pi] with timestamps that jump
    over 40-45 s, NaN angles, and the epoch in nwb.epochs by tag."""
    nwb = nwbfile()
    nwb.add_unit(spike_times=np.linspace(0.5, 99.5, 500), id=0)
    t = np.arange(0, 100, 0.02)
    t = t[(t < 40) | (t > 45)]
    angle = np.remainder(true_angle(t) + math.pi, 2 * math.pi) - math.pi
    angle[[100, 101, 3000]] = np.nan
    compass = CompassDirection(name="HeadDirection")
    compass.add_spatial_series(SpatialSeries(name="angle", description="head angle", data=angle,
                                             timestamps=t, reference_frame="arena", unit="radians"))
    nwb.create_processing_module("behavior", "behavior").add(compass)
    nwb.add_epoch(start_time=0.0, stop_time=100.0, tags=["wake"])
    rec = hdn.load_nwb(write(tmp_path / "c.nwb", nwb), tracking="HeadDirection", intervals="epochs")
    centres = (np.arange(10000) + 0.5) * BW
    keep = []
    for c in centres:  # both frames around the centre exist, are finite and within 0.05 s
        before, after = t[t <= c], t[t > c]
        keep.append(before.size > 0 and after.size > 0 and c - before[-1] <= 0.05 and after[0] - c <= 0.05
                    and np.isfinite(angle[before.size - 1]) and np.isfinite(angle[before.size]))
    keep = np.array(keep)
    assert rec.theta.shape[0] == keep.sum()
    error = np.remainder(rec.theta.numpy() - true_angle(centres[keep]) + math.pi, 2 * math.pi) - math.pi
    assert np.abs(error).max() < 1e-3
    kept = centres[keep]
    assert len(rec.segments) == 4 and all(np.allclose(np.diff(kept[a:b]), BW) for a, b in rec.segments)
    assert [round(kept[a], 3) for a, _ in rec.segments][1:3] == [2.045, 45.025]  # after the NaNs, the gap
    assert rec.counts.sum() == np.histogram(np.linspace(0.5, 99.5, 500), np.arange(10001) * BW)[0][keep].sum()


def test_missing_file_and_missing_pynwb_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="(?s)nowhere.nwb.*dandi download.*000056"):
        hdn.load_nwb(tmp_path / "nowhere.nwb")
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(ImportError, match="circuitlib\\[nwb\\]"):
        hdn.load_nwb(tmp_path / "nowhere.nwb")


def test_a_file_without_units_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no units"):
        hdn.load_nwb(write(tmp_path / "empty.nwb", nwbfile()), epoch=None)
