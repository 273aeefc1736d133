"""The repository address lives in _config.yml (``repository.url``); the README and every chapter's
install cell must agree with it (README, "Moving the repository", says what to change)."""
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"]["branch"]
OWNER_NAME = URL.removeprefix("https://github.com/")


def test_every_chapter_installs_from_the_configured_repository():
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        installs = [s for s in sources if "%pip install" in s]
        assert installs, f"{path.name} has no install cell"
        assert f'"circuitlib @ git+{URL}"' in installs[0], f"{path.name} installs from elsewhere than {URL}"
        named = {u for s in sources for u in re.findall(r"github\.com/[\w.-]+/[\w.-]+", s)}
        other = named - {f"github.com/{OWNER_NAME}"}
        assert not other, f"{path.name} names other repositories: {other}"


def test_readme_names_the_configured_repository():
    readme = (ROOT / "README.md").read_text()
    assert f"colab.research.google.com/github/{OWNER_NAME}/blob/{BRANCH}/book/" in readme
    names = set(re.findall(r"(?<![\w.])github(?:\.com)?/([\w.-]+/[\w.-]+?)(?:/blob|\.git|[\s`)])", readme))
    assert names == {OWNER_NAME}, f"README names {names}, _config.yml says {OWNER_NAME}"
