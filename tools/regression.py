"""Papermill regression runs: execute chapters at a scale, compare every glued value with a reference.

    python tools/regression.py run --scale quick [--device cuda] [--chapters "03 08"] [--workers 2] [--resume]
    python tools/regression.py compare --scale quick     # the last run's results against the references again
    python tools/regression.py update --scale quick      # rewrite book/regression/quick.json from the last run

``run`` executes each chapter with papermill (``SCALE``/``DEVICE`` parameters), one chapter per Dask
worker, and writes as each one finishes ``_build/regression/<scale>/<chapter>.json`` (its glued
values, wall time, status) beside the executed notebook, so an interrupted run keeps what finished
(``--resume`` skips those). It then writes the report ``_build/regression/<scale>.md`` and ``.json``:
one row per value (chapter, key, reference, now, paper, verdict) and each chapter's wall time, and
exits 1 when a value regressed, a referenced value is missing or a chapter failed, naming them last.

The reference file ``book/regression/<scale>.json`` holds, per chapter and key, the reference value,
its tolerance ``tol`` (``{"abs": a}``, ``{"rel": r}`` or both: the larger allowance wins) and
``worse`` — which direction is a regression: ``"rise"`` (e.g. an inference error), ``"fall"`` (e.g.
bits/spike), ``"change"`` (either), or ``"never"`` (informative only, e.g. a timing). Only ``update``
writes it, from a measured run; it keeps the tolerances already there. Paper values come from
``book/regression/paper_values.json`` (key -> value and source).
"""
from __future__ import annotations

import argparse
import ast
import datetime
import json
import math
import os
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
REFERENCES = BOOK / "regression"
PAPER_VALUES = REFERENCES / "paper_values.json"
OUT = ROOT / "_build" / "regression"
GLUE_MIME = "application/papermill.record/text/plain"
SCALES = ("ci", "quick", "paper")
WORSE = ("rise", "fall", "change", "never")


# ---------------------------------------------------------------------------------------------
# chapters and their glue
# ---------------------------------------------------------------------------------------------
def all_chapters() -> list[str]:
    """Every numbered chapter of the book, e.g. ``["01_ring_attractors", ...]``."""
    return sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.ipynb"))


def select_chapters(spec: str | None) -> list[str]:
    """Chapters named by ``spec``: whitespace- or comma-separated prefixes ("03 08") or full names;
    None or "" means all. An unknown name raises ValueError with the list of chapters."""
    chapters = all_chapters()
    if not spec or not spec.strip():
        return chapters
    chosen = []
    for token in re.split(r"[\s,]+", spec.strip()):
        hits = [c for c in chapters if c == token or c.startswith(token + "_")]
        if not hits:
            raise ValueError(f"no chapter {token!r}; the chapters are: {', '.join(chapters)}.")
        chosen += [c for c in hits if c not in chosen]
    return chosen


def glued_values(nb) -> dict:
    """Every value a notebook glued with ``myst_nb.glue`` (``nb``: an nbformat notebook or its dict)."""
    glued = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None and GLUE_MIME in out.get("data", {}):
                glued[name] = _literal(out["data"][GLUE_MIME])
    return glued


def _literal(text: str):
    """A glued repr back to a Python value (``nan`` and ``inf`` included); text that is not a literal
    is kept as text."""
    try:
        return ast.literal_eval(_NonFinite().visit(ast.parse(text.strip(), mode="eval")))
    except (ValueError, SyntaxError, TypeError):
        return text


class _NonFinite(ast.NodeTransformer):
    """``nan`` / ``inf`` names (as ``repr(float)`` writes them) to float constants."""

    def visit_Name(self, node):
        return ast.Constant(float(node.id)) if node.id in ("nan", "inf") else node


