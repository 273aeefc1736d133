"""Every chapter runs headless through papermill at SCALE=ci, with the conventions the README states
(one `parameters` cell with SCALE, SEED, DEVICE; no committed outputs; glued numbers)."""
import json
import re

import pytest
from chapters import BOOK, CHAPTERS, run_chapter


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_is_committed_without_outputs_and_has_parameters(name):
    nb = json.loads((BOOK / f"{name}.ipynb").read_text())
    assert not any(c.get("outputs") for c in nb["cells"]), "strip outputs before committing"
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    src = "".join(params[0]["source"])
    for name_ in ("SCALE", "SEED", "DEVICE", "CIRCUITLIB_SCALE"):
        assert name_ in src


@pytest.mark.chapter
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_at_ci_scale(name):
    assert run_chapter(name), f"{name} glued no numbers"


GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([A-Za-z_][A-Za-z0-9_]*)")


@pytest.mark.chapter
@pytest.mark.parametrize("name", CHAPTERS)
def test_every_glue_reference_is_glued_at_ci_scale(name):
    """The book build fails on a {glue:text} key that the executed chapter did not glue."""
    nb = json.loads((BOOK / f"{name}.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    missing = sorted(set(GLUE_REF.findall(text)) - set(run_chapter(name)))
    assert not missing, f"{name} refers to glue keys it does not glue at SCALE=ci: {missing}"


MEDIAN_LINES, MAX_LINES = 10, 25  # issue 17: median code cell <= 10 lines, none over 25


def _is_set_up_cell(cell) -> bool:
    """The install cell (installs circuitlib where it is missing, e.g. on Colab) and the papermill
    `parameters` cell are set-up, not the chapter's code, and are not counted."""
    src = "".join(cell["source"])
    return "parameters" in cell.get("metadata", {}).get("tags", []) or "%pip install" in src


def code_cell_lengths(name: str) -> list[tuple[int, int]]:
    """(cell index, number of lines) of each counted code cell of chapter ``name``."""
    nb = json.loads((BOOK / f"{name}.ipynb").read_text())
    return [(i, len("".join(c["source"]).strip("\n").splitlines())) for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and not _is_set_up_cell(c)]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_code_cells_are_short(name):
    lengths = code_cell_lengths(name)
    n_lines = sorted(n for _, n in lengths)
    median = (n_lines[(len(n_lines) - 1) // 2] + n_lines[len(n_lines) // 2]) / 2
    too_long = [f"cell {i}: {n} lines" for i, n in lengths if n > MAX_LINES]
    assert median <= MEDIAN_LINES and not too_long, (
        f"{name}: median code cell {median:g} lines (at most {MEDIAN_LINES}); over {MAX_LINES} lines: {too_long}")
