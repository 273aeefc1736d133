"""Scores of inferred ring connectivity, per method and data set, over repeated fits.

The ring chapters compare several methods on the same data; each fit adds one run, and the
scoreboard reports the mean (and sd over seeds) of Delta with its parts (scale, bias, variance),
Delta with the least-squares scale, the profile correlation and, for methods that predict
spikes, held-out bits/spike. Methods that predict nothing (correlation, seqNMF, TCA) get NaN
bits/spike.
"""
from __future__ import annotations

import math
import time

import torch

from .. import metrics
from ..infer.base import ActivityModel
from ..infer.glm import CouplingGLM
from ..infer.window_gnn_training import WindowGNN
from ..sim import ring

KEYS = {"delta": ".3f", "bias": ".3f", "variance": ".3f", "delta_lsq": ".3f", "corr": "+.2f", "bps": ".3f"}
HEADERS = {"delta": "Delta (L1)", "bias": "bias", "variance": "variance", "delta_lsq": "Delta (lsq)",
           "corr": "profile corr.", "bps": "test bits/spike"}
DEFAULT_KEYS = ("delta", "delta_lsq", "corr", "bps")


class Scoreboard:
    """Runs keyed by (method, data set); ``true_w`` [N, N] is the ring's connectivity (or, with
    ``torus=(L1, L2)``, the connectivity of a torus of N = L1 L2 neurons, scored by 2-D offsets).

    Each run is a dict: ``weights`` [N, N] (float64, CPU), ``error`` (the whole
    :class:`~circuitlib.metrics.InferenceError`), its ``delta``, ``scale``, ``bias`` and
    ``variance``, ``delta_lsq``, ``corr``, ``bps``, ``seconds`` and anything passed as ``extra``.
    """

    def __init__(self, true_w: torch.Tensor, torus: tuple[int, int] | None = None):
        self.true_w, self.torus = true_w, torus
        self.runs: dict[tuple[str, str], list[dict]] = {}

    def add(self, method: str, dataset: str, weights: torch.Tensor, bps: float = math.nan,
            seconds: float = 0.0, **extra) -> dict:
        """Score ``weights`` [N, N] and keep the run (``extra``: anything else to keep with it)."""
        w = weights.detach().double().cpu()
        err = metrics.inference_error(self.true_w, w, torus=self.torus)
        run = dict(weights=w, bps=float(bps), seconds=seconds, **extra, error=err, delta=err.delta,
                   scale=err.scale, bias=err.bias, variance=err.variance,
                   delta_lsq=metrics.inference_error(self.true_w, w, scale="lsq", torus=self.torus).delta,
                   corr=metrics.profile_correlation(self.true_w, w, torus=self.torus))
        self.runs.setdefault((method, dataset), []).append(run)
        return run

    def fit(self, method: str, dataset: str, model, train, validation=None, test=None):
        """``model.fit(train, validation)``, then add its ``.weights`` and, for a method that
        predicts spikes (an :class:`~circuitlib.infer.base.ActivityModel`), ``.score(test)``, with
        its ``training_log`` and (a GNN with a free residual) ``residual_lr``, the rate chosen on
        validation; returns the fitted model."""
        predicts = isinstance(model, ActivityModel)
        if predicts and test is None:
            raise ValueError(f"{method} predicts spikes: give held-out test data to score it on.")
        t0 = time.perf_counter()
        model.fit(train, validation)
        seconds = time.perf_counter() - t0
        self.add(method, dataset, model.weights, model.score(test).mean if predicts else math.nan, seconds,
                 training_log=getattr(model, "training_log", None),
                 residual_lr=getattr(model, "chosen_residual_lr", math.nan))
        return model

    def run(self, method: str, dataset: str, index: int = 0) -> dict:
        """One run (the first by default) of ``method`` on ``dataset``."""
        if (method, dataset) not in self.runs:
            raise KeyError(f"no run of {method!r} on {dataset!r}; fitted: {sorted(self.runs)}.")
        return self.runs[method, dataset][index]

    def stat(self, method: str, dataset: str, key: str) -> tuple[float, float]:
        """Mean and sd (0 for a single run) of one score over the runs."""
        self.run(method, dataset)                                   # a clear KeyError when never fitted
        v = torch.tensor([r[key] for r in self.runs[method, dataset]], dtype=torch.float64)
        return float(v.mean()), float(v.std()) if len(v) > 1 else 0.0

    def series(self, method: str, datasets, key: str) -> tuple[list[float], list[float]]:
        """Means and sds of one score over several data sets (e.g. one per training length)."""
        stats = [self.stat(method, d, key) for d in datasets]
        return [m for m, _ in stats], [s for _, s in stats]

    def values(self, names: dict[str, str], datasets, keys=("delta", "bps"),
               template: str = "{key}_{name}_{dataset}") -> dict[str, float]:
        """Mean scores by name, for a chapter to glue: ``names`` maps a method to its short name;
        each fitted (method, data set) and key gives ``template.format(key=, name=, dataset=)``.
        NaN scores (bits/spike of a method that predicts nothing) are left out."""
        out = {}
        for method, name in names.items():
            for dataset in datasets:
                if (method, dataset) not in self.runs:
                    continue
                for key in keys:
                    value = self.stat(method, dataset, key)[0]
                    if not math.isnan(value):
                        out[template.format(key=key, name=name, dataset=dataset)] = value
        return out

    def markdown(self, methods, datasets, keys=DEFAULT_KEYS) -> str:
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
                    cells.append("–" if math.isnan(m) else f"{m:{KEYS[k]}}" + (f" ± {s:.3f}" if len(runs) > 1 else ""))
                secs = sum(r["seconds"] for r in runs)
                rows.append(f"| {method} | {dataset} | " + " | ".join(cells) + f" | {len(runs)} | {secs:.0f} s |")
        return "\n".join(rows)

    def beside_paper(self, methods, datasets, paper: dict[str, tuple], keys=("delta", "bps")) -> str:
        """Markdown table of our mean scores next to ``paper[method]`` = (first key per data set...,
        second key per data set..., ...); methods the paper lacks get dashes."""
        datasets = list(datasets)
        head = " | ".join(f"{HEADERS[key]} {d} (ours / paper)" for key in keys for d in datasets)
        rows = [f"| method | {head} |", "|---|" + "---|" * (len(keys) * len(datasets))]
        for method in methods:
            ref = paper.get(method, ("–",) * (len(keys) * len(datasets)))
            if len(ref) != len(keys) * len(datasets):
                raise ValueError(f"paper[{method!r}] needs {len(keys) * len(datasets)} values (keys {keys} x data "
                                 f"sets {datasets}), got {len(ref)}.")
            cells = []
            for k, key in enumerate(keys):
                for j, d in enumerate(datasets):
                    ours = f"{self.stat(method, d, key)[0]:{KEYS[key]}}" if (method, d) in self.runs else "not run"
                    cells.append(f"{ours} / {ref[k * len(datasets) + j]}")
            rows.append(f"| {method} | " + " | ".join(cells) + " |")
        return "\n".join(rows)


