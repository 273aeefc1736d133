"""The one contract every connectivity method follows.

    method = Method(**hyperparameters)      # hyper-parameters are validated here, nothing is fitted
    method.fit(data, validation=None)       # returns the method itself
    method.weights                          # [N, N] float64 CPU tensor, detached; row = receiver i
    method.predict(data), method.score(data)  # only methods that model activity (ActivityModel)

Fitted state is set by ``fit`` only, as public attributes named for what they hold (no trailing
underscores): ``weights`` always, ``training_log`` (a list of dicts, one per logged block or
epoch) for methods trained by gradient steps, anything else the method documents. Reading
``weights`` or calling ``predict`` / ``score`` before ``fit`` raises :class:`NotFittedError`.
Bad input (NaN, a wrong shape, a neuron count that differs from the fit's) raises ``ValueError``
with what to do. No method seeds the global random number generators; each uses its own
generator (or :func:`torch.random.fork_rng`) from its ``seed`` hyper-parameter.
"""
from __future__ import annotations

import torch

from .._validate import square_matrix
from ..metrics import BitsPerSpike, bits_per_spike


class NotFittedError(ValueError):
    """A fitted attribute or ``predict`` / ``score`` was used before ``fit``."""


class ConnectivityEstimator:
    """Base class: holds ``weights`` and refuses to be read before ``fit``.

    Subclasses validate their hyper-parameters in ``__init__``, implement
    ``fit(data, validation=None) -> self`` and assign ``self.weights`` there (any ``[N, N]``
    tensor-like; it is stored detached, as float64 on the CPU, and checked to be finite).
    """

    _weights: torch.Tensor | None = None

    @property
    def weights(self) -> torch.Tensor:
        """Inferred connectivity ``[N, N]`` (float64, CPU; row = receiver, column = sender)."""
        self.check_fitted("weights")
        return self._weights

    @weights.setter
    def weights(self, w) -> None:
        w = torch.as_tensor(w).detach().cpu()
        self._weights = square_matrix(f"{type(self).__name__}.weights", w)

    @property
    def is_fitted(self) -> bool:
        return self._weights is not None

    def check_fitted(self, what: str) -> None:
        """Raise :class:`NotFittedError` naming ``what`` unless ``fit`` has run."""
        if self._weights is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call .fit(data) before using .{what}.")

    def fit(self, data, validation=None):
        raise NotImplementedError


class ActivityModel(ConnectivityEstimator):
    """A method that also models activity: ``predict(data)`` (expected counts or states) and
    ``score(data)`` (held-out quality, higher is better) exist and need ``fit`` first.
    ``score_name`` says what ``score`` measures ("bps": bits per spike above each neuron's mean
    rate, the spike models; a rate model names its own)."""

    score_name = "bps"

    def predict(self, data):
        raise NotImplementedError

    def score(self, data):
        raise NotImplementedError


class SpikePredictor(ActivityModel):
    """An activity model of spike counts whose ``_run(data)`` gives (counts, expected counts) ``[T', N]``
    of the bins it predicts: ``predict`` returns the expected counts, ``score`` the held-out bits per
    spike (Yoon 2025, Eq. 19) of those bins."""

    def predict(self, data) -> torch.Tensor:
        """Expected counts ``[T', N]`` of the bins the model predicts (see the subclass)."""
        self.check_fitted("predict")
        return self._run(data)[1]

    def score(self, data) -> BitsPerSpike:
        """Held-out bits per spike of the predicted bins (a list of stretches: pooled)."""
        self.check_fitted("score")
        return self._score(data)

    def _score(self, data) -> BitsPerSpike:
        """:meth:`score` of the current state (also between evaluations of a fit)."""
        counts, rates = self._run(data)
        return bits_per_spike(counts, rates.clamp_min(1e-12))

    def _run(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError
