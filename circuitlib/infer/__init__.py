"""Connectivity inference methods, all on one contract (:mod:`circuitlib.infer.base`):
``Method(**hyperparameters).fit(data, validation=None)`` returns the method, ``.weights`` is the
``[N, N]`` estimate (row = receiver), and methods that model activity add ``predict`` / ``score``.

    from circuitlib.infer import CouplingGLM, RingGNN, WindowGNN, Correlation, SeqNMF, TCA

Each name is imported from its module on first use, so ``import circuitlib.infer`` stays light
(torch_geometric and tensorly load only with the methods that need them).
"""
from importlib import import_module

_MODULE_OF = {
    "ConnectivityEstimator": "base", "ActivityModel": "base", "NotFittedError": "base",
    "CouplingGLM": "glm", "RingGNN": "ring_gnn_training", "RingGNNNet": "ring_gnn",
    "WindowGNN": "window_gnn_training", "WindowGNNNet": "window_gnn",
    "interpolate_ring_matrix": "ring_gnn", "Correlation": "correlation", "SeqNMF": "seqnmf", "TCA": "tca", "CCG": "ccg",
    "AssemblyGNN": "assembly_gnn", "AssemblyEstimator": "assembly", "LinearRate": "linear_rate",
    "StandardFit": "lowrank", "MaxEntFit": "lowrank", "JointFit": "lowrank", "GatedLowRankRNN": "lowrank_rnn",
    "ConvergenceWarning": "glm", "PenaltyGridWarning": "glm",
    "ConditionalFlow": "flows", "ConnectivityFlow": "flows", "FlowConfig": "flows",
    "GaussianConnectivity": "flows",
}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
