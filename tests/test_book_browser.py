"""The built ci book opened in headless Chromium, offline: equations rendered by the bundled MathJax,
every results table an HTML table, every image loaded, no Python traceback; a screenshot per chapter
under ``_build/browser/``. Runs after ``make book-check`` (``make test`` does both, in that order);
skips, saying why, when Chromium, Playwright or the build is absent."""
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from regression import all_chapters

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "ci" / "src" / "_build" / "html"
EXECUTED = ROOT / "_build" / "ci" / "executed"
SHOTS = ROOT / "_build" / "browser"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTERS = all_chapters()
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium: install Debian's `chromium` package (.ci/run does) or set CHROMIUM=/path/to/it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test dependency: "
                                                                 "pip install -e '.[test]'")
    if not (HTML / "index.html").exists():
        pytest.skip(f"no ci book build at {HTML}: run `make book-check` after the chapter tests (make test does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def expected_tables(chapter: str) -> int:
    """Markdown outputs of the executed chapter that hold a table (a line of the form |---|)."""
    nb = json.loads((EXECUTED / f"{chapter}.ipynb").read_text())
    texts = ["".join(out.get("data", {}).get("text/markdown", "")) for c in nb["cells"] for out in c.get("outputs", [])]
    return sum(bool(re.search(r"^\|[\s:|-]*---", t, re.M)) for t in texts)


def open_offline(browser, page_path: Path):
    """The page at ``page_path`` with every non-file request refused (no CDN), MathJax finished."""
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    blocked = []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else (blocked.append(route.request.url), route.abort()))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")
    return page, blocked


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_in_a_browser(browser, chapter):
    path = HTML / "book" / f"{chapter}.html"
    if not path.exists():
        pytest.skip(f"{chapter} is not in the ci build (book-check left it out: its data file is absent)")
    page, blocked = open_offline(browser, path)
    try:
        page.screenshot(path=str(SHOTS / f"{chapter}.png"))
        state = page.evaluate("""() => {
            const prose = document.querySelector('main') || document.body;
            const text = [...prose.querySelectorAll('p, li, td, th, h1, h2, h3, .cell_output')]
                .map(e => e.innerText).join('\\n');
            return {
                math: document.querySelectorAll('mjx-container').length,
                text: text,
                outputs: [...document.querySelectorAll('.cell_output')].map(e => e.innerText).join('\\n'),
                tables: document.querySelectorAll('.cell_output table').length,
                images: [...document.images].map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0})),
            };
        }""")
    finally:
        page.close()
    assert state["math"] > 0, f"{chapter}: no equation was typeset by MathJax (blocked requests: {blocked[:3]})"
    raw = re.findall(r"\\\(|\\\[|\$\$|\\begin\{", state["text"])
    assert not raw, f"{chapter}: raw LaTeX left in the page ({len(raw)} places), MathJax did not typeset it"
    assert "Traceback (most recent call last)" not in state["outputs"], f"{chapter}: a cell output is a traceback"
    pipes = [line for line in state["text"].splitlines() if re.search(r"\|\s*:?-{3,}", line)]
    assert not pipes, f"{chapter}: a Markdown table was rendered as text: {pipes[0][:120]!r}"
    assert state["tables"] >= expected_tables(chapter), f"{chapter}: {state['tables']} HTML tables in outputs"
    broken = [i["src"] for i in state["images"] if not i["ok"]]
    assert state["images"] and not broken, f"{chapter}: images not loaded: {broken[:3]}"
