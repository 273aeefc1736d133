"""Every spike method on one low-rate, long E/I recording: edge AUC / AP, fit seconds, held-out bits/spike.

The recording of chapter 13's low-rate section at a chosen length: 20 neurons of
:func:`circuitlib.sim.ei_network.simulate` at 1-5 Hz (w_exc 0.7, w_inh 3.0, seed 0), split 80/10/10
in time. Each method runs with its defaults (the GLM: free w, penalty path chosen on the
validation part, its gradient criterion; the ring GNN: ``directed=True``, one epoch). Beside the
GLM's bits/spike (Eq. 19 of Yoon 2025, against each neuron's mean rate on the test part) it prints
the homogeneous model fitted on the training part and the generator's own rates on the same test
part (the ceiling). The last line printed is one JSON object.

    python benchmarks/low_rate.py [--seconds 1200] [--methods pearson,partial,pearson_lag,ccg,glm,gnn]
"""
import argparse
import json
import time

import torch

from circuitlib import metrics
from circuitlib.experiments.benchmark import LOW_RATE_PARAMS
from circuitlib.infer import CCG, Correlation, CouplingGLM, WindowGNN
from circuitlib.sim import ei_network

METHODS = {
    "pearson": lambda: Correlation("pearson"), "partial": lambda: Correlation("partial"),
    "pearson_lag": lambda: Correlation("pearson", bin_width=1e-3, max_lag=0.01), "ccg": lambda: CCG(),
    "glm": lambda: CouplingGLM(device="cpu"),
    "gnn": lambda: WindowGNN.with_residual(steps=400, batch_bins=4096, structure_bins=2000, directed=True,
                                           progress=False, device="cpu"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1200.0)
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args()
    params = {**LOW_RATE_PARAMS["quick"], "duration": args.seconds}
    spikes, truth = ei_network.simulate(seed=0, device="cpu", **params)
    train, validation, test = spikes.split((0.8, 0.1, 0.1))
    x = test.to_dense(torch.float64)
    homogeneous = train.to_dense(torch.float64).mean(0)[None].expand_as(x).clone()
    result = {"params": params, "test_spikes": int(x.sum()),
              "bps_truth": metrics.bits_per_spike(x, ei_network.expected_counts(test, truth)).mean,
              "bps_homogeneous": metrics.bits_per_spike(x, homogeneous).mean, "methods": {}}
    print(f"{params}: test bits/spike of the generator {result['bps_truth']:.5f}, of the homogeneous model "
          f"{result['bps_homogeneous']:.5f}")
    for name in args.methods.split(","):
        model = METHODS[name]()
        start = time.perf_counter()
        model.fit(train, validation)
        row = {"seconds": time.perf_counter() - start}
        scores = metrics.edge_scores(truth.weights, model.weights)
        row.update(auroc=scores.auroc, average_precision=scores.average_precision)
        if hasattr(model, "score"):
            row["bps"] = model.score(test).mean
        if isinstance(model, CouplingGLM):
            row.update(n_iter=model.n_iter, converged=model.converged, stop_reason=model.stop_reason,
                       chosen_strength=model.chosen_strength, path=model.path)
        result["methods"][name] = row
        print(f"  {name:12s} AUC {row['auroc']:.3f}  AP {row['average_precision']:.3f}  {row['seconds']:7.1f} s"
              + (f"  bits/spike {row['bps']:.5f}" if "bps" in row else ""), flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
