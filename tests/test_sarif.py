"""`iacfix check --output-format sarif`: schema-valid SARIF 2.1.0, stable fingerprints, exact fixes.

Every log is validated against the official SARIF 2.1.0 schema vendored in tests/data (see its
README for where it comes from). Runs of the example project are shared by the tests of this module
because the engine takes seconds on it.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from iacfix import __version__
from iacfix.cli import app
from iacfix.registry import all_rules
from iacfix.sarif import FINGERPRINT_KEY

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tap_project"
FIXTURES = ROOT / "fixtures"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def sarif(*args: str, expect: int) -> dict:
    """Run `iacfix check --output-format sarif ARGS`, check the exit code, validate the log."""
    result = CliRunner().invoke(app, ["check", "--output-format", "sarif", *args], catch_exceptions=False)
    assert result.exit_code == expect, result.output
    log = json.loads(result.stdout)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(log)]
    assert not errors, errors
    return log


def uri(result: dict) -> str:
    return result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def start(result: dict) -> tuple[int, int]:
    region = result["locations"][0]["physicalLocation"]["region"]
    return region["startLine"], region["startColumn"]


def results_by_path(log: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for result in log["runs"][0]["results"]:
        found.setdefault(uri(result), []).append(result)
    return found


@dataclass
class Example:
    root: Path
    log: dict  # `check --output-format sarif --unsafe-fixes .`


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Example:
    root = tmp_path_factory.mktemp("sarif") / "tap_project"
    shutil.copytree(EXAMPLE, root)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        return Example(
            root=root,
            log=sarif("--unsafe-fixes", ".", expect=1),
        )


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A fresh copy of the example project as the working directory, for tests that edit it."""
    target = tmp_path / "tap_project"
    shutil.copytree(EXAMPLE, target)
    monkeypatch.chdir(target)
    return target


def test_the_validator_rejects_what_the_schema_forbids():
    """The vendored schema really constrains: a wrong level, line 0 and a missing version fail."""
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"message": {"text": "m"}, "level": "fatal",
         "locations": [{"physicalLocation": {"region": {"startLine": 0}}}]}]}]}
    messages = [e.message for e in VALIDATOR.iter_errors(log)]
    assert any("'fatal' is not one of" in m for m in messages)
    assert any("0 is less than the minimum of 1" in m for m in messages)
    assert list(VALIDATOR.iter_errors({"runs": []}))


def test_example_project_log_describes_tool_rules_and_every_finding(example):
    assert example.log["version"] == "2.1.0" and len(example.log["runs"]) == 1
    run = example.log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "iacfix" and driver["version"] == __version__
    assert [r["id"] for r in driver["rules"]] == [r.id for r in all_rules()]
    for descriptor, rule in zip(driver["rules"], all_rules()):
        assert descriptor["shortDescription"]["text"] == rule.title
        assert descriptor["fullDescription"]["text"] == rule.summary()
        assert descriptor["properties"]["fixSafety"] == rule.safety.value
        for heading in ("Why is this bad?", "Fix", "Fix safety"):
            assert f"## {heading}\n{rule.doc_section(heading)}" in descriptor["help"]["markdown"]
            assert rule.doc_section(heading) in descriptor["help"]["text"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == example.root.resolve().as_uri() + "/"
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]

    # Each result points at the code its rule flags (1-based line and column).
    flagged = {"s3-bucket-name-not-unique": "bucket=", "random-for-secrets": "random.choices(",
               "awslogs-region-hardcoded": '"awslogs-region": "us-east-1"', "describe-secret-name": "Name="}
    assert sorted(r["ruleId"] for r in run["results"]) == sorted(flagged)
    for result in run["results"]:
        line, column = start(result)
        text = (example.root / uri(result)).read_text().splitlines()[line - 1]
        assert text[column - 1:].startswith(flagged[result["ruleId"]]), (result["ruleId"], text)
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    fingerprints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_clean_tree_is_a_valid_empty_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.py").write_text("import pulumi\n\npulumi.export('x', 1)\n")
    log = sarif(".", expect=0)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_unparseable_file_is_a_notification_and_the_run_is_unsuccessful(project):
    (project / "lib" / "broken.py").write_text("import random\ndef f(:\n")
    log = sarif("lib/broken.py", "tests", expect=2)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "lib/broken.py: cannot parse at line 2" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "lib/broken.py"
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["describe-secret-name"]  # still checked


def test_fingerprints_survive_lines_inserted_above(example, project):
    stack = project / "lib" / "tap_stack.py"
    stack.write_text("".join(f"# unrelated line {n}\n" for n in range(5)) + stack.read_text())
    before = results_by_path(example.log)["lib/tap_stack.py"]
    after = results_by_path(sarif("--unsafe-fixes", "lib/tap_stack.py", expect=1))["lib/tap_stack.py"]
    assert len(before) == len(after) == 3
    assert [r["ruleId"] for r in before] == [r["ruleId"] for r in after]
    assert [start(r)[0] + 5 for r in before] == [start(r)[0] for r in after]
    assert [r["partialFingerprints"] for r in before] == [r["partialFingerprints"] for r in after]


