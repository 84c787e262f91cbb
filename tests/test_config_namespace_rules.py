"""pulumi-yaml-project-name-mismatch and config-require-without-default: the cases a fixture pair
cannot show (display-only findings, thresholds, silence), and the two rules run together."""

from __future__ import annotations

from pathlib import Path

import pytest

from iacfix.engine import run
from iacfix.registry import all_rules, rule_by_id
from iacfix.results import Safety

MISMATCH = "pulumi-yaml-project-name-mismatch"
REQUIRE = "config-require-without-default"


def project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def check(root: Path, *ids: str, threshold: Safety | None = Safety.UNSAFE, stack: str | None = None):
    rules = [rule_by_id(i) for i in ids] if ids else list(all_rules())
    report = run([root], rules, threshold, stack=stack)
    assert not report.problems, [(r.path, r.error or r.skipped) for r in report.problems]
    return report


def findings(report, rule_id: str):
    return [f for f in report.findings if f.rule_id == rule_id]


def apply(report, cwd: Path) -> None:
    for result in report.changed:
        (cwd / result.path).write_bytes(result.output)


PROJECT = "name: TapStack\nruntime: python\nmain: tap.py\n"
TAP = "import pulumi\n\nconfig = pulumi.Config()\n"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# -- pulumi-yaml-project-name-mismatch --------------------------------------------------------


def test_two_foreign_namespaces_are_display_only(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  pulumi-infra:env: dev\n  payments:dbName: x\n",
        "tap.py": TAP,
    })
    report = check(root, MISMATCH)
    [finding] = findings(report, MISMATCH)
    assert finding.safety is Safety.DISPLAY_ONLY and not report.changed
    assert finding.path.endswith("Pulumi.yaml") and finding.line == 1
    assert "`payments` in Pulumi.dev.yaml" in finding.message
    assert "`pulumi-infra` in Pulumi.dev.yaml" in finding.message
    assert "`TapStack:<key>`" in finding.message


def test_a_rename_that_would_collide_is_display_only(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  TapStack:env: dev\n  TapStack:db: x\n  pulumi-infra:env: qa\n",
        "tap.py": TAP,
    })
    report = check(root, MISMATCH)
    [finding] = findings(report, MISMATCH)
    assert finding.safety is Safety.DISPLAY_ONLY and not report.changed
    assert "`TapStack:env` is already set" in finding.message and finding.line == 4


def test_safe_threshold_reports_without_changing(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  pulumi-infra:env: dev\n",
        "tap.py": TAP,
    })
    report = check(root, MISMATCH, threshold=Safety.SAFE)
    [finding] = findings(report, MISMATCH)
    assert finding.safety is Safety.UNSAFE and not finding.fixed and not report.changed


def test_foreign_config_call_only_in_code_is_renamed(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "tap.py": 'import pulumi.config as pc\n\nshared = pc.Config(name="payments")\n',
    })
    report = check(root, MISMATCH)
    assert [r.output for r in report.changed] == [
        b'import pulumi.config as pc\n\nshared = pc.Config(name="TapStack")\n'
    ]


def test_nested_project_files_belong_to_the_nested_project(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "tap.py": TAP,
        "tools/Pulumi.yaml": "name: tools\nruntime: python\n",
        "tools/__main__.py": 'import pulumi\n\nconfig = pulumi.Config("tools")\n',
    })
    assert not check(root, MISMATCH).findings


# -- config-require-without-default -----------------------------------------------------------


def test_missing_key_without_default_names_key_and_stack_files(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  aws:region: us-east-1\n",
        "Pulumi.prod.yaml": "config:\n  aws:region: us-east-1\n",
        "tap.py": TAP + 'db_name = config.require("dbName")\n',
    })
    report = check(root, REQUIRE)
    [finding] = findings(report, REQUIRE)
    assert finding.safety is Safety.DISPLAY_ONLY and not report.changed
    assert (finding.line, finding.column) == (4, 11)
    assert "`TapStack:dbName`" in finding.message
    assert "checked Pulumi.dev.yaml, Pulumi.prod.yaml" in finding.message
    assert "`pulumi config set dbName <value>`" in finding.message


def test_selected_stack_is_the_only_one_checked(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  TapStack:dbName: x\n",
        "Pulumi.prod.yaml": "config:\n  aws:region: us-east-1\n",
        "tap.py": TAP + 'db_name = config.require("dbName")\n',
    })
    assert not findings(check(root, REQUIRE), REQUIRE)  # dev sets it: some stack does
    [finding] = findings(check(root, REQUIRE, stack="prod"), REQUIRE)
    assert "checked Pulumi.prod.yaml)" in finding.message


