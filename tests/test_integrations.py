"""CI integrations: `--output-format github`, exit codes of every format, `.pre-commit-hooks.yaml`
and the composite GitHub Action (`action.yml`), each run for real where it can be run here."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # PyYAML: a dependency of libcst, so always installed with iacfix
from typer.testing import CliRunner

from iacfix.annotations import command, escape_data, escape_property
from iacfix.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "describe-secret-name"
BEFORE, AFTER = FIXTURES / "example.before.py", FIXTURES / "example.after.py"
CLEAN = FIXTURES / "create_secret.clean.py"
#: The environment of a CI step: iacfix (installed in this interpreter's environment) on PATH.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Read a workflow command back the way GitHub's runner does (ActionCommand.TryParseV2)."""
    match = re.fullmatch(r"::(\w+)(?: ([^:]*))?::(.*)", line)
    assert match, line

    def unescape(text: str, *, prop: bool) -> str:
        pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else [])
        for code, char in pairs + [("%25", "%")]:
            text = text.replace(code, char)
        return text

    properties = {}
    for item in (match.group(2) or "").split(","):
        if item:
            key, _, value = item.partition("=")
            properties[key] = unescape(value, prop=True)
    return match.group(1), properties, unescape(match.group(3), prop=False)


# --- --output-format github ---------------------------------------------------------------------


def test_github_escaping_of_newlines_colons_commas_and_percent_signs():
    message = "100% of 3 buckets: a, b\r\nand c\nnext: %0A stays literal"
    line = command("error", message, file="we,ird/a:b.py", line=3, col=7, title="rule:one,two")
    assert line == (
        "::error file=we%2Cird/a%3Ab.py,line=3,col=7,title=rule%3Aone%2Ctwo::"
        "100%25 of 3 buckets: a, b%0D%0Aand c%0Anext: %250A stays literal"
    )
    assert "\n" not in line and "\r" not in line
    assert parse_command(line) == (
        "error", {"file": "we,ird/a:b.py", "line": "3", "col": "7", "title": "rule:one,two"}, message
    )
    assert escape_data("a:b,c") == "a:b,c"  # data keeps colons and commas
    assert escape_property("%") == "%25"


def test_github_format_annotates_each_finding_on_its_file_line_and_column(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "we,ird").mkdir()
    shutil.copyfile(BEFORE, tmp_path / "we,ird" / "a:b.py")
    text = invoke("check", "--output-format", "json", ".").stdout
    [finding] = json.loads(text)["findings"]
    result = invoke("check", "--output-format", "github", ".")
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"::error file=we%2Cird/a%3Ab.py,line={finding['line']},col={finding['column']},"
                           "title=describe-secret-name::")
    _, properties, message = parse_command(line)
    assert properties["file"] == "we,ird/a:b.py"
    assert message == f"{finding['message']}\nFixed by `iacfix apply` (safe fix)."
    assert "Found 1 finding" in result.stderr  # the human summary goes to stderr, not into the commands


