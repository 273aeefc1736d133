"""The benchmark sweep: every method on every generator over seeds, run on ``dask.distributed``.

A :class:`Cell` is pure data (generator + parameters, method + hyper-parameters, seed, scale,
device) with a stable content hash; :func:`evaluate` turns one cell into a record (metrics, fit
seconds, package versions, config, hash, status); :func:`run_sweep` evaluates a grid of cells on a
Dask cluster, writes each finished record at once to a store directory and returns a DataFrame;
:func:`leaderboard` pivots it into mean ± sd over seeds.

    cells = [Cell("ring", m, generator_params={"n": 100, "duration": 60.0}, seed=s)
             for m in ("pearson", "partial", "glm_free") for s in range(5)]
    df = run_sweep(cells, "results/sweep")            # embedded LocalCluster, one worker per core
    board = leaderboard(df, "delta")                  # columns ("mean" | "sd" | "n", generator)
    print(to_markdown(format_leaderboard(board)))     # "0.412 ± 0.031" cells, Markdown table

Names are looked up in :data:`GENERATORS` and :data:`METHODS`; add to them with the decorators
:func:`register_generator` and :func:`register_method`. The generator's :class:`Truth` names the
metric family that applies (:data:`METRIC_FAMILIES`: "ring" -> Delta; "directed" -> edge metrics).

Clusters. ``client=None`` starts an embedded ``LocalCluster`` (one single-threaded worker process
per core) and closes it afterwards. A ``distributed.Client`` or a scheduler address runs the same
call anywhere Dask runs, e.g. on Slurm with ``dask-jobqueue``::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=1, processes=1, memory="8GB", walltime="02:00:00")
    cluster.scale(jobs=50)
    df = run_sweep(cells, "/shared/sweep", client=Client(cluster))

or on multi-GPU nodes with ``dask-cuda`` (one worker per GPU, each seeing only its own GPU, so
cells with ``device="cuda"`` spread over the GPUs)::

    from dask_cuda import LocalCUDACluster
    df = run_sweep(cells, "sweep", client=Client(LocalCUDACluster()))

In a script, call :func:`run_sweep` under ``if __name__ == "__main__":`` (the local workers are
new processes that import the script). Records are written by the calling process, so the store
needs no shared file system. Every
worker runs torch with one thread (a worker plugin), so N workers on N cores do not oversubscribe.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import math
import os
import socket
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import torch
from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin
from tqdm.auto import tqdm

from .. import metrics
from .._device import resolve_device
from ..data.spikes import SpikeTrain
from ..infer.base import ActivityModel
from ..sim import ring

# ---------------------------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------------------------
_SCALARS = (str, int, float, bool, type(None))


def _freeze(name: str, value):
    """A parameter value as hashable JSON-able data: scalars, and lists / tuples of them as tuples."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"parameter {name}={value!r} is not finite; a cell's parameters must be finite numbers.")
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(name, v) for v in value)
    raise TypeError(f"parameter {name}={value!r} ({type(value).__name__}) is not a JSON scalar or a list of "
                    "them; give numbers, strings, booleans, None or lists of these, so the cell is pure data.")


