"""The command line: every command and every exit code, on the example project."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iacfix.cli import app
from iacfix.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tap_project"
FOUR = ("random-for-secrets", "awslogs-region-hardcoded", "describe-secret-name", "s3-bucket-name-not-unique")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the example project as the working directory."""
    target = tmp_path / "tap_project"
    shutil.copytree(EXAMPLE, target)
    monkeypatch.chdir(target)
    return target


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` with its bytes and mtime, leaving out the result cache."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and ".iacfix_cache" not in p.relative_to(root).parts}


def test_check_reports_all_four_failures_and_exits_1(project):
    before = snapshot(project)
    result = invoke("check", ".")
    assert result.exit_code == 1, result.output
    for rule_id in FOUR:
        assert rule_id in result.stdout
    assert "lib/tap_stack.py:" in result.stdout
    assert "fixable with `--unsafe-fixes`" in result.stderr
    assert snapshot(project) == before, "check must not write"


def test_check_clean_tree_exits_0(tmp_path):
    (tmp_path / "clean.py").write_text("import pulumi\n\npulumi.export('x', 1)\n")
    result = invoke("check", str(tmp_path))
    assert result.exit_code == 0 and "All checks passed" in result.stderr


def test_check_exit_zero(project):
    assert invoke("check", "--exit-zero", ".").exit_code == 0


def test_check_json(project):
    result = invoke("check", "--output-format", "json", ".")
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert {f["rule"] for f in data["findings"]} >= set(FOUR)
    assert {"path", "line", "column", "message", "safety", "fixed"} <= set(data["findings"][0])


def test_unparseable_file_is_reported_and_exits_2_but_others_are_checked(project):
    (project / "lib" / "broken.py").write_text("import random\ndef f(:\n")
    result = invoke("check", ".")
    assert result.exit_code == 2
    assert "error: lib/broken.py: cannot parse at line 2" in result.stderr
    assert "awslogs-region-hardcoded" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "--select", "no-such-rule", "."), "unknown rule or prefix 'no-such-rule'"),
        (("check", "missing_dir"), "missing_dir: no such file or directory"),
        (("rules", "no-such-rule"), "unknown rule 'no-such-rule'"),
        (("check", "--config", "nope.toml", "."), "nope.toml: config file not found"),
    ],
)
def test_usage_errors_exit_2_with_one_line(project, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_bad_config_value_names_file_and_key(project):
    (project / "pyproject.toml").write_text('[tool.iacfix]\nunsafe-fixes = "yes"\n')
    result = invoke("check", ".")
    assert result.exit_code == 2
    assert "pyproject.toml: [tool.iacfix] unsafe-fixes must be true or false" in result.stderr


def test_unknown_config_key(project):
    (project / "pyproject.toml").write_text('[tool.iacfix]\nselct = ["s3-"]\n')
    result = invoke("check", ".")
    assert result.exit_code == 2 and "[tool.iacfix] selct: unknown key" in result.stderr


def test_config_select_and_cli_override(project):
    (project / "pyproject.toml").write_text('[tool.iacfix]\nselect = ["describe-secret-name"]\n')
    result = invoke("check", ".")
    assert "describe-secret-name" in result.stdout and "awslogs-region-hardcoded" not in result.stdout
    result = invoke("check", "--select", "awslogs-", ".")
    assert "awslogs-region-hardcoded" in result.stdout and "describe-secret-name" not in result.stdout


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_diff_is_one_patch_git_apply_and_patch_accept(project):
    git(project, "init", "-q")
    result = subprocess.run(
        [sys.executable, "-m", "iacfix", "diff", "--unsafe-fixes", "."],
        cwd=project, capture_output=True, check=False,
    )
    assert result.returncode == 1, result.stderr
    patch_file = project.parent / "fix.patch"
    patch_file.write_bytes(result.stdout)
    assert result.stdout.count(b"--- a/") == 2, "one patch covering both changed files"
    checked = git(project, "apply", "--check", str(patch_file))
    assert checked.returncode == 0, checked.stderr
    dry = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(patch_file)], cwd=project,
                         capture_output=True, text=True, check=False)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert re.search(rb"lib/tap_stack.py +\| \+\d+ -\d+", result.stderr) and b"2 files changed" in result.stderr
    # Applying the patch gives exactly what `apply` writes.
    applied_copy = project.parent / "applied"
    shutil.copytree(project, applied_copy)
    assert git(applied_copy, "apply", str(patch_file)).returncode == 0
    invoke("apply", "--unsafe-fixes", ".")
    for path in ("lib/tap_stack.py", "tests/integration/test_tap_stack.py"):
        assert (applied_copy / path).read_bytes() == (project / path).read_bytes()


def test_diff_on_clean_tree_is_empty_and_exits_0(tmp_path):
    (tmp_path / "clean.py").write_text("x = 1\n")
    result = invoke("diff", str(tmp_path))
    assert result.exit_code == 0 and result.stdout == ""


def test_apply_then_check_leaves_nothing_fixable(project):
    result = invoke("apply", "--unsafe-fixes", ".")
    assert result.exit_code in (0, 1), result.output
    assert "Fixed" in result.stderr
    after = invoke("check", "--unsafe-fixes", "--output-format", "json", ".")
    remaining = json.loads(after.stdout)["findings"]
    assert not [f for f in remaining if f["safety"] != "display-only"], remaining
    assert (result.exit_code == 0) == (remaining == [])


def test_apply_safe_only_leaves_unsafe_fix_and_exits_1(project):
    result = invoke("apply", ".")
    assert result.exit_code == 1
    assert "s3-bucket-name-not-unique" in result.stdout
    assert "fixable with `--unsafe-fixes`" in result.stderr
    assert "awslogs-region" in (project / "lib" / "tap_stack.py").read_text()
    assert '"awslogs-region": "us-east-1"' not in (project / "lib" / "tap_stack.py").read_text()


def test_apply_never_touches_files_it_does_not_change(project):
    before = snapshot(project)
    invoke("apply", "--unsafe-fixes", ".")
    after = snapshot(project)
    changed = {path for path in before if before[path] != after[path]}
    assert changed == {"lib/tap_stack.py", "tests/integration/test_tap_stack.py"}
    assert set(after) == set(before), "no file created or left behind"


def test_apply_dry_run_writes_nothing(project):
    before = snapshot(project)
    result = invoke("apply", "--dry-run", ".")
    assert result.exit_code == 1 and result.stdout.startswith("--- a/")
    assert snapshot(project) == before


def test_apply_reports_a_file_it_could_not_write(project, monkeypatch):
    import iacfix.files

    def refuse(*args, **kwargs):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(iacfix.files.os, "replace", refuse)
    before = snapshot(project)
    result = invoke("apply", ".")
    assert result.exit_code == 2
    assert "not written: [Errno 13] Permission denied" in result.stderr
    assert snapshot(project) == before


def test_rules_lists_every_rule():
    result = invoke("rules")
    assert result.exit_code == 0
    for rule in all_rules():
        assert rule.id in result.stdout


def test_rules_explains_one_with_its_example():
    result = invoke("rules", "awslogs-region-hardcoded")
    assert result.exit_code == 0
    assert "Why is this bad?" in result.stdout and "Fix safety" in result.stdout
    assert "--- a/example.py" in result.stdout and '-' in result.stdout


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("iacfix ")


def test_apply_on_clean_tree_exits_0_and_writes_nothing(tmp_path):
    (tmp_path / "clean.py").write_text("import pulumi\n")
    before = snapshot(tmp_path)
    result = invoke("apply", str(tmp_path))
    assert result.exit_code == 0 and snapshot(tmp_path) == before


def test_diff_with_an_unparseable_file_exits_2_and_still_prints_the_rest(project):
    (project / "lib" / "broken.py").write_bytes(b"import random\x00\n")
    result = invoke("diff", ".")
    assert result.exit_code == 2
    assert "error: lib/broken.py: binary file" in result.stderr
    assert "--- a/lib/tap_stack.py" in result.stdout


def test_diff_of_crlf_bom_and_latin1_files_applies_with_git(project):
    stack = project / "lib" / "tap_stack.py"
    stack.write_bytes(b"\xef\xbb\xbf" + stack.read_bytes().replace(b"\n", b"\r\n"))
    legacy = project / "lib" / "legacy.py"
    legacy.write_bytes(b'# -*- coding: latin-1 -*-\n"""Caf\xe9 stack."""\nimport json\n\nimport pulumi_aws as aws\n\n'
                       b'options = json.dumps({"awslogs-group": "g", "awslogs-region": "us-east-1"})')
    git(project, "init", "-q")
    result = subprocess.run([sys.executable, "-m", "iacfix", "diff", "--ignore", "crlf-line-endings", "."],
                            cwd=project, capture_output=True, check=False)
    assert result.returncode == 1, result.stderr
    patch_file = project.parent / "fix.patch"
    patch_file.write_bytes(result.stdout)
    assert git(project, "apply", str(patch_file)).returncode == 0
    assert b"\r\n" in stack.read_bytes() and stack.read_bytes().startswith(b"\xef\xbb\xbf")
    assert legacy.read_bytes().endswith(b'"awslogs-region": aws.get_region().region})')
    assert b"Caf\xe9" in legacy.read_bytes()


def test_bad_profile_option_exits_2(project):
    result = invoke("check", "--profile", "staging", ".")
    assert result.exit_code == 2 and "--profile must be one of 'production', 'ephemeral'" in result.stderr


def test_bad_profile_in_config_names_file_and_key(project):
    (project / "pyproject.toml").write_text('[tool.iacfix]\nprofile = "prod"\n')
    result = invoke("check", ".")
    assert result.exit_code == 2 and "pyproject.toml: [tool.iacfix] profile must be one of" in result.stderr


@pytest.mark.parametrize("rule_id", [r.id for r in all_rules()])
def test_every_rule_explains_itself_with_its_example(rule_id):
    result = invoke("rules", rule_id)
    assert result.exit_code == 0
    example = result.stdout.split("## Example", 1)
    assert len(example) == 2, f"{rule_id}: no example shown"
    shown = example[1]
    assert "--- a/" in shown or f" {rule_id} " in shown, f"{rule_id}: the example shows neither a diff nor a finding"


def test_check_keeps_its_cache_beside_the_config_and_no_cache_writes_none(project, tmp_path):
    (project / "pyproject.toml").write_text("[tool.iacfix]\n")
    first = invoke("check", ".")
    assert (project / ".iacfix_cache" / ".gitignore").is_file()
    assert invoke("check", ".").stdout == first.stdout  # answered from the cache
    other = tmp_path / "elsewhere"
    invoke("check", "--cache-dir", str(other), ".")
    assert any(other.glob("*/*.json"))
    shutil.rmtree(project / ".iacfix_cache")
    invoke("check", "--no-cache", "--jobs", "2", ".")
    assert not (project / ".iacfix_cache").exists()


def test_positions_print_as_written_not_as_emoji_codes(tmp_path, monkeypatch):
    # rich reads `:100:` as the emoji code for 💯; a finding on line 100 must print `:100:`.
    source = "import pulumi_aws as aws\n" + "x = 1\n" * 98 + 'b = aws.s3.Bucket("b", bucket="MyBucket")\n'
    (tmp_path / "app.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--no-cache", "--select", "aws-name-lowercase", "app.py")
    assert result.exit_code == 1
    assert "app.py:100:31: aws-name-lowercase" in result.stdout, result.stdout
