"""Run a book chapter through papermill at SCALE=ci and read the numbers it glued."""
from __future__ import annotations

import functools
from pathlib import Path

import papermill
import pytest
from regression import all_chapters, glued_values

from circuitlib.data import head_direction

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
EXECUTED = ROOT / "_build" / "ci" / "executed"  # the ci book build (make test) renders these
CHAPTERS = all_chapters()
NEEDS_FILE = {"07_head_direction_cells": head_direction.find,   # chapters that read a data file
              "12_head_direction_lowrank": head_direction.find}


@functools.cache
def run_chapter(name: str) -> dict:
    """Execute ``book/<name>.ipynb`` at SCALE=ci (once per test session); return its glued values.
    A chapter whose data file is absent is skipped (pytest.skip says where the file was looked for)."""
    if name in NEEDS_FILE:
        try:
            NEEDS_FILE[name]()
        except FileNotFoundError as err:
            pytest.skip(f"{name} reads a data file that is absent: {err}")
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nb = papermill.execute_notebook(str(BOOK / f"{name}.ipynb"), str(EXECUTED / f"{name}.ipynb"),
                                    parameters={"SCALE": "ci"}, kernel_name="python3", cwd=str(BOOK),
                                    progress_bar=False, execution_timeout=900)
    return glued_values(nb)
