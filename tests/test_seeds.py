"""The five seed projects: every documented failure is found, every fixable one is fixed, and the
fixed programs run under Pulumi's mock runtime with the corrected values.

`fixtures/seed-NNN/before/` is the failing program rebuilt from write-up NNN (its own names and
shapes; its pyproject.toml sets what the write-up implies, e.g. the ephemeral profile of a test
stack). `findings.txt` lists, one per line, `path:line rule-id fixed|reported` for what
`iacfix check --unsafe-fixes` reports: the exact list, so that a rule that stops firing (or starts
firing) on a seed is a loud failure. `after/` is the tree `iacfix apply --unsafe-fixes` leaves.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pulumi_program import ACCOUNT, run_project
from typer.testing import CliRunner

from iacfix.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEEDS = sorted(p.name for p in FIXTURES.glob("seed-*") if p.is_dir())
RDS_FORBIDDEN = set('/@" ')


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def expected_findings(seed: str) -> list[str]:
    lines = (FIXTURES / seed / "findings.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def reported(root: Path) -> list[str]:
    result = invoke("check", "--unsafe-fixes", "--output-format", "json", str(root))
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    return [f"{Path(f['path']).relative_to(root).as_posix() if Path(f['path']).is_absolute() else f['path']}:"
            f"{f['line']} {f['rule']} {'fixed' if f['fixed'] else 'reported'}" for f in findings]


@pytest.fixture
def project(request, tmp_path, monkeypatch) -> Path:
    root = tmp_path / request.param
    shutil.copytree(FIXTURES / request.param / "before", root)
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("project", SEEDS, indirect=True)
def test_check_reports_exactly_the_documented_failures(project):
    assert reported(Path(".")) == expected_findings(project.name)


@pytest.mark.parametrize("project", SEEDS, indirect=True)
def test_apply_unsafe_fixes_fixes_every_fixable_failure(project):
    result = invoke("apply", "--unsafe-fixes", ".")
    assert result.exit_code in (0, 1), result.output
    assert tree(project) == tree(FIXTURES / project.name / "after"), "the fixed seed differs from after/"
    again = invoke("check", "--unsafe-fixes", "--output-format", "json", ".")
    remaining = json.loads(again.stdout)["findings"]
    assert not [f for f in remaining if f["fixed"]], "a second run still has fixes to make"
    assert len(remaining) == sum(line.endswith(" reported") for line in expected_findings(project.name))


# --- the fixed programs, run under Pulumi's mock runtime with the real pulumi_aws ---------------


def run_seed(seed: str, state: str, **kwargs):
    run = run_project(FIXTURES / seed / state, **kwargs)
    assert run.ok, run.error
    return run


def plain(value):
    return value["secret"] if isinstance(value, dict) and set(value) == {"secret"} else value


def containers(task_definition) -> list[dict]:
    return json.loads(plain(task_definition.inputs["containerDefinitions"]))


@pytest.mark.parametrize("seed", SEEDS)
def test_before_and_after_programs_both_construct(seed):
    before, after = run_seed(seed, "before"), run_seed(seed, "after")
    assert len(after.resources) >= len(before.resources)