def prior_table(board: Scoreboard, rows, datasets, paper: dict[str, tuple] | None = None,
                keys=("delta", "bps")) -> str:
    """Markdown table with one column per condition: for each key and data set, the method fitted
    without a ring prior, the one given the ring's symmetry, and the paper's value.

    ``rows``: (label, method without prior or None, method with the prior or None);
    ``paper[label]``: one value per (key, data set), key-major, or absent ("–")."""
    datasets, paper = list(datasets), paper or {}
    head = " | ".join(f"{HEADERS[k]} {d}: no prior | ring prior | paper" for k in keys for d in datasets)
    out = [f"| method | {head} |", "|---|" + "---|" * (3 * len(keys) * len(datasets))]
    for label, plain, prior in rows:
        ref = paper.get(label, ("–",) * (len(keys) * len(datasets)))
        if len(ref) != len(keys) * len(datasets):
            raise ValueError(f"paper[{label!r}] needs {len(keys) * len(datasets)} values, got {len(ref)}.")
        cells = []
        for k, key in enumerate(keys):
            for j, d in enumerate(datasets):
                for method in (plain, prior):
                    fitted = method is not None and (method, d) in board.runs
                    cells.append(f"{board.stat(method, d, key)[0]:{KEYS[key]}}" if fitted else "–")
                cells.append(str(ref[k * len(datasets) + j]))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


