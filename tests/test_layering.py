"""The package's layers never point up: read every module's imports with ``ast``.

experiments/ (compares methods with truths and papers) may import anything; sim/ and infer/ import
data/ and the base modules but never each other; data/ imports only base modules; the base
modules (metrics, ring_geometry, lowrank_dynamics, train, the private helpers) import only each
other; plot may draw data/ containers besides.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "circuitlib"
LAYERS = ("experiments", "sim", "infer", "data")
ALLOWED = {"experiments": {"experiments", "sim", "infer", "data", "base", "plot"},
           "sim": {"sim", "data", "base"}, "infer": {"infer", "data", "base"}, "data": {"data", "base"},
           "plot": {"data", "base"}, "base": {"base"}}


def layer(parts: list[str]) -> str:
    """Layer of a module given by its dotted path inside the package (``["sim", "ring"]``)."""
    if parts and parts[0] in LAYERS:
        return parts[0]
    return "plot" if parts == ["plot"] else "base"


def imported_modules(source: str, here: list[str]):
    """Dotted paths inside the package (without ``circuitlib.``) of every module that the module
    ``here`` (e.g. ``["sim", "ring"]``) with this ``source`` imports."""
    package = here[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("circuitlib."):
                    yield alias.name.split(".")[1:]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("circuitlib"):
                target = node.module.split(".")[1:]
            else:
                continue
            if target:
                yield target
            else:                                   # ``from .. import metrics``
                for alias in node.names:
                    yield [alias.name]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_points_up_or_across(path):
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    here = layer(parts)
    bad = [".".join(t) for t in imported_modules(path.read_text(), parts) if layer(t) not in ALLOWED[here]]
    assert not bad, f"{path.relative_to(PACKAGE)} ({here}) imports {bad}, against the layering"


def test_the_checker_resolves_relative_and_absolute_imports():
    """A violation cannot slip through as a relative import."""
    source = "from ..sim.ring import mexican_hat\nfrom .. import metrics\nimport circuitlib.infer.glm\nimport torch\n"
    targets = list(imported_modules(source, ["data", "probe"]))
    assert targets == [["sim", "ring"], ["metrics"], ["infer", "glm"]]
    assert [layer(t) in ALLOWED["data"] for t in targets] == [False, True, False]
