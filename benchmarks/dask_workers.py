"""Speed of torch inside a Dask worker against the same work in this process.

Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536; glibc then returns freed memory to
the system at once and torch's per-step buffers page-fault again on every step.
:func:`circuitlib.experiments.sweep.local_client` starts workers without it. This script times one
assembly-GNN Adam step (N = 1000, 32 frames; one torch thread everywhere) here, in a worker of a
default LocalCluster and in a worker of ``local_client``; the ratios are the result (target: the
``local_client`` worker within 1.2x of this process).

    python benchmarks/dask_workers.py [--steps 20]

The last line printed is one JSON object.
"""
import argparse
import json
import time

import torch
from distributed import Client, LocalCluster

from circuitlib.experiments.sweep import local_client
from circuitlib.infer.assembly_gnn import AssemblyGNN
from circuitlib.infer.assembly_training import Regularisation, assembly_loss


def ms_per_step(steps: int, n: int = 1000, batch: int = 32) -> float:
    """Milliseconds per Adam step of the assembly GNN on random frames, on one torch thread."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    x, y = 5 * torch.randn(2000, n, generator=gen), torch.randn(2000, n, generator=gen)
    model = AssemblyGNN(n)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        idx = torch.randint(0, x.shape[0], (batch,), generator=gen)
        loss, _ = assembly_loss(model, x[idx], y[idx], Regularisation())
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return 1000 * (time.perf_counter() - start) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    steps = ap.parse_args().steps
    result = {"here_ms": ms_per_step(steps)}
    # local_client first: a default cluster leaves the variable in this process's os.environ, for every
    # process started after it
    with local_client(1) as client:
        result["local_client_worker_ms"] = client.submit(ms_per_step, steps, pure=False).result()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        result["dask_default_worker_ms"] = client.submit(ms_per_step, steps, pure=False).result()
    result = {k: round(v, 1) for k, v in result.items()}
    result["default_worker_slowdown"] = round(result["dask_default_worker_ms"] / result["here_ms"], 2)
    result["local_client_slowdown"] = round(result["local_client_worker_ms"] / result["here_ms"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
