"""The regression runs' comparison logic (tools/regression.py) on small fake glue sets."""
import json
import os
from pathlib import Path

import nbformat
import pytest
import regression


def record(glue, status="ok", error=None):
    return {"status": status, "glue": glue, "error": error, "wall_s": 1.0}


REFS = {"01_x": {"delta": {"value": 0.30, "tol": {"abs": 0.05}, "worse": "rise"},
                 "bps": {"value": 1.00, "tol": {"rel": 0.10}, "worse": "fall"},
                 "n_bumps": {"value": 4, "tol": {"abs": 0}, "worse": "change"},
                 "fit_seconds": {"value": 10.0, "tol": {"abs": 0}, "worse": "never"}}}
PAPER = {"delta": {"value": 0.061, "source": "Yoon 2025, Table 1"}}


def verdicts(glue, status="ok"):
    result = regression.compare(REFS, {"01_x": record(glue, status, "RuntimeError: boom")}, PAPER)
    return {r["key"]: r["verdict"] for r in result["rows"]}, result["failures"]


def test_within_tolerance_passes_and_reports_the_paper_value():
    got, failures = verdicts({"delta": 0.34, "bps": 0.91, "n_bumps": 4, "fit_seconds": 99.0})
    assert got == {"delta": "ok", "bps": "ok", "n_bumps": "ok", "fit_seconds": "ok"} and failures == []
    rows = regression.compare(REFS, {"01_x": record({"delta": 0.34})}, PAPER)["rows"]
    assert next(r for r in rows if r["key"] == "delta")["paper"] == 0.061


def test_one_sided_tolerances():
    # delta may fall by any amount but not rise by more than 0.05; bps the other way round
    got, _ = verdicts({"delta": 0.01, "bps": 5.0, "n_bumps": 4, "fit_seconds": 1.0})
    assert got["delta"] == "ok" and got["bps"] == "ok"
    got, failures = verdicts({"delta": 0.36, "bps": 0.89, "n_bumps": 5, "fit_seconds": 1.0})
    assert got == {"delta": "regressed", "bps": "regressed", "n_bumps": "regressed", "fit_seconds": "ok"}
    assert len(failures) == 3 and any("delta regressed" in f and "0.36" in f for f in failures)


def test_missing_key_fails_and_extra_key_does_not():
    got, failures = verdicts({"delta": 0.3, "bps": 1.0, "fit_seconds": 1.0, "new_value": 7.0})
    assert got["n_bumps"] == "missing" and got["new_value"] == "no reference"
    assert failures == ["01_x: n_bumps missing: reference 4 (tolerance {'abs': 0}, worse when it will change), now –"]


def test_failed_chapter_fails_and_is_named():
    got, failures = verdicts({}, status="failed")
    assert set(got.values()) == {"chapter failed"}
    assert len(failures) == 1 and failures[0].startswith("01_x: chapter failed") and "boom" in failures[0]


def test_chapter_without_references_reports_no_reference_only():
    result = regression.compare({}, {"02_y": record({"a": 1.0})}, {})
    assert [r["verdict"] for r in result["rows"]] == ["no reference"] and result["failures"] == []


def test_lists_nan_and_strings():
    assert regression.within([1.0, 2.0], [1.01, 2.01], {"abs": 0.02}, "change")
    assert not regression.within([1.0, 2.0], [1.0], {"abs": 0.02}, "change")
    assert not regression.within([1.0, 2.0], [1.0, 2.5], {"abs": 0.02}, "change")
    curve = {"glm": {"lnp": [0.5, 0.4]}, "gnn": {"lnp": [0.9, 0.8]}}
    assert regression.within(curve, {"gnn": {"lnp": [0.9, 0.81]}, "glm": {"lnp": [0.5, 0.4]}}, {"abs": 0.02}, "rise")
    assert not regression.within(curve, {"gnn": {"lnp": [0.9, 0.9]}, "glm": {"lnp": [0.5, 0.4]}}, {"abs": 0.02}, "rise")
    assert not regression.within(curve, {"gnn": {"lnp": [0.9, 0.8]}}, {"abs": 0.02}, "rise")
    assert regression.within(float("nan"), float("nan"), {"abs": 0.1}, "change")
    assert not regression.within(0.5, float("nan"), {"abs": 0.1}, "rise")
    assert regression.within("a", "a", {"abs": 0}, "change") and not regression.within("a", "b", {"abs": 0}, "change")
    assert regression.allowance(2.0, {"abs": 0.01, "rel": 0.1}) == pytest.approx(0.2)


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="worse must be one of"):
        regression.within(1.0, 1.0, {"abs": 0.1}, "up")
    with pytest.raises(ValueError, match="a tolerance is"):
        regression.within(1.0, 1.0, {"pct": 5}, "rise")


