"""Ring geometry: distances, offsets, aligned rows and profiles, on whole rings and observed subsets."""
import math

import numpy as np
import pytest
import torch

from circuitlib import ring_geometry as rg
from circuitlib.sim import ring


def test_wrap_angle_keeps_the_array_type_and_lands_in_minus_pi_to_pi():
    x = torch.tensor([0.0, math.pi, -math.pi, 3 * math.pi / 2, 7.0], dtype=torch.float64)
    wrapped = rg.wrap_angle(x)
    assert torch.allclose(wrapped, torch.tensor([0.0, -math.pi, -math.pi, -math.pi / 2, 7.0 - 2 * math.pi],
                                                dtype=torch.float64))
    assert isinstance(rg.wrap_angle(x.numpy()), np.ndarray)
    assert np.allclose(rg.wrap_angle(x.numpy()), wrapped.numpy())


def test_ring_distance_is_symmetric_and_wraps():
    d = rg.ring_distance(10)
    assert d[0, 9] == 1 and d[0, 5] == 5 and torch.equal(d, d.T) and d.dtype == torch.float64
    with pytest.raises(ValueError, match="at least 2"):
        rg.ring_distance(1)


def test_positions_are_checked_with_a_sentence_that_says_what_is_wrong():
    assert torch.equal(rg.check_positions(None, 5)[0], torch.arange(5))
    with pytest.raises(ValueError, match="pass positions"):
        rg.check_positions(None, 5, ring_size=10)
    with pytest.raises(ValueError, match="distinct"):
        rg.check_positions([0, 0, 1], 3, ring_size=10)
    with pytest.raises(ValueError, match="one entry per neuron"):
        rg.check_positions([0, 1], 3, ring_size=10)
    with pytest.raises(ValueError, match="integer"):
        rg.check_positions([0.5, 1.0], 2, ring_size=10)


def test_aligned_rows_of_a_circulant_matrix_are_identical_and_a_subset_leaves_gaps():
    w = ring.mexican_hat(20, sigma1=2.0, sigma2=2.01)
    rows = rg.aligned_rows(w)
    assert rows.shape == (20, 20) and rows[:, 0].isnan().all()
    assert torch.allclose(rows[:, 1:], rows[:1, 1:].expand(20, -1))
    positions = torch.tensor([0, 3, 7, 12])
    sub = rg.aligned_rows(w[positions][:, positions], positions, ring_size=20)
    assert sub.shape == (4, 20) and (~sub.isnan()).sum() == 4 * 3               # three partners per row
    assert sub[0, 3] == w[0, 3] and sub[1, (0 - 3) % 20] == w[3, 0]


def test_mean_profile_counts_the_pairs_at_each_offset():
    w = torch.arange(16, dtype=torch.float64).reshape(4, 4)
    profile, counts = rg.mean_profile(w)
    assert counts.tolist() == [0, 4, 4, 4]
    assert profile[1] == pytest.approx(float(torch.stack([w[i, (i + 1) % 4] for i in range(4)]).mean()))
    assert rg.signed_offsets(5).tolist() == [-2, -1, 0, 1, 2]


def test_profile_image_is_the_centred_mean_profile_with_the_diagonal_blank():
    shape = (3, 4)
    w = torch.arange(144.0).view(12, 12)
    image = rg.profile_image(w, shape)
    expected = rg.centred_image(rg.mean_profile(w.double(), None, shape)[0], shape)
    assert image.shape == (3, 4) and torch.isnan(image[1, 2])
    keep = ~torch.isnan(image)
    assert torch.equal(image[keep], expected[keep])
