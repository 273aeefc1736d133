"""The shared figures (circuitlib.plot) draw what their docstrings say, on small inputs (Agg backend)."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from circuitlib import plot
from circuitlib.data.spikes import SpikeTrain
from circuitlib.sim import ring

plt.switch_backend("Agg")


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _train(theta=None) -> SpikeTrain:
    """Five spikes of 3 neurons over 10 steps of 0.1 s (1 s)."""
    times, neurons = torch.tensor([0, 2, 4, 7, 9]), torch.tensor([0, 1, 2, 1, 0])
    return SpikeTrain(times=times, neurons=neurons, counts=torch.ones(5, dtype=torch.int64), n_neurons=3,
                      n_steps=10, dt=0.1, theta=theta)


def test_raster_plots_the_spikes_in_the_window_at_their_times_and_neurons(ax):
    plot.raster(ax, _train(), start=0.15, stop=0.8)
    xy = ax.collections[0].get_offsets()
    assert np.allclose(xy, [[0.2, 1], [0.4, 2], [0.7, 1]])
    assert ax.get_xlim() == pytest.approx((0.15, 0.8)) and ax.get_ylim() == pytest.approx((-0.5, 2.5))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time (s)", "neuron")


def test_weight_matrix_is_an_image_with_a_symmetric_colour_scale_and_a_colorbar(ax):
    w = torch.tensor([[0.0, -2.0], [1.0, 0.5]])
    plot.weight_matrix(ax, w, title="W")
    (im,) = ax.get_images()
    assert np.array_equal(im.get_array(), w.numpy()) and im.get_clim() == (-2.0, 2.0)
    assert len(ax.figure.axes) == 2                          # the colorbar
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("W", "sender j", "receiver i")


def test_ring_profile_plots_row_zero_against_signed_offsets(ax):
    w = ring.mexican_hat(10)
    plot.ring_profile(ax, w, label="truth")
    line = ax.get_lines()[0]
    assert np.array_equal(line.get_xdata(), np.arange(-5, 5))
    assert np.allclose(line.get_ydata(), w[0, np.arange(-5, 5) % 10].numpy())
    assert line.get_label() == "truth" and ax.get_xlabel().startswith("ring offset")


def test_aligned_profile_draws_the_row_mean_and_a_nan_free_band_without_the_diagonal(ax):
    w = ring.mexican_hat(10)
    noisy = w + 1e-4 * torch.randn(10, 10, generator=torch.Generator().manual_seed(0), dtype=w.dtype)
    plot.aligned_profile(ax, noisy, scale=2.0)
    line = ax.get_lines()[0]
    offsets = np.arange(-5, 5)
    assert np.array_equal(line.get_xdata(), offsets[offsets != 0])          # offset 0 (the diagonal) left out
    assert np.allclose(line.get_ydata(), 2 * w[0, offsets[offsets != 0] % 10].numpy(), atol=1e-3)
    (band,) = ax.collections
    vertices = band.get_paths()[0].vertices
    assert np.isfinite(vertices).all()
    assert np.ptp(vertices[:, 1] - np.interp(vertices[:, 0], line.get_xdata(), line.get_ydata())) > 0  # a real band


def test_aligned_profile_of_an_observed_subset_covers_only_offsets_some_pair_spans(ax):
    w = ring.mexican_hat(10)
    positions = torch.tensor([0, 1, 2, 3])                   # 4 neighbours of a ring of 10
    plot.aligned_profile(ax, w[positions][:, positions], positions=positions, ring_size=10)
    line = ax.get_lines()[0]
    assert np.array_equal(line.get_xdata(), [-3, -2, -1, 1, 2, 3])
    assert np.allclose(line.get_ydata(), w[0, np.array([-3, -2, -1, 1, 2, 3]) % 10].numpy())
    assert np.isfinite(ax.collections[0].get_paths()[0].vertices).all()


def test_drive_raster_draws_theta_above_the_raster_and_needs_a_drive():
    theta = torch.linspace(0, 1, 10)
    fig = plot.drive_raster(_train(theta), seconds=0.5, title="driven")
    top, bottom = fig.axes
    assert np.allclose(top.get_lines()[0].get_ydata(), theta[:5].numpy())
    assert np.allclose(top.get_lines()[0].get_xdata(), 0.1 * np.arange(5))
    assert len(bottom.collections[0].get_offsets()) == 3 and bottom.get_title() == "driven"
    with pytest.raises(ValueError, match="theta"):
        plot.drive_raster(_train())


def test_bump_drift_draws_one_trace_per_bump(ax):
    n, k = 40, 4
    positions = torch.arange(n)
    frames = [torch.cos(2 * math.pi * k * (positions - shift) / n).clamp_min(0) for shift in range(20)]
    plot.bump_drift(ax, torch.stack(frames), bin_width=0.01)
    lines = ax.get_lines()
    assert len(lines) == k
    assert np.allclose(lines[0].get_xdata(), 0.01 * np.arange(20))
    assert all(((0 <= line.get_ydata()) & (line.get_ydata() < n)).all() for line in lines)
    assert np.allclose(np.diff(lines[0].get_ydata()), 1.0, atol=1e-6)        # the bump moves 1 neuron a frame


def test_by_model_size_draws_one_line_per_observed_count_against_model_size(ax):
    scores = {(60, 0): (0.4, 0.01), (60, 10): (0.45, 0.02), (100, 0): (0.5, 0.03)}
    plot.by_model_size(ax, scores, ylabel="Delta")
    lines = ax.get_lines()
    data = sorted((tuple(line.get_xdata()), tuple(line.get_ydata())) for line in lines if len(line.get_xdata()) > 0
                  and line.get_marker() == "o")
    assert data == [((60, 70), (0.4, 0.45)), ((100,), (0.5,))]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["N_o = 60", "N_o = 100"]
    assert ax.get_ylabel() == "Delta"


def test_coupling_by_angle_scatters_every_off_diagonal_pair_and_bins_the_means(ax):
    angles = torch.arange(8, dtype=torch.float64) * math.pi / 4              # 45 degrees apart
    w = torch.cos(angles[:, None] - angles[None, :])
    plot.coupling_by_angle(ax, w, angles, bin_deg=90.0)
    assert len(ax.collections[0].get_offsets()) == 8 * 7
    line = ax.get_lines()[0]
    assert np.array_equal(line.get_xdata(), [45.0, 135.0])
    near, far = line.get_ydata()
    assert near > 0 > far                                   # near preferred directions couple positively
    assert ax.get_xlabel() == "preferred-direction difference (deg)"


def test_coupling_by_angle_leaves_an_empty_bin_as_a_gap(ax):
    angles = torch.arange(4, dtype=torch.float64) * math.pi / 2             # differences 90 and 180 only
    plot.coupling_by_angle(ax, torch.cos(angles[:, None] - angles[None, :]), angles, bin_deg=90.0)
    means = ax.get_lines()[0].get_ydata()
    assert math.isnan(means[0]) and means[1] < 0


def test_polar_tuning_draws_one_closed_curve_per_cell_and_marks_the_peak():
    centres = torch.linspace(0, 2 * math.pi, 9)[:-1]
    curves = torch.stack([10 + 5 * torch.cos(centres - c) for c in (0.0, math.pi)])
    fig = plot.polar_tuning(curves, centres, order=[1, 0], n_cols=3)
    used = [a for a in fig.axes if a.axison]
    assert len(fig.axes) == 3 and len(used) == 2
    curve, peak = used[0].get_lines()
    assert len(curve.get_ydata()) == 9 and curve.get_ydata()[0] == curve.get_ydata()[-1]   # closed
    assert peak.get_xdata()[0] == pytest.approx(math.pi) and peak.get_ydata()[0] == pytest.approx(15.0)
    assert used[0].get_title() == "cell 1: 15 Hz"


def test_type_color_uses_tab10_then_tab20():
    assert plot.type_color(3) == plt.cm.tab10(3)
    assert plot.type_color(13, n_types=20) == plt.cm.tab20(13)
    assert plot.type_color(23, n_types=32) == plt.cm.tab20(3)


def test_activity_image_puts_neurons_down_and_time_across(ax):
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    plot.activity_image(ax, x, dt=0.1)
    (im,) = ax.get_images()
    assert im.get_array().shape == (4, 50)
    assert im.get_extent() == pytest.approx([0, 4.9, 4, 0])


def test_traces_draws_one_line_per_neuron_and_the_truth_below(ax):
    x = torch.arange(12.0).reshape(4, 3)
    plot.traces(ax, x, dt=0.5, neurons=[0, 2], types=torch.tensor([0, 1, 1]), true=x + 1)
    lines = ax.get_lines()
    assert len(lines) == 4                                   # truth, trace for each neuron
    assert np.allclose(lines[1].get_xdata(), [0, 0.5, 1.0, 1.5]) and np.allclose(lines[3].get_ydata(), x[:, 2])
    assert lines[0].get_linewidth() > lines[1].get_linewidth()
    assert lines[3].get_color() == plot.type_color(1, 2)


def test_weights_scatter_leaves_out_the_diagonal_and_gives_r2_and_slope(ax):
    true = torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    plot.weights_scatter(ax, true, 2 * true, title="fit")
    assert len(ax.collections[0].get_offsets()) == 30
    assert ax.get_title() == "fit: $R^2$ = 1.000, slope = 2.000"


def test_latents_by_type_colours_each_type_with_a_legend(ax):
    latents, types = torch.randn(9, 2, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2] * 3)
    plot.latents_by_type(ax, latents, types, labels=["a", "b", "c"])
    assert [len(c.get_offsets()) for c in ax.collections] == [3, 3, 3]
    assert np.allclose(ax.collections[1].get_offsets(), latents[types == 1].numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]


def test_curves_by_type_draws_every_nth_curve_and_the_truth_dashed(ax):
    x, curves, types = torch.linspace(-1, 1, 5), torch.randn(6, 5), torch.tensor([0, 1] * 3)
    plot.curves_by_type(ax, x, curves, types, true=torch.zeros(2, 5), every=2)
    lines = ax.get_lines()
    assert len(lines) == 3 + 2 and all(line.get_linestyle() == "--" for line in lines[3:])
    assert np.allclose(lines[1].get_ydata(), curves[2])


def test_grid_image_needs_a_square_number_of_values(ax):
    im = plot.grid_image(ax, torch.arange(9.0), title="grid")
    assert np.array_equal(im.get_array(), np.arange(9.0).reshape(3, 3)) and ax.get_title() == "grid"
    with pytest.raises(ValueError, match="square"):
        plot.grid_image(ax, torch.arange(8.0))


def test_torus_profile_is_the_mean_aligned_row_centred_with_the_diagonal_blank(ax):
    shape = (3, 4)
    w = torch.zeros(12, 12)
    rows, cols = torch.arange(12) // 4, torch.arange(12) % 4
    w[torch.arange(12), rows * 4 + (cols + 1) % 4] = 2.0                   # every neuron's right neighbour
    plot.torus_profile(ax, w, shape, scale=0.5)
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (3, 4) and np.isnan(image[1, 2])                 # offset (0, 0) at (L1 // 2, L2 // 2)
    assert image[1, 3] == pytest.approx(1.0) and np.nansum(np.abs(image)) == pytest.approx(1.0)


def test_sheet_activity_counts_each_neurons_spikes_in_the_window_on_the_sheet(ax):
    train = SpikeTrain(torch.tensor([0, 1, 5]), torch.tensor([5, 5, 0]), torch.ones(3, dtype=torch.int32), 6, 10, 0.1)
    plot.sheet_activity(ax, train, (2, 3), start=0.0, window=0.3)
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (2, 3) and image[1, 2] == 2 and image.sum() == 2      # the spike at 0.5 s is outside


def test_lattice_autocorrelation_centres_the_image_and_marks_the_peaks(ax):
    acorr = torch.zeros(4, 6, dtype=torch.float64)
    plot.lattice_autocorrelation(ax, acorr, torch.tensor([[0.0, 2.0], [1.0, -1.0]]))
    assert ax.images[0].get_extent() == [-3.5, 2.5, -2.5, 1.5]
    x, y = ax.lines[0].get_data()
    assert list(x) == [2.0, -1.0] and list(y) == [0.0, 1.0]