def test_secrets_are_never_given_a_default(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  aws:region: us-east-1\n",
        "tap.py": TAP + 'password = config.require_secret("dbPassword")\n'
                        'fallback = config.get_secret("dbPassword") or "hunter2"\n',
    })
    report = check(root, REQUIRE)
    [finding] = findings(report, REQUIRE)
    assert finding.safety is Safety.DISPLAY_ONLY and not report.changed
    assert "--secret dbPassword" in finding.message and "hunter2" not in finding.message


def test_conflicting_defaults_are_no_default(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  aws:region: us-east-1\n",
        "tap.py": TAP + 'env = config.require("env")\na = config.get("env") or "dev"\n'
                        'b = config.get("env") or "qa"\n',
    })
    [finding] = findings(check(root, REQUIRE), REQUIRE)
    assert finding.safety is Safety.DISPLAY_ONLY


def test_typed_read_needs_a_default_of_its_type(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  aws:region: us-east-1\n",
        "tap.py": TAP + 'port = config.require_int("port")\nother = config.get("port") or "80"\n',
    })
    [finding] = findings(check(root, REQUIRE), REQUIRE)
    assert finding.safety is Safety.DISPLAY_ONLY


def test_safe_threshold_reports_the_unsafe_fix_without_applying_it(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  aws:region: us-east-1\n",
        "tap.py": TAP + 'env = config.require("env")\nshown = config.get("env") or "dev"\n',
    })
    report = check(root, REQUIRE, threshold=Safety.SAFE)
    [finding] = findings(report, REQUIRE)
    assert finding.safety is Safety.UNSAFE and not finding.fixed and not report.changed
    assert 'default `"dev"`' in finding.message and "line 5" in finding.message


def test_silent_outside_a_project(tmp_path):
    root = project(tmp_path / "p", {"tap.py": TAP + 'env = config.require("env")\n'})
    assert not check(root, REQUIRE).findings


def test_a_rebound_name_is_not_followed(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "tap.py": TAP + 'config = load()\nenv = config.require("env")\n',
    })
    assert not check(root, REQUIRE).findings


# -- the two rules together -------------------------------------------------------------------


def test_the_rules_do_not_fight_over_a_foreign_namespace(tmp_path):
    """The stack sets `pulumi-infra:env`: config-require must leave `config.require("env")` to
    the namespace rule (even with a default in sight), in the same run and after it."""
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  aws:region: us-east-1\n  pulumi-infra:env: dev\n",
        "tap.py": TAP + 'env = config.require("env")\nshown = config.get("env") or "qa"\n',
    })
    report = check(root)
    assert {f.rule_id for f in report.findings} == {MISMATCH}
    assert [r.path for r in report.changed] == ["p/Pulumi.dev.yaml"]
    apply(report, tmp_path)
    assert (root / "Pulumi.dev.yaml").read_text() == "config:\n  aws:region: us-east-1\n  TapStack:env: dev\n"
    again = check(root)
    assert not again.findings and not again.changed


def test_project_rename_and_require_agree_in_one_run(tmp_path):
    root = project(tmp_path / "p", {
        "Pulumi.yaml": "name: pulumi-infra\nruntime: python\nmain: tap.py\n",
        "Pulumi.dev.yaml": "config:\n  TapStack:env: dev\n  TapStack:db: x\n",
        "tap.py": TAP + 'env = config.require("env")\ndb = config.require("db")\n',
    })
    report = check(root)
    assert {f.rule_id for f in report.findings} == {MISMATCH}
    apply(report, tmp_path)
    assert (root / "Pulumi.yaml").read_text().startswith("name: TapStack\n")
    assert not check(root).findings


def test_a_deliberate_second_namespace_is_left_alone_but_a_miss_under_it_is_reported(tmp_path):
    """`tap-network:` keys read by Config("tap-network") are no mismatch; a Config() read of a
    key only that namespace sets is then an ordinary missing key."""
    root = project(tmp_path / "p", {
        "Pulumi.yaml": PROJECT,
        "Pulumi.dev.yaml": "config:\n  TapStack:env: dev\n  tap-network:vpcCidr: 10.0.0.0/16\n",
        "tap.py": TAP + 'network = pulumi.Config("tap-network")\ncidr = network.require("vpcCidr")\n'
                        'again = config.require("vpcCidr")\n',
    })
    report = check(root)
    [finding] = report.findings
    assert finding.rule_id == REQUIRE and finding.line == 6 and "`TapStack:vpcCidr`" in finding.message
