"""CPU cost of simulating the grid-cell torus (issue 22): the event-driven backend against the dense torch
backend on one core, for each sheet size and spike model, in one run.

Each backend simulates ``--seconds`` of the sheet at dt = 0.1 ms (after the numba kernels are compiled);
reported are CPU seconds per simulated second, the ratio dense / event-driven and the mean rate, for the plain
sheet and for the velocity-ready one under a constant command (``velocity``: shifted kernels, direction-tuned
input). The last line printed is one JSON object.

    python benchmarks/torus_simulation.py [--sizes 16,24,32] [--seconds 2]
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from circuitlib.sim import ring, torus  # noqa: E402


def cpu_seconds_per_second(model: str, side: int, seconds: float, backend: str,
                           driven: bool) -> tuple[float, float]:
    """(CPU seconds per simulated second, mean rate in Hz) of one simulation; ``driven``: under a constant
    velocity command of 0.5 along the columns."""
    velocity = torch.tensor([0.0, 0.5]).expand(round(seconds / 1e-4), 2) if driven else None
    start = time.process_time()
    train = torus.simulate(model, duration=seconds, shape=(side, side), seed=0, burn_in=0.0, backend=backend,
                           device="cpu", velocity=velocity)
    return (time.process_time() - start) / seconds, float(train.rates().mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,24,32", help="sheet sides (neurons per side)")
    parser.add_argument("--seconds", type=float, default=2.0, help="simulated seconds per run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for model in ring.MODELS:                                       # compile the numba kernels once
        torus.simulate(model, duration=0.01, shape=(16, 16), burn_in=0.0)
    result = {"seconds": args.seconds, "dt": 1e-4, "cpu_threads": 1}
    for side in (int(s) for s in args.sizes.split(",")):
        for model in ring.MODELS:
            for driven in (False, True):
                events, rate = cpu_seconds_per_second(model, side, args.seconds, "events", driven)
                dense, _ = cpu_seconds_per_second(model, side, args.seconds, "dense", driven)
                row = {"event_driven_cpu_s_per_s": round(events, 2), "dense_cpu_s_per_s": round(dense, 2),
                       "dense_over_events": round(dense / events, 1), "mean_rate_hz": round(rate, 1)}
                name = f"{side}x{side} {model}" + (" velocity" if driven else "")
                result[name] = row
                print(f"{name:26s} {row}", flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
