"""Training throughput of the ring GNN: time bins per second of one Adam step, dense against the
torch_geometric MessagePassing path, on the same machine in the same run (the ratio is the result).

One epoch of ``RingGNN.fit`` over a recording of 100 neurons at 1 ms bins: every Adam step reads
``streams`` x ``window`` bins (and the structure module's pass over the whole recording), with the
paper's pairwise messages phi([h_i, h_j]).
Runs on CUDA when present, else the CPU. The last line printed is one JSON object.

    python benchmarks/ring_gnn.py [--seconds 4] [--streams 4] [--window 50]
"""
import argparse
import json
import time

import torch

from circuitlib.infer.ring_gnn_training import RingGNN
from circuitlib.sim import ring


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bins_per_second(path: str, data, args, device) -> float:
    """Bins of the recording per second of a one-epoch fit (warm-up fit on a short piece first)."""
    kw = dict(path=path, epochs=1, streams=args.streams, window=args.window, progress=False, device=device)
    RingGNN(**kw).fit(data.slice(0, data.n_steps // 8))                     # warm-up
    sync(device)
    start = time.perf_counter()
    RingGNN(**kw).fit(data)
    sync(device)
    return data.n_steps * data.dt / 1e-3 / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0, help="training recording (s), one epoch")
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--window", type=int, default=50)
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = ring.simulate("threshold", duration=args.seconds, seed=0)
    result = {"device": str(device), "threads": torch.get_num_threads(), "streams": args.streams,
              "window": args.window}
    for path in ("dense", "edges"):
        rate = bins_per_second(path, data, args, device)
        result[f"{path}_bins_per_s"] = round(rate, 1)
        print(f"{path}: {rate:.1f} time bins per second", flush=True)
    result["dense_over_edges"] = round(result["dense_bins_per_s"] / result["edges_bins_per_s"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
