"""Figures that chapters share. Each draws on a given matplotlib ``Axes`` and returns it."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

from . import metrics
from .data import stats
from .data.spikes import SpikeTrain
from .lowrank_dynamics import latent_field
from .ring_geometry import aligned_rows, profile_image, signed_offsets


def raster(ax: plt.Axes, train: SpikeTrain, start: float = 0.0, stop: float | None = None,
           **style) -> plt.Axes:
    """Spike raster of ``train`` between ``start`` and ``stop`` seconds (neurons on the y axis)."""
    stop = train.duration if stop is None else stop
    t = train.times.cpu().double() * train.dt
    keep = (t >= start) & (t < stop)
    style = {"s": 1.0, "c": "k", "marker": ".", "linewidths": 0} | style
    ax.scatter(t[keep], train.neurons.cpu()[keep], rasterized=True, **style)
    ax.set(xlim=(start, stop), ylim=(-0.5, train.n_neurons - 0.5), xlabel="time (s)", ylabel="neuron")
    return ax


def weight_matrix(ax: plt.Axes, w: torch.Tensor, title: str = "", cmap: str = "RdBu_r") -> plt.Axes:
    """Image of a ``[N, N]`` weight matrix, colour scale symmetric about zero."""
    lim = float(w.abs().max())
    im = ax.imshow(w.cpu(), cmap=cmap, vmin=-lim, vmax=lim)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    ax.set(title=title, xlabel="sender j", ylabel="receiver i")
    return ax


def ring_profile(ax: plt.Axes, w: torch.Tensor, label: str = "", **style) -> plt.Axes:
    """Row 0 of a circulant ``[N, N]`` matrix against signed ring offset ``j - i``."""
    offsets = signed_offsets(w.shape[0])
    ax.plot(offsets, w[0].cpu()[offsets % w.shape[0]], label=label, **style)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set(xlabel="ring offset j - i (neurons)", ylabel="weight")
    return ax


def aligned_profile(ax: plt.Axes, w: torch.Tensor, scale: float = 1.0, label: str = "", positions=None,
                    ring_size: int | None = None, **style) -> plt.Axes:
    """Mean +- sd over rows of ``scale * w`` ``[N, N]`` aligned by ring offset ``j - i``.

    ``positions`` ``[N]`` / ``ring_size``: ring index of each neuron of an observed subset (default
    the whole ring). The diagonal (offset 0) and offsets no pair spans are left out, as in the
    inference error Delta; the band shows how much the rows of an inferred matrix disagree
    (Delta's variance part), the line its bias.
    """
    aligned = scale * aligned_rows(w, positions, ring_size)                  # [N, M], NaN where unobserved
    offsets = signed_offsets(aligned.shape[1])
    aligned = aligned[:, offsets % aligned.shape[1]]
    n = (~aligned.isnan()).sum(0)
    keep = n > 0
    mean = aligned.nansum(0)[keep] / n[keep]
    sd = ((aligned - aligned.nanmean(0)).pow(2).nansum(0)[keep] / (n[keep] - 1).clamp_min(1)).sqrt()
    line, = ax.plot(offsets[keep], mean, label=label, **style)
    ax.fill_between(offsets[keep], mean - sd, mean + sd, color=line.get_color(), alpha=0.25, lw=0)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set(xlabel="ring offset j - i (neurons)", ylabel="weight")
    return ax


def _centred_image(ax: plt.Axes, image: torch.Tensor, lim: float):
    """``image`` [L1, L2] with offset (0, 0) at pixel (L1 // 2, L2 // 2), its axes in signed offsets,
    colours symmetric about zero up to ``lim``."""
    rows, cols = signed_offsets(image.shape[0]), signed_offsets(image.shape[1])
    ax.imshow(image, cmap="RdBu_r", vmin=-lim, vmax=lim, origin="lower",
              extent=(cols[0] - 0.5, cols[-1] + 0.5, rows[0] - 0.5, rows[-1] + 0.5))


def torus_profile(ax: plt.Axes, w: torch.Tensor, shape, scale: float = 1.0, title: str = "",
                  lim: float | None = None) -> plt.Axes:
    """Mean of ``scale * w`` ``[L1 L2, L1 L2]`` over off-diagonal pairs at each 2-D offset on the
    torus ``shape``, as an image centred on offset (0, 0) (left blank: the diagonal); colour
    scale symmetric about zero up to ``lim`` (default the image's largest magnitude)."""
    image = scale * profile_image(w, shape)
    lim = float(image.nan_to_num().abs().max()) if lim is None else lim
    _centred_image(ax, image, lim)
    ax.set(title=title, xlabel="column offset", ylabel="row offset")
    return ax


def sheet_activity(ax: plt.Axes, train: SpikeTrain, shape, start: float = 0.0, window: float = 0.05,
                   title: str = "") -> plt.Axes:
    """Spike counts of every neuron of a sheet ``shape`` (L1, L2) in ``[start, start + window)`` s, as an image."""
    l1, l2 = shape
    counts = train.slice(round(start / train.dt), round((start + window) / train.dt)).to_dense().sum(0)
    ax.imshow(counts.cpu().view(l1, l2), cmap="magma", origin="lower")
    ax.set(title=title, xlabel="column", ylabel="row", xticks=[], yticks=[])
    return ax


def lattice_autocorrelation(ax: plt.Axes, acorr: torch.Tensor, nearest: torch.Tensor, title: str = "") -> plt.Axes:
    """A centred 2-D autocorrelation ``[L1, L2]`` (zero shift at ``(L1 // 2, L2 // 2)``, as
    :func:`circuitlib.sim.torus.autocorrelation` gives it) with the shifts ``nearest`` ``[K, 2]``
    (rows, columns) marked by crosses."""
    _centred_image(ax, acorr, 1.0)
    ax.plot(nearest[:, 1], nearest[:, 0], "k+", ms=10)
    ax.set(title=title, xlabel="column shift", ylabel="row shift")
    return ax


def drive_raster(train: SpikeTrain, seconds: float = 4.0, title: str = "") -> plt.Figure:
    """The external angle theta(t) above a raster of the first ``seconds`` of ``train`` (which
    carries theta)."""
    if train.theta is None:
        raise ValueError("this train carries no external angle theta; simulate it with a drive.")
    shown = train.first(seconds)
    fig, axes = plt.subplots(2, 1, figsize=(11, 4.5), sharex=True)
    axes[0].plot(torch.arange(shown.n_steps) * shown.dt, shown.theta.cpu(), color="k")
    axes[0].set(ylabel="θ(t) (rad)")
    raster(axes[1], shown)
    axes[1].set_title(title)
    fig.tight_layout()
    return fig


def bump_drift(ax: plt.Axes, binned: torch.Tensor, bin_width: float) -> plt.Axes:
    """Centre of every bump over time, one colour per bump, from binned activity ``binned``
    ``[T, N]`` of a ring (bin width in s): the phase of the dominant spatial frequency k, unwrapped,
    and its k copies N / k apart."""
    n = binned.shape[1]
    k = stats.bump_count(binned)
    phase = stats.unwrap(stats.bump_phase(binned, k), n / k).cpu()
    t = torch.arange(len(phase)) * bin_width
    for shift in range(k):
        ax.plot(t, (phase + shift * n / k) % n, ".", ms=0.6, color=f"C{shift}")
    ax.set(xlabel="time (s)", ylabel="bump centre (neuron)", ylim=(0, n))
    return ax


def profile_grid(board, methods, datasets, true_w: torch.Tensor, width: float = 3.6) -> plt.Figure:
    """One panel per (data set, method) of a :class:`~circuitlib.experiments.scoreboard.Scoreboard`:
    the true profile and the first run's inferred rows aligned on the ring, scaled by Delta's alpha
    (line: mean over rows, band: +- one sd across rows)."""
    methods, datasets = list(methods), list(datasets)
    fig, axes = plt.subplots(len(datasets), len(methods), figsize=(width * len(methods), 2.9 * len(datasets)),
                             sharex=True, squeeze=False)
    for row, dataset in zip(axes, datasets):
        for ax, method in zip(row, methods):
            if (method, dataset) not in board.runs:
                ax.set_axis_off()
                continue
            r = board.run(method, dataset)
            ring_profile(ax, true_w, color="C1", label="true")
            aligned_profile(ax, r["weights"], scale=r["scale"], color="C0", label="inferred (scaled)")
            ax.set_title(f"{method}\n{dataset}: Delta {r['delta']:.2f}", fontsize=9)
            ax.set(xlabel="", ylabel="")
    axes[0, 0].legend(fontsize=8)
    fig.supxlabel("ring offset j - i (neurons)")
    fig.tight_layout()
    return fig


def matrix_grid(board, methods, datasets, width: float = 3.1) -> plt.Figure:
    """One image per (data set, method) of the first run's inferred ``[N, N]`` matrix (diagonal
    zeroed, colour scale symmetric about zero per panel)."""
    methods, datasets = list(methods), list(datasets)
    fig, axes = plt.subplots(len(datasets), len(methods), figsize=(width * len(methods), 2.6 * len(datasets)),
                             squeeze=False)
    for row, dataset in zip(axes, datasets):
        for ax, method in zip(row, methods):
            if (method, dataset) not in board.runs:
                ax.set_axis_off()
                continue
            w = board.run(method, dataset)["weights"].clone().fill_diagonal_(0)
            lim = float(w.abs().max())
            ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"{method}\n{dataset}", fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def by_model_size(ax: plt.Axes, scores: dict, ylabel: str = "", **style) -> plt.Axes:
    """One line per number of observed neurons N_o: a score's mean +- sd over seeds against the
    model's size N_o + N_h. ``scores``: {(N_o, N_h): (mean, sd)}."""
    for n_obs in sorted({o for o, _ in scores}):
        pts = sorted((n_obs + h, *scores[n_obs, h]) for o, h in scores if o == n_obs)
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", capsize=3,
                    label=f"N_o = {n_obs}", **style)
    ax.set(xlabel="neurons in the model, N_o + N_h", ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax


def coupling_by_angle(ax: plt.Axes, w: torch.Tensor, angles: torch.Tensor, label: str = "", color: str = "C0",
                      bin_deg: float = 30.0) -> plt.Axes:
    """Every off-diagonal coupling of ``w`` [N, N] (in sd units) against the pair's difference of
    ``angles`` [N] (rad), with the mean per ``bin_deg``-degree bin."""
    d = torch.rad2deg(metrics.angle_differences(angles))
    off = ~torch.eye(len(d), dtype=torch.bool)
    wv = w.detach().double().cpu()
    wv = wv / wv[off].std()
    ax.scatter(d[off], wv[off], s=6, alpha=0.4, color=color)
    edges = torch.arange(0.0, 180.0 + bin_deg, bin_deg)
    means = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = off & (d >= lo) & ((d < hi) | ((hi >= 180) & (d <= hi)))
        means.append(float(wv[inside].mean()) if inside.any() else math.nan)
    ax.plot((edges[:-1] + edges[1:]) / 2, means, "o-", color=color, label=label)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set(xlabel="preferred-direction difference (deg)", ylabel="coupling / sd")
    return ax


def polar_tuning(curves: torch.Tensor, centres: torch.Tensor, order=None, n_cols: int = 5) -> plt.Figure:
    """One polar panel per cell of tuning ``curves`` [N, B] (Hz) over angle bins ``centres`` [B]
    (rad), in ``order`` (default: as given), the peak marked."""
    order = list(range(len(curves))) if order is None else [int(i) for i in order]
    n_rows = math.ceil(len(order) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.4 * n_cols, 2.5 * n_rows), squeeze=False,
                             subplot_kw=dict(projection="polar"))
    theta = torch.cat([torch.as_tensor(centres), torch.as_tensor(centres)[:1]])
    for ax, i in zip(axes.flat, order):
        r = torch.as_tensor(curves[i]).double()
        ax.plot(theta, torch.cat([r, r[:1]]), lw=1)
        k = int(torch.nan_to_num(r, nan=-math.inf).argmax())
        ax.plot(float(centres[k]), float(r[k]), "o", color="red", ms=4)
        ax.set_title(f"cell {i}: {float(r[k]):.0f} Hz", fontsize=8)
        ax.set_xticklabels([])
        ax.set_yticklabels([])
    for ax in axes.flat[len(order):]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def against_length(ax: plt.Axes, board, methods, datasets, lengths, key: str = "delta", **style) -> plt.Axes:
    """Mean +- sd over seeds of one score of each method against training length (s, log axis);
    ``datasets`` [len(lengths)] names ``board``'s data set of each length; a method is drawn at the
    lengths it was fitted at (a control fitted at one length is one point), and skipped if none."""
    for method in methods:
        fitted = [(length, d) for length, d in zip(lengths, datasets) if (method, d) in board.runs]
        if not fitted:
            continue
        mean, sd = board.series(method, [d for _, d in fitted], key)
        ax.errorbar([length for length, _ in fitted], mean, yerr=sd, marker="o", capsize=3, label=method, **style)
    ax.set(xscale="log", xlabel="training data (s)")
    return ax


def training_curves(ax: plt.Axes, board, methods, dataset: str, bin_width: float = 1e-3) -> plt.Axes:
    """Validation bits/spike against the seconds of data seen, for the first run of each method
    on ``dataset`` whose ``training_log`` records ``bins_seen`` (time-parallel fits)."""
    for method in methods:
        log = board.run(method, dataset).get("training_log") or []
        points = [(r["bins_seen"] * bin_width, r["validation_bps"]) for r in log if "validation_bps" in r]
        if points:
            ax.plot(*zip(*points), marker=".", label=method)
    ax.set(xlabel="seconds of data seen", ylabel="validation bits/spike", title=dataset)
    return ax


# -- rate models (assemblies, low-rank networks) -------------------------------------------------------
def type_color(k: int, n_types: int = 10):
    """Colour of neuron type ``k``: tab10 for up to 10 types, tab20 (cycled) beyond."""
    cmap = plt.cm.tab10 if n_types <= 10 else plt.cm.tab20
    return cmap(int(k) % cmap.N)


def activity_image(ax: plt.Axes, x: torch.Tensor, dt: float, vmax: float = 10.0, title: str = "activity x") -> plt.Axes:
    """States ``x`` [T, N] as an image, neurons down, time (frame * ``dt``) across."""
    ax.imshow(x.T.cpu(), aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
              extent=[0, (x.shape[0] - 1) * dt, x.shape[1], 0])
    ax.set(title=title, xlabel="time", ylabel="neuron")
    return ax


def traces(ax: plt.Axes, x: torch.Tensor, dt: float, neurons, types=None, true: torch.Tensor | None = None,
           title: str = "") -> plt.Axes:
    """Traces of ``neurons`` from states ``x`` [T, N] against time, coloured by ``types`` [N]; with
    ``true`` [T, N] (e.g. the simulated states a rollout ``x`` should follow) drawn thick in grey below."""
    t = torch.arange(x.shape[0]) * dt
    n_types = 10 if types is None else int(max(types)) + 1
    for c, i in enumerate(neurons):
        if true is not None:
            ax.plot(t, true[:, i].cpu(), color="0.7", lw=2)
        ax.plot(t, x[:, i].cpu(), lw=0.9, color=type_color(types[i] if types is not None else c, n_types))
    ax.set(title=title, xlabel="time")
    return ax


def weights_scatter(ax: plt.Axes, true: torch.Tensor, learned: torch.Tensor, mask: torch.Tensor | None = None,
                    max_points: int = 50_000, seed: int = 0, title: str = "") -> plt.Axes:
    """Learned against true weights ``[N, N]`` over ``mask`` (default: off the diagonal), at most
    ``max_points`` random entries, with the identity line; the title gives R^2 and slope."""
    mask = ~torch.eye(true.shape[0], dtype=torch.bool) if mask is None else mask
    t, w = true.cpu().double()[mask], learned.cpu().double()[mask]
    r2, slope, _ = metrics.linear_fit(t, w)
    keep = torch.randperm(len(t), generator=torch.Generator().manual_seed(seed))[:max_points]
    ax.scatter(t[keep], w[keep], s=1, alpha=0.3, color="k", rasterized=True)
    lim = float(t.abs().max())
    ax.plot([-lim, lim], [-lim, lim], color="r", lw=0.8)
    ax.set(xlabel="true $W_{ij}$", ylabel="learned $W_{ij}$ (simulator units)",
           title=f"{title + ': ' if title else ''}$R^2$ = {r2:.3f}, slope = {slope:.3f}")
    return ax


def latents_by_type(ax: plt.Axes, latents: torch.Tensor, types: torch.Tensor, labels=None,
                    title: str = "latents") -> plt.Axes:
    """Learned latents ``[N, 2]`` coloured by true type ``[N]``; ``labels`` one legend entry per type
    (default "type k"; no legend beyond 10 types)."""
    latents, types = latents.detach().cpu(), types.cpu()
    n_types = int(types.max()) + 1
    for k in range(n_types):
        label = (labels[k] if labels is not None else f"type {k + 1}") if n_types <= 10 else None
        ax.scatter(*latents[types == k].T, s=4, color=type_color(k, n_types), label=label)
    ax.set(title=title, xlabel="$a_1$", ylabel="$a_2$")
    if n_types <= 10:
        ax.legend(markerscale=3, fontsize=8)
    return ax


def curves_by_type(ax: plt.Axes, x: torch.Tensor, curves: torch.Tensor, types: torch.Tensor,
                   true: torch.Tensor | None = None, every: int = 1, title: str = "") -> plt.Axes:
    """Learned functions ``curves`` [N, M] on samples ``x`` [M] (every ``every``-th neuron), coloured
    by type ``[N]``; ``true`` [K, M] the true functions, dashed grey on top."""
    types, x = types.cpu(), x.cpu()
    n_types = int(types.max()) + 1
    for i in range(0, curves.shape[0], every):
        ax.plot(x, curves[i], color=type_color(types[i], n_types), lw=0.4, alpha=0.4)
    for curve in ([] if true is None else true):
        ax.plot(x, curve, color="0.4", lw=1.5, ls="--")
    ax.set(title=title, xlabel="x")
    return ax


def grid_image(ax: plt.Axes, values: torch.Tensor, title: str = "", vmin: float = 0.5, vmax: float = 1.5, **style):
    """Values of neurons on a square grid ``[side^2]`` (row-major) as an image; returns the image."""
    side = math.isqrt(values.numel())
    if side * side != values.numel():
        raise ValueError(f"values must fill a square grid, got {values.numel()} entries.")
    im = ax.imshow(values.cpu().view(side, side), vmin=vmin, vmax=vmax, cmap=style.pop("cmap", "RdBu_r"), **style)
    ax.set(title=title, xticks=[], yticks=[])
    return im


def flow_field(ax: plt.Axes, m: torch.Tensor, n: torch.Tensor, grid: torch.Tensor, trajectories=None,
               radius: float | None = None, title: str = "", extent: float = 2.2) -> plt.Axes:
    """Latent flow field F(kappa) of loadings ``m, n`` [N, 2]: :func:`latent_flow` of
    :func:`~circuitlib.lowrank_dynamics.latent_field`."""
    return latent_flow(ax, lambda k: latent_field(m, n, k.to(m)), grid, trajectories, radius, title, extent)


def latent_flow(ax: plt.Axes, field, grid: torch.Tensor, trajectories=None, radius: float | None = None,
                title: str = "", extent: float = 2.2, centre=(0.0, 0.0)) -> plt.Axes:
    """A latent flow ``field`` (kappa [G, 2] -> dkappa/dt [G, 2]) as arrows at ``grid`` [G, 2];
    optional latent ``trajectories`` [B, T, 2] and a dashed circle of ``radius`` about ``centre``
    (e.g. the mean-field ring); axes span ``extent`` about the centre."""
    f = field(grid).cpu()
    ax.quiver(grid[:, 0], grid[:, 1], f[:, 0], f[:, 1], color="0.55", angles="xy", width=0.004)
    for k in ([] if trajectories is None else trajectories.cpu()):
        ax.plot(k[:, 0], k[:, 1], lw=0.7)
    if radius is not None:
        phi = torch.linspace(0, 2 * math.pi, 200)
        ax.plot(centre[0] + radius * phi.cos(), centre[1] + radius * phi.sin(), "k--", lw=1, label="mean-field ring")
    ax.set(title=title, xlabel=r"$\kappa_1$", ylabel=r"$\kappa_2$", aspect="equal",
           xlim=(centre[0] - extent, centre[0] + extent), ylim=(centre[1] - extent, centre[1] + extent))
    return ax


def leaderboard_heatmap(ax: plt.Axes, table, title: str = "", cmap: str = "viridis", vmin: float | None = None,
                        vmax: float | None = None, digits: int = 2, colorbar: bool = True):
    """A leaderboard's mean table (rows: methods, columns: generators; a pandas DataFrame such as
    ``sweep.leaderboard(df, metric)["mean"]``) as a heat map with each value written in its cell;
    missing entries (a method that does not apply) are left blank. Returns the image."""
    values = torch.tensor(table.to_numpy(dtype=float, copy=True))
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), v in zip(torch.cartesian_prod(torch.arange(values.shape[0]), torch.arange(values.shape[1])).tolist(),
                         values.flatten().tolist()):
        if math.isfinite(v):
            r, g, b, _ = im.cmap(im.norm(v))
            ax.text(j, i, f"{v:.{digits}f}", ha="center", va="center", fontsize=8,
                    color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in table.columns], rotation=30, ha="right")
    ax.set_yticks(range(values.shape[0]), [str(r) for r in table.index])
    ax.set(title=title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return im

