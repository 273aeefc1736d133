"""Sparse spike-train container: events (step, neuron, count) on a regular time grid."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SpikeTrain:
    """Spikes of ``n_neurons`` neurons on ``n_steps`` time steps of width ``dt`` seconds.

    Stored as events sorted by time: ``times`` ``[E]`` (int64 step index), ``neurons`` ``[E]``
    (int64), ``counts`` ``[E]`` (int32, spikes in that step; >1 only for Poisson models). An
    optional external drive ``theta`` ``[n_steps]`` (radians) travels with the spikes, so that
    binning and splitting keep the two aligned. Dense activity is time-major ``[T, N]``.

    Each (step, neuron) pair is one event, in time-major order (by step, then neuron): the
    constructor refuses unsorted or repeated events, so every method sees the same spikes.
    Recorded spike times go in through :meth:`from_spike_times`, which sorts them and merges
    spikes of one neuron in one step into that event's count. Integer tensors of any integer
    dtype are accepted and stored as int64 / int32.
    """

    times: torch.Tensor
    neurons: torch.Tensor
    counts: torch.Tensor
    n_neurons: int
    n_steps: int
    dt: float
    theta: torch.Tensor | None = None

    def __post_init__(self):
        for name, dtype in (("times", torch.int64), ("neurons", torch.int64), ("counts", torch.int32)):
            value = torch.as_tensor(getattr(self, name))
            if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
                raise ValueError(f"{name} must be an integer tensor, got {value.dtype}; for spike times in seconds "
                                 "use SpikeTrain.from_spike_times.")
            object.__setattr__(self, name, value.to(dtype))
        if self.n_neurons < 1 or self.n_steps < 1:
            raise ValueError(f"a SpikeTrain needs n_neurons >= 1 and n_steps >= 1, got {self.n_neurons} and "
                             f"{self.n_steps}.")
        if not self.dt > 0:
            raise ValueError(f"dt must be a positive number of seconds, got {self.dt}.")
        shapes = {self.times.shape, self.neurons.shape, self.counts.shape}
        if len(shapes) != 1 or self.times.dim() != 1:
            raise ValueError("times, neurons and counts must be 1-D tensors of one length (one entry per event).")
        if self.times.numel():
            if int(self.times.min()) < 0 or int(self.times.max()) >= self.n_steps:
                raise ValueError(f"event times must lie in [0, {self.n_steps}); slice the train before building it.")
            if int(self.neurons.min()) < 0 or int(self.neurons.max()) >= self.n_neurons:
                raise ValueError(f"neuron indices must lie in [0, {self.n_neurons}).")
            if int(self.counts.min()) < 1:
                raise ValueError("every event must carry a count >= 1; drop empty events before building the train.")
            key = self.times * self.n_neurons + self.neurons
            if key.numel() > 1 and not bool((key[1:] > key[:-1]).all()):
                raise ValueError("events must be sorted by time step, then neuron, with each (step, neuron) once; "
                                 "build the train with SpikeTrain.from_spike_times, which sorts and merges them.")
        if self.theta is not None and self.theta.shape != (self.n_steps,):
            raise ValueError(f"theta must have shape [n_steps]=[{self.n_steps}], got {tuple(self.theta.shape)}.")

    @classmethod
    def from_dense(cls, x: torch.Tensor, dt: float, theta: torch.Tensor | None = None) -> SpikeTrain:
        """Build from dense counts ``x`` ``[T, N]`` (non-negative integers)."""
        if x.dim() != 2:
            raise ValueError(f"dense spikes must be [T, N], got shape {tuple(x.shape)}.")
        if torch.is_floating_point(x) and not torch.equal(x, x.round()):
            raise ValueError("dense spikes must be integer counts; round or bin them first.")
        if (x < 0).any():
            raise ValueError("spike counts cannot be negative.")
        t, i = torch.nonzero(x, as_tuple=True)
        return cls(t, i, x[t, i].to(torch.int32), x.shape[1], x.shape[0], dt, theta)

    @classmethod
    def from_spike_times(cls, times, units, dt: float = 1e-3, duration: float | None = None,
                         n_neurons: int | None = None, t_start: float = 0.0) -> SpikeTrain:
        """Build from recorded spikes: ``times`` ``[S]`` in seconds (any order, any real dtype) and
        ``units`` ``[S]`` (integer neuron index in ``[0, n_neurons)`` of each spike).

        Spike s falls in step ``floor((times[s] - t_start) / dt)``; spikes of one neuron in one
        step are counted together (an event with count > 1), never dropped. ``duration`` (s,
        default: up to the step of the last spike) sets ``n_steps = ceil(duration / dt)``;
        ``n_neurons`` defaults to ``max(units) + 1``. Spikes before ``t_start`` or after the end
        raise rather than being cut off silently.
        """
        t = torch.as_tensor(times).double().flatten()
        u = torch.as_tensor(units).flatten()
        if t.shape != u.shape:
            raise ValueError(f"times and units need one entry per spike, got {t.numel()} and {u.numel()}.")
        if u.is_floating_point() and not torch.equal(u, u.round()):
            raise ValueError("units must be integer neuron indices; map unit ids to 0..N-1 first, e.g. "
                             "numpy.unique(ids, return_inverse=True).")
        if not torch.isfinite(t).all():
            raise ValueError("spike times contain NaN or inf.")
        if not dt > 0:
            raise ValueError(f"dt must be a positive number of seconds, got {dt}.")
        u = u.long()
        if u.numel() and u.min() < 0:
            raise ValueError("units must be non-negative neuron indices; map unit ids to 0..N-1 first, e.g. "
                             "numpy.unique(ids, return_inverse=True).")
        steps = torch.floor((t - t_start) / dt).long()
        if steps.numel() and steps.min() < 0:
            raise ValueError(f"a spike at {float(t.min())} s lies before t_start = {t_start} s.")
        last = int(steps.max()) + 1 if steps.numel() else 1
        n_steps = last if duration is None else math.ceil(duration / dt - 1e-9)
        if n_steps < last:
            raise ValueError(f"a spike at {float(t.max())} s lies after the end of the recording "
                             f"(t_start + duration = {t_start + duration} s).")
        n = int(u.max()) + 1 if n_neurons is None and u.numel() else (n_neurons or 1)
        if u.numel() and u.max() >= n:
            raise ValueError(f"unit index {int(u.max())} is not below n_neurons = {n}.")
        key, counts = torch.unique(steps * n + u, return_counts=True)           # sorted, duplicates merged
        return cls(key // n, key % n, counts.to(torch.int32), n, n_steps, dt)

    # -- basic facts -------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Length of the recording in seconds."""
        return self.n_steps * self.dt

    @property
    def n_spikes(self) -> int:
        return int(self.counts.sum())

    @property
    def device(self) -> torch.device:
        return self.times.device

    def rates(self) -> torch.Tensor:
        """Mean firing rate per neuron ``[N]`` in Hz."""
        per_neuron = torch.zeros(self.n_neurons, device=self.device, dtype=torch.float64)
        per_neuron.index_add_(0, self.neurons, self.counts.to(torch.float64))
        return per_neuron / self.duration

    def to(self, device: str | torch.device) -> SpikeTrain:
        theta = None if self.theta is None else self.theta.to(device)
        return SpikeTrain(self.times.to(device), self.neurons.to(device), self.counts.to(device),
                          self.n_neurons, self.n_steps, self.dt, theta)

    # -- conversions ---------------------------------------------------------------------------
    def to_dense(self, dtype: torch.dtype = torch.float32, device: str | torch.device | None = None) -> torch.Tensor:
        """Dense counts ``[n_steps, n_neurons]``. Bin first for long recordings at 0.1 ms."""
        dev = self.device if device is None else torch.device(device)
        x = torch.zeros(self.n_steps, self.n_neurons, dtype=dtype, device=dev)
        x[self.times.to(dev), self.neurons.to(dev)] = self.counts.to(dev, dtype)
        return x

    def bin(self, width: float) -> SpikeTrain:
        """Sum counts into bins of ``width`` seconds (a whole multiple of ``dt``).

        ``theta`` becomes its circular mean over each bin. The number of steps must divide
        evenly; otherwise slice the train first so that no spikes are dropped silently.
        """
        factor = round(width / self.dt)
        if factor < 1 or abs(factor * self.dt - width) > 1e-9 * max(width, self.dt):
            raise ValueError(f"bin width {width} s is not a whole multiple of dt={self.dt} s.")
        if self.n_steps % factor:
            raise ValueError(
                f"{self.n_steps} steps do not split into bins of {factor} steps; "
                f"slice the train to a multiple of {factor} steps first (train.slice(0, ...)), or bin before "
                "splitting (train.split(fractions, bin_width=...)).")
        key = (self.times // factor) * self.n_neurons + self.neurons
        uniq, inverse = torch.unique(key, return_inverse=True)  # sorted: time-major order kept
        counts = torch.zeros(uniq.numel(), dtype=torch.int32, device=self.device)
        counts.index_add_(0, inverse, self.counts)
        theta = None
        if self.theta is not None:
            z = torch.polar(torch.ones_like(self.theta), self.theta).view(-1, factor).mean(1)
            theta = torch.angle(z)
        return SpikeTrain(uniq // self.n_neurons, uniq % self.n_neurons, counts,
                          self.n_neurons, self.n_steps // factor, self.dt * factor, theta)

    def slice(self, start: int, stop: int) -> SpikeTrain:
        """Steps ``[start, stop)`` as a new train whose time index starts at 0."""
        if not 0 <= start < stop <= self.n_steps:
            raise ValueError(f"slice [{start}, {stop}) is not inside [0, {self.n_steps}].")
        lo, hi = torch.searchsorted(self.times, torch.tensor([start, stop], device=self.device))
        theta = None if self.theta is None else self.theta[start:stop]
        return SpikeTrain(self.times[lo:hi] - start, self.neurons[lo:hi], self.counts[lo:hi],
                          self.n_neurons, stop - start, self.dt, theta)

    def first(self, seconds: float) -> SpikeTrain:
        """The first ``seconds`` of the train (all of it when it is shorter)."""
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds}.")
        return self.slice(0, min(self.n_steps, max(1, round(seconds / self.dt))))

    def select(self, neurons) -> SpikeTrain:
        """The spikes of ``neurons`` [K] (distinct indices) only, renumbered 0..K-1 in the given order."""
        neurons = torch.as_tensor(neurons, device=self.device).long()
        if neurons.dim() != 1 or neurons.numel() == 0 or neurons.unique().numel() != neurons.numel():
            raise ValueError("neurons must be a non-empty list of distinct neuron indices.")
        if neurons.min() < 0 or neurons.max() >= self.n_neurons:
            raise ValueError(f"neuron indices must lie in [0, {self.n_neurons}).")
        new_index = torch.full((self.n_neurons,), -1, dtype=torch.long, device=self.device)
        new_index[neurons] = torch.arange(neurons.numel(), device=self.device)
        renumbered = new_index[self.neurons]
        keep = renumbered >= 0
        times, renumbered, counts = self.times[keep], renumbered[keep], self.counts[keep]
        order = torch.argsort(times * neurons.numel() + renumbered)         # time-major order again
        return SpikeTrain(times[order], renumbered[order], counts[order], neurons.numel(), self.n_steps, self.dt,
                          self.theta)

    def split(self, fractions: tuple[float, ...] = (0.8, 0.1, 0.1), bin_width: float | None = None
              ) -> tuple[SpikeTrain, ...]:
        """Contiguous pieces in time order (default train/validation/test = 80/10/10 %).

        ``bin_width`` (s): bin first (:meth:`bin`), then split, so every piece holds whole bins;
        splitting a 0.1 ms train and binning each piece afterwards can leave a piece whose length
        is not a multiple of the bin.
        """
        if bin_width is not None:
            return self.bin(bin_width).split(fractions)
        if any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
            raise ValueError(f"fractions must be positive and sum to 1, got {fractions}.")
        edges = [0]
        for f in fractions[:-1]:
            edges.append(edges[-1] + round(f * self.n_steps))
        edges.append(self.n_steps)
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"{self.n_steps} steps are too few to split into {len(fractions)} non-empty pieces.")
        return tuple(self.slice(a, b) for a, b in zip(edges, edges[1:]))
