"""Generative models of neural activity."""
