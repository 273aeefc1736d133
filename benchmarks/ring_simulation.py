"""CPU cost of simulating the ring attractor at paper scale (100 neurons, 8 min at 0.1 ms).

Runs, in one process on one core, the event-driven simulator (circuitlib's CPU path) for the
full 8 minutes of each spike model, and two plain dense step-by-step references for a shorter
stretch, extrapolated linearly to 8 minutes: a numpy loop (I = r W s + ..., one matrix-vector
product per step) and circuitlib's own dense torch backend (the GPU path, run here on the CPU).
Prints, as its last line, one JSON object with CPU seconds per simulated 8 minutes and ratios.

    python benchmarks/ring_simulation.py [--reference-seconds 20]
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from circuitlib.sim import ring  # noqa: E402

PAPER_SECONDS = 480.0


def cpu_seconds(fn):
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def numpy_dense_reference(model: str, duration: float, seed: int = 0) -> int:
    """The textbook loop: one dense matrix-vector product and fresh noise every step."""
    p = ring.RingParams(model=model)
    w = ring.mexican_hat().numpy()
    rng = np.random.default_rng(seed)
    s = rng.uniform(0, 1, w.shape[0])
    n_spikes = 0
    for _ in range(round(duration / p.dt)):
        g = p.r * (w @ s) + p.b
        if model == "threshold":
            z1, z2 = rng.standard_normal((2, w.shape[0]))
            spk = (g + p.b * p.noise_std * z1 * (z2 > ring.SPARSE_NOISE_CUT) > p.threshold).astype(float)
        else:
            spk = rng.poisson(p.gain * np.maximum(g - p.threshold, 0.0))
        s = s * p.decay + spk
        n_spikes += int(spk.sum())
    return n_spikes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-seconds", type=float, default=20.0,
                        help="simulated seconds for the dense references (extrapolated to 480 s)")
    parser.add_argument("--paper-seconds", type=float, default=PAPER_SECONDS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ring.simulate("threshold", duration=0.01, burn_in=0.0)  # compile the numba kernels once
    ring.simulate("lnp", duration=0.01, burn_in=0.0)
    result = {"neurons": 100, "simulated_seconds": PAPER_SECONDS, "dt": 1e-4, "cpu_threads": 1}
    scale_ref = PAPER_SECONDS / args.reference_seconds
    scale_fast = PAPER_SECONDS / args.paper_seconds
    for model in ring.MODELS:
        t_fast, st = cpu_seconds(lambda m=model: ring.simulate(m, duration=args.paper_seconds, seed=0, burn_in=0.0))
        t_np, _ = cpu_seconds(lambda m=model: numpy_dense_reference(m, args.reference_seconds))
        t_torch, _ = cpu_seconds(lambda m=model: ring.simulate(m, duration=args.reference_seconds, seed=0, burn_in=0.0,
                                                               backend="dense", device="cpu"))
        fast, np_ref, torch_ref = t_fast * scale_fast, t_np * scale_ref, t_torch * scale_ref
        print(f"{model:9s} event-driven {fast:7.1f} s | numpy dense {np_ref:7.1f} s | torch dense {torch_ref:7.1f} s "
              f"(CPU s per 8 min; {st.rates().mean().item():.1f} Hz)")
        result[model] = {"event_driven_s": round(fast, 2), "numpy_dense_s": round(np_ref, 1),
                         "torch_dense_cpu_s": round(torch_ref, 1),
                         "speedup_vs_numpy_dense": round(np_ref / fast, 1),
                         "speedup_vs_torch_dense": round(torch_ref / fast, 1),
                         "mean_rate_hz": round(st.rates().mean().item(), 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
