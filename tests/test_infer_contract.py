"""Every connectivity method honours the contract of :mod:`circuitlib.infer.base`, checked over one
registry of small configurations (as dynamax tests every model through one CONFIGS table).

A registry entry gives the method, constructor keyword arguments small enough to fit in a fraction
of a second, one hyper-parameter value that construction must refuse, and factories for the data:
``data(n)`` a fit-ready recording of ``n`` neurons, ``nan_data()`` and ``misshaped_data()`` inputs
that ``fit`` (and ``score`` / ``predict``) must refuse with a ``ValueError``.
"""
import inspect
import random
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import circuitlib.infer as infer
from circuitlib.data import RateActivity
from circuitlib.infer import (
    TCA,
    ActivityModel,
    AssemblyEstimator,
    ConnectivityEstimator,
    Correlation,
    CouplingGLM,
    GatedLowRankRNN,
    LinearRate,
    MaxEntFit,
    NotFittedError,
    RingGNN,
    SeqNMF,
    StandardFit,
    WindowGNN,
)

N = 8          # neurons in every fit-ready recording
N_BINS = 600


def spike_counts(n: int = N, seed: int = 0) -> torch.Tensor:
    """Poisson counts ``[N_BINS, n]`` (already binned) with a slow common drive, so neurons co-vary."""
    gen = torch.Generator().manual_seed(seed)
    drive = 1 + torch.sin(torch.arange(N_BINS, dtype=torch.float64) / 20)[:, None]
    rates = 0.2 * drive * (0.5 + torch.rand(1, n, generator=gen, dtype=torch.float64))
    return torch.poisson(rates, generator=gen)


def spike_counts_with_nan() -> torch.Tensor:
    x = spike_counts()
    x[10, 3] = float("nan")
    return x


def spike_counts_misshaped() -> torch.Tensor:
    return spike_counts().flatten()                       # [T * N]: not time-major counts


@dataclass(frozen=True)
class Config:
    method: type
    kwargs: dict
    bad: dict                                             # one hyper-parameter that __init__ refuses
    data: Callable[[int], object] = spike_counts
    nan_data: Callable[[], object] = spike_counts_with_nan
    misshaped_data: Callable[[], object] = spike_counts_misshaped

    def build(self, **changes):
        return self.method(**{**self.kwargs, **changes})


GNN = dict(epochs=1, window=20, streams=2, channels=4, embed_dim=4, hidden=8, progress=False, device="cpu")

SPIKE_TRAIN_METHODS = {
    "glm_shared": Config(CouplingGLM, dict(coupling="shared", max_iter=20, device="cpu"), bad=dict(coupling="banded")),
    "glm_free": Config(CouplingGLM, dict(coupling="free", strength=1e-4, max_iter=20, device="cpu"),
                       bad=dict(strength=-1.0)),
    "ring_gnn": Config(RingGNN, GNN, bad=dict(message="receiver")),
    "window_gnn": Config(WindowGNN, dict(steps=2, batch_bins=64, chunk_bins=32, channels=4, embed_dim=4, hidden=8,
                                         progress=False, device="cpu"), bad=dict(message="receiver")),
    "correlation": Config(Correlation, dict(device="cpu"), bad=dict(kind="spearman")),
    "partial_correlation": Config(Correlation, dict(kind="partial", shrinkage=0.1, device="cpu"),
                                  bad=dict(shrinkage=1.5)),
    "seqnmf": Config(SeqNMF, dict(n_components=2, n_iter=10, device="cpu"), bad=dict(lags=1)),
    "tca": Config(TCA, dict(rank=2, n_iter=20, device="cpu"), bad=dict(rank=0)),
    "ccg": Config(infer.CCG, dict(device="cpu"), bad=dict(statistic="pvalue")),
}

