"""The GitHub workflow files: valid against the GitHub Actions workflow schema (check-jsonschema's
vendored copy, no download), and doing what the README says each one does."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def steps(workflow: dict) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def test_the_three_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["book.yml", "gpu-regression.yml", "test.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(path):
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step:\n      - run: make test\n")
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(broken)], capture_output=True, text=True)
    assert done.returncode != 0


def test_test_workflow_runs_make_test_on_push_and_pull_request():
    wf = load("test.yml")
    assert set(wf[True]) >= {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    assert any(s.get("run") == "bash .ci/run" for s in steps(wf))
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_book_workflow_builds_on_main_and_publishes_pages():
    wf = load("book.yml")
    assert wf[True]["push"]["branches"] == ["main"]
    uses = [s.get("uses", "") for s in steps(wf)]
    assert any(s.get("run") == "make book" for s in steps(wf))
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    assert wf["permissions"]["pages"] == "write"
    upload = next(s for s in steps(wf) if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"


def test_gpu_workflow_runs_paper_scale_on_a_self_hosted_gpu():
    wf = load("gpu-regression.yml")
    assert {"workflow_dispatch", "schedule"} <= set(wf[True])
    job = wf["jobs"]["regression"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    run = " ".join(s.get("run", "") for s in job["steps"])
    assert "make regression SCALE=paper DEVICE=cuda TORCH_SPEC=torch" in run
    artifact = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "_build/regression/paper.md" in artifact["with"]["path"]
    assert artifact.get("if") == "always()"
