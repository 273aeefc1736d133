"""The cached book build: a second build of unchanged chapters executes nothing, and editing one code
cell re-executes that chapter only. Two small chapters at SCALE=ci, with the config `make book` uses."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from book_config import scale_config

pytestmark = pytest.mark.chapter

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("01_ring_attractors", "10_transmitters_receptors")     # the two fastest chapters at ci
JB = Path(sys.executable).parent / "jupyter-book"


def build(root: Path, config: Path) -> dict[str, str]:
    """Build the book at ``root``; each chapter -> "executed" or "cached", from myst-nb's log lines."""
    env = dict(os.environ, CIRCUITLIB_SCALE="ci")
    out = subprocess.run([str(JB), "build", str(root), "--all", "--config", str(config)], env=env,
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    found = {}
    for chapter in CHAPTERS:
        # myst-nb logs "<path>.ipynb: Executed notebook in N seconds" / "...: Using cached notebook: ID=k"
        hits = re.findall(rf"{chapter}\.ipynb: (Executed notebook|Using cached notebook)", log)
        assert len(hits) == 1, f"{chapter}: expected one execution log line, got {hits}\n{log[-3000:]}"
        found[chapter] = "executed" if hits[0] == "Executed notebook" else "cached"
    return found


def test_a_second_build_executes_nothing_and_an_edited_chapter_runs_again(tmp_path):
    root = tmp_path / "book-root"
    (root / "book").mkdir(parents=True)
    for name in ("intro.md", "references.bib", *(f"{c}.ipynb" for c in CHAPTERS)):
        shutil.copy(ROOT / "book" / name, root / "book" / name)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                   + "".join(f"  - file: book/{c}\n" for c in CHAPTERS))
    text, cache = scale_config("ci", tmp_path / "cache")
    config = root / "_config.ci.yml"
    config.write_text(text)

    assert build(root, config) == dict.fromkeys(CHAPTERS, "executed")
    assert build(root, config) == dict.fromkeys(CHAPTERS, "cached")

    edited = root / "book" / f"{CHAPTERS[1]}.ipynb"
    nb = json.loads(edited.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and "SCALE" in "".join(c["source"]))
    cell["source"] = ["# an edited code cell\n", *cell["source"]]
    edited.write_text(json.dumps(nb, indent=1))
    assert build(root, config) == {CHAPTERS[0]: "cached", CHAPTERS[1]: "executed"}
    assert cache.is_dir()
