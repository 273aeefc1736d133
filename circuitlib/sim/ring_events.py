"""Event-driven CPU kernels (numba) for the ring-attractor spike models.

The recurrent input ``u = W s`` is carried from step to step instead of recomputed:
with ``s(t+1) = (1 - dt/tau) s(t) + n(t)``,

    u(t+1) = (1 - dt/tau) u(t) + sum_j n_j(t) W[:, j],

so a step costs O(N) plus one column of W per neuron that spiked, instead of the O(N^2)
matrix-vector product. Randomness is drawn only where it matters:

* sparse noise (reference form ``xi = z1 * [z2 > 1.5]``): the neuron-steps that receive noise
  form a Bernoulli(p) pattern, p = P(z > 1.5); the gaps between them are geometric, so one
  draw per noise event replaces two normals per neuron-step;
* Poisson spikes (LNP): by time rescaling, a unit-rate exponential "budget" per neuron is spent
  at the rate lambda_i(t) per step; each time it runs out a spike is emitted and a new budget
  drawn. Counts per step are then exactly Poisson(lambda_i(t)), with one draw per spike.

Input modulation: the tonic input of neuron ``i`` at step ``k`` is ``b (1 + tuning[i] . velocity[k])``
(a velocity command to direction-tuned neurons; ``C = 0`` columns leave it exactly ``b``).

External drive: for a circulant W, rotating W by an integer offset d turns the input of neuron
``i`` into ``u[(i - d) mod N]``, so the carried ``u`` stays valid while the drive changes.

Kernels run a block of steps, update the state arrays in place and write events into
preallocated buffers (at most one event per neuron-step, so ``n_steps * N`` is always enough).
numba's generator is seeded by :func:`seed` and is per thread, so calls must stay sequential
for runs to be reproducible.
"""
from __future__ import annotations

import numpy as np
from numba import njit

GAUSSIAN, SPARSE, NONE = 0, 1, 2


@njit(cache=True)
def seed(value):
    np.random.seed(value)


@njit(cache=True)
def _geometric_gap(log1m_p):
    """Failures before the next success of a Bernoulli(p) sequence (log1m_p = log(1 - p))."""
    return np.int64(np.floor(np.log(1.0 - np.random.random()) / log1m_p))


@njit(cache=True)
def _tonic(b, tuning, velocity, i, k):
    """``b (1 + tuning[i] . velocity[k])``; exactly ``b`` when there are no columns."""
    if tuning.shape[1] == 0:
        return b
    m = 1.0
    for c in range(tuning.shape[1]):
        m += tuning[i, c] * velocity[k, c]
    return b * m


@njit(cache=True)
def _propagate(w_cols, u, decay, spiking, spike_counts, n_spk, times_out, neurons_out, counts_out, n_events, t):
    """Decay u and add ``c * W[:, i]`` for each of the ``n_spk`` spiking neurons; record the events."""
    n = u.shape[0]
    for i in range(n):
        u[i] *= decay
    for m in range(n_spk):
        i = spiking[m]
        c = spike_counts[m]
        col = w_cols[i]
        for q in range(n):
            u[q] += c * col[q]
        times_out[n_events] = t
        neurons_out[n_events] = i
        counts_out[n_events] = c
        n_events += 1
    return n_events


@njit(cache=True)
def threshold_block(w_cols, u, shift, tuning, velocity, r, b, noise_std, g_th, decay, noise_kind, log1m_p,
                    gap, times_out, neurons_out, counts_out, t0):
    """Run ``len(shift)`` steps of the threshold model; return (n_events, noise gap).

    w_cols ``[N, N]``: ``w_cols[j] = W[:, j]``. u ``[N]`` float64 (in/out): W s.
    shift ``[K]`` int64: integer rotation per step. tuning ``[N, C]``, velocity ``[K, C]``: input
    modulation (module docstring). gap: neuron-steps until the next sparse
    noise event. Events are written with time index ``t0 + k``.
    """
    n = u.shape[0]
    spiking = np.empty(n, np.int64)
    ones = np.ones(n, np.int64)
    n_events = 0
    for k in range(shift.shape[0]):
        d = shift[k]
        n_spk = 0
        for i in range(n):
            j = i - d
            j = j % n
            bi = _tonic(b, tuning, velocity, i, k)
            g = r * u[j] + bi
            if noise_kind == SPARSE:
                if gap == 0:
                    g += bi * noise_std * np.random.standard_normal()
                    gap = _geometric_gap(log1m_p)
                else:
                    gap -= 1
            elif noise_kind == GAUSSIAN:
                g += bi * noise_std * np.random.standard_normal()
            if g > g_th:
                spiking[n_spk] = i
                n_spk += 1
        n_events = _propagate(w_cols, u, decay, spiking, ones, n_spk, times_out, neurons_out, counts_out,
                              n_events, t0 + k)
    return n_events, gap


@njit(cache=True)
def poisson_block(w_cols, u, shift, tuning, velocity, r, b, g_th, gain, decay, budget,
                  times_out, neurons_out, counts_out, t0):
    """Run ``len(shift)`` steps of the LNP model; return the number of events written.

    Rate per step ``lambda_i = gain * max(r u_i + b_i - g_th, 0)``, b_i the modulated input;
    budget ``[N]`` (in/out) holds each neuron's remaining exponential budget (see module docstring).
    """
    n = u.shape[0]
    spiking = np.empty(n, np.int64)
    spike_counts = np.empty(n, np.int64)
    n_events = 0
    for k in range(shift.shape[0]):
        d = shift[k]
        n_spk = 0
        for i in range(n):
            j = i - d
            j = j % n
            lam = gain * (r * u[j] + _tonic(b, tuning, velocity, i, k) - g_th)
            if lam > 0.0:
                budget[i] -= lam
                if budget[i] <= 0.0:
                    c = 0
                    while budget[i] <= 0.0:
                        c += 1
                        budget[i] += np.random.exponential(1.0)
                    spiking[n_spk] = i
                    spike_counts[n_spk] = c
                    n_spk += 1
        n_events = _propagate(w_cols, u, decay, spiking, spike_counts, n_spk, times_out, neurons_out, counts_out,
                              n_events, t0 + k)
    return n_events
