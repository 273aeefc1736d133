"""Experiment rows of Supp. Tables 1-2, the L1 warm-up, SNR and the procedural field."""
import math

import pytest
import torch

from circuitlib.experiments import assembly as ex
from circuitlib.infer.assembly_gnn import AssemblyGNN
from circuitlib.infer.assembly_training import Regularisation, fit_assembly_gnn


def test_each_row_is_validated_and_scales_down():
    assert len({e.name for e in ex.EXPERIMENTS}) == 8
    small = ex.SPARSE.scaled(n_neurons=60, n_frames=50)
    assert (small.density, small.zeta, small.n_neurons) == (0.05, 1e-5, 60)
    sim = small.simulate(seed=0, burn_in=10)
    off = ~torch.eye(60, dtype=torch.bool)
    assert 0.02 < (sim.weights[off] != 0).float().mean() < 0.08
    assert ex.RECEPTORS.regularisation == Regularisation(gamma=500.0)
    for bad in (dict(density=0.0), dict(psi_input="receiver"), dict(l1_warmup=2.0), dict(zeta=-1.0)):
        with pytest.raises(ValueError):
            ex.BASELINE.scaled(**bad)
    with pytest.raises(ValueError, match="field"):
        ex.EXTERNAL_INPUTS.scaled(n_neurons=8, n_frames=5).simulate()


def test_many_types_are_32_distinct_update_functions():
    types = ex.many_types()
    assert len(types) == 32
    assert len({(float(a), float(b)) for a, b in zip(types.tau, types.s)}) == 32
    assert float(types.tau.min()) == 0.25 and float(types.s.max()) == 8.0


def test_l1_weight_is_off_at_the_start_of_its_warm_up():
    x = torch.randn(64, 6)
    dxdt = torch.randn(64, 6)
    fits = {}
    for name, reg, warm in (("none", Regularisation(), 0), ("warm", Regularisation(zeta=10.0), 5),
                            ("cold", Regularisation(zeta=10.0), 0)):
        model = AssemblyGNN(6, seed=0)
        fit_assembly_gnn(model, x, dxdt, 1, batch_size=8, reg=reg, l1_warmup=warm, progress=False)
        fits[name] = model.weight.detach()
    assert torch.equal(fits["none"], fits["warm"])       # step 0 of the warm-up: no L1 yet
    assert not torch.equal(fits["none"], fits["cold"])


def test_snr_of_a_slow_signal_with_white_noise():
    t = torch.arange(20_000, dtype=torch.float64)
    signal = torch.sin(2 * math.pi * t / 500)[:, None].repeat(1, 3)
    noisy = signal + 0.1 * torch.randn(20_000, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    # power 0.5 against noise 0.01 * (1 - 1/9) after smoothing over 9 frames: about 17.5 dB
    assert ex.snr_db(noisy) == pytest.approx(10 * math.log10(0.5 / (0.01 * 8 / 9)), abs=0.3)
    with pytest.raises(ValueError, match="odd"):
        ex.snr_db(noisy, width=4)


def test_grating_field_modulates_grid_neurons_only_and_moves():
    pos = ex.grid_positions(4, 3)
    assert pos.shape == (19, 2) and torch.isnan(pos[16:]).all()
    omega = ex.moving_grating(pos, 200, amplitude=0.4)
    assert omega.shape == (200, 19)
    assert torch.all(omega[:, 16:] == 1)
    assert 0.6 - 1e-6 <= omega[:, :16].min() and omega[:, :16].max() <= 1.4 + 1e-6
    assert not torch.allclose(omega[0, :16], omega[100, :16])
    with pytest.raises(ValueError, match="amplitude"):
        ex.moving_grating(pos, 10, amplitude=1.5)


def test_pipeline_scores_both_stages_and_tables_read_the_paper():
    from circuitlib.experiments import assembly_runs as runs
    sim = ex.BASELINE.scaled(n_neurons=12, n_frames=600).simulate(seed=0, device="cpu")
    run = runs.fit_assembly(sim, record=2, n_steps=20, hidden=8, device="cpu")
    assert set(run.scores) == {"w_r2_adam", "w_slope_adam", "w_r2", "w_slope", "seconds"}
    assert run.adam is not run.estimator and run.adam.gain_leak is None and run.estimator.gain_leak is not None
    assert [step for step, _ in run.curve] == [10, 20]
    assert run.scores["w_r2"] == runs.w_scores(sim, run.weights)[0]
    table = runs.beside_paper([("W R^2", 0.5, ex.BASELINE, "w_r2"), ("other", 0.25, ex.BASELINE, None)], "ci")
    assert table.splitlines()[2] == "| W R^2 | 0.500 | 1.00 |" and table.splitlines()[3] == "| other | 0.250 | – |"
    moved = runs.transplant(run.estimator, sim, sim, torch.linspace(-5, 5, 21))       # same network: same types
    assert torch.allclose(moved.model.latents[sim.types == 0], run.estimator.model.latents[sim.types == 0].mean(0))
