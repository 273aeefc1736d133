"""Shared test set-up: the chapters helper and tools/ on the import path, and the chapter tests' ``glued``."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # lets tests import the chapters helper
sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))  # and the regression tools
from chapters import run_chapter  # noqa: E402


@pytest.fixture(scope="module")
def glued(request):
    """The numbers a chapter glued at SCALE=ci, for tests/test_chNN_<name>.py (chapter NN_<name>)."""
    return run_chapter(Path(request.module.__file__).stem.removeprefix("test_ch"))
