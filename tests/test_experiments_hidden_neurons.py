"""Partially observed rings and recorded HD cells: the bookkeeping around the ring GNN fits."""
import math

import pytest
import torch

from circuitlib import metrics
from circuitlib.experiments import head_direction, hidden_neurons
from circuitlib.infer.ring_gnn import interpolate_ring_matrix
from circuitlib.ring_geometry import wrap_angle
from circuitlib.sim import ring


def test_picked_neurons_are_disjoint_sorted_and_reproducible():
    observed, hidden = hidden_neurons.pick_neurons(100, 60, 20, seed=3)
    assert len(observed) == 60 and len(hidden) == 20
    assert not set(observed.tolist()) & set(hidden.tolist())
    assert torch.equal(observed, observed.sort().values)
    assert torch.equal(observed, hidden_neurons.pick_neurons(100, 60, 20, seed=3)[0])
    with pytest.raises(ValueError, match="N_o \\+ N_h"):
        hidden_neurons.pick_neurons(100, 90, 20, seed=0)


def test_configurations_skip_hidden_nodes_on_a_fully_observed_ring():
    configs = hidden_neurons.configurations(100, [60, 100], [0, 10], seeds=[0, 1])
    assert (100, 10, 0) not in configs and (100, 0, 1) in configs and len(configs) == 6


def test_shuffling_rows_breaks_the_interpolated_truth():
    w = ring.local_excitation_broad_inhibition()
    observed, _ = hidden_neurons.pick_neurons(100, 80, 0, seed=0)
    sub = w[observed][:, observed]
    clean = metrics.inference_error(w, interpolate_ring_matrix(sub, observed, 100)).delta
    shuffled = metrics.inference_error(w, hidden_neurons.shuffled_control(sub, observed, 100, seed=0)).delta
    assert clean < 0.1 and shuffled > clean + 0.3


def test_summaries_and_table_average_over_seeds():
    runs = [dict(n_observed=60, n_hidden=0, seed=s, bps=b, delta=d, delta_observed=d) for s, b, d in
            [(0, 0.5, 0.2), (1, 0.7, 0.4)]]
    (mean, sd), = hidden_neurons.summarise(runs, "bps").values()
    assert mean == pytest.approx(0.6) and sd == pytest.approx(math.sqrt(0.02))
    assert "| 60 | 0 | 0.600 ± 0.141 | 0.300 ± 0.141 |" in hidden_neurons.markdown(runs)


def test_first_stretches_take_whole_stretches_up_to_the_budget():
    stretches = ring.simulate("lnp", duration=0.3, seed=0).split((0.2, 0.3, 0.5))    # 600, 900, 1500 steps
    assert [s.n_steps for s in head_direction.first_stretches(stretches, 1000)] == [600, 900]
    assert len(head_direction.first_stretches(stretches, None)) == 3


def test_hidden_positions_avoid_the_cells_and_refuse_too_many():
    cells = torch.tensor([0, 10, 50])
    hidden = head_direction.hidden_positions(cells, 5, 100, seed=0)
    assert len(hidden) == 5 and not set(hidden.tolist()) & {0, 10, 50}
    with pytest.raises(ValueError, match="free positions"):
        head_direction.hidden_positions(cells, 98, 100, seed=0)


def test_the_contrast_null_is_centred_below_a_ring_shaped_coupling():
    angles = torch.linspace(0, 2 * math.pi, 20, dtype=torch.float64)[:-1]
    diff = wrap_angle(angles[:, None] - angles[None])
    w = torch.cos(diff)                                                    # local excitation, distant inhibition
    null = head_direction.contrast_null(w, angles, n_permutations=200, seed=0)
    assert metrics.coupling_contrast(w, angles) > null.quantile(0.99)
    assert head_direction.largest_angle_gap(torch.tensor([0.1, 6.2], dtype=torch.float64),
                                             torch.tensor([6.2, 0.1], dtype=torch.float64)) == pytest.approx(
        math.degrees(2 * math.pi - 6.1), abs=1e-6)
