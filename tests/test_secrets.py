"""Secrets of the code under fix never appear in what iacfix says: findings in every format,
errors, diff statistics, commit messages and pull request bodies (`iacfix.redact`).

`iacfix diff` is the exception, on purpose: it prints the user's own code so `git apply` takes
it, and a removed line holding a password shows the password, as `git diff` would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gitrepo import git, isolated_git, new_repo  # noqa: F401 - isolated_git is autouse
from iacfix.cli import app
from iacfix.engine import fix_source
from iacfix.redact import MASK, mask, secret_values
from support_rules import CrashesQuotingCode, LeaksSecret

GITHUB_TOKEN_IN_CODE = "ghp_" + "x1Y2z3" * 6
SECRETS = ("Sup3r-Secret-Pa55", "Wrapped-Pa55word!", "Dict-Pa55word", "Fallback-Pa55", GITHUB_TOKEN_IN_CODE,
           "Stack-File-Pa55")

STACK = f'''"""A stack with every kind of secret in it."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
db_password = config.get("dbPassword") or "Fallback-Pa55"
github_token = "{GITHUB_TOKEN_IN_CODE}"

cluster = aws.rds.Cluster(
    "payments",
    engine="aurora-postgresql",
    master_username="admin",
    master_password="Sup3r-Secret-Pa55",
)
aws.rds.Instance("reports", engine="postgres", password=pulumi.Output.secret("Wrapped-Pa55word!"))
credentials = {{"username": "admin", "password": "Dict-Pa55word"}}
options = json.dumps({{"awslogs-region": "us-east-1", "password": "Dict-Pa55word"}})
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "infra"
    (root / "lib").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: tap\nruntime: python\nmain: lib/tap_stack.py\n")
    (root / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n  tap:dbPassword: Stack-File-Pa55\n")
    (root / "lib" / "tap_stack.py").write_text(STACK)
    monkeypatch.chdir(root)
    return root


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in {where}"


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github"])
@pytest.mark.parametrize("unsafe", [False, True])
def test_no_output_format_shows_a_secret(project, output_format, unsafe):
    args = ["check", "-v", "--output-format", output_format, *(["--unsafe-fixes"] if unsafe else []), "."]
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert "hardcoded-db-password" in result.stdout, "the findings about the passwords are there"
    assert_no_secret(result.stdout + result.stderr, f"check --output-format {output_format}")
    if output_format == "sarif":
        log = json.loads(result.stdout)
        results = log["runs"][0]["results"]
        assert any(r["ruleId"] == "awslogs-region-hardcoded" and r["properties"]["fixedByApply"] for r in results)
        # The awslogs fix rewrites the line that also holds a password: no fix in the log for that file.
        assert not any("fixes" in r for r in results if r["locations"][0]["physicalLocation"]
                       ["artifactLocation"]["uri"] == "lib/tap_stack.py")


def test_apply_and_diff_statistics_show_no_secret_and_diff_shows_the_code(project):
    diff = subprocess.run([sys.executable, "-m", "iacfix", "diff", "--no-cache", "--unsafe-fixes", "."],
                          cwd=project, capture_output=True, text=True, check=False)
    assert diff.returncode == 1, diff.stderr
    assert_no_secret(diff.stderr, "diff statistics")
    assert "-    master_password=\"Sup3r-Secret-Pa55\"," in diff.stdout, "a patch shows the code it changes"
    applied = invoke("apply", "--unsafe-fixes", ".")
    assert_no_secret(applied.stdout + applied.stderr, "apply")


def test_commit_messages_and_pr_bodies_show_no_secret(tmp_path, monkeypatch, project):
    repo = new_repo(tmp_path / "repo", source=project)
    monkeypatch.chdir(repo)
    git("remote", "add", "origin", str(tmp_path / "nowhere.git"), cwd=repo)
    pr = invoke("pr", "--repo", "acme/infra", "--dry-run", "--unsafe-fixes", ".")
    assert pr.exit_code == 0, pr.output
    assert "hardcoded-db-password" in pr.stdout
    assert_no_secret(pr.stdout + pr.stderr, "the pull request")
    committed = invoke("commit", "--unsafe-fixes", ".")
    assert committed.exit_code in (0, 1), committed.output
    assert_no_secret(committed.stdout + committed.stderr, "commit output")
    assert_no_secret(git("log", "-1", "--format=%B", cwd=repo), "the commit message")


def test_a_rule_that_quotes_a_secret_gets_it_masked():
    source = b'db_password = "hunter2-and-more"\nx = "harmless"\ntoken = "' + GITHUB_TOKEN_IN_CODE.encode() + b'"\n'
    result = fix_source("m.py", source, [LeaksSecret])
    messages = [f.message for f in result.findings]
    assert messages == [f'literal "{MASK}" found', 'literal "harmless" found', f'literal "{MASK}" found']


def test_an_error_that_quotes_the_code_gets_its_secrets_masked():
    source = b'aws_secret_access_key = "AbCdEf0123456789/secretKey"\nkey_id = "AKIAABCDEFGHIJKLMNOP"\n'
    result = fix_source("m.py", source, [CrashesQuotingCode])
    assert "rule crashes-quoting-code crashed (KeyError" in result.error
    assert "AbCdEf0123456789/secretKey" not in result.error and "AKIAABCDEFGHIJKLMNOP" not in result.error
    assert result.error.count(MASK) == 2


@pytest.mark.parametrize(
    ("code", "secret"),
    [
        ('password = "p4ssw0rd-1"', "p4ssw0rd-1"),
        ('db.password: str = "p4ssw0rd-2"', "p4ssw0rd-2"),
        ('aws.rds.Instance("db", password="p4ssw0rd-3")', "p4ssw0rd-3"),
        ('creds = {"username": "admin", "apiKey": "p4ssw0rd-4"}', "p4ssw0rd-4"),
        ('value = pulumi.Output.secret("p4ssw0rd-5")', "p4ssw0rd-5"),
        ('pw = config.get("dbPassword") or "p4ssw0rd-6"', "p4ssw0rd-6"),
        ('api_token = config.get("apiToken", "p4ssw0rd-7")', "p4ssw0rd-7"),
        ('def connect(password="p4ssw0rd-8"): pass', "p4ssw0rd-8"),
        ('if token == "p4ssw0rd-9": pass', "p4ssw0rd-9"),
        ('settings["client_secret"] = "p4ssw0rd-10"', "p4ssw0rd-10"),
        ('auth_token = "-".join(["p4ssw0rd", "11"])', "p4ssw0rd"),
        ('private_key = b"p4ssw0rd-12"', "p4ssw0rd-12"),
    ],
)
def test_secret_values_are_found_where_code_keeps_them(code, secret):
    assert secret in secret_values(code)


@pytest.mark.parametrize(
    "code",
    [
        'password = config.get("db_password")',  # a key, not a value
        'secret = aws.secretsmanager.Secret("db-credentials", name="prod/db")',  # names of a resource
        'creds = {"username": "administrator"}',  # not a secret entry
        'password_length = "32"',  # not a secret name
        'password = os.environ["DB_PASSWORD"]',  # a variable's name
    ],
)
def test_names_keys_and_references_are_not_secrets(code):
    assert secret_values(code) == frozenset()


def test_stack_files_and_broken_python_are_searched_line_by_line():
    assert secret_values("config:\n  tap:dbPassword: Stack-File-Pa55\n  tap:apiToken:\n    secure: v1:AAA\n",
                         python=False) == {"Stack-File-Pa55"}
    assert secret_values('password = "in-broken-code"\ndef f(:\n') == {"in-broken-code"}


def test_masking_replaces_secrets_and_token_shapes():
    assert mask("a Sup3r-Secret-Pa55 b", {"Sup3r-Secret-Pa55"}) == f"a {MASK} b"
    assert mask(f"token {GITHUB_TOKEN_IN_CODE} and AKIAABCDEFGHIJKLMNOP", ()) == f"token {MASK} and {MASK}"
    assert mask("nothing secret", {"abc"}) == "nothing secret"  # shorter than MIN_LENGTH: not a secret


def test_findings_of_the_example_project_are_unchanged_by_masking(tmp_path, monkeypatch):
    """Masking only removes secrets: the example project's messages hold none and stay as they are."""
    root = Path(__file__).resolve().parent.parent / "examples" / "tap_project"
    shutil.copytree(root, tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    assert MASK not in invoke("check", "--output-format", "json", ".").stdout
