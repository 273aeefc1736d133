"""Scores of inferred ring connectivity, per method and data set, over repeated fits.

The ring chapters compare several methods on the same data; each fit adds one run, and the
scoreboard reports the mean (and sd over seeds) of Delta with the L1 and the least-squares scale,
the profile correlation and held-out bits/spike.
"""
from __future__ import annotations

import math
import time

import torch

from .. import metrics
from ..infer.glm import CouplingGLM
from ..infer.ring_gnn_training import RingGNN
from ..sim import ring

KEYS = {"delta": ".3f", "delta_lsq": ".3f", "corr": "+.2f", "bps": ".3f"}
HEADERS = {"delta": "Delta (L1)", "delta_lsq": "Delta (lsq)", "corr": "profile corr.", "bps": "test bits/spike"}


class Scoreboard:
    """Runs keyed by (method, data set); ``true_w`` [N, N] is the ring's connectivity."""

    def __init__(self, true_w: torch.Tensor):
        self.true_w = true_w
        self.runs: dict[tuple[str, str], list[dict]] = {}

    def add(self, method: str, dataset: str, weights: torch.Tensor, bps: float = math.nan,
            seconds: float = 0.0, **extra) -> dict:
        """Score ``weights`` [N, N] and keep the run (``extra``: anything else to keep with it)."""
        w = weights.detach().double().cpu()
        run = dict(weights=w, bps=float(bps), seconds=seconds, **extra,
                   delta=metrics.inference_error(self.true_w, w).delta,
                   delta_lsq=metrics.inference_error(self.true_w, w, scale="lsq").delta,
                   corr=metrics.profile_correlation(self.true_w, w))
        self.runs.setdefault((method, dataset), []).append(run)
        return run

    def fit(self, method: str, dataset: str, model, train, validation, test):
        """``model.fit(train, validation)``, then add its ``.weights`` and ``.score(test)``; returns the model."""
        t0 = time.perf_counter()
        model.fit(train, validation)
        self.add(method, dataset, model.weights, model.score(test).mean, time.perf_counter() - t0,
                 history=getattr(model, "history", None))
        return model

    def stat(self, method: str, dataset: str, key: str) -> tuple[float, float]:
        """Mean and sd (0 for a single run) of one score over the runs."""
        if (method, dataset) not in self.runs:
            raise KeyError(f"no run of {method!r} on {dataset!r}; fitted: {sorted(self.runs)}.")
        v = torch.tensor([r[key] for r in self.runs[method, dataset]], dtype=torch.float64)
        return float(v.mean()), float(v.std()) if len(v) > 1 else 0.0

    def series(self, method: str, datasets, key: str) -> tuple[list[float], list[float]]:
        """Means and sds of one score over several data sets (e.g. one per training length)."""
        stats = [self.stat(method, d, key) for d in datasets]
        return [m for m, _ in stats], [s for _, s in stats]

    def markdown(self, methods, datasets, keys=tuple(KEYS)) -> str:
        """A Markdown table, one row per fitted (method, data set): mean ± sd over seeds, total fit time."""
        rows = ["| method | data | " + " | ".join(HEADERS[k] for k in keys) + " | fits | fit time |",
                "|---|---|" + "---|" * (len(keys) + 2)]
        for method in methods:
            for dataset in datasets:
                runs = self.runs.get((method, dataset))
                if not runs:
                    continue
                cells = []
                for k in keys:
                    m, s = self.stat(method, dataset, k)
                    cells.append(f"{m:{KEYS[k]}}" + (f" ± {s:.3f}" if len(runs) > 1 else ""))
                secs = sum(r["seconds"] for r in runs)
                rows.append(f"| {method} | {dataset} | " + " | ".join(cells) + f" | {len(runs)} | {secs:.0f} s |")
        return "\n".join(rows)

    def beside_paper(self, methods, datasets, paper: dict[str, tuple]) -> str:
        """Markdown table of our mean Delta and bits/spike next to ``paper[method]`` =
        (Delta per data set..., bits/spike per data set...); methods the paper lacks get dashes."""
        datasets = list(datasets)
        head = " | ".join(f"{label} {d} (ours / paper)" for label in ("Delta", "bits/spike") for d in datasets)
        rows = [f"| method | {head} |", "|---|" + "---|" * (2 * len(datasets))]
        for method in methods:
            ref = paper.get(method, ("–",) * (2 * len(datasets)))
            cells = []
            for k, key in enumerate(("delta", "bps")):
                for j, d in enumerate(datasets):
                    ours = f"{self.stat(method, d, key)[0]:.3f}" if (method, d) in self.runs else "not run"
                    cells.append(f"{ours} / {ref[k * len(datasets) + j]}")
            rows.append(f"| {method} | " + " | ".join(cells) + " |")
        return "\n".join(rows)


def compare_ring_methods(board: Scoreboard, data: dict, gnns: dict[str, dict], *, glm_iter: int = 2000,
                         strengths=(1e-5, 3e-6, 1e-6), glms: bool = True, seeds=(0,), device="auto",
                         progress: bool = True) -> dict:
    """Fit the shared-profile GLM and the free-w GLM (unless ``glms=False``; L2 strengths chosen on
    validation) and each ring GNN of ``gnns`` (name -> RingGNN keywords) to every data set of
    ``data`` (name -> dict of train, validation, test); score all on ``board``. GNNs are refitted
    once per seed. Returns the fitted GNNs by (name, data set), the last seed's fit."""
    fitted = {}
    for dataset, parts in data.items():
        if glms:
            board.fit("GLM, shared profile", dataset, CouplingGLM("shared", max_iter=glm_iter, device=device), **parts)
            board.fit("GLM, free w", dataset, CouplingGLM("free", strength=list(strengths), max_iter=glm_iter,
                                                          device=device), **parts)
        for name, hp in gnns.items():
            for seed in seeds:
                fitted[name, dataset] = board.fit(name, dataset, RingGNN(**hp, seed=seed, device=device,
                                                                         progress=progress), **parts)
    return fitted


def length_name(model: str, seconds: float) -> str:
    """Data-set name of ``seconds`` of training data of one spike model, e.g. ``"threshold 16 s"``."""
    return f"{model} {seconds:g} s"


def training_lengths(model: str, lengths, held_out: float, seed: int = 0, device="auto", **simulate) -> dict:
    """Nested training sets of one recording, scored on the same held-out data.

    Simulates ``max(lengths) + 2 held_out`` seconds of ``ring.simulate(model, ...)``; the training
    set of length L is its first L seconds, validation and test are the two ``held_out``-second
    stretches after the longest training set. Returns ``{length_name(model, L): dict(train,
    validation, test)}`` for ``compare_ring_methods``."""
    lengths = sorted(lengths)
    if lengths[0] <= 0 or held_out <= 0:
        raise ValueError(f"training lengths and held_out must be positive seconds, got {lengths}, {held_out}.")
    rec = ring.simulate(model, duration=lengths[-1] + 2 * held_out, seed=seed, device=device, **simulate)
    step = lambda seconds: round(seconds / rec.dt)                       # noqa: E731
    end = step(lengths[-1])
    validation, test = rec.slice(end, end + step(held_out)), rec.slice(end + step(held_out), rec.n_steps)
    return {length_name(model, L): dict(train=rec.slice(0, step(L)), validation=validation, test=test)
            for L in lengths}