def test_update_keeps_tolerances_drops_gone_keys_and_skips_failed_chapters():
    refs = {"scale": "quick", "measured": {}, "values": {
        "01_x": {"delta": {"value": 0.3, "tol": {"abs": 0.01}, "worse": "rise"},
                 "gone": {"value": 1.0, "tol": {"abs": 0.1}, "worse": "change"}},
        "02_y": {"a": {"value": 1.0, "tol": {"abs": 0.1}, "worse": "change"}}}}
    new = regression.updated_references(refs, {"01_x": {**record({"delta": 0.2, "bits_per_spike_glm": 0.8,
                                                                  "sim_seconds": 3.0}), "commit": "abc"},
                                               "02_y": record({}, status="failed")})
    x = new["values"]["01_x"]
    assert x["delta"] == {"value": 0.2, "tol": {"abs": 0.01}, "worse": "rise"} and "gone" not in x
    assert x["bits_per_spike_glm"]["worse"] == "fall" and x["sim_seconds"]["worse"] == "never"
    assert new["values"]["02_y"] == refs["values"]["02_y"] and new["measured"]["01_x"]["commit"] == "abc"


def test_glued_values_read_from_a_notebook():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glue(...)")
    for name, text in (("a", "0.5"), ("b", "[1, 2]"), ("c", "nan"), ("d", "'text'")):
        cell.outputs.append(nbformat.v4.new_output("display_data", data={regression.GLUE_MIME: text},
                                                   metadata={"scrapbook": {"name": name}}))
    nb.cells.append(cell)
    got = regression.glued_values(nb)
    assert got["a"] == 0.5 and got["b"] == [1, 2] and got["c"] != got["c"] and got["d"] == "text"


def test_chapter_selection():
    chapters = regression.select_chapters("01 02,12")
    assert [c[:2] for c in chapters] == ["01", "02", "12", "12"]          # a prefix takes every chapter 12
    assert regression.select_chapters("") == regression.all_chapters()
    with pytest.raises(ValueError, match="no chapter '99'"):
        regression.select_chapters("99")


def test_reference_files_are_well_formed():
    for scale in regression.SCALES:
        refs = regression.load_references(scale)  # raises on a malformed entry
        assert refs["scale"] == scale
    assert all("value" in v and "source" in v for v in regression.load_paper_values().values())


def test_report_names_failures_last(tmp_path, monkeypatch):
    monkeypatch.setattr(regression, "OUT", tmp_path)
    result = regression.compare(REFS, {"01_x": record({"delta": 0.9})}, PAPER)
    md = regression.write_report(result, "quick").read_text()
    assert md.rstrip().splitlines()[-1].startswith("- 01_x: n_bumps missing")
    assert "| 01_x | delta | 0.3 | 0.9 | 0.061 | regressed |" in md
    assert json.loads((tmp_path / "quick.json").read_text())["failures"] == result["failures"]


@pytest.mark.chapter
def test_a_real_run_of_chapter_01_at_ci_is_checked_against_a_reference_made_from_it(tmp_path, monkeypatch):
    monkeypatch.setattr(regression, "OUT", tmp_path)
    tools = str(Path(regression.__file__).parent)                 # the Dask workers import regression too
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [tools, os.environ.get("PYTHONPATH")])))
    records = regression.run(["01_ring_attractors"], "ci", "cpu", workers=1, resume=False)
    record = records["01_ring_attractors"]
    assert record["status"] == "ok", record["error"]
    assert json.loads((tmp_path / "ci" / "01_ring_attractors.json").read_text())["glue"] == record["glue"]
    refs = regression.updated_references({"scale": "ci", "measured": {}, "values": {}}, records)["values"]
    result = regression.compare(refs, records, {})
    assert result["failures"] == [] and {r["verdict"] for r in result["rows"]} == {"ok"}
    assert len(result["rows"]) == len(record["glue"]) >= 5

    # the same run against a reference moved by twice its tolerance (to the better side): a regression, by name
    key, ref = next((k, r) for k, r in sorted(refs["01_ring_attractors"].items())
                    if r["worse"] != "never" and isinstance(r["value"], float))
    moved = 2 * regression.allowance(ref["value"], ref["tol"]) + 1e-9
    better = ref["value"] - moved if ref["worse"] == "rise" else ref["value"] + moved
    stricter = {"01_ring_attractors": {**refs["01_ring_attractors"], key: {**ref, "value": better}}}
    failures = regression.compare(stricter, records, {})["failures"]
    assert len(failures) == 1 and failures[0].startswith(f"01_ring_attractors: {key} regressed")

    # --resume keeps the finished chapter: nothing runs again
    monkeypatch.setattr(regression, "execute_chapter", None)
    assert regression.run(["01_ring_attractors"], "ci", "cpu", workers=1, resume=True) == records