# -- rate-model estimators --------------------------------------------------------------------------
# Entries for the methods fitted to rate activity (the assembly GNN estimator, the low-rank fits)
# go here, with ``data`` / ``nan_data`` / ``misshaped_data`` factories that build their input.
# A RateActivity refuses NaN and a wrong shape when it is built; the misshaped inputs below are
# valid containers that the method itself must refuse.
def assembly_recording(n: int = N):
    from circuitlib.sim import assembly
    return assembly.simulate(n, 200, burn_in=100, seed=1, device="cpu").recording()


def assembly_trials():
    rec = assembly_recording()
    return RateActivity(rec.x.expand(2, -1, -1), rec.dt, rec.dxdt.expand(2, -1, -1))   # [B, T, N]: one trial only


def lowrank_recording(n: int = N):
    from circuitlib.sim import lowrank
    m, n_ = lowrank.sample(lowrank.task("ring"), n, seed=0)
    return lowrank.simulate(m, n_, lowrank.initial_latents(4, seed=1).to(m) @ m.T, duration=2.0, device="cpu")


def with_nan(make):
    def build():
        rec = make()
        x = rec.x.clone()
        x[..., 3, 2] = float("nan")
        return RateActivity(x, rec.dt, rec.dxdt)
    return build


def gated_recording(n: int = N, nan: bool = False) -> list[RateActivity]:
    """Two stretches of a noisy rank-2 ring with a slow input channel (what GatedLowRankRNN reads)."""
    rec = lowrank_recording(n)
    x = rec.x[:2] + 0.05 * torch.randn(rec.x[:2].shape, generator=torch.Generator().manual_seed(2), dtype=rec.x.dtype)
    if nan:
        x[0, 3, 2] = float("nan")
    u = torch.sin(torch.arange(x.shape[1], dtype=x.dtype) / 3)[:, None]
    return [RateActivity(trial, rec.dt, inputs=u) for trial in x]


def gated_trials() -> RateActivity:
    """The same activity as trials [B, T, N] in one RateActivity: refused (stretches are [T, N] each)."""
    rec = lowrank_recording()
    return RateActivity(rec.x, rec.dt, inputs=torch.zeros(*rec.x.shape[:2], 1))


ASSEMBLY = dict(n_steps=5, hidden=8, batch_size=4, log_every=5, device="cpu")
RATE_DATA = dict(data=assembly_recording, nan_data=with_nan(assembly_recording), misshaped_data=assembly_trials)
LOWRANK_DATA = dict(data=lowrank_recording, nan_data=with_nan(lowrank_recording),
                    misshaped_data=lambda: lowrank_recording().slice(0, 1))       # one frame: no Euler step
RATE_METHODS: dict[str, Config] = {
    "assembly": Config(AssemblyEstimator, ASSEMBLY, bad=dict(n_steps=-1), **RATE_DATA),
    "assembly_sender_adam_only": Config(AssemblyEstimator, {**ASSEMBLY, "psi_input": "sender", "refine": False},
                                        bad=dict(l1_warmup=2.0), **RATE_DATA),
    "linear_rate": Config(LinearRate, dict(device="cpu"), bad=dict(ridge=-1.0), **RATE_DATA),
    "lowrank_standard": Config(StandardFit, dict(steps=20), bad=dict(lr=3.0), **LOWRANK_DATA),
    "lowrank_maxent": Config(MaxEntFit, dict(), bad=dict(ridge=-1.0), **LOWRANK_DATA),
    "lowrank_gated": Config(GatedLowRankRNN, dict(tau=0.5), bad=dict(tau=0.0), data=gated_recording,
                            nan_data=lambda: gated_recording(nan=True),
                            misshaped_data=gated_trials),
}

REGISTRY = {**SPIKE_TRAIN_METHODS, **RATE_METHODS}
ACTIVITY_MODELS = {k: c for k, c in REGISTRY.items() if issubclass(c.method, ActivityModel)}
parametrise = pytest.mark.parametrize("cfg", REGISTRY.values(), ids=REGISTRY.keys())


