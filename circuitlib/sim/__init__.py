"""Generative models of neural activity: spiking rings (:mod:`.ring`), heterogeneous rate
assemblies (:mod:`.assembly`) and low-rank rate networks (:mod:`.lowrank`); each module's
``simulate`` is its entry point.

    from circuitlib.sim import ring, RingParams, mexican_hat
    train = ring.simulate("threshold", duration=2.0, n=100, seed=0)

Names are imported from their modules on first use, so ``import circuitlib.sim`` stays light.
"""
from importlib import import_module

_MODULE_OF = {
    "ring": None, "assembly": None, "lowrank": None,              # the modules themselves
    "RingParams": "ring", "mexican_hat": "ring", "local_excitation_broad_inhibition": "ring",
    "sinusoidal_drive": "ring", "random_walk_drive": "ring",
    "NeuronTypes": "assembly", "AssemblyDynamics": "assembly", "baseline_types": "assembly",
    "cauchy_weights": "assembly", "Loadings": "lowrank",
    "ei_network": None, "EITruth": "ei_network",
}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _MODULE_OF[name]
    value = import_module(f".{name}", __name__) if module is None else getattr(
        import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
