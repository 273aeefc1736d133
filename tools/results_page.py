"""Write ``book/results.md``: every headline number of the book beside the paper's, in one table per paper.

    python tools/results_page.py           # (re)write the page from the committed reference files
    python tools/results_page.py --check   # exit 1 if the committed page is not what the references give

"Ours" is the reference value of the largest scale measured (``book/regression/paper.json`` before
``quick.json``), i.e. the numbers of the last ``make regression-update``; the papers' numbers and
which chapter reports each come from ``book/regression/paper_values.json``. Numbers the papers do
not have (the book's own experiments) are listed in ``book/regression/headlines.json``; the winners
of chapter 13's benchmark are read from its glued ``delta_<method>_ring_<generator>`` (lowest wins)
and ``auroc_<method>_<generator>`` (highest wins).
"""
from __future__ import annotations

import argparse
import json
import re
import sys

import regression

PAGE = regression.BOOK / "results.md"
HEADLINES = regression.REFERENCES / "headlines.json"
BENCHMARK = "13_benchmark"
CLOSE = 0.05  # "reproduces": ours no worse than the paper's, or within this much of it (absolute)
GROUPS = (("Yoon 2025", "Ring attractors (Yoon 2025)"), ("Allier", "Neural assemblies (Allier et al. 2026)"),
          ("Kim", "Connectivity distributions (Kim et al. 2026)"))


def ours(key: str, chapter: str, references: dict[str, dict]) -> tuple[object, str, str] | None:
    """(value, scale, direction "worse") of ``key`` glued by ``chapter`` at the largest scale measured, or None."""
    for scale in ("paper", "quick"):
        refs = references[scale]
        entry = refs["values"].get(chapter, {}).get(key)
        if entry is not None:
            return entry["value"], scale, entry["worse"]
    return None


def verdict(value, paper_value, worse: str) -> str:
    """"reproduces" when ``value`` is no worse than ``paper_value`` (direction ``worse``) or within CLOSE."""
    if not (regression._is_number(value) and regression._is_number(paper_value)):
        return "–"
    gap = value - paper_value
    bad = gap if worse == "rise" else -gap if worse == "fall" else abs(gap)
    return "reproduces" if bad <= CLOSE else "does not"


def chapter_link(chapter: str) -> str:
    """Markdown link to a chapter, shown as its number, e.g. ``[07](07_head_direction_cells.ipynb)``."""
    return f"[{chapter[:2]}]({chapter}.ipynb)"


def benchmark_winners(values: dict) -> list[tuple[str, str, str, object, list[str]]]:
    """(generator, score, best method, its value, the methods scored) per generator of chapter 13's
    glued ``values`` (key -> reference entry): lowest Δ on the rings, highest edge AUC elsewhere."""
    scores: dict[tuple[str, str], dict[str, object]] = {}
    for key, entry in values.items():
        if m := re.fullmatch(r"delta_(\w+?)_ring_(\w+)", key):
            scores.setdefault((f"ring_{m[2]}", "Δ"), {})[m[1]] = entry["value"]
        elif m := re.fullmatch(r"auroc_(\w+?)_(ei|ei_common|low_rate)", key):
            scores.setdefault((m[2], "edge AUC"), {})[m[1]] = entry["value"]
    rows = []
    for (generator, score), by_method in sorted(scores.items()):
        numbers = {k: v for k, v in by_method.items() if regression._is_number(v)}
        best = (min if score == "Δ" else max)(numbers, key=numbers.get)
        rows.append((generator, score, best, numbers[best], sorted(by_method)))
    return rows


def ours_only(references: dict[str, dict], headlines: dict[str, dict]) -> list[str]:
    """Markdown of the book's own numbers (no paper value): the headlines and chapter 13's winners."""
    lines = ["## Beyond the papers", "", "Numbers of experiments the papers do not report.", "",
             "| quantity | ours | scale | chapter |", "|---|---|---|---|"]
    for key, ref in headlines.items():
        found = ours(key, ref["chapter"], references)
        link = chapter_link(ref["chapter"])
        value, scale = (regression._fmt(found[0]), found[1]) if found else (ref.get("why", "not measured yet"), "–")
        lines.append(f"| {ref['what']} | {value} | {scale} | {link} |")
    lines.append("")
    for scale in ("paper", "quick"):
        values = references[scale]["values"].get(BENCHMARK)
        if values:
            lines += [f"### Chapter 13: the best method per generator ({scale})", "",
                      "| generator | score | best method | its score | methods compared |", "|---|---|---|---|---|"]
            lines += [f"| {g} | {score} | {best} | {regression._fmt(v)} | {', '.join(methods)} |"
                      for g, score, best, v, methods in benchmark_winners(values)]
            lines.append("")
            break
    return lines


def page(references: dict[str, dict], paper: dict[str, dict], headlines: dict[str, dict] | None = None) -> str:
    """The Markdown of the results page."""
    lines = ["# Results at a glance", "",
             "Every headline number of the book beside the paper's. *Ours* is the value the chapter glued in the "
             "last reference run (`make regression-update`), at the scale named; *reproduces* means ours is no "
             f"worse than the paper's or within {CLOSE} of it (Δ is worse when it rises; bits/spike, R² and "
             "accuracies when they fall). The chapter linked in each row explains the gap where there is one. "
             "The page is generated by `tools/results_page.py` from `book/regression/`; do not edit it by hand.",
             ""]
    for prefix, title in GROUPS:
        keys = [k for k, v in paper.items() if v["source"].startswith(prefix) or prefix in v["source"]]
        if not keys:
            continue
        lines += [f"## {title}", "", "| quantity | ours | scale | paper | source | verdict | chapter |",
                  "|---|---|---|---|---|---|---|"]
        for key in keys:
            ref = paper[key]
            found = ours(key, ref["chapter"], references)
            link = chapter_link(ref["chapter"])
            if found is None:
                why = ref.get("why", "not measured yet")                # e.g. "needs SCALE=paper: a GPU"
                lines.append(f"| {ref['what']} | {why} | – | {regression._fmt(ref['value'])} | {ref['source']} | – | "
                             f"{link} |")
                continue
            value, scale, worse = found
            lines.append(f"| {ref['what']} | {regression._fmt(value)} | {scale} | {regression._fmt(ref['value'])} | "
                         f"{ref['source']} | {verdict(value, ref['value'], worse)} | {link} |")
        lines.append("")
    lines += ours_only(references, headlines or {})
    measured = {c: m for s in ("quick", "paper") for c, m in references[s]["measured"].items()}
    if measured:
        lines += ["Measured: " + "; ".join(f"{c[:2]} at commit {m.get('commit')} ({(m.get('finished') or '')[:10]})"
                                          for c, m in sorted(measured.items())) + ".", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that book/results.md is current")
    args = parser.parse_args(argv)
    headlines = json.loads(HEADLINES.read_text())["values"] if HEADLINES.exists() else {}
    text = page({s: regression.load_references(s) for s in ("quick", "paper")}, regression.load_paper_values(),
                headlines)
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(regression.ROOT)} is out of date: run `python tools/results_page.py`.")
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(regression.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