def _params(what: str, params, reserved: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """Sorted ``(key, frozen value)`` pairs from a dict (or pairs); ``reserved`` keys are Cell fields."""
    items = dict(params or {})
    for key in items:
        if not isinstance(key, str):
            raise TypeError(f"{what} keys must be strings, got {key!r}.")
    taken = [k for k in reserved if k in items]
    if taken:
        raise ValueError(f"{what} must not contain {taken}: set them as Cell({taken[0]}=...).")
    return tuple((k, _freeze(k, items[k])) for k in sorted(items))


def _jsonable(value):
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


@dataclass(frozen=True, eq=False)
class Cell:
    """One point of the grid: ``generator`` with ``generator_params``, ``method`` with
    ``method_params`` (dicts are accepted and stored as sorted pairs), ``seed`` (passed to the
    generator; a method's own initialisation seed, if it has one, is a method parameter),
    ``scale`` (a label such as "ci" / "quick" / "paper" that keeps grids apart in one store) and
    ``device`` (given to the generator and the method).

    Two cells are equal, and hash equally, when their canonical JSON (:meth:`config`, sorted keys,
    floats in ``repr`` form) is the same; ``key`` is its sha256, stable across processes and
    sessions. Note that ``1`` and ``1.0`` are different parameter values.
    """

    generator: str
    method: str
    generator_params: Any = ()
    method_params: Any = ()
    seed: int = 0
    scale: str = "ci"
    device: str = "cpu"
    key: str = field(init=False, repr=False)

    def __post_init__(self):
        for name in ("generator", "method", "scale", "device"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise TypeError(f"Cell.{name} must be a non-empty string, got {getattr(self, name)!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise TypeError(f"Cell.seed must be an integer, got {self.seed!r}.")
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "generator_params",
                           _params("generator_params", self.generator_params, ("device", "seed")))
        object.__setattr__(self, "method_params", _params("method_params", self.method_params, ("device",)))
        object.__setattr__(self, "key", hashlib.sha256(self.canonical_json().encode()).hexdigest())

    def config(self) -> dict:
        """The cell as plain JSON data (parameters as dicts)."""
        return {"generator": self.generator, "generator_params": {k: _jsonable(v) for k, v in self.generator_params},
                "method": self.method, "method_params": {k: _jsonable(v) for k, v in self.method_params},
                "seed": self.seed, "scale": self.scale, "device": self.device}

    def canonical_json(self) -> str:
        return json.dumps(self.config(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_config(cls, config: Mapping) -> Cell:
        return cls(**config)

    def __eq__(self, other) -> bool:
        return isinstance(other, Cell) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


# ---------------------------------------------------------------------------------------------
# registries
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Truth:
    """What a generator knows: ``weights`` [N, N] (row = receiver) and ``kind``, the key of the
    metric family in :data:`METRIC_FAMILIES` that scores estimates against it."""

    weights: torch.Tensor
    kind: str


GENERATORS: dict[str, Callable] = {}
"""name -> ``function(seed, device, **params) -> (data, Truth)``; data is a SpikeTrain (split here
into 80/10/10 % pieces of whole 100 ms) or a ``(train, validation, test)`` triple."""
METHODS: dict[str, Callable] = {}
"""name -> ``factory(device=..., **hyperparameters)`` returning an unfitted estimator of the
contract in :mod:`circuitlib.infer.base` (``fit(train, validation)``, ``weights``, ``score``)."""
METRIC_FAMILIES: dict[str, Callable] = {}
"""truth kind -> ``function(truth, estimator) -> {metric: float}``; raises :class:`MetricUnavailable`
when it cannot run in this installation."""


def _register(registry: dict, what: str, name: str):
    if not isinstance(name, str) or not name:
        raise TypeError(f"a {what} is registered under a non-empty string name, got {name!r}.")

    def add(fn):
        registry[name] = fn
        return fn
    return add


def register_generator(name: str):
    """Decorator: ``@register_generator("ei")`` on ``def ei(seed, device, **params) -> (data, Truth)``."""
    return _register(GENERATORS, "generator", name)


def register_method(name: str):
    """Decorator: ``@register_method("ccg")`` on a factory ``(device=..., **hp) -> estimator``
    (an estimator class itself is such a factory)."""
    return _register(METHODS, "method", name)


def register_metrics(kind: str):
    """Decorator: ``@register_metrics("rate")`` on ``def scores(truth, estimator) -> dict``."""
    return _register(METRIC_FAMILIES, "metric family", kind)


def _lookup(registry: dict, what: str, name: str):
    if name not in registry:
        raise ValueError(f"unknown {what} {name!r}; registered: {sorted(registry)}. "
                         f"Register new ones with register_{what}(name).")
    return registry[name]


class MetricUnavailable(RuntimeError):
    """A metric family cannot be computed here (e.g. its function is not in this version)."""


RING_PROFILES = {"mexican_hat": ring.mexican_hat, "single_bump": ring.local_excitation_broad_inhibition}


@register_generator("ring")
def ring_generator(seed: int, device: str, *, profile: str = "mexican_hat", model: str = "threshold", n: int = 100,
                   duration: float = 60.0, **params):
    """The ring simulator (:func:`circuitlib.sim.ring.simulate`) on the ``profile`` ("mexican_hat":
    four bumps; "single_bump": local excitation, broad inhibition) of ``n`` neurons."""
    if profile not in RING_PROFILES:
        raise ValueError(f"unknown ring profile {profile!r}; choose one of {sorted(RING_PROFILES)}.")
    w = RING_PROFILES[profile](n)
    return ring.simulate(model, duration=duration, n=n, seed=seed, device=device, weights=w, **params), Truth(w, "ring")


@dataclass(frozen=True)
class Estimator:
    """A method factory that imports its class on first use (a worker then imports only the
    methods its cells need): ``Estimator("circuitlib.infer.glm", "CouplingGLM", ("free",))``
    builds ``CouplingGLM("free", **defaults, **hp)``."""

    module: str
    name: str
    args: tuple = ()
    defaults: tuple = ()

    def __call__(self, **hp):
        cls = getattr(importlib.import_module(self.module), self.name)
        return cls(*self.args, **{**dict(self.defaults), **hp})


for _name, _factory in {
        "pearson": Estimator("circuitlib.infer.correlation", "Correlation", ("pearson",)),
        "partial": Estimator("circuitlib.infer.correlation", "Correlation", ("partial",)),
        "glm_shared": Estimator("circuitlib.infer.glm", "CouplingGLM", ("shared",)),
        "glm_free": Estimator("circuitlib.infer.glm", "CouplingGLM", ("free",)),
        "seqnmf": Estimator("circuitlib.infer.seqnmf", "SeqNMF"),
        "tca": Estimator("circuitlib.infer.tca", "TCA"),
        "ring_gnn": Estimator("circuitlib.infer.window_gnn_training", "WindowGNN", defaults=(("progress", False),)),
}.items():
    register_method(_name)(_factory)


@register_metrics("ring")
def ring_metrics(truth: Truth, estimator) -> dict:
    """Delta with its scale (``delta_scale``), bias and variance (L1 scale), Delta with the least-squares scale, and
    the profile correlation."""
    err = metrics.inference_error(truth.weights, estimator.weights)
    return {"delta": err.delta, "delta_scale": err.scale, "bias": err.bias, "variance": err.variance,
            "delta_lsq": metrics.inference_error(truth.weights, estimator.weights, scale="lsq").delta,
            "profile_corr": metrics.profile_correlation(truth.weights, estimator.weights)}


@register_metrics("directed")
def edge_metrics(truth: Truth, estimator) -> dict:
    """Edge detection against a directed W: the numeric fields of ``circuitlib.metrics.edge_scores``."""
    edge_scores = getattr(metrics, "edge_scores", None)
    if edge_scores is None:
        raise MetricUnavailable("circuitlib.metrics has no edge_scores in this version")
    return _numbers(edge_scores(truth.weights, estimator.weights))


def _numbers(result) -> dict:
    """The scalar numeric fields of a dataclass or mapping, as floats."""
    items = ({f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
             if dataclasses.is_dataclass(result) else dict(result))
    out = {}
    for k, v in items.items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            out[k] = float(v)
    return out


# ---------------------------------------------------------------------------------------------
# one cell
# ---------------------------------------------------------------------------------------------
def split_recording(train: SpikeTrain, fractions=(0.8, 0.1, 0.1), unit: float = 0.1) -> tuple[SpikeTrain, ...]:
    """Contiguous pieces of whole ``unit`` seconds (so every bin width that divides ``unit`` bins
    each piece exactly), of about ``fractions`` of the recording; the last partial unit is dropped."""
    step = max(1, round(unit / train.dt))
    units = train.n_steps // step
    edges = [0]
    for f in fractions[:-1]:
        edges.append(edges[-1] + round(f * units))
    edges.append(units)
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"a recording of {units} units of {unit} s is too short to split into {len(fractions)} "
                         "non-empty pieces; simulate a longer one.")
    return tuple(train.slice(a * step, b * step) for a, b in zip(edges, edges[1:]))


def versions() -> dict:
    """Versions of the packages that make a record reproducible."""
    out = {}
    for pkg in ("circuitlib", "torch", "numpy"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _base_record(cell: Cell) -> dict:
    return {"hash": cell.key, "config": cell.config(), "status": "ok", "metrics": {}, "skipped_metrics": {},
            "seconds": {}, "error": None, "versions": versions(), "host": socket.gethostname()}


def error_record(cell: Cell, err: BaseException, stage: str) -> dict:
    """The record of a cell that raised ``err`` during ``stage``."""
    record = _base_record(cell)
    record["status"] = "error"
    record["error"] = {"type": type(err).__name__, "message": str(err), "stage": stage,
                       "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__))}
    return record


FIT_REPORT = ("converged", "n_iter", "stop_reason", "chosen_strength", "chosen_residual_lr", "chosen_w_l1",
              "structure_excerpt")
"""Fitted attributes a record keeps (under ``fit``) where the estimator has them: how the fit stopped."""


def _plain(value):
    """A fitted attribute as JSON-able plain data."""
    return list(value) if isinstance(value, tuple) else value.item() if hasattr(value, "item") else value


def evaluate(cell: Cell) -> dict:
    """Generate the cell's data, fit its method, score it: a JSON-able record.

    Metrics: the family named by the truth's kind (:data:`METRIC_FAMILIES`; one that cannot run
    here is listed under ``skipped_metrics`` with the reason) and, for an ``ActivityModel``, its
    held-out score on the test piece under its ``score_name`` (``bps`` for spike models). ``seconds``:
    generate, fit, score. ``warnings``: what the fit warned (type: message); ``fit``: the
    :data:`FIT_REPORT` attributes it has. A cell that raises gives ``status="error"`` with the
    error's type, message, stage and traceback.
    """
    return _evaluate(cell, _lookup(GENERATORS, "generator", cell.generator), _lookup(METHODS, "method", cell.method))


def _evaluate(cell: Cell, generate: Callable, make_method: Callable) -> dict:
    record, stage = _base_record(cell), "generate"
    seconds = record["seconds"]
    try:
        device = str(resolve_device(cell.device))
        t0 = time.perf_counter()
        data, truth = generate(cell.seed, device, **dict(cell.generator_params))
        train, validation, test = split_recording(data) if isinstance(data, SpikeTrain) else data
        seconds["generate"] = time.perf_counter() - t0
        stage = "fit"
        estimator = make_method(device=device, **dict(cell.method_params))
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator.fit(train, validation)
        seconds["fit"] = time.perf_counter() - t0
        record["warnings"] = [f"{type(w.message).__name__}: {w.message}" for w in caught]
        record["fit"] = {k: _plain(getattr(estimator, k)) for k in FIT_REPORT if hasattr(estimator, k)}
        stage = "score"
        if isinstance(estimator, ActivityModel):
            t0 = time.perf_counter()
            record["metrics"][estimator.score_name] = float(estimator.score(test))
            seconds["score"] = time.perf_counter() - t0
        stage = "metrics"
        try:
            found = _lookup(METRIC_FAMILIES, "metrics", truth.kind)(truth, estimator)
        except MetricUnavailable as why:
            record["skipped_metrics"][truth.kind] = str(why)
        else:
            clash = [k for k in found if k in COLUMNS or "." in k or k.endswith("_seconds")]
            if clash:
                raise ValueError(f"metric names {clash} clash with the record's columns; rename them in the "
                                 f"{truth.kind!r} metric family.")
            record["metrics"].update(found)
    except Exception as err:  # noqa: BLE001 - a failing cell is recorded, the grid goes on
        record = {**error_record(cell, err, stage), "seconds": seconds}
    return record


# ---------------------------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------------------------
def record_path(store: str | os.PathLike, cell: Cell) -> Path:
    return Path(store) / f"{cell.key}.json"


def write_record(store: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` to ``store/<hash>.json`` atomically (a temporary file, then a rename)."""
    path = Path(store) / f"{record['hash']}.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(record, indent=1, allow_nan=True))
    os.replace(tmp, path)
    return path


def read_record(store: str | os.PathLike, cell: Cell) -> dict | None:
    """The stored record of ``cell``, or None when there is none."""
    try:
        return json.loads(record_path(store, cell).read_text())
    except FileNotFoundError:
        return None


def read_store(store: str | os.PathLike) -> pd.DataFrame:
    """Every record in ``store`` as a DataFrame (see :func:`records_frame`)."""
    return records_frame([json.loads(p.read_text()) for p in sorted(Path(store).glob("*.json"))])


COLUMNS = ("hash", "status", "generator", "method", "seed", "scale", "device", "warnings", "error_type",
           "error_message", "error_stage", "traceback")


def records_frame(records: Iterable[dict]) -> pd.DataFrame:
    """One row per record: hash, status, the config (parameters as ``generator.<name>`` and
    ``method.<name>``), the metrics, the fit report (``fit.<name>``), ``warnings`` (joined by "; "),
    ``<stage>_seconds``, versions (``version.<package>``) and, for errors, ``error_type``,
    ``error_message``, ``error_stage`` and ``traceback``."""
    rows = []
    for r in records:
        c = r["config"]
        row = {"hash": r["hash"], "status": r["status"], "generator": c["generator"], "method": c["method"],
               "seed": c["seed"], "scale": c["scale"], "device": c["device"]}
        for prefix in ("generator", "method"):
            row.update({f"{prefix}.{k}": json.dumps(v) if isinstance(v, list) else v
                        for k, v in c[f"{prefix}_params"].items()})
        row.update(r["metrics"])
        row.update({f"fit.{k}": json.dumps(v) if isinstance(v, list) else v for k, v in r.get("fit", {}).items()})
        row["warnings"] = "; ".join(r.get("warnings", []))
        row.update({f"{k}_seconds": v for k, v in r["seconds"].items()})
        row.update({f"version.{k}": v for k, v in r["versions"].items()})
        err = r["error"] or {}
        row.update({"error_type": err.get("type"), "error_message": err.get("message"),
                    "error_stage": err.get("stage"), "traceback": err.get("traceback")})
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# the sweep
# ---------------------------------------------------------------------------------------------
class OneTorchThread(WorkerPlugin):
    """Worker plugin: torch uses one thread in every worker process."""

    def setup(self, worker):
        torch.set_num_threads(1)


# Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in every worker it spawns (and so in every process
# a worker starts, e.g. a notebook kernel), and leaves it in the spawning process's os.environ too: glibc
# then hands freed memory back to the system at once, and torch's per-step allocations page-fault again
# each time. Measured: an assembly-GNN Adam step 2.5x slower in such a worker than outside one
# (benchmarks/dask_workers.py). Our workers start without the variable: glibc's default.
_MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"
_WORKER_ENVIRON = {f"distributed.nanny.pre-spawn-environ.{_MALLOC_TRIM}": None}


@contextlib.contextmanager
def local_client(n_workers: int | None = None):
    """A ``distributed.Client`` on a LocalCluster of ``n_workers`` single-threaded worker processes
    (default: the cores this process may use), started without MALLOC_TRIM_THRESHOLD_ (see above);
    cluster and workers are closed on exit, also after an error or an interrupt, so no worker
    outlives the block (e.g. in a notebook)."""
    if n_workers is None:
        n_workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    inherited = os.environ.pop(_MALLOC_TRIM, None)          # e.g. left by an earlier default LocalCluster
    try:
        with dask.config.set(_WORKER_ENVIRON), \
                LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                             dashboard_address=":0") as cluster, Client(cluster) as client:
            yield client
    finally:
        if inherited is not None:
            os.environ[_MALLOC_TRIM] = inherited


@contextlib.contextmanager
def connect(client):
    """A Client whose workers run torch with one thread: the given one (left open), one to a scheduler
    address, or an embedded LocalCluster (:func:`local_client`, closed afterwards)."""
    if isinstance(client, Client):
        context = contextlib.nullcontext(client)
    elif isinstance(client, str):
        context = Client(client)
    elif client is None:
        context = local_client()
    else:
        raise TypeError(f"client must be None, a distributed.Client or a scheduler address, got {client!r}.")
    with context as c:
        c.register_plugin(OneTorchThread(), name="circuitlib-one-torch-thread")
        yield c


def run_sweep(cells: Iterable[Cell], store: str | os.PathLike, client=None, progress: bool = True,
              retry_errors: bool = False) -> pd.DataFrame:
    """Evaluate every cell on a Dask cluster; return one DataFrame row per (distinct) cell.

    ``store``: a directory; each finished cell's record is written there at once as
    ``<hash>.json`` (atomically), and cells with a record are not run again, so an interrupted
    sweep (crash, killed worker, Ctrl-C) resumes where it stopped. Cells that raise are recorded
    with ``status="error"`` and their traceback; ``retry_errors=True`` runs those again.
    ``client``: None (an embedded LocalCluster, one single-threaded worker process per core,
    closed afterwards), a ``distributed.Client`` (left open) or a scheduler address.
    ``progress``: a tqdm bar of cells done.

    The generator and method functions are sent with each cell, so ones registered in a notebook
    or script run on the workers too.
    """
    cells = list(dict.fromkeys(cells))
    for cell in cells:
        if not isinstance(cell, Cell):
            raise TypeError(f"run_sweep takes Cell objects, got {cell!r}.")
        _lookup(GENERATORS, "generator", cell.generator)
        _lookup(METHODS, "method", cell.method)
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    todo = [cell for cell in cells if not _finished(read_record(store, cell), retry_errors)]
    if todo:
        with connect(client) as dask_client, tqdm(total=len(cells), initial=len(cells) - len(todo), desc="cells",
                                                  disable=not progress) as bar:
            futures = {dask_client.submit(_evaluate, cell, GENERATORS[cell.generator], METHODS[cell.method],
                                          key=f"circuitlib-cell-{cell.key}", pure=False): cell for cell in todo}
            try:
                for future in as_completed(futures):
                    cell = futures[future]
                    try:
                        record = future.result()
                    except Exception as err:  # noqa: BLE001 - e.g. KilledWorker: recorded, the grid goes on
                        record = error_record(cell, err, "worker")
                    write_record(store, record)
                    bar.update()
            finally:
                dask_client.cancel(list(futures))
    return records_frame(read_record(store, cell) for cell in cells)


def _finished(record: dict | None, retry_errors: bool) -> bool:
    return record is not None and not (retry_errors and record["status"] == "error")


# ---------------------------------------------------------------------------------------------
# the leaderboard
# ---------------------------------------------------------------------------------------------
def leaderboard(df: pd.DataFrame, metric: str, rows: str | list[str] = "method",
                columns: str | list[str] = "generator") -> pd.DataFrame:
    """Mean, sd (over seeds, ddof=1; NaN for one seed) and count of ``metric`` for every
    (rows, columns) pair of the cells with ``status == "ok"``. Columns are a MultiIndex
    ``(stat, column value)`` with stat in "mean", "sd", "n": ``board["mean"]`` is the mean table.

    Within a pair only the seed may differ: if other config columns (parameters, scale, device)
    vary, a ``ValueError`` names them (add them to ``rows`` or ``columns``, or filter ``df``).
    """
    rows = [rows] if isinstance(rows, str) else list(rows)
    columns = [columns] if isinstance(columns, str) else list(columns)
    if metric not in df.columns:
        raise ValueError(f"no metric {metric!r} in these results; columns are {sorted(map(str, df.columns))}.")
    ok = df[df["status"] == "ok"]
    keys = rows + columns
    config = [c for c in ok.columns if c in ("scale", "device") or c.startswith(("generator", "method"))]
    varying = [c for c in config if c not in keys and (ok.groupby(keys)[c].nunique(dropna=False) > 1).any()]
    if varying:
        raise ValueError(f"cells pooled into one entry differ in {varying}, not only in the seed; add these to rows "
                         "or columns, or filter the frame first.")
    stats = ok.groupby(keys)[metric].agg(mean="mean", sd="std", n="count")
    return stats.unstack(columns)


def format_leaderboard(board: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The board of :func:`leaderboard` as strings ``"mean ± sd"`` (only the mean for one seed,
    empty where there is no result)."""
    mean, sd = board["mean"], board["sd"]

    def text(m, s):
        if pd.isna(m):
            return ""
        return f"{m:.{digits}f}" if pd.isna(s) else f"{m:.{digits}f} ± {s:.{digits}f}"
    return pd.DataFrame([[text(m, s) for m, s in zip(mean.loc[i], sd.loc[i])] for i in mean.index],
                        index=mean.index, columns=mean.columns)


def to_markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table (index first), without the optional ``tabulate``."""
    def name(x):
        return " / ".join(map(str, x)) if isinstance(x, tuple) else str(x)
    index_name = name(tuple(n for n in frame.index.names if n is not None)) if any(frame.index.names) else ""
    header = [index_name] + [name(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    for i, row in frame.iterrows():
        lines.append("| " + " | ".join([name(i)] + [str(v) for v in row]) + " |")
    return "\n".join(lines)
