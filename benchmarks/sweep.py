"""How the benchmark sweep scales from one local Dask worker to two.

Runs the same small grid (rings of 60 neurons and 10 s; Pearson and partial correlation and a
50-iteration free GLM; several seeds) with :func:`circuitlib.experiments.sweep.run_sweep` on a
LocalCluster of 1 and then 2 single-threaded worker processes, each into a fresh store. Every
worker first evaluates one cell of each method outside the timing (imports, numba's cache), so
the times are of the sweep itself. The two sizes alternate ``--repeats`` times and the fastest run
of each counts, which damps the load of other jobs on a shared machine. Reports seconds and cells
per second per cluster size and the ratio of the two rates (2 workers over 1; at most about 2 on
2 free cores; the 1-minute load average before and after says how free they were). The last line
printed is one JSON object.

    python benchmarks/sweep.py [--seeds 8] [--n 60] [--duration 10.0] [--repeats 2]
"""
import argparse
import json
import os
import tempfile
import time

from distributed import Client, LocalCluster

from circuitlib.experiments.sweep import Cell, evaluate, run_sweep

METHODS = {"pearson": {}, "partial": {"shrinkage": 0.05}, "glm_free": {"max_iter": 50, "strength": 1e-4}}


def grid(n: int, duration: float, seeds: range) -> list[Cell]:
    return [Cell("ring", method, generator_params={"n": n, "duration": duration}, method_params=hp, seed=seed,
                 scale="benchmark") for method, hp in METHODS.items() for seed in seeds]


def time_sweep(workers: int, cells: list[Cell], warm: list[Cell]) -> float:
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client, tempfile.TemporaryDirectory() as store:
        for cell in warm:
            client.run(evaluate, cell)                       # on every worker, untimed
        start = time.perf_counter()
        df = run_sweep(cells, store, client=client, progress=False)
        seconds = time.perf_counter() - start
    if not (df["status"] == "ok").all():
        raise RuntimeError(f"cells failed: {df.loc[df['status'] != 'ok', 'error_message'].tolist()}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    cells = grid(args.n, args.duration, range(args.seeds))
    warm = grid(args.n, args.duration, range(args.seeds, args.seeds + 1))   # other seeds: not in the timed grid
    load_before = os.getloadavg()[0]
    runs = {1: [], 2: []}
    for _ in range(args.repeats):
        for workers, times in runs.items():
            times.append(time_sweep(workers, cells, warm))
            print(f"{workers} worker(s): {times[-1]:.2f} s", flush=True)
    report = {"cells": len(cells), "cpu_count": os.cpu_count(), "repeats": args.repeats,
              "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)], "workers": {
        str(w): {"seconds": round(min(t), 2), "cells_per_second": round(len(cells) / min(t), 3),
                 "all_seconds": [round(x, 2) for x in t]} for w, t in runs.items()}}
    report["speedup_2_over_1"] = round(report["workers"]["2"]["cells_per_second"]
                                       / report["workers"]["1"]["cells_per_second"], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