class ShuffledNeurons(ActivityModel):
    """Control: ``model`` fitted to recordings whose neuron labels are permuted at random (one
    permutation, from ``seed``, for training, validation and test alike), its ``weights`` read as if
    the labels were right. A model that owes its connectivity to the spikes fails; one whose prior
    (ring positions handed to it) carries the result does not."""

    def __init__(self, model: ActivityModel, seed: int = 0):
        self.model, self.seed = model, seed

    def _shuffled(self, data):
        return data.select(self.order) if data is not None else None

    def fit(self, data, validation=None) -> ShuffledNeurons:
        """``data``, ``validation``: SpikeTrains of the same neurons."""
        self.order = torch.randperm(data.n_neurons, generator=torch.Generator().manual_seed(self.seed))
        self.model.fit(self._shuffled(data), self._shuffled(validation))
        self.weights, self.training_log = self.model.weights, getattr(self.model, "training_log", None)
        return self

    def predict(self, data):
        self.check_fitted("predict")
        return self.model.predict(self._shuffled(data))

    def score(self, data):
        self.check_fitted("score")
        return self.model.score(self._shuffled(data))


def compare_ring_methods(board: Scoreboard, data: dict, gnns: dict, *, glm_iter: int = 2000,
                         strengths=(1e-5, 3e-6, 1e-6), glms: bool = True, glm_dtype: torch.dtype = torch.float64,
                         seeds=(0,), device="auto", progress: bool = True) -> dict:
    """Fit the shared-profile GLM (its profile shared over the board's ring or torus) and the
    free-w GLM (unless ``glms=False``; its L2 strength chosen on validation from ``strengths``, a
    grid or "auto"; both in ``glm_dtype``) and each ring GNN of ``gnns`` to every data
    set of ``data`` (name -> dict of train, validation, test); score all on ``board``. ``gnns`` maps
    a name to WindowGNN keywords or to a function of the seed that returns an unfitted model (e.g.
    ``lambda seed: WindowGNN.with_residual(seed=seed)``). GNNs are refitted once per seed. Returns
    the fitted GNNs by (name, data set), the last seed's fit."""
    fitted = {}
    for dataset, parts in data.items():
        if glms:
            board.fit("GLM, shared profile", dataset, CouplingGLM("shared", max_iter=glm_iter, lattice=board.torus,
                                                                  device=device, dtype=glm_dtype), **parts)
            strength = strengths if isinstance(strengths, str) else list(strengths)      # "auto" or a grid
            board.fit("GLM, free w", dataset, CouplingGLM("free", strength=strength, max_iter=glm_iter,
                                                          device=device, dtype=glm_dtype), **parts)
        for name, spec in gnns.items():
            for seed in seeds:
                model = spec(seed) if callable(spec) else WindowGNN(**spec, seed=seed, device=device, progress=progress)
                fitted[name, dataset] = board.fit(name, dataset, model, **parts)
    return fitted


def length_name(model: str, seconds: float) -> str:
    """Data-set name of ``seconds`` of training data of one spike model, e.g. ``"threshold 16 s"``."""
    return f"{model} {seconds:g} s"


def training_lengths(model: str, lengths, held_out: float, seed: int = 0, device="auto", simulator=ring.simulate,
                     **simulate) -> dict:
    """Nested training sets of one recording, scored on the same held-out data.

    Simulates ``max(lengths) + 2 held_out`` seconds of ``simulator(model, ...)`` (default
    ``ring.simulate``; ``torus.simulate`` with ``shape=`` for the grid-cell sheet); the training
    set of length L is its first L seconds, validation and test are the two ``held_out``-second
    stretches after the longest training set. Returns ``{length_name(model, L): dict(train,
    validation, test)}`` for ``compare_ring_methods``."""
    lengths = sorted(lengths)
    if lengths[0] <= 0 or held_out <= 0:
        raise ValueError(f"training lengths and held_out must be positive seconds, got {lengths}, {held_out}.")
    rec = simulator(model, duration=lengths[-1] + 2 * held_out, seed=seed, device=device, **simulate)
    step = lambda seconds: round(seconds / rec.dt)                       # noqa: E731
    end = step(lengths[-1])
    validation, test = rec.slice(end, end + step(held_out)), rec.slice(end + step(held_out), rec.n_steps)
    return {length_name(model, L): dict(train=rec.slice(0, step(L)), validation=validation, test=test)
            for L in lengths}
