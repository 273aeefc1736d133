"""Ring-attractor simulators: reference facts of Yoon 2025, App. A (Eq. 10, Table 4) and the simulate() contract."""
import math

import pytest
import torch

from circuitlib.data import stats
from circuitlib.sim import ring


def test_mexican_hat_reference_values():
    w = ring.mexican_hat()
    assert w.shape == (100, 100)
    assert torch.allclose(w.diagonal(), torch.full((100,), -5.0e-4, dtype=w.dtype), atol=1e-9)
    assert w.min().item() == pytest.approx(-2.289e-3, abs=5e-7)
    assert int(w[0].argmin()) in (9, 91)  # minimum at ring distance 9
    assert w.sum(1)[0].item() == pytest.approx(-0.0589, abs=5e-5)
    assert (w < 0).all()  # purely inhibitory
    assert torch.equal(w, w.T) and ring.is_circulant(w)


def test_profile_two_peaks_locally_and_inhibits_broadly():
    w = ring.local_excitation_broad_inhibition()
    profile = w[0, :51]  # distances 0..50
    assert ring.is_circulant(w) and (profile < 0).all()  # net inhibitory, like the Mexican hat
    assert int(profile.argmax()) == 0  # least inhibition (relative excitation) at d = 0
    assert int(profile.argmin()) >= 15  # surround far broader than ...
    assert int(ring.mexican_hat()[0, :51].argmin()) == 9  # ... the Mexican hat's dip at d = 9


def test_circulance_tolerates_rounding_but_not_structure():
    w = ring.mexican_hat()
    scale = float(w.abs().max())
    rounded, broken = w.clone(), w.clone()
    rounded[3, 17] += 1e-9 * scale
    broken[3, 17] += 1e-4 * scale
    assert ring.is_circulant(rounded) and not ring.is_circulant(broken)


@pytest.fixture(scope="module")
def five_seconds():
    return {m: ring.simulate(m, duration=5.0, seed=1) for m in ring.MODELS}


@pytest.mark.parametrize("model", ring.MODELS)
def test_mean_rate_in_reference_range(five_seconds, model):
    assert 40.0 <= five_seconds[model].rates().mean().item() <= 90.0


@pytest.mark.parametrize("model", ring.MODELS)
def test_mexican_hat_forms_four_bumps(five_seconds, model):
    x = five_seconds[model].bin(0.01).to_dense()
    assert stats.bump_count(x) == 4


def test_threshold_model_emits_at_most_one_spike_per_step(five_seconds):
    assert int(five_seconds["threshold"].counts.max()) == 1


@pytest.mark.parametrize("model", ring.MODELS)
def test_profile_two_forms_one_bump(model):
    st = ring.simulate(model, duration=3.0, seed=2, weights=ring.local_excitation_broad_inhibition())
    assert stats.bump_count(st.bin(0.01).to_dense()) == 1


@pytest.mark.parametrize("model", ring.MODELS)
def test_same_seed_gives_same_spikes(model):
    a, b = (ring.simulate(model, duration=0.5, seed=7) for _ in range(2))
    c = ring.simulate(model, duration=0.5, seed=8)
    assert torch.equal(a.times, b.times) and torch.equal(a.neurons, b.neurons) and torch.equal(a.counts, b.counts)
    assert not (a.n_spikes == c.n_spikes and torch.equal(a.neurons, c.neurons))


def test_dense_and_event_backends_agree_exactly_without_noise():
    theta = ring.sinusoidal_drive(0.3, period=0.1)
    kw = dict(duration=0.3, seed=3, burn_in=0.05, noise="none", theta=theta)
    a = ring.simulate("threshold", backend="events", **kw)
    b = ring.simulate("threshold", backend="dense", device="cpu", **kw)
    assert a.n_spikes > 1000
    assert torch.equal(a.times, b.times) and torch.equal(a.neurons, b.neurons)


@pytest.mark.parametrize("model", ring.MODELS)
def test_dense_backend_matches_event_rates(model):
    a = ring.simulate(model, duration=1.0, seed=0, backend="events").rates().mean().item()
    b = ring.simulate(model, duration=1.0, seed=0, backend="dense", device="cpu").rates().mean().item()
    assert b == pytest.approx(a, rel=0.05)


@pytest.mark.parametrize("backend", ["events", "dense"])
@pytest.mark.parametrize("model", ring.MODELS)
def test_velocity_input_scales_the_tonic_input_and_zero_changes_nothing(backend, model):
    kw = dict(duration=0.3, seed=1, burn_in=0.1, backend=backend, device="cpu")
    plain = ring.simulate(model, **kw)
    tuning = torch.linspace(-1, 1, 100)[:, None]
    zero = ring.simulate(model, velocity=torch.zeros(3000, 1), tuning=tuning, **kw)
    assert torch.equal(plain.times, zero.times) and torch.equal(plain.neurons, zero.neurons)
    up = ring.simulate(model, velocity=torch.full((3000, 1), 0.5), tuning=tuning, **kw)
    rates = up.rates()                                    # tonic input 1.5 b at the last neuron, 0.5 b at the first
    assert rates[75:].mean() > 1.5 * rates[:25].mean()


