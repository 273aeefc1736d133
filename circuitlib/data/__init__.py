"""Activity containers and data loaders."""
from .rates import RateActivity
from .spikes import SpikeTrain

__all__ = ["RateActivity", "SpikeTrain"]