def execute_chapter(chapter: str, scale: str, device: str, out_dir: str, threads: int) -> dict:
    """Run one chapter with papermill; return its record (glue, wall time, status, error).
    ``threads``: OMP/MKL threads for its kernel (the machine's cores shared by the workers)."""
    import papermill

    os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), CIRCUITLIB_SCALE=scale)
    start = time.perf_counter()
    record = {"chapter": chapter, "scale": scale, "device": device, "status": "ok", "error": None, "glue": {}}
    try:
        nb = papermill.execute_notebook(str(BOOK / f"{chapter}.ipynb"), str(Path(out_dir) / f"{chapter}.ipynb"),
                                        parameters={"SCALE": scale, "DEVICE": device}, kernel_name="python3",
                                        cwd=str(BOOK), progress_bar=False)
        record["glue"] = glued_values(nb)
    except Exception as err:  # noqa: BLE001 - a failing chapter is a result of the run, reported by name
        record.update(status="failed", error="".join(traceback.format_exception_only(type(err), err)).strip()[-2000:])
    record["wall_s"] = round(time.perf_counter() - start, 1)
    return record


def run(chapters: list[str], scale: str, device: str, workers: int | None, resume: bool) -> dict[str, dict]:
    """Execute ``chapters`` on a Dask LocalCluster (one chapter per single-threaded worker process);
    each record is written to ``_build/regression/<scale>/<chapter>.json`` as soon as it finishes."""
    from distributed import as_completed

    from circuitlib.experiments.sweep import local_client

    out_dir = OUT / scale
    out_dir.mkdir(parents=True, exist_ok=True)
    records = {c: read_record(scale, c) for c in chapters} if resume else {}
    todo = [c for c in chapters if records.get(c) is None or records[c]["status"] != "ok"]
    cores = os.cpu_count() or 1
    workers = max(1, min(workers or cores, len(todo) or 1))
    threads = max(1, cores // workers)
    if todo:
        print(f"regression: {len(todo)} chapter(s) at SCALE={scale}, DEVICE={device}, {workers} worker(s) of "
              f"{threads} thread(s): {' '.join(todo)}", flush=True)
        with local_client(workers) as client:
            futures = {client.submit(execute_chapter, c, scale, device, str(out_dir), threads, pure=False,
                                     key=f"chapter-{c}"): c for c in todo}
            for future in as_completed(futures):
                chapter = futures[future]
                try:
                    record = future.result()
                except Exception as err:  # noqa: BLE001 - e.g. a killed worker: that chapter failed
                    record = {"chapter": chapter, "scale": scale, "device": device, "status": "failed",
                              "error": f"worker: {err!r}", "glue": {}, "wall_s": None}
                record["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
                record["commit"] = _commit()
                _write_json(out_dir / f"{chapter}.json", record)
                records[chapter] = record
                print(f"regression: {chapter} {record['status']} in {record['wall_s']} s", flush=True)
    return {c: records[c] for c in chapters}


def read_record(scale: str, chapter: str) -> dict | None:
    """The last run's record of ``chapter`` at ``scale``, or None."""
    path = OUT / scale / f"{chapter}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, allow_nan=True) + "\n")
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------------------
def allowance(ref: float, tol: dict) -> float:
    """The largest harmless change from ``ref``: max(tol["abs"], tol["rel"] * |ref|)."""
    unknown = set(tol) - {"abs", "rel"}
    if unknown or not tol:
        raise ValueError(f"a tolerance is {{'abs': a}}, {{'rel': r}} or both, got {tol!r}.")
    return max(float(tol.get("abs", 0.0)), float(tol.get("rel", 0.0)) * abs(ref))


def within(ref, now, tol: dict, worse: str) -> bool:
    """Whether ``now`` is no regression from ``ref``. Numbers use ``tol`` and the direction ``worse``;
    lists compare element by element (same length), dicts key by key (same keys, any order); anything
    else must be equal."""
    if worse not in WORSE:
        raise ValueError(f"worse must be one of {WORSE}, got {worse!r}.")
    if worse == "never":
        return True
    if isinstance(ref, (list, tuple)) and isinstance(now, (list, tuple)):
        return len(ref) == len(now) and all(within(r, n, tol, worse) for r, n in zip(ref, now))
    if isinstance(ref, dict) and isinstance(now, dict):
        return ref.keys() == now.keys() and all(within(ref[k], now[k], tol, worse) for k in ref)
    if _is_number(ref) and _is_number(now):
        ref, now = float(ref), float(now)
        if math.isnan(ref) or math.isnan(now):
            return math.isnan(ref) and math.isnan(now)
        if math.isinf(ref) or math.isinf(now):
            return ref == now
        change, allowed = now - ref, allowance(ref, tol)
        if worse == "rise":
            return change <= allowed
        if worse == "fall":
            return -change <= allowed
        return abs(change) <= allowed
    return ref == now


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def compare(references: dict, records: dict[str, dict], paper: dict) -> dict:
    """Rows and verdicts for every value of the run's chapters.

    ``references``: the reference file's ``"values"`` (chapter -> key -> {"value", "tol", "worse"});
    ``records``: chapter -> record of :func:`execute_chapter`; ``paper``: key -> {"value", "source"}.
    Verdicts: "ok", "regressed", "missing" (referenced, not glued now), "no reference" (glued, no
    reference: not a failure), "chapter failed". Returns {"rows", "chapters", "failures"}."""
    rows, failures, chapters = [], [], []
    for chapter, record in records.items():
        refs = references.get(chapter, {})
        chapters.append({"chapter": chapter, "status": record["status"], "wall_s": record.get("wall_s"),
                         "error": record.get("error")})
        if record["status"] != "ok":
            failures.append(f"{chapter}: chapter failed: {(record.get('error') or '').splitlines()[-1:]}")
            rows += [_row(chapter, key, ref, None, paper, "chapter failed") for key, ref in sorted(refs.items())]
            continue
        glue = record["glue"]
        for key in sorted(set(refs) | set(glue)):
            ref = refs.get(key)
            if ref is None:
                verdict = "no reference"
            elif key not in glue:
                verdict = "missing"
            else:
                verdict = "ok" if within(ref["value"], glue[key], ref["tol"], ref["worse"]) else "regressed"
            if verdict in ("missing", "regressed"):
                failures.append(f"{chapter}: {key} {verdict}: reference {_fmt(ref['value'])} "
                                f"(tolerance {ref['tol']}, worse when it will {ref['worse']}), now "
                                f"{_fmt(glue.get(key))}")
            rows.append(_row(chapter, key, ref, glue.get(key), paper, verdict))
    return {"rows": rows, "chapters": chapters, "failures": failures}


def _row(chapter, key, ref, now, paper, verdict) -> dict:
    return {"chapter": chapter, "key": key, "reference": None if ref is None else ref["value"], "now": now,
            "tol": None if ref is None else ref["tol"], "worse": None if ref is None else ref["worse"],
            "paper": paper.get(key, {}).get("value"), "verdict": verdict}


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in x[:6]) + (", …" if len(x) > 6 else "") + "]"
    return str(x).replace("|", "/").replace("\n", " ")[:60]


def report_markdown(result: dict, scale: str) -> str:
    """The report as Markdown: chapters with wall times, then one row per value, failures last."""
    lines = [f"# Regression report, SCALE={scale}", "", "| chapter | status | wall time (s) |", "|---|---|---|"]
    lines += [f"| {c['chapter']} | {c['status']} | {_fmt(c['wall_s'])} |" for c in result["chapters"]]
    lines += ["", "| chapter | key | reference | now | paper | verdict |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['chapter']} | {r['key']} | {'no reference' if r['reference'] is None else _fmt(r['reference'])}"
              f" | {_fmt(r['now'])} | {_fmt(r['paper'])} | {r['verdict']} |" for r in result["rows"]]
    lines += ["", f"{len(result['failures'])} failure(s)" + (":" if result["failures"] else ".")]
    lines += [f"- {f}" for f in result["failures"]]
    return "\n".join(lines) + "\n"


def load_references(scale: str) -> dict:
    """The reference file of ``scale`` ({"scale", "measured", "values"}); an empty one if absent."""
    path = REFERENCES / f"{scale}.json"
    if not path.exists():
        return {"scale": scale, "measured": {}, "values": {}}
    refs = json.loads(path.read_text())
    for chapter, values in refs["values"].items():
        for key, ref in values.items():
            if set(ref) < {"value", "tol", "worse"} or ref["worse"] not in WORSE:
                raise ValueError(f"{path}: {chapter}/{key} needs 'value', 'tol' and 'worse' (one of {WORSE}); got "
                                 f"{ref!r}.")
    return refs


def load_paper_values() -> dict:
    """Key -> {"value", "source", ...} of the papers' numbers (``book/regression/paper_values.json``)."""
    return json.loads(PAPER_VALUES.read_text())["values"] if PAPER_VALUES.exists() else {}


def write_report(result: dict, scale: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{scale}.md").write_text(report_markdown(result, scale))
    _write_json(OUT / f"{scale}.json", result)
    return OUT / f"{scale}.md"


# ---------------------------------------------------------------------------------------------
# updating the references
# ---------------------------------------------------------------------------------------------
def default_rule(key: str, value) -> dict:
    """Tolerance and direction for a key seen for the first time: timings never regress; integers
    must stay equal; other numbers may move by max(0.02, 10 %); errors and Δ are worse when they
    rise, bits/spike, R², accuracies and correlations with the truth when they fall."""
    name = key.lower()
    if re.search(r"(seconds|minutes|_s$|_time$|wall|speed)", name):
        return {"tol": {"abs": 0.0}, "worse": "never"}
    if isinstance(value, (bool, str, int)):
        return {"tol": {"abs": 0.0}, "worse": "change"}
    if re.search(r"(^delta|error|_err|loss)", name):
        worse = "rise"
    elif re.search(r"(bits|bps|r2|accuracy|auc|_ap$)", name):
        worse = "fall"
    else:
        worse = "change"
    return {"tol": {"abs": 0.02, "rel": 0.1}, "worse": worse}


def updated_references(refs: dict, records: dict[str, dict]) -> dict:
    """``refs`` with the values of every chapter that ran "ok" replaced by its glue (keys it no longer
    glues dropped, tolerances and directions kept); failed chapters keep their old entries."""
    values = {c: dict(v) for c, v in refs["values"].items()}
    measured = dict(refs.get("measured", {}))
    for chapter, record in records.items():
        if record["status"] != "ok":
            continue
        old = values.get(chapter, {})
        values[chapter] = {key: {**(default_rule(key, value) if key not in old else
                                    {"tol": old[key]["tol"], "worse": old[key]["worse"]}), "value": value}
                           for key, value in sorted(record["glue"].items())}
        measured[chapter] = {k: record.get(k) for k in ("commit", "finished", "wall_s", "device")}
    return {**refs, "measured": dict(sorted(measured.items())), "values": dict(sorted(values.items()))}


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------
def _last_run(scale: str, chapters: list[str]) -> dict[str, dict]:
    records = {c: read_record(scale, c) for c in chapters}
    ran = {c: r for c, r in records.items() if r is not None}
    if not ran:
        raise SystemExit(f"no regression run at SCALE={scale} under {OUT / scale}; run `make regression "
                         f"SCALE={scale}` first.")
    return ran


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("run", "compare", "update"))
    parser.add_argument("--scale", default="quick", choices=SCALES)
    parser.add_argument("--device", default="auto", help='"auto", "cpu" or "cuda" (the chapters\' DEVICE)')
    parser.add_argument("--chapters", default=None, help='e.g. "01 02 12" (default: all)')
    parser.add_argument("--workers", type=int, default=None, help="chapters at a time (default: one per core)")
    parser.add_argument("--resume", action="store_true", help="keep chapters that finished ok in the last run")
    args = parser.parse_args(argv)
    try:
        chapters = select_chapters(args.chapters)
    except ValueError as err:
        parser.error(str(err))
    if args.command == "update":
        records = _last_run(args.scale, chapters)
        failed = [c for c, r in records.items() if r["status"] != "ok"]
        path = REFERENCES / f"{args.scale}.json"
        REFERENCES.mkdir(parents=True, exist_ok=True)
        _write_json(path, updated_references(load_references(args.scale), records))
        print(f"regression: wrote {path.relative_to(ROOT)} from {len(records) - len(failed)} chapter(s)"
              + (f"; kept the old entries of the failed {' '.join(failed)}" if failed else ""))
        return 0
    records = run(chapters, args.scale, args.device, args.workers, args.resume) if args.command == "run" \
        else _last_run(args.scale, chapters)
    result = compare(load_references(args.scale)["values"], records, load_paper_values())
    path = write_report(result, args.scale)
    counts = {v: sum(r["verdict"] == v for r in result["rows"]) for v in
              ("ok", "regressed", "missing", "no reference", "chapter failed")}
    print(f"regression: report {path.relative_to(ROOT)}; " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    for failure in result["failures"]:
        print(f"REGRESSION {failure}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
