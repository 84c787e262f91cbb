"""Project-level rules beyond their fixtures: one `iacfix diff` that carries a Pulumi.yaml fix and a
Python fix together, and the display-only situations a fixed tree cannot show (an after/ project
must load and have an entry point, so broken-and-left-alone cases are checked here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iacfix.cli import app
from iacfix.engine import run
from iacfix.registry import rule_by_id
from iacfix.results import Safety

MAIN = rule_by_id("pulumi-yaml-main-mismatch")
INVALID = rule_by_id("pulumi-yaml-invalid")

ENTRY = '''"""Pulumi entry point."""
import pulumi

from lib.tap_stack import TapStack, TapStackArgs

stack = TapStack(name="pulumi-infra", args=TapStackArgs())
pulumi.export("bucket", stack.bucket.bucket)
'''
STACK_MODULE = '''"""TapStack: the database and its password."""
import random
import string

import pulumi
import pulumi_aws as aws


class TapStackArgs:
    pass


class TapStack(pulumi.ComponentResource):
    def __init__(self, name: str, args: TapStackArgs):
        super().__init__("tap:stack:TapStack", name, None)
        password = "".join(random.choices(string.ascii_letters + string.digits, k=32))
        self.bucket = aws.s3.Bucket(f"{name}-artifacts", tags={"Owner": "tap"})
        self.secret = aws.secretsmanager.Secret(f"{name}-db")
        aws.secretsmanager.SecretVersion(f"{name}-db", secret_id=self.secret.id, secret_string=password)
'''


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def make_project(root: Path, pulumi_yaml: str, files: dict[str, str] | None = None) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(pulumi_yaml)
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "tap_stack.py").write_text(STACK_MODULE)
    (root / "requirements.txt").write_text("pulumi>=3.0.0,<4.0.0\npulumi-aws>=7.0.0,<8.0.0\n")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = make_project(tmp_path / "tap", "name: TapStack\nruntime: python\nmain: app.py  # entry point\n",
                        {"tap.py": ENTRY})
    monkeypatch.chdir(root)
    return root


def test_one_diff_carries_the_yaml_fix_and_the_python_fix_and_git_applies_it(project):
    assert git(project, "init", "-q").returncode == 0
    result = CliRunner().invoke(app, ["diff", "."], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    patch = result.stdout
    assert "--- a/Pulumi.yaml\n+++ b/Pulumi.yaml\n" in patch
    assert "-main: app.py  # entry point\n+main: tap.py  # entry point\n" in patch
    assert "--- a/lib/tap_stack.py\n+++ b/lib/tap_stack.py\n" in patch and "secrets" in patch
    patch_file = project.parent / "fix.patch"
    patch_file.write_text(patch)
    checked = git(project, "apply", "--check", str(patch_file))
    assert checked.returncode == 0, checked.stderr
    # The patch gives exactly what `apply` writes.
    copy = project.parent / "copy"
    shutil.copytree(project, copy)
    assert git(copy, "apply", str(patch_file)).returncode == 0
    CliRunner().invoke(app, ["apply", "."], catch_exceptions=False)
    for name in ("Pulumi.yaml", "lib/tap_stack.py", "tap.py"):
        assert (copy / name).read_bytes() == (project / name).read_bytes(), name
    assert (project / "Pulumi.yaml").read_text() == "name: TapStack\nruntime: python\nmain: tap.py  # entry point\n"


# -- pulumi-yaml-main-mismatch: what stays display-only -------------------------------------------

def findings(root: Path, rule=MAIN, threshold=Safety.SAFE):
    report = run([root], [rule], threshold)
    return report, [f for f in report.findings if f.rule_id == rule.id]


def test_several_entry_points_are_listed_and_nothing_changes(tmp_path):
    root = make_project(tmp_path / "p", "name: TapStack\nruntime: python\nmain: app.py\n",
                        {"tap.py": ENTRY, "deploy.py": ENTRY, "__main__.py": ENTRY})
    report, [finding] = findings(root)
    assert not report.changed and finding.safety is Safety.DISPLAY_ONLY
    assert (finding.line, finding.column) == (3, 7)
    assert "(__main__.py, deploy.py, tap.py)" in finding.message


def test_no_entry_point_at_all_is_display_only(tmp_path):
    root = make_project(tmp_path / "p", "name: TapStack\nruntime: python\n")
    report, [finding] = findings(root)
    assert not report.changed and finding.safety is Safety.DISPLAY_ONLY
    assert "add `main:` naming the program's entry point, or create __main__.py" in finding.message


def test_main_outside_the_project_is_display_only(tmp_path):
    root = make_project(tmp_path / "p", "name: TapStack\nruntime: python\nmain: ../shared/tap.py\n",
                        {"tap.py": ENTRY})
    report, [finding] = findings(root)
    assert not report.changed and finding.safety is Safety.DISPLAY_ONLY
    assert "inside the project directory" in finding.message


def test_library_modules_and_scripts_are_not_entry_points(tmp_path):
    # lib-style modules only define classes; conftest/setup do not import pulumi.
    root = make_project(tmp_path / "p", "name: TapStack\nruntime: python\nmain: app.py\n", {
        "components.py": STACK_MODULE,
        "setup.py": "from setuptools import setup\nsetup(name='tap')\n",
        "config_only.py": "import pulumi\nconfig = pulumi.Config()\nopts = pulumi.ResourceOptions(protect=True)\n",
    })
    report, [finding] = findings(root)
    assert not report.changed and finding.safety is Safety.DISPLAY_ONLY


def test_entry_point_that_builds_in_a_main_function_is_found(tmp_path):
    program = ('import pulumi_aws as aws\n\n\ndef main():\n    aws.s3.Bucket("artifacts")\n\n\n'
               'if __name__ == "__main__":\n    main()\n')
    root = make_project(tmp_path / "p", 'name: TapStack\nruntime: python\nmain: "app.py"\n',
                        {"program.py": program})
    report, [finding] = findings(root)
    assert finding.fixed
    [result] = report.changed
    assert result.output == b'name: TapStack\nruntime: python\nmain: "program.py"\n'


def test_stray_dunder_main_suppressed_on_its_first_line(tmp_path):
    root = make_project(tmp_path / "p", "name: TapStack\nruntime: python\nmain: tap.py\n",
                        {"tap.py": ENTRY, "__main__.py": "# iacfix: ignore[pulumi-yaml-main-mismatch]\n" + ENTRY})
    assert findings(root)[1] == []


# -- pulumi-yaml-invalid: files Pulumi cannot load ------------------------------------------------

def invalid(tmp_path, pulumi_yaml: str, files: dict[str, str] | None = None):
    root = make_project(tmp_path / "p", pulumi_yaml, {"tap.py": ENTRY, **(files or {})})
    report = run([root], [INVALID, MAIN])
    assert not report.changed, "a project file that does not load is left for a human"
    return [(Path(f.path).name, f.line, f.column, f.message) for f in report.findings if f.rule_id == INVALID.id]


def test_yaml_syntax_error_is_reported_where_the_parser_stopped(tmp_path):
    [(name, line, column, message)] = invalid(tmp_path, "name: TapStack\nruntime: python\nmain: tap.py\n\tconfig: {}\n")
    assert (name, line, column) == ("Pulumi.yaml", 4, 1)
    assert "does not parse" in message and "cannot start any token" in message


def test_duplicate_key_is_a_syntax_error(tmp_path):
    [(_, line, _, message)] = invalid(tmp_path, "name: TapStack\nruntime: python\nname: Other\nmain: tap.py\n")
    assert line == 3 and "duplicate" in message


def test_missing_name_and_runtime(tmp_path):
    found = invalid(tmp_path, "description: no name, no runtime\nmain: tap.py\n")
    assert [(line, column) for _, line, column, _ in found] == [(1, 1), (1, 1)]
    assert "no `name:`" in found[0][3] and "add `runtime: python`" in found[1][3]


@pytest.mark.parametrize("text, where, words", [
    ("- name: TapStack\n- runtime: python\n", (1, 1), "must be a mapping"),
    ("", (1, 1), "must be a mapping"),
    ("name: 42\nruntime: python\nmain: tap.py\n", (1, 1), "non-empty string"),
    ("name: TapStack\nruntime:\n  options:\n    virtualenv: venv\nmain: tap.py\n", (2, 1), "needs `name:`"),
    ("name: TapStack\nruntime: node\nmain: tap.py\n", (2, 1), "write `nodejs`"),
    ("name: TapStack\nruntime: python\nmain: [tap.py]\n", (3, 1), "must be a path"),
    ("name: TapStack\nruntime:\n  name: python\n  options: venv\nmain: tap.py\n", (4, 3), "must be a mapping"),
    ("name: TapStack\nruntime:\n  name: python\n  options:\n    virtualenv: 3\nmain: tap.py\n", (5, 5),
     "must be a directory path"),
])
def test_project_file_problems_at_their_key(tmp_path, text, where, words):
    [(name, line, column, message)] = invalid(tmp_path, text)
    assert (name, (line, column)) == ("Pulumi.yaml", where) and words in message, message


def test_virtualenv_that_is_not_a_virtualenv(tmp_path):
    found = invalid(tmp_path, "name: TapStack\nruntime:\n  name: python\n  options:\n    virtualenv: venv\nmain: tap.py\n",  # noqa: E501
                    {"venv/README": "not a virtualenv\n"})
    assert [(line, column) for _, line, column, _ in found] == [(5, 5)]
    assert "has no bin/python" in found[0][3]


def test_virtualenv_is_not_checked_for_poetry_or_uv(tmp_path):
    for toolchain in ("poetry", "uv"):
        root = tmp_path / toolchain
        text = f"name: TapStack\nruntime:\n  name: python\n  options:\n    toolchain: {toolchain}\n    virtualenv: .venv\nmain: tap.py\n"  # noqa: E501
        make_project(root, text, {"tap.py": ENTRY})
        assert run([root], [INVALID]).findings == ()


def test_stack_files_that_do_not_load(tmp_path):
    found = invalid(tmp_path, "name: TapStack\nruntime: python\nmain: tap.py\n", {
        "Pulumi.dev.yaml": "config:\n  aws:region: eu-south-1\n  TapStack:env: 'dev\n",
        "Pulumi.prod.yaml": "# production\nconfig:\n  - aws:region: eu-west-1\n",
        "Pulumi.ci.yaml": "just a string\n",
        "Pulumi.empty.yaml": "",
    })
    by_file = {name: (line, column, message) for name, line, column, message in found}
    assert set(by_file) == {"Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.ci.yaml"}
    assert by_file["Pulumi.dev.yaml"][2].startswith("Pulumi.dev.yaml does not parse")
    assert by_file["Pulumi.prod.yaml"][:2] == (2, 1) and "must be a mapping" in by_file["Pulumi.prod.yaml"][2]
    assert by_file["Pulumi.ci.yaml"][:2] == (1, 1)


def test_invalid_finding_suppressed_on_its_line(tmp_path):
    assert invalid(tmp_path, "name: TapStack\nruntime: python3  # iacfix: ignore[pulumi-yaml-invalid]\nmain: tap.py\n") == []  # noqa: E501


def test_empty_main_value_is_filled_in_place(tmp_path):
    root = make_project(tmp_path / "p", "name: TapStack\nmain:  # set me\nruntime: python\n", {"tap.py": ENTRY})
    report, [finding] = findings(root)
    [result] = report.changed
    assert finding.fixed and result.output == b"name: TapStack\nmain: tap.py  # set me\nruntime: python\n"


# -- vpc-without-flow-logs and missing-waf: what the text alone may settle ------------------------

WAF = rule_by_id("missing-waf")
FLOW_LOGS = rule_by_id("vpc-without-flow-logs")
EDGE = '''"""lib/edge.py: the public load balancer and the CDN in front of it."""
import pulumi_aws as aws

alb = aws.lb.LoadBalancer("web", internal=False, load_balancer_type="application", subnets=["subnet-1"])
cdn = aws.cloudfront.Distribution("cdn", enabled=True, origins=[], default_cache_behavior={},
                                  restrictions={}, viewer_certificate={})
'''
WAF_MODULE = '''"""lib/waf.py: the web ACL, associated with the load balancer."""
import pulumi_aws as aws


def protect(alb_arn, acl_arn):
    return aws.wafv2.WebAclAssociation("web-waf", resource_arn=alb_arn, web_acl_arn=acl_arn)
'''


def rule_findings(root: Path, rule) -> list[tuple[str, int]]:
    report = run([root], [rule], Safety.SAFE)
    return [(Path(f.path).name, f.line) for f in report.findings if f.rule_id == rule.id]


def test_an_association_elsewhere_spares_the_alb_but_not_the_distribution_beside_it(tmp_path, monkeypatch):
    root = make_project(tmp_path / "p", "name: TapStack\nruntime: python\nmain: tap.py\n",
                        {"tap.py": ENTRY, "lib/edge.py": EDGE, "lib/waf.py": WAF_MODULE})
    monkeypatch.chdir(root)
    assert rule_findings(root, WAF) == [("edge.py", 5)]
    (root / "lib" / "waf.py").write_text(WAF_MODULE.replace("aws.wafv2.WebAclAssociation(", "print("))
    assert rule_findings(root, WAF) == [("edge.py", 4), ("edge.py", 5)]


@pytest.mark.parametrize(("network", "expected"), [
    # every VPC bound to a name that a flow log of its module names: settled from the text
    ('vpc = aws.ec2.Vpc("v", cidr_block="10.0.0.0/16")\n'
     'aws.ec2.FlowLog("f", vpc_id=vpc.id, traffic_type="ALL")\n', []),
    # the same name bound twice: the text cannot tell which VPC the flow log records (the rule,
    # which cannot either, then stays silent for the project)
    ('vpc = aws.ec2.Vpc("a", cidr_block="10.0.0.0/16")\nvpc = aws.ec2.Vpc("b", cidr_block="10.1.0.0/16")\n'
     'aws.ec2.FlowLog("f", vpc_id=vpc.id, traffic_type="ALL")\n', []),
    # a bare call no name holds, next to a covered one
    ('vpc = aws.ec2.Vpc("a", cidr_block="10.0.0.0/16")\naws.ec2.Vpc("b", cidr_block="10.1.0.0/16")\n'
     'aws.ec2.FlowLog("f", vpc_id=vpc.id, traffic_type="ALL")\n', [("network.py", 4)]),
    # the flow log only in a comment
    ('vpc = aws.ec2.Vpc("a", cidr_block="10.0.0.0/16")\n# aws.ec2.FlowLog("f", vpc_id=vpc.id)\n',
     [("network.py", 3)]),
])
def test_flow_logs_settled_from_the_text_only_when_every_vpc_is_plainly_covered(tmp_path, monkeypatch, network,
                                                                                 expected):
    module = '"""lib/network.py"""\nimport pulumi_aws as aws\n' + network
    root = make_project(tmp_path / "p", "name: TapStack\nruntime: python\nmain: tap.py\n",
                        {"tap.py": ENTRY, "lib/network.py": module})
    monkeypatch.chdir(root)
    assert rule_findings(root, FLOW_LOGS) == expected
    monkeypatch.setattr("iacfix.codemods.vpc_without_flow_logs._covered_in_text", lambda data: False)
    assert rule_findings(root, FLOW_LOGS) == expected, "parsing every module gives the same answer"
