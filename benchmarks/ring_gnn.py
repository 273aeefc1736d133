"""Training speed of the ring GNN against a pinned reference commit, in one run (the ratio is the result).

One epoch of ``RingGNN.fit`` on a threshold-model recording of 100 neurons at 1 ms bins, with the
flattened structure readout over ``--structure-bins`` bins, for the message form the chapters use
(``positive`` messages, ``additive`` update) and the paper's pairwise form (``pair``, ``carried``).
Each (code, form) runs in its own process: the reference is the package as it was at
``--reference`` (exported with ``git archive``), the current one is this checkout. Both fit the
same data with the same model and the same schedule (``--streams`` x ``--window`` bins per Adam
step); the current code also runs with the structure module stepped once per k windows
(``--structure-every``, e.g. 1,8: k = 1 is the reference's schedule). Reported: time bins per second
of the epoch (warm-up fit first) and current / reference for each k.
``--profile`` adds each run's five most expensive operators (torch.profiler, self CPU time).
The last line printed is one JSON object.

    python benchmarks/ring_gnn.py [--seconds 8] [--structure-bins 8000] [--structure-every 1,8]
                                  [--reference 7ea5d9a] [--profile]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMS = {"positive": dict(message="positive", update="additive"), "pair": dict(message="pair", update="carried")}


def worker(args):
    """Time one epoch with the package found at ``args.code``; print one JSON line."""
    sys.path.insert(0, args.code)
    import torch

    from circuitlib.infer.ring_gnn_training import RingGNN
    from circuitlib.sim import ring

    assert Path(sys.modules["circuitlib"].__file__).is_relative_to(args.code)
    data = ring.simulate("threshold", duration=args.seconds, seed=0)
    kw = dict(FORMS[args.form], epochs=1, structure_bins=args.structure_bins, lr=3e-3, progress=False,
              device="cpu")
    kw.update(streams=args.streams, window=args.window)
    if int(args.structure_every) > 1:                                             # an option the reference lacks
        kw["structure_every"] = int(args.structure_every)
    RingGNN(**kw).fit(data.slice(0, data.n_steps // 4))                       # warm-up
    start = time.perf_counter()
    if args.profile:
        with torch.profiler.profile() as prof:
            RingGNN(**kw).fit(data)
    else:
        RingGNN(**kw).fit(data)
    seconds = time.perf_counter() - start
    out = {"bins_per_s": round(data.n_steps * data.dt / 1e-3 / seconds, 1), "epoch_s": round(seconds, 2)}
    if args.profile:
        ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:5]
        out["top_ops_ms"] = {e.key: round(e.self_cpu_time_total / 1e3) for e in ops}
    print(json.dumps(out))


def run(code: str, form: str, args, every: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--code", code, "--form", form, "--structure-every", str(every),
           "--seconds", str(args.seconds), "--structure-bins", str(args.structure_bins),
           "--streams", str(args.streams), "--window", str(args.window)] + (["--profile"] if args.profile else [])
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise RuntimeError(f"{code} ({form}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0, help="training recording (s), one epoch")
    ap.add_argument("--structure-bins", type=int, default=8000, help="bins the structure module reads")
    ap.add_argument("--streams", type=int, default=4, help="streams per Adam step (RingGNN's default)")
    ap.add_argument("--window", type=int, default=50, help="bins per window (RingGNN's default)")
    ap.add_argument("--structure-every", default="1,8", help="windows per structure step (current code)")
    ap.add_argument("--reference", default="7ea5d9a", help="commit whose circuitlib is the reference")
    ap.add_argument("--forms", default="positive,pair")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--code", help=argparse.SUPPRESS)
    ap.add_argument("--form", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    result = {"reference": args.reference, "seconds": args.seconds, "structure_bins": args.structure_bins}
    with tempfile.TemporaryDirectory() as ref:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.reference, "circuitlib"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", ref], input=archive, check=True)
        for form in args.forms.split(","):
            old = run(ref, form, args)
            result[form] = {"reference": old}
            for every in map(int, str(args.structure_every).split(",")):
                new = run(str(ROOT), form, args, every)
                result[form][f"current, structure_every={every}"] = new | {
                    "speedup": round(new["bins_per_s"] / old["bins_per_s"], 2)}
                print(f"{form}: reference {old['bins_per_s']} bins/s; current (structure_every={every}) "
                      f"{new['bins_per_s']}", flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
