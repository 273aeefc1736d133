"""Figures that chapters share. Each draws on a given matplotlib ``Axes`` and returns it."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .data.spikes import SpikeTrain
from .ring_geometry import aligned_rows, signed_offsets


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


def against_length(ax: plt.Axes, board, methods, datasets, lengths, key: str = "delta", **style) -> plt.Axes:
    """Mean +- sd over seeds of one score of each method against training length (s, log axis);
    ``datasets`` [len(lengths)] names ``board``'s data set of each length; methods not fitted on all
    of them are skipped."""
    for method in methods:
        if not all((method, d) in board.runs for d in datasets):
            continue
        mean, sd = board.series(method, datasets, key)
        ax.errorbar(lengths, mean, yerr=sd, marker="o", capsize=3, label=method, **style)
    ax.set(xscale="log", xlabel="training data (s)")
    return ax
