"""The book's build configuration for one scale: ``_config.yml`` with its execution cache moved.

    python tools/book_config.py --scale quick --out _build/_config.quick.yml

jupyter-cache re-executes a chapter only when its code cells change. It cannot see the scale (an
environment variable, ``CIRCUITLIB_SCALE``) nor the library the chapters import, so each scale and
each version of ``circuitlib`` gets a cache of its own, at ``<cache_root>/<scale>-<library hash>``:
a quick build never serves ci or paper-scale outputs, nor results of older code.
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_LINE = "  cache: _build/.jupyter_cache/default\n"


def library_hash(root: Path = ROOT) -> str:
    """First 12 hex digits of the sha256 of every ``circuitlib/**/*.py`` file (path and content)."""
    digest = hashlib.sha256()
    for path in sorted((root / "circuitlib").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def scale_config(scale: str, cache_root: Path, config: Path = ROOT / "_config.yml") -> tuple[str, Path]:
    """Text of ``config`` with its cache at ``cache_root / f"{scale}-{library_hash()}"``, and that path."""
    text = config.read_text()
    if text.count(CACHE_LINE) != 1:
        raise ValueError(f"{config} must hold the line {CACHE_LINE.strip()!r} once (the cache this script moves).")
    cache = Path(cache_root).resolve() / f"{scale}-{library_hash()}"
    return text.replace(CACHE_LINE, f"  cache: {cache}\n"), cache


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", required=True, choices=("ci", "quick", "paper"))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--cache-root", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    args = parser.parse_args(argv)
    text, cache = scale_config(args.scale, args.cache_root)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"book: SCALE={args.scale}, execution cache {cache}")


if __name__ == "__main__":
    main()
