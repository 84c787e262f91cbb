"""The project-level side of the engine: project rules, their isolation, and how their edits
meet the Python rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from support_rules import CrashingProjectRule, RenameA, UppercaseMarker

from iacfix.engine import run


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "proj"
    (root / "lib").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: TapStack  # keep me\nruntime: python\nmain: tap.py\n")
    (root / "tap.py").write_text('import pulumi\nx = "a"  # marker\n')
    (root / "lib" / "other.py").write_text("y = 1\n")
    monkeypatch.chdir(tmp_path)
    return root


def test_a_python_file_edited_by_a_project_rule_then_goes_through_python_rules(project):
    report = run([project], [UppercaseMarker, RenameA])
    [result] = report.changed
    assert result.path == "proj/tap.py"
    assert result.source == b'import pulumi\nx = "a"  # marker\n'
    assert result.output == b'import pulumi\nimport secrets\n\nx = "b"  # MARKER\n'
    assert sorted(f.rule_id for f in result.findings) == ["rename-a", "uppercase-marker"]


def test_a_crashing_project_rule_is_isolated_and_its_edits_dropped(project):
    report = run([project], [CrashingProjectRule, UppercaseMarker])
    by_path = {r.path: r for r in report.files}
    assert "rule crashing-project-rule crashed (RuntimeError: boom)" in by_path["proj/Pulumi.yaml"].error
    assert not by_path["proj/Pulumi.yaml"].changed
    assert by_path["proj/tap.py"].output.endswith(b"# MARKER\n")


def test_project_rules_only_run_for_a_project_the_paths_contain(project):
    report = run([project / "lib"], [UppercaseMarker])
    assert report.findings == ()


def test_project_file_named_directly_runs_project_rules_on_no_python_file(project):
    # Naming Pulumi.yaml runs the project-level rules; Python files are in the run only when named.
    report = run([project / "Pulumi.yaml", project / "tap.py"], [UppercaseMarker, RenameA])
    assert [f.path for f in report.findings] == ["proj/tap.py", "proj/tap.py"]
    assert [r.path for r in report.files] == ["proj/tap.py"]
    assert run([project / "Pulumi.yaml"], [UppercaseMarker]).files == ()


def test_suppression_comment_in_a_file_a_project_rule_reports_on(project):
    (project / "tap.py").write_text('import pulumi  # iacfix: ignore[uppercase-marker]\nx = "a"  # marker\n')
    assert run([project], [UppercaseMarker]).findings == ()


def test_yaml_edits_keep_crlf_and_bom(tmp_path):
    from iacfix.context import ProjectContext
    from iacfix.project import Project, rename_key

    path = tmp_path / "Pulumi.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: TapStack\r\nconfig:\r\n  aws:region:\r\n    default: us-east-1  # r\r\n")
    project = Project(tmp_path, ProjectContext(), [])
    document = project.yaml(path)
    rename_key(document["config"]["aws:region"], "default", "value")
    project.save_yaml(path, document)
    expected = b"\xef\xbb\xbfname: TapStack\r\nconfig:\r\n  aws:region:\r\n    value: us-east-1  # r\r\n"
    assert project.edits[path] == expected


def test_rules_after_python_see_the_python_fixes_in_the_same_run(project):
    from iacfix.codemods.missing_provider_requirement import MissingProviderRequirement
    from support_rules import NeedsRandom

    (project / "requirements.txt").write_text("pulumi>=3.0.0,<4.0.0\n")
    (project / "lib" / "other.py").write_text('password = "pw"\n')
    report = run([project], [MissingProviderRequirement, NeedsRandom])
    by_path = {r.path: r for r in report.changed}
    assert by_path["proj/lib/other.py"].output.startswith(b"import pulumi_random\n")
    requirements = by_path["proj/requirements.txt"]
    assert requirements.output == b"pulumi>=3.0.0,<4.0.0\npulumi-random>=4.0.0,<5.0.0\n"
    [finding] = requirements.findings
    assert finding.message.startswith("lib/other.py imports pulumi_random but requirements.txt does not list")

    # Without the Python fix nothing imports pulumi_random, so nothing is needed.
    assert not run([project], [MissingProviderRequirement]).changed
