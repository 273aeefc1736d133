"""Head-direction data: file lookup and checks, gap segments, tuning curves and the HD criterion."""
import math

import numpy as np
import pytest
import torch

from circuitlib.data import head_direction as hd


def real_file():
    try:
        return hd.find()
    except FileNotFoundError as err:
        pytest.skip(f"dataHD.mat is not on this machine: {err}")


def test_a_missing_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv(hd.ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="CIRCUITLIB_DATA.*download"):
        hd.find(tmp_path / "nowhere.mat")
    assert hd.candidates()[0] == tmp_path / "hd" / hd.FILENAME


def test_a_corrupt_file_is_refused(tmp_path):
    bad = tmp_path / hd.FILENAME
    bad.write_bytes(real_file().read_bytes()[:1000])
    with pytest.raises(ValueError, match="sha256"):
        hd.load(bad)


def test_segments_split_at_gaps_and_backward_jumps():
    times = np.array([0.0, 0.01, 0.02, 1.0, 1.01, 0.5, 0.51])
    assert hd.segments_from_times(times) == [(0, 3), (3, 5), (5, 7)]


def test_the_real_recording_has_19_cells_and_no_gap_inside_a_segment():
    rec = hd.load(real_file())
    assert rec.counts.shape == (212078, 19) and rec.theta.shape == (212078,)
    assert 0 <= rec.theta.min() and rec.theta.max() < 2 * math.pi
    assert rec.segments[0][0] == 0 and rec.segments[-1][1] == 212078 and len(rec.segments) == 113
    from scipy.io import loadmat
    times = loadmat(real_file())["angRun"][:, 0]
    for a, b in rec.segments:
        step = np.diff(times[a:b])
        assert np.all((step >= 0) & (step <= 0.05))


def test_all_19_cells_pass_the_hd_criterion():
    rec = hd.load(real_file())
    scores = hd.hd_scores(rec.counts, rec.theta, n_shuffles=50)
    assert int(scores["is_hd"].sum()) == 19
    diff = torch.remainder(scores["preferred"] - rec.preferred + math.pi, 2 * math.pi) - math.pi
    assert diff.abs().max() < math.radians(20)              # the file's own preferred directions


def test_tuning_of_a_synthetic_cell_that_fires_at_one_angle():
    theta = torch.linspace(0, 2 * math.pi, 3601)[:-1].repeat(5)
    counts = torch.stack([(torch.remainder(theta - math.pi + 0.1, 2 * math.pi) < 0.2).double(),
                          torch.ones_like(theta)], 1)
    centres, curves = hd.tuning_curves(counts, theta)
    assert curves.shape == (2, 120)
    length, preferred = hd.rayleigh(curves, centres)
    assert preferred[0] == pytest.approx(math.pi, abs=0.03) and length[0] > 0.9 and length[1] < 1e-6


def test_bad_angles_are_refused():
    with pytest.raises(ValueError, match=r"\[0, 2 pi\)"):
        hd.tuning_curves(torch.ones(4, 2), torch.tensor([0.0, 1.0, 7.0, 2.0]))
    with pytest.raises(ValueError, match="T = len"):
        hd.tuning_curves(torch.ones(3, 2), torch.tensor([0.0, 1.0, 2.0, 3.0]))


def test_ring_positions_are_nearest_and_distinct():
    pos = hd.ring_positions(torch.tensor([0.0, 0.01, 2 * math.pi - 0.01, math.pi]), n=100)
    assert pos.unique().numel() == 4 and pos[3] == 50
    assert set(pos[:3].tolist()) == {0, 1, 99}
    with pytest.raises(ValueError, match="distinct"):
        hd.ring_positions(torch.zeros(5), n=4)


def test_stretches_split_in_time_at_segment_gaps_and_keep_every_bin():
    counts = torch.arange(100).repeat(2, 1).T % 3
    theta = torch.linspace(0, 6, 100, dtype=torch.float64)
    rec = hd.HDRecording(counts, theta, [(0, 30), (30, 75), (75, 100)], torch.zeros(2))
    parts = rec.stretches((0.5, 0.2, 0.3))
    assert [[s.n_steps for s in part] for part in parts] == [[30, 20], [20], [5, 25]]
    joined = torch.cat([s.to_dense(torch.int64) for part in parts for s in part])
    assert torch.equal(joined, counts)
    assert torch.allclose(torch.cat([s.theta for part in parts for s in part]).double(), theta, atol=1e-6)
    with pytest.raises(ValueError, match="sum to 1"):
        rec.stretches((0.5, 0.2))