def test_identical_lines_get_distinct_fingerprints_that_also_survive_insertions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call = 'client.describe_secret(Name="db")\n'
    code = "import boto3\n\nclient = boto3.client('secretsmanager')\n" + call + "print()\n" + call
    (tmp_path / "twice.py").write_text(code)
    first = sarif("twice.py", expect=1)["runs"][0]["results"]
    (tmp_path / "twice.py").write_text("import os\n" * 5 + code)
    second = sarif("twice.py", expect=1)["runs"][0]["results"]
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in first]
    assert len(prints) == 2 and prints[0] != prints[1]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in second]
    # The flagged line's text is part of the key: editing that line changes its fingerprint.
    (tmp_path / "twice.py").write_text(code.replace('Name="db")\nprint', 'Name="other")\nprint'))
    third = sarif("twice.py", expect=1)["runs"][0]["results"]
    assert third[0]["partialFingerprints"][FINGERPRINT_KEY] not in prints


# --- fixes ---------------------------------------------------------------------------------------


def apply_replacements(text: str, replacements: list[dict]) -> str:
    """Apply SARIF replacements to `text`, resolving lines and columns as SARIF defines them."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    spans = sorted(
        (offset(r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
         offset(r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"]),
         r.get("insertedContent", {}).get("text", ""))
        for r in replacements
    )
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), "replacements overlap"
    for begin, end, inserted in reversed(spans):
        text = text[:begin] + inserted + text[end:]
    return text


def fixes_of(result: dict) -> list[dict]:
    return [r for fix in result.get("fixes", []) for change in fix["artifactChanges"] for r in change["replacements"]]


def apply_cli(*args: str) -> None:
    result = CliRunner().invoke(app, ["apply", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output


def test_a_single_finding_files_fix_gives_exactly_what_apply_writes(tmp_path, monkeypatch):
    """Every `*.before.py` fixture with one finding: its fix, applied to the original text by the
    SARIF rules for regions, gives the bytes `iacfix apply` writes."""
    checked, applied = tmp_path / "checked", tmp_path / "applied"
    checked.mkdir()
    for before in FIXTURES.glob("*/*.before.py"):
        shutil.copyfile(before, checked / f"{before.parent.name.replace('-', '_')}__{before.name[:-10]}.py")
    monkeypatch.chdir(checked)
    singles = {path: results[0] for path, results in results_by_path(sarif("--unsafe-fixes", ".", expect=1)).items()
               if len(results) == 1 and "fixes" in results[0]}
    assert len(singles) >= 10, sorted(singles)
    applied.mkdir()
    for path in singles:
        shutil.copyfile(checked / path, applied / path)
    apply_cli("--unsafe-fixes", str(applied))
    for path, result in singles.items():
        [fix] = result["fixes"]
        assert [c["artifactLocation"]["uri"] for c in fix["artifactChanges"]] == [path]
        patched = apply_replacements((checked / path).read_text(encoding="utf-8"), fixes_of(result))
        assert patched.encode("utf-8") == (applied / path).read_bytes(), path


def test_fixes_hold_for_crlf_and_a_missing_final_newline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = (FIXTURES / "describe-secret-name" / "example.before.py").read_text()
    target = tmp_path / "crlf.py"
    target.write_bytes(source.rstrip("\n").replace("\n", "\r\n").encode())
    [result] = sarif("crlf.py", expect=1)["runs"][0]["results"]
    patched = apply_replacements(target.read_bytes().decode(), fixes_of(result))
    apply_cli("crlf.py")
    assert patched.encode() == target.read_bytes()


def test_a_files_fixes_together_give_what_apply_writes_and_imports_go_with_their_rule(example, project):
    apply_cli("--unsafe-fixes", ".")
    for path, results in results_by_path(example.log).items():
        patched = apply_replacements((example.root / path).read_text(), [r for x in results for r in fixes_of(x)])
        assert patched.encode() == (project / path).read_bytes(), path
    by_rule = {r["ruleId"]: fixes_of(r) for r in results_by_path(example.log)["lib/tap_stack.py"]}
    assert len(by_rule) == 3 and all(by_rule.values())
    inserted = {rule: "".join(r.get("insertedContent", {}).get("text", "") for r in replacements)
                for rule, replacements in by_rule.items()}
    assert "import secrets\n" in inserted["random-for-secrets"]
    assert "secrets" not in inserted["s3-bucket-name-not-unique"]
    # `import random` (line 6) is deleted by the random-for-secrets fix, not by the nearer S3 one.
    assert any(r["deletedRegion"]["startLine"] == 6 and "insertedContent" not in r
               for r in by_rule["random-for-secrets"])


def test_only_fixes_apply_would_make_are_offered(tmp_path, monkeypatch):
    """An unsafe fix is offered only with --unsafe-fixes, as `apply` makes it only then."""
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(FIXTURES / "s3-bucket-name-not-unique" / "example.before.py", tmp_path / "bucket.py")
    only = ("--select", "s3-bucket-name-not-unique")  # the example also uses the deprecated s3.BucketV2
    [safe] = sarif(*only, "bucket.py", expect=1)["runs"][0]["results"]
    assert "fixes" not in safe and safe["properties"] == {"fixSafety": "unsafe", "fixedByApply": False}
    [unsafe] = sarif(*only, "--unsafe-fixes", "bucket.py", expect=1)["runs"][0]["results"]
    assert fixes_of(unsafe) and unsafe["properties"] == {"fixSafety": "unsafe", "fixedByApply": True}
    assert unsafe["partialFingerprints"] == safe["partialFingerprints"]
