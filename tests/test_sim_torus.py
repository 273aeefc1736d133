"""Grid-cell torus: the kernel, the hexagonal pattern on 16 x 16 and 24 x 24 sheets, the simulate() contract."""
import math

import pytest
import torch

from circuitlib.data.spikes import SpikeTrain
from circuitlib.ring_geometry import torus_distance
from circuitlib.sim import torus


def test_kernel_is_inhibitory_rotation_invariant_and_on_the_ring_scale():
    w = torus.mexican_hat((16, 16))
    assert w.shape == (256, 256) and torch.equal(w, w.T) and (w < 0).all()
    assert torch.allclose(w.diagonal(), torch.full((256,), 1.5 * (1 - 1.0005), dtype=w.dtype))
    assert w.min().item() == pytest.approx(-4.68e-3, abs=1e-5)
    d = torus_distance((16, 16))
    same_distance = d == d[0, 3]                          # every pair 3 apart along either axis or wrapped
    assert torch.allclose(w[same_distance], w[0, 3].expand(int(same_distance.sum())))


def test_pattern_wavelength_of_the_kernel_is_pi_sigma():
    """The least inhibited Fourier mode of the default kernel on a 64 x 64 sheet sits at 2 / sigma."""
    w = torus.mexican_hat((64, 64))
    spectrum = torch.fft.fft2(w[0].view(64, 64)).real       # eigenvalues of the doubly circulant W
    spectrum[0, 0] = -math.inf
    k = torch.nonzero(spectrum == spectrum.max())[0]
    k = torch.minimum(k, 64 - k).double().norm() * 2 * math.pi / 64
    assert float(k) == pytest.approx(2 / 2.5, rel=0.1)


@pytest.fixture(scope="module")
def sheets():
    return {(size, model): torus.simulate(model, duration=2.0, shape=(size, size), seed=0)
            for size in (16, 24) for model in ("threshold", "lnp")}


@pytest.mark.parametrize("model", ["threshold", "lnp"])
@pytest.mark.parametrize("size, bumps", [(16, 4), (24, 8)])
def test_bump_count_and_rates(sheets, size, model, bumps):
    train = sheets[size, model]
    assert torus.bump_count(train, (size, size)) == bumps
    assert 5.0 <= train.rates().mean().item() <= 30.0
    assert 0.2 <= (train.rates() > 1.0).double().mean().item() <= 0.8     # bumps and silent gaps, not all on


@pytest.mark.parametrize("model", ["threshold", "lnp"])
def test_autocorrelation_of_a_24_sheet_has_six_peaks_about_60_degrees_apart(sheets, model):
    acorr = torus.autocorrelation(sheets[24, model], (24, 24))
    assert acorr[12, 12] == pytest.approx(1.0)
    assert torus.nearest_peak_count(acorr) == 6
    angles = torus.peak_angles(acorr)
    gaps = torch.diff(torch.cat([angles, angles[:1] + 360]))
    assert (gaps - 60).abs().max() < 10                  # near-hexagonal: the square torus bends it a little


def test_lattice_modes_of_a_planted_plane_wave_pattern():
    rows, cols = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    image = sum(torch.cos(2 * math.pi * (a * rows + b * cols) / 24) for a, b in [(3, 1), (-1, 2), (-2, -3)])
    image = (image > 1.5).double().reshape(-1)
    steps = torch.arange(10).repeat_interleave(int(image.sum()))
    neurons = torch.nonzero(image).reshape(-1).repeat(10)
    train = SpikeTrain(steps, neurons, torch.ones_like(steps, dtype=torch.int32), 576, 10, 0.05)
    modes = torus.lattice_modes(torus.power_spectrum(train, (24, 24), window=0.05))
    assert abs(int(modes[0, 0] * modes[1, 1] - modes[0, 1] * modes[1, 0])) == 7   # |det[(3,1),(-1,2)]|
    assert torus.bump_count(train, (24, 24), window=0.05) == 7


@pytest.mark.parametrize("model", ["threshold", "lnp"])
def test_same_seed_gives_same_spikes(model):
    a, b = (torus.simulate(model, duration=0.2, seed=3) for _ in range(2))
    c = torus.simulate(model, duration=0.2, seed=4)
    assert torch.equal(a.times, b.times) and torch.equal(a.neurons, b.neurons) and torch.equal(a.counts, b.counts)
    assert not torch.equal(a.neurons, c.neurons)


def test_dense_backend_matches_event_rates():
    events = torus.simulate("lnp", duration=1.0, seed=0, backend="events")
    dense = torus.simulate("lnp", duration=1.0, seed=0, backend="dense", device="cpu")
    assert dense.rates().mean().item() == pytest.approx(events.rates().mean().item(), rel=0.1)
    assert torus.bump_count(dense, (16, 16)) == torus.bump_count(events, (16, 16)) == 4


@pytest.mark.parametrize("kwargs, match", [
    ({"shape": 16}, "rows, columns"),
    ({"shape": (3, 16)}, "at least 4 x 4"),
    ({"shape": (16, 0)}, "positive integers"),
    ({"weights": torch.zeros(100, 100)}, "256 neurons"),
    ({"theta": torch.zeros(10)}, "no angle drive"),
    ({"model": "glm"}, "unknown model"),
])
def test_bad_input_raises_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        torus.simulate(**{"duration": 0.1, **kwargs})


def test_spectrum_refuses_a_train_of_another_size_and_a_window_longer_than_the_train():
    train = torus.simulate("lnp", duration=0.1, seed=0)
    with pytest.raises(ValueError, match="sheet has 576"):
        torus.power_spectrum(train, (24, 24))
    with pytest.raises(ValueError, match="window"):
        torus.power_spectrum(train, (16, 16), window=1.0)