def test_gaussian_noise_form_keeps_four_bumps_at_a_higher_rate():
    # the paper's text form (white Gaussian, sd 0.3) fires ~140 Hz; the reference sparse form ~62 Hz
    g = ring.simulate("threshold", duration=2.0, seed=0, noise="gaussian")
    s = ring.simulate("threshold", duration=2.0, seed=0)
    assert stats.bump_count(g.bin(0.01).to_dense()) == 4
    assert g.rates().mean().item() > 1.5 * s.rates().mean().item()


def test_batched_replicas_follow_recurrent_strength():
    trains = ring.simulate("lnp", duration=0.5, seed=[0, 1, 2], r=[0.0, 0.01, 0.025])
    rates = [t.rates().mean().item() for t in trains]
    assert len(trains) == 3 and rates[0] > rates[1] > rates[2]  # W is inhibitory
    single = ring.simulate("lnp", duration=0.5, seed=2, r=0.025)
    assert torch.equal(single.times, trains[2].times)


@pytest.mark.parametrize("sign", [1, -1])
def test_external_drive_moves_bump_with_theta(sign):
    duration, dt = 1.0, 1e-4
    offset = 2  # integer rotation of W
    theta = torch.full((round(duration / dt),), sign * (offset + 0.5) * 2 * math.pi / (100 * 0.1))
    st = ring.simulate("threshold", duration=duration, seed=0, theta=theta, drive_gain=0.1)
    assert torch.equal(st.theta, theta)
    phase = stats.unwrap(stats.bump_phase(st.bin(0.01).to_dense(), 4), 25.0)
    velocity = (phase[-1] - phase[0]).item() / duration  # neurons per second
    assert sign * velocity > 100.0  # about offset / tau = 200 neurons/s


def test_sinusoidal_drive_tracks_bump_velocity():
    theta = ring.sinusoidal_drive(2.0, amplitude=math.pi / 2, period=1.0)
    st = ring.simulate("threshold", duration=2.0, seed=0, theta=theta).bin(0.01)
    phase = stats.unwrap(stats.bump_phase(st.to_dense(), 4), 25.0)
    velocity = torch.diff(phase)
    command = ring.drive_offset(st.theta[1:], 100, 0.1).double()
    assert torch.corrcoef(torch.stack([velocity, command]))[0, 1] > 0.8


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=1), "at least 2"),
    (dict(duration=0.0), "duration"),
    (dict(duration=-1.0), "duration"),
    (dict(dt=0.01), "smaller than tau"),
    (dict(model="izhikevich"), "unknown model"),
    (dict(noise="pink"), "unknown noise"),
    (dict(model="lnp", gain=-32.0), "negative"),
    (dict(b=-1e-3), "b must be"),
    (dict(r=-0.1), "r must be"),
    (dict(burn_in=-1.0), "burn_in"),
    (dict(backend="gpu-magic"), "unknown backend"),
    (dict(seed=[0, 1], r=[0.1, 0.2, 0.3]), "broadcast"),
    (dict(theta=torch.zeros(5)), "theta must have shape"),
    (dict(weights=torch.ones(3, 4)), "square"),
    (dict(weights=ring.mexican_hat(20)), "pass n=20"),
    (dict(velocity=torch.zeros(100, 1)), "go together"),
    (dict(velocity=torch.zeros(99, 1), tuning=torch.zeros(100, 1)), "velocity must be"),
    (dict(velocity=torch.zeros(100, 1), tuning=torch.zeros(50, 1)), "tuning must be"),
    (dict(velocity=torch.full((100, 1), math.nan), tuning=torch.ones(100, 1)), "NaN"),
    (dict(velocity=torch.full((100, 1), -2.0), tuning=torch.ones(100, 1)), "negative"),
])
def test_bad_input_raises_clear_error(kwargs, match):
    kw = dict(duration=0.01, burn_in=0.0) | kwargs
    with pytest.raises(ValueError, match=match):
        ring.simulate(**kw)


def test_drive_needs_circulant_weights():
    w = ring.mexican_hat(10)
    w[0, 1] += 1.0
    with pytest.raises(ValueError, match="circulant"):
        ring.simulate(duration=0.01, burn_in=0.0, n=10, weights=w, theta=torch.zeros(100))
