"""The assembly simulator (Eq. 2 of Allier et al. 2026) against hand-computed steps."""
import math

import pytest
import torch

from circuitlib.sim import assembly as A


def small_net():
    w = torch.tensor([[0.0, 0.5, -0.2], [0.3, 0.0, 0.1], [-0.4, 0.2, 0.0]])
    params = A.NeuronTypes(tau=[1.0, 0.5], s=[1.0, 2.0], gamma=[1.0, 2.0], theta=[0.0, 0.1])
    return w, params


def test_one_euler_step_matches_hand_computation():
    w, params = small_net()
    sim = A.simulate(3, 2, params=params, fractions=[1, 2], weights=w, gain=10.0, burn_in=0, seed=3,
                     device="cpu", dtype=torch.float64)
    x0 = sim.x[0]
    types = [0, 1, 1]                                   # fractions 1:2 over 3 neurons, in blocks
    assert sim.types.tolist() == types
    tau, s, gam, th = [1.0, 0.5, 0.5], [1.0, 2.0, 2.0], [1.0, 2.0, 2.0], [0.0, 0.1, 0.1]
    for i in range(3):
        msg = sum(w[i, j].item() * (math.tanh(x0[j].item() / gam[j]) - th[j] * x0[j].item()) for j in range(3))
        hand = -x0[i].item() / tau[i] + s[i] * math.tanh(x0[i].item()) + 10.0 * msg
        assert sim.dxdt[0, i].item() == pytest.approx(hand, rel=1e-12)
    assert torch.allclose(sim.x[1], x0 + 0.01 * sim.dxdt[0])


def test_receiver_width_uses_the_receivers_gamma():
    w, params = small_net()
    dyn = A.AssemblyDynamics(w.double(), torch.tensor([0, 1, 1]), params, gain=1.0, gamma_of="receiver")
    x = torch.tensor([[0.7, -1.3, 2.1]], dtype=torch.float64)
    gam, th = [1.0, 2.0, 2.0], [0.0, 0.1, 0.1]
    hand = [sum(w[i, j].item() * (math.tanh(x[0, j].item() / gam[i]) - th[j] * x[0, j].item()) for j in range(3))
            for i in range(3)]
    assert torch.allclose(dyn.messages(x)[0], torch.tensor(hand, dtype=torch.float64))


def test_derivative_target_is_the_step_taken_even_with_noise():
    sim = A.simulate(50, 100, noise_std=2.0, burn_in=10, seed=1, device="cpu", dtype=torch.float64)
    assert torch.allclose((sim.x[1:] - sim.x[:-1]) / sim.dt, sim.dxdt[:-1], atol=1e-9)
    clean = A.simulate(50, 100, burn_in=10, seed=1, device="cpu", dtype=torch.float64)
    assert not torch.allclose(sim.x, clean.x)


def test_state_noise_leaves_a_clean_target():
    sim = A.simulate(50, 100, noise_std=2.0, noise_on="state", burn_in=10, seed=1, device="cpu", dtype=torch.float64)
    dyn = A.AssemblyDynamics(sim.weights, sim.types, sim.params)
    assert torch.allclose(sim.dxdt, dyn(sim.x), atol=1e-9)                 # the noise-free drift
    kicks = sim.x[1:] - sim.x[:-1] - sim.dt * sim.dxdt[:-1]                 # what the noise added
    assert kicks.std().item() == pytest.approx(2.0, rel=0.05)
    with pytest.raises(ValueError, match="noise_on"):
        A.simulate(10, 5, noise_std=1.0, noise_on="output", device="cpu")


def test_same_seed_same_activity_and_field_gates_messages():
    a = A.simulate(40, 50, burn_in=5, seed=7, device="cpu")
    b = A.simulate(40, 50, burn_in=5, seed=7, device="cpu")
    assert torch.equal(a.x, b.x)
    silent = A.simulate(40, 50, burn_in=0, seed=7, field=torch.zeros(50, 40), device="cpu", dtype=torch.float64)
    own = silent.params.phi(silent.x[0])            # [K, N]: each type's update on every neuron's state
    expect = own[silent.types, torch.arange(40)]
    assert torch.allclose(silent.dxdt[0], expect)


def test_cauchy_weights_truncation_scaling_diagonal_and_density():
    n = 400
    w = A.cauchy_weights(n, seed=0, device="cpu")
    assert torch.all(w.diagonal() == 0)
    assert (w.abs() * n**0.7).max() <= 25.0 + 1e-4
    assert torch.equal(w, A.cauchy_weights(n, seed=0, device="cpu"))
    sparse = A.cauchy_weights(n, seed=0, density=0.1, device="cpu")
    assert (sparse != 0).float().mean().item() == pytest.approx(0.1, abs=0.01)


def test_true_functions_and_types():
    sim = A.simulate(8, 5, burn_in=0, device="cpu")
    x = torch.linspace(-3, 3, 7)
    phi = sim.phi_true(x)
    assert phi.shape == (8, 7)
    assert torch.allclose(phi[-1], -2 * x.double() + 2 * torch.tanh(x.double()))   # tau 0.5, s 2
    assert torch.allclose(sim.psi_true(x), torch.tanh(x.double()).expand(8, -1))
    assert sim.types.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize("kwargs, match", [
    (dict(weights=torch.zeros(3, 4)), "to match n_neurons"),
    (dict(fractions=[1, 1]), "one entry per type"),
    (dict(dt=0.6), "dt"),
    (dict(field=torch.ones(5, 3)), "field"),
    (dict(weights=torch.full((4, 4), float("nan"))), "NaN"),
    (dict(noise_std=-1.0), "noise_std"),
])
def test_bad_input_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        A.simulate(4, 10, burn_in=0, device="cpu", **kwargs)


def test_bad_types_are_refused():
    with pytest.raises(ValueError, match="positive"):
        A.NeuronTypes(tau=[0.0], s=[1.0], gamma=[1.0], theta=[0.0])
    with pytest.raises(ValueError, match="same length"):
        A.NeuronTypes(tau=[1.0, 1.0], s=[1.0], gamma=[1.0], theta=[0.0])
