"""Training speed of the time-parallel ring GNN against the carried-GRU form the chapters used to fit, in one run.

Both fit the same threshold-model recording of 100 neurons at 1 ms bins, with the same structure
module (the paper's flattened readout over ``--structure-bins`` bins). The reference is ``RingGNN``
as chapters 3-7 and 13 ran it before they moved to ``WindowGNN`` (``positive`` messages,
``additive`` update, own-history GRU carried, ``--window`` 50 bins x ``--streams`` 4 per Adam step,
``structure_every=4``), timed over one epoch; the new path is ``WindowGNN`` (``--batch-bins`` bins
per Adam step), timed over ``--steps`` steps. Each is warmed up first. Rows: the monotone-message
form of both, the paper's pair messages of both (``RingGNN`` message="pair", update="carried"
against ``WindowGNN.paper()``), and ``WindowGNN.ring_distance_only()`` (no spike embedding).
Reported: time bins per second and each new row's ratio to the reference row of its form.
``--profile`` adds each run's five most expensive operators (torch.profiler, self CPU time). The
last line printed is one JSON object.

    python benchmarks/ring_gnn.py [--seconds 20] [--structure-bins 8000] [--batch-bins 8192] [--forms positive,pair]
                                  [--profile]
"""
import argparse
import json
import time

import torch

from circuitlib.infer import RingGNN, WindowGNN
from circuitlib.sim import ring

OLD = dict(positive=dict(message="positive", update="additive", structure_every=4),
           pair=dict(message="pair", update="carried", structure_every=4))


def timed(fit, bins: int, profile: bool) -> dict:
    """Bins per second of ``fit()`` that trains on ``bins`` bins (and, with ``profile``, its top operators)."""
    start = time.perf_counter()
    if profile:
        with torch.profiler.profile() as prof:
            fit()
    else:
        fit()
    seconds = time.perf_counter() - start
    out = {"bins_per_s": round(bins / seconds), "seconds": round(seconds, 2)}
    if profile:
        ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:5]
        total = sum(e.self_cpu_time_total for e in prof.key_averages())
        out["top_ops_percent"] = {e.key: round(100 * e.self_cpu_time_total / total) for e in ops}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="training recording (s)")
    ap.add_argument("--structure-bins", type=int, default=8000, help="bins the structure module reads (both)")
    ap.add_argument("--window", type=int, default=50, help="RingGNN: bins per window")
    ap.add_argument("--streams", type=int, default=4, help="RingGNN: windows per Adam step")
    ap.add_argument("--batch-bins", type=int, default=8192, help="WindowGNN: bins per Adam step")
    ap.add_argument("--steps", type=int, default=30, help="WindowGNN: Adam steps timed")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--forms", default="positive,pair", help="which rows: positive (monotone messages), pair")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = ring.simulate("threshold", duration=args.seconds, seed=0).bin(1e-3)
    common = dict(structure_bins=args.structure_bins, progress=False, device="cpu")
    result = {"seconds": args.seconds, "structure_bins": args.structure_bins, "batch_bins": args.batch_bins,
              "threads": args.threads}

    def old(form):
        kw = dict(OLD[form], window=args.window, streams=args.streams, epochs=1, lr=3e-3, **common)
        RingGNN(**kw).fit(data.slice(0, data.n_steps // 8))                       # warm-up
        return timed(lambda: RingGNN(**kw).fit(data), data.n_steps, args.profile)

    def new(make):
        kw = dict(batch_bins=args.batch_bins, eval_every=args.steps, **common)
        make(steps=3, **kw).fit(data)                                             # warm-up
        return timed(lambda: make(steps=args.steps, **kw).fit(data), args.steps * args.batch_bins, args.profile)

    rows = [("positive", "RingGNN (chapters' former form)", lambda: old("positive")),
            ("positive", "WindowGNN.no_prior()", lambda: new(WindowGNN.no_prior)),
            ("positive", "WindowGNN.ring_distance_only()", lambda: new(WindowGNN.ring_distance_only)),
            ("pair", "RingGNN (pair, carried)", lambda: old("pair")),
            ("pair", "WindowGNN.paper()", lambda: new(WindowGNN.paper))]
    references = {}
    for form, name, run in [r for r in rows if r[0] in args.forms.split(",")]:
        out = run()
        if form in references:
            out["speedup"] = round(out["bins_per_s"] / references[form]["bins_per_s"], 1)
        references.setdefault(form, out)
        result[name] = out
        print(f"{name}: {out}", flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