def test_github_format_reports_a_file_it_could_not_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.py").write_text("import random\ndef f(:\n")
    result = invoke("check", "--output-format", "github", "broken.py")
    assert result.exit_code == 2
    [line] = result.stdout.splitlines()
    kind, properties, message = parse_command(line)
    assert (kind, properties) == ("error", {"file": "broken.py", "title": "iacfix"})
    assert message.startswith("cannot parse at line 2")


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github"])
def test_exit_codes_are_the_same_for_every_format(output_format, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(CLEAN, tmp_path / "clean.py")
    shutil.copyfile(BEFORE, tmp_path / "finding.py")
    (tmp_path / "broken.py").write_text("import random\ndef f(:\n")

    def code(*args: str) -> int:
        return invoke("check", "--output-format", output_format, *args).exit_code

    assert code("clean.py") == 0
    assert code("finding.py") == 1
    assert code("--exit-zero", "finding.py") == 0
    assert code("broken.py", "finding.py") == 2


# --- .pre-commit-hooks.yaml ---------------------------------------------------------------------


def hooks() -> dict[str, dict]:
    data = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(data, list)
    return {hook["id"]: hook for hook in data}


def test_pre_commit_hooks_declare_what_pre_commit_needs():
    found = hooks()
    assert set(found) == {"iacfix-check", "iacfix-fix"}
    assert found["iacfix-check"]["entry"] == "iacfix check"
    assert found["iacfix-fix"]["entry"] == "iacfix apply"
    for hook in found.values():
        assert {"id", "name", "entry", "language"} <= set(hook)  # pre-commit's required keys
        assert hook["language"] == "python" and hook["types"] == ["python"]
        assert hook["pass_filenames"] is True


def run_hook(hook_id: str, *files: Path) -> subprocess.CompletedProcess:
    """Run a hook's entry the way pre-commit does: the entry's words, then the staged file names."""
    entry = shlex.split(hooks()[hook_id]["entry"])
    return subprocess.run([*entry, *map(str, files)], cwd=files[0].parent, env=ENV,
                          capture_output=True, text=True, timeout=120, check=False)


def test_pre_commit_hook_entries_run_with_the_expected_exit_codes(tmp_path):
    broken, clean = tmp_path / "lambda_handler.py", tmp_path / "clean.py"
    shutil.copyfile(BEFORE, broken)
    shutil.copyfile(CLEAN, clean)

    checked = run_hook("iacfix-check", broken, clean)
    assert checked.returncode == 1, checked.stderr
    assert "describe-secret-name" in checked.stdout
    assert broken.read_bytes() == BEFORE.read_bytes(), "the check hook must not write"

    fixed = run_hook("iacfix-fix", broken, clean)
    assert fixed.returncode == 0, fixed.stderr
    assert broken.read_bytes() == AFTER.read_bytes()
    assert clean.read_bytes() == CLEAN.read_bytes()

    assert run_hook("iacfix-check", broken, clean).returncode == 0


# --- action.yml ---------------------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def step(step_id_or_name: str) -> dict:
    for candidate in action()["runs"]["steps"]:
        if step_id_or_name in (candidate.get("id"), candidate.get("name")):
            return candidate
    raise AssertionError(f"no step {step_id_or_name!r} in action.yml")


def test_action_is_a_composite_action_with_the_documented_inputs():
    data = action()
    assert data["runs"]["using"] == "composite"
    inputs = data["inputs"]
    assert {"mode", "paths", "args", "python-version", "unsafe-fixes", "upload-sarif"} <= set(inputs)
    assert all("description" in spec for spec in inputs.values())
    uses = [s["uses"].split("@")[0] for s in data["runs"]["steps"] if "uses" in s]
    assert uses == ["actions/setup-python", "github/codeql-action/upload-sarif"]
    referenced = set()
    for spec in data["runs"]["steps"]:
        if "run" in spec:
            assert spec.get("shell") == "bash", spec.get("name")  # composite run steps need a shell
            assert "${{" not in spec["run"], f"{spec.get('name')}: inputs reach scripts through env only"
        for expression in [*EXPRESSION.findall(yaml.safe_dump(spec)), spec.get("if", "")]:
            referenced.update(re.findall(r"inputs\.([\w-]+)", expression))
    assert referenced == set(inputs)  # every input is used, and every input used is declared
    assert step("pr")["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"


def test_action_scripts_use_only_options_iacfix_has():
    """Every `--option` in a script that runs `iacfix SUBCOMMAND` is in that subcommand's --help."""
    checked = set()
    for spec in action()["runs"]["steps"]:
        script = spec.get("run", "")
        subcommands = set(re.findall(r"^\s*iacfix (\w+)", script, re.MULTILINE))
        for subcommand in subcommands:
            result = invoke(subcommand, "--help")
            assert result.exit_code == 0, f"iacfix {subcommand}: {result.output}"
            for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", script)):
                assert re.search(rf"(?<![\w-]){option}(?![\w-])", result.stdout), f"iacfix {subcommand} {option}"
                checked.add((subcommand, option))
    assert {("check", "--output-format"), ("pr", "--repo"), ("pr", "--base"), ("pr", "--api-url")} <= checked


def run_step(spec: dict, cwd: Path, inputs: dict[str, str], steps: dict | None = None,
             github: dict[str, str] | None = None, env: dict[str, str] | None = None):
    """Run a composite `run` step as the runner does (`bash --noprofile --norc -eo pipefail`), with
    the step's `env` expressions resolved (`inputs.*`, `steps.*.outputs.*`, `github.*`, `a || b`);
    returns the process and the outputs it set."""
    steps, github = steps or {}, github or {}
    defaults = {name: str(spec.get("default", "")) for name, spec in action()["inputs"].items()}
    values = {**defaults, **inputs}

    def value(expression: str) -> str:
        if found := re.fullmatch(r"inputs\.([\w-]+)", expression):
            return values[found.group(1)]
        if found := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression):
            return steps.get(found.group(1), {}).get(found.group(2), "")
        if found := re.fullmatch(r"github\.([\w.]+)", expression):
            return github.get(found.group(1), "")
        raise AssertionError(f"the test cannot resolve {expression!r}")

    def resolve(match: re.Match) -> str:
        return next((v for v in map(value, re.split(r"\s*\|\|\s*", match.group(1))) if v), "")

    output = cwd / "github_output"
    output.write_text("")
    script = cwd / "step.sh"
    script.write_text(spec["run"])
    env = {**ENV, **(env or {}), **{k: EXPRESSION.sub(resolve, str(v)) for k, v in spec.get("env", {}).items()},
           "GITHUB_OUTPUT": str(output)}
    process = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd,
                             env=env, capture_output=True, text=True, timeout=120, check=False)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
    script.unlink()
    output.unlink()
    return process, outputs


def test_action_check_step_writes_sarif_and_fail_step_follows_the_exit_code(tmp_path):
    shutil.copyfile(BEFORE, tmp_path / "handler.py")
    process, outputs = run_step(step("check"), tmp_path, {})
    assert process.returncode == 0, process.stderr
    assert outputs == {"exit-code": "1", "sarif-file": "iacfix.sarif"}
    log = json.loads((tmp_path / "iacfix.sarif").read_text())
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "describe-secret-name" and "fixes" in result
    assert "::error" not in process.stdout  # uploaded as SARIF, so no duplicate annotations

    failing, _ = run_step(step("Fail on findings"), tmp_path, {}, {"check": outputs})
    assert failing.returncode == 1
    tolerant, _ = run_step(step("Fail on findings"), tmp_path, {"fail-on-findings": "false"}, {"check": outputs})
    assert tolerant.returncode == 0
    broken, _ = run_step(step("Fail on findings"), tmp_path, {"fail-on-findings": "false"},
                         {"check": {"exit-code": "2"}})
    assert broken.returncode == 2 and "::error title=iacfix::" in broken.stdout


def test_action_check_step_annotates_when_sarif_is_not_uploaded(tmp_path):
    (tmp_path / "my app").mkdir()
    shutil.copyfile(BEFORE, tmp_path / "my app" / "handler.py")
    shutil.copyfile(BEFORE, tmp_path / "elsewhere.py")
    process, outputs = run_step(step("check"), tmp_path, {
        "upload-sarif": "false", "paths": "elsewhere.py", "args": "--select describe-secret-name",
        "sarif-file": "out.sarif",
    })
    assert process.returncode == 0, process.stderr
    assert outputs["exit-code"] == "1"
    [line] = [line for line in process.stdout.splitlines() if line.startswith("::")]
    assert line.startswith("::error file=elsewhere.py,") and "title=describe-secret-name" in line
    assert [uri for uri in re.findall(r'"uri": "([^"]+)"', (tmp_path / "out.sarif").read_text())
            if not uri.startswith("file:")] == ["elsewhere.py", "elsewhere.py"]  # location + fix


def test_action_rejects_an_unknown_mode(tmp_path):
    process, _ = run_step(step("Validate inputs"), tmp_path, {"mode": "fix-everything"})
    assert process.returncode == 2 and "mode must be check or pr" in process.stdout
    ok, _ = run_step(step("Validate inputs"), tmp_path, {"mode": "pr"})
    assert ok.returncode == 0


def test_action_pr_step_runs_iacfix_pr_on_the_checked_out_repository(tmp_path):
    """The scheduled-PR step, with `--dry-run` passed through `args` so no remote or API is needed:
    the repository, base branch and options reach `iacfix pr` and it builds the fix branch."""
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "trunk")
    shutil.copyfile(BEFORE, tmp_path / "handler.py")
    git("add", "handler.py")
    git("-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "init")
    process, outputs = run_step(
        step("pr"), tmp_path, {"args": "--dry-run --select describe-secret-name", "paths": "handler.py"},
        github={"ref_name": "trunk", "api_url": "http://127.0.0.1:9"},
        env={"GITHUB_REPOSITORY": "acme/infra"},
    )
    assert process.returncode == 0, process.stderr
    assert outputs == {"exit-code": "0"}
    assert "would push branch iacfix/all-" in process.stdout
    assert "would open a pull request against trunk" in process.stdout
    assert "| `describe-secret-name` | `handler.py` |" in process.stdout