@parametrise
def test_construction_refuses_a_bad_hyperparameter_by_name(cfg):
    (name, value), = cfg.bad.items()
    with pytest.raises(ValueError, match=re.escape(name)):
        cfg.build(**cfg.bad)
    assert not cfg.build().is_fitted                      # a valid construction fits nothing


@parametrise
def test_fit_returns_self_and_weights_are_a_detached_float64_cpu_matrix(cfg):
    params = inspect.signature(cfg.method.fit).parameters
    assert list(params)[1:] == ["data", "validation"] and params["validation"].default is None
    model = cfg.build()
    assert model.fit(cfg.data(N)) is model
    w = model.weights
    assert isinstance(model, ConnectivityEstimator) and isinstance(w, torch.Tensor)
    assert w.dtype == torch.float64 and w.device.type == "cpu" and w.shape == (N, N)
    assert not w.requires_grad and w.grad_fn is None
    assert torch.isfinite(w).all() and w.abs().sum() > 0


@parametrise
def test_predict_and_score_exist_exactly_on_activity_models(cfg):
    model = cfg.build()
    if isinstance(model, ActivityModel):
        assert type(model).predict is not ActivityModel.predict and type(model).score is not ActivityModel.score
    else:
        assert not hasattr(model, "predict") and not hasattr(model, "score")


@parametrise
def test_weights_predict_and_score_before_fit_say_to_call_fit(cfg):
    model = cfg.build()
    used = {"weights": lambda: model.weights}
    if isinstance(model, ActivityModel):
        used |= {"predict": lambda: model.predict(cfg.data(N)), "score": lambda: model.score(cfg.data(N))}
    for what, use in used.items():
        with pytest.raises(NotFittedError, match=rf"call \.fit.*\.{what}"):
            use()
    assert issubclass(NotFittedError, ValueError)


@parametrise
def test_nan_and_misshaped_input_is_refused(cfg):
    with pytest.raises(ValueError, match="NaN"):
        cfg.build().fit(cfg.nan_data())
    with pytest.raises(ValueError, match="shape"):
        cfg.build().fit(cfg.misshaped_data())


@pytest.mark.parametrize("cfg", ACTIVITY_MODELS.values(), ids=ACTIVITY_MODELS.keys())
def test_predict_and_score_refuse_bad_input_and_other_neurons(cfg):
    model = cfg.build().fit(cfg.data(N))
    assert torch.isfinite(model.predict(cfg.data(N))).all()
    for use in (model.predict, model.score):
        with pytest.raises(ValueError, match="NaN"):
            use(cfg.nan_data())
        with pytest.raises(ValueError, match="shape"):
            use(cfg.misshaped_data())
        with pytest.raises(ValueError, match=f"{N} neurons"):
            use(cfg.data(N - 1))


@parametrise
def test_fit_leaves_the_global_random_state_alone_and_repeats_exactly(cfg):
    torch.manual_seed(123)
    expected = torch.rand(5)
    torch.manual_seed(123)
    states = torch.random.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    first = cfg.build().fit(cfg.data(N)).weights
    assert torch.equal(torch.random.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1]) and random.getstate() == states[2]
    assert torch.equal(torch.rand(5), expected)
    assert torch.equal(cfg.build().fit(cfg.data(N)).weights, first)     # the same seed, the same fit


def test_every_registered_method_is_re_exported_and_the_package_imports_lightly():
    assert {c.method for c in REGISTRY.values()} <= {getattr(infer, name) for name in infer.__all__}
    assert infer.NotFittedError is NotFittedError
    with pytest.raises(AttributeError, match="NoSuchMethod"):
        infer.NoSuchMethod
    heavy = subprocess.run([sys.executable, "-c", "import sys, circuitlib.infer, circuitlib.sim; "
                            "print(sorted({'torch_geometric', 'tensorly', 'numba'} & set(sys.modules)))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert heavy == "[]"
