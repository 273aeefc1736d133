"""Simulation speed of the E/I network (circuitlib.sim.ei_network) on one CPU core.

Simulated seconds per wall second for one network and for a batch of 8 seeds, at the default
10-30 Hz and at the low-rate setting of issue 18 (1-5 Hz), 100 neurons, dt = 1 ms. Prints, as
its last line, one JSON object.

    python benchmarks/ei_network.py [--seconds 300]
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from circuitlib.sim import ei_network  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="simulated seconds per recording")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ei_network.simulate(0.1)                                          # compile the numba kernels once
    result = {"neurons": 100, "dt": 1e-3, "simulated_seconds": args.seconds, "cpu_threads": 1}
    for name, rates in (("default", (10.0, 30.0)), ("low_rate", (1.0, 5.0))):
        for label, seed in (("one", 0), ("batch8", list(range(8)))):
            start = time.perf_counter()
            out = ei_network.simulate(args.seconds, seed=seed, rates=rates, device="cpu")
            wall = time.perf_counter() - start
            trains = [t for t, _ in (out if isinstance(out, list) else [out])]
            speed = len(trains) * args.seconds / wall
            rate = sum(t.rates().mean().item() for t in trains) / len(trains)
            print(f"{name:8s} {label:6s} {wall:6.2f} s wall, {speed:8.0f} simulated s per wall s, {rate:.1f} Hz")
            result[f"{name}_{label}"] = {"wall_s": round(wall, 3), "simulated_s_per_wall_s": round(speed, 1),
                                         "mean_rate_hz": round(rate, 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
