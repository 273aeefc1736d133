"""Speed of the assembly simulator and of the assembly GNN's message paths.

1. Simulation: Euler steps per second of Eq. 2 at N = 1000 and N = 8000 (dense W on the device).
2. Training: frames per second of one training step (batch of frames, Supp. Eq. 3 loss, Adam)
   with the dense message path (one W @ psi*(x) product) against the per-edge torch_geometric
   MessagePassing path, at N = 1000 on the same machine in the same run; the ratio is the result
   (target: dense >= 20x faster).
3. On CUDA only: peak GPU memory of one training step at N = 8000 with a batch of frames.

Runs on CUDA when present, else the CPU. The last line printed is one JSON object.

    python benchmarks/assembly.py [--batch 8] [--sim-steps 400] [--dense-steps 20] [--edge-steps 2]
"""
import argparse
import json
import time

import torch

from circuitlib.infer.assembly_gnn import AssemblyGNN
from circuitlib.infer.assembly_training import Regularisation, assembly_loss
from circuitlib.sim import assembly as A


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def sim_steps_per_second(n: int, steps: int, device) -> float:
    w = A.cauchy_weights(n, seed=0, device=device)
    dyn = A.AssemblyDynamics(w, A.assign_types(n, [1, 1, 1, 1]).to(device), A.baseline_types())
    x0 = 5 * torch.randn(1, n, device=device)
    A.integrate(dyn, x0, 5)                                      # warm-up
    sync(device)
    start = time.perf_counter()
    A.integrate(dyn, x0, steps)
    sync(device)
    return steps / (time.perf_counter() - start)


def train_frames_per_second(model, x, y, steps: int, device) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    reg = Regularisation()

    def one_step():
        loss, _ = assembly_loss(model, x, y, reg)
        opt.zero_grad()
        loss.backward()
        opt.step()

    one_step()                                                   # warm-up
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    sync(device)
    return steps * x.shape[0] / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--sim-steps", type=int, default=400)
    ap.add_argument("--dense-steps", type=int, default=20)
    ap.add_argument("--edge-steps", type=int, default=2)
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    result = {"device": str(device), "threads": torch.get_num_threads(), "batch": args.batch}

    for n in (1000, 8000):
        steps = args.sim_steps if n == 1000 else max(args.sim_steps // 8, 10)
        result[f"sim_steps_per_s_n{n}"] = round(sim_steps_per_second(n, steps, device), 1)
        print(f"simulation N={n}: {result[f'sim_steps_per_s_n{n}']} steps/s", flush=True)

    n = 1000
    sim = A.simulate(n, 200, burn_in=100, seed=0, device=device)
    x, y = sim.x[: args.batch], sim.dxdt[: args.batch]
    model = AssemblyGNN(n, psi_input="sender").to(device)
    for path, steps in (("dense", args.dense_steps), ("edges", args.edge_steps)):
        model.message_path = path
        result[f"train_frames_per_s_{path}"] = round(train_frames_per_second(model, x, y, steps, device), 2)
        print(f"training N={n}, {path}: {result[f'train_frames_per_s_{path}']} frames/s", flush=True)
    result["dense_over_edges"] = round(result["train_frames_per_s_dense"] / result["train_frames_per_s_edges"], 1)

    result["peak_gib_train_step_n8000"] = None
    if device.type == "cuda":
        n = 8000
        sim = A.simulate(n, 100, burn_in=100, seed=0, device=device)
        model = AssemblyGNN(n, psi_input="sender").to(device)
        torch.cuda.reset_peak_memory_stats()
        train_frames_per_second(model, sim.x[: args.batch], sim.dxdt[: args.batch], 2, device)
        result["peak_gib_train_step_n8000"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
