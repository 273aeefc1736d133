"""circuitlib: inferring neural circuit connectivity from recorded activity."""
__version__ = "0.1.0"
