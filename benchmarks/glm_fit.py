"""How the coupling GLM's fit time grows with the length of the recording, and what float32 saves.

Fits the shared-profile GLM (the paper's form) and the free-w GLM (one fixed L2 strength) to 1, 4
and 8 minutes of threshold-model spikes (100 neurons, 1 ms bins) on the CPU, and on CUDA when
present, in each of ``--dtypes``. Reports wall seconds per fit, L-BFGS iterations, whether the
gradient criterion held, seconds per iteration, the ratio of each time to the 1-minute time and,
with two dtypes, each float32 time over the float64 time of the same fit, all measured in the same
run, so that they can be read without trusting absolute numbers on a shared machine. The last line
printed is one JSON object.

    python benchmarks/glm_fit.py [--minutes 1 4 8] [--free-strength 1e-6] [--dtypes float64 float32]
"""
import argparse
import json
import time

import torch

from circuitlib.infer.glm import CouplingGLM
from circuitlib.metrics import inference_error
from circuitlib.sim import ring


def time_fit(train, coupling: str, strength: float, device: str, dtype: torch.dtype) -> dict:
    glm = CouplingGLM(coupling, strength=strength if coupling == "free" else 0.0, device=device, dtype=dtype)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    glm.fit(train)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "iterations": glm.n_iter, "converged": glm.converged,
            "seconds_per_iteration": round(seconds / glm.n_iter, 4),
            "delta": round(inference_error(ring.mexican_hat(), glm.weights).delta, 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    parser.add_argument("--free-strength", type=float, default=1e-6)
    parser.add_argument("--dtypes", nargs="+", default=["float64"], choices=["float64", "float32"])
    args = parser.parse_args()
    spikes = ring.simulate("threshold", duration=60.0 * max(args.minutes), seed=0, device="cpu")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    report = {"torch_threads": torch.get_num_threads(), "devices": {}}
    for device in devices:
        rows = {}
        for dtype in sorted(args.dtypes, key=lambda d: d != "float64"):     # float64 first: the ratios need it
            for coupling in ("shared", "free"):
                for minutes in args.minutes:
                    train = spikes.slice(0, round(60.0 * minutes / spikes.dt))
                    row = time_fit(train, coupling, args.free_strength, device, getattr(torch, dtype))
                    rows[f"{coupling}_{minutes:g}min_{dtype}"] = row
                    print(device, dtype, coupling, f"{minutes:g} min", row, flush=True)
                base = rows[f"{coupling}_{args.minutes[0]:g}min_{dtype}"]
                for minutes in args.minutes:
                    row = rows[f"{coupling}_{minutes:g}min_{dtype}"]
                    row["time_ratio_to_first"] = round(row["seconds"] / base["seconds"], 2)
                    per_iteration = row["seconds_per_iteration"] / base["seconds_per_iteration"]
                    row["per_iteration_ratio_to_first"] = round(per_iteration, 2)
                    if dtype == "float32" and "float64" in args.dtypes:
                        double = rows[f"{coupling}_{minutes:g}min_float64"]
                        row["time_ratio_to_float64"] = round(row["seconds"] / double["seconds"], 2)
        report["devices"][device] = rows
    print(json.dumps(report))


if __name__ == "__main__":
    main()
