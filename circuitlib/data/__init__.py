"""Activity containers and data loaders."""
from .spikes import SpikeTrain

__all__ = ["SpikeTrain"]
