"""The one parametrised fixture test: every case of every rule, checked byte for byte.

For each `fixtures/<rule-id>/<case>.before.py` with its `<case>.after.py`:
- exact output: the rule turns `before` into `after`, byte for byte (CRLF, trailing space);
- it fires: at least one finding of the rule on `before`;
- validity: `after` parses and compiles;
- idempotence: the rule leaves `after` unchanged and finds nothing fixable in it;
- cross-rule quiet: all rules together leave `after` unchanged.
Each `<case>.clean.py` look-alike comes back byte-identical with no finding of any rule.
Each `<case>.flagged.py` (a report-only case) comes back byte-identical, and the rule's findings
are exactly on the lines marked `# expect: <rule-id>`.

Directory cases `fixtures/<rule-id>/<case>/before/` + `after/` are whole projects (Pulumi.yaml,
stack files, Python): the engine runs on a copy of `before/` with the project context it finds
there, the changed files are written, and the tree must equal `after/` byte for byte (files with no
counterpart included); the same idempotence and cross-rule checks follow. A `<case>/clean/` tree
must come back untouched with no finding of any rule.

An optional `fixtures/<rule-id>/context.toml` sets the context of a case: `[<case>]` with
`aws-major`, `region`, `stack`, `unsafe-fixes`, `profile` and `options` (this rule's options, a
table) (default: aws-major 7 for file cases, what the project says for directory cases, no region,
unsafe fixes on so UNSAFE rules show their fix, no declared profile, the rule's default options).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import pytest

from iacfix.context import ProjectContext
from iacfix.engine import fix_source, run as run_engine
from iacfix.registry import all_rules, rule_by_id
from iacfix.results import Safety
from iacfix.rule import RuleSettings

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Case:
    rule_id: str
    name: str
    before: Path
    after: Path | None  # None for a clean look-alike or a flagged (report-only) case
    flagged: bool = False

    @property
    def id(self) -> str:
        return f"{self.rule_id}/{self.name}"

    def table(self) -> dict:
        context_file = FIXTURES / self.rule_id / "context.toml"
        return tomllib.loads(context_file.read_text()).get(self.name, {}) if context_file.exists() else {}

    def settings(self) -> tuple[ProjectContext, Safety]:
        table = self.table()
        project = ProjectContext(region=table.get("region"), aws_major=table.get("aws-major", 7))
        threshold = Safety.UNSAFE if table.get("unsafe-fixes", True) else Safety.SAFE
        return project, threshold

    def rule_settings(self) -> RuleSettings:
        table = self.table()
        return RuleSettings(profile=table.get("profile"),
                            options={self.rule_id: table.get("options", {})})


def collect_cases() -> list[Case]:
    cases = []
    for folder in rule_folders():
        for before in sorted(folder.glob("*.before.py")):
            name = before.name.removesuffix(".before.py")
            cases.append(Case(folder.name, name, before, folder / f"{name}.after.py"))
        for clean in sorted(folder.glob("*.clean.py")):
            cases.append(Case(folder.name, clean.name.removesuffix(".clean.py"), clean, None))
        for flagged in sorted(folder.glob("*.flagged.py")):
            cases.append(Case(folder.name, flagged.name.removesuffix(".flagged.py"), flagged, None, flagged=True))
    return cases


def rule_folders() -> list[Path]:
    """Every rule's fixture folder (the `seed-*` projects are tested by test_seeds.py)."""
    return sorted(p for p in FIXTURES.iterdir()
                  if p.is_dir() and p.name != "__pycache__" and not p.name.startswith("seed-"))


def collect_tree_cases() -> list[Case]:
    cases = []
    for folder in rule_folders():
        for case in sorted(p for p in folder.iterdir() if p.is_dir()):
            if (case / "before").is_dir():
                cases.append(Case(folder.name, case.name, case / "before", case / "after"))
            elif (case / "clean").is_dir():
                cases.append(Case(folder.name, case.name, case / "clean", None))
    return cases


CASES = collect_cases()
TREE_CASES = collect_tree_cases()
FIX_CASES = [c for c in CASES if c.after is not None]
CLEAN_CASES = [c for c in CASES if c.after is None and not c.flagged]
FLAGGED_CASES = [c for c in CASES if c.flagged]


def run(case: Case, source: bytes, rules=None):
    project, threshold = case.settings()
    rules = rules if rules is not None else [rule_by_id(case.rule_id)]
    return fix_source(case.before.name, source, rules, threshold, project=project, settings=case.rule_settings())


@pytest.mark.parametrize("case", FIX_CASES, ids=lambda c: c.id)
def test_fix_case(case: Case) -> None:
    source = case.before.read_bytes()
    expected = case.after.read_bytes()
    result = run(case, source)

    assert result.error is None and result.skipped is None, result.error or result.skipped
    assert any(f.rule_id == case.rule_id for f in result.findings), "the rule did not fire"
    assert result.output == expected, "output differs from the .after.py file"

    cst.parse_module(expected)
    compile(expected, str(case.after), "exec", dont_inherit=True)

    second = run(case, expected)
    assert second.output == expected, "a second run changed the fixed file"
    assert not [f for f in second.findings if f.fixable], "a second run still finds fixable findings"

    everything = run(case, expected, rules=all_rules())
    assert everything.output == expected, "another rule rewrites this rule's output"


@pytest.mark.parametrize("case", CLEAN_CASES, ids=lambda c: c.id)
def test_clean_case_untouched(case: Case) -> None:
    source = case.before.read_bytes()
    assert source.lstrip(b"\xef\xbb\xbf").startswith(b"#"), "a clean case starts with a comment saying why"
    result = run(case, source, rules=all_rules())
    assert result.output == source
    assert result.findings == (), [f"{f.rule_id}: {f.message}" for f in result.findings]


def expected_lines(source: bytes, rule_id: str) -> set[int]:
    """Lines carrying an `# expect: <rule-id>` marker (several ids may be comma-separated)."""
    marked = set()
    for number, line in enumerate(source.decode("utf-8").splitlines(), start=1):
        _, sep, ids = line.partition("# expect:")
        if sep and rule_id in {part.strip() for part in ids.split(",")}:
            marked.add(number)
    return marked


@pytest.mark.parametrize("case", FLAGGED_CASES, ids=lambda c: c.id)
def test_flagged_case_reported_where_marked(case: Case) -> None:
    source = case.before.read_bytes()
    marked = expected_lines(source, case.rule_id)
    assert marked, "a flagged case marks the lines it expects findings on with `# expect: <rule-id>`"
    result = run(case, source)
    assert result.error is None and result.skipped is None, result.error or result.skipped
    assert result.output == source, "a flagged (report-only) case must not be rewritten"
    found = {f.line for f in result.findings if f.rule_id == case.rule_id}
    assert found == marked, [f"{f.line}: {f.message}" for f in result.findings]
    assert not [f for f in result.findings if f.fixable], "report-only findings must not be fixable"

    everything = run(case, source, rules=all_rules())
    assert everything.output == source, "another rule rewrites this report-only case"


@pytest.mark.parametrize("case", FIX_CASES, ids=lambda c: c.id)
def test_safe_threshold_applies_only_safe_fixes(case: Case) -> None:
    project, _ = case.settings()
    rule = rule_by_id(case.rule_id)
    result = fix_source(case.before.name, case.before.read_bytes(), [rule], Safety.SAFE, project=project,
                        settings=case.rule_settings())
    for finding in result.findings:
        assert finding.fixed == (finding.safety is Safety.SAFE)
    if not any(f.fixed for f in result.findings):
        assert result.output == result.source


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def run_tree(case: Case, root: Path, rules=None):
    """Run the engine on the project at `root` (as the working directory) and write its fixes."""
    table = case.table()
    threshold = Safety.UNSAFE if table.get("unsafe-fixes", True) else Safety.SAFE
    report = run_engine([root], rules or [rule_by_id(case.rule_id)], threshold,
                        region=table.get("region"), stack=table.get("stack"), settings=case.rule_settings())
    for result in report.changed:
        (root.parent / result.path).write_bytes(result.output)
    return report


PROVIDER_NAMESPACES = {"aws", "random", "pulumi", "tls"}


def check_tree_is_valid(root: Path) -> None:
    """Python compiles; the project and stack files load with Pulumi's own automation-API types,
    the entry point exists and every stack config key is namespaced by the project or a provider."""
    from pulumi.automation import ProjectSettings, StackSettings
    from ruamel.yaml import YAML

    for path in root.rglob("*.py"):
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    project_file = root / "Pulumi.yaml"
    if not project_file.exists():
        return
    project = ProjectSettings.from_dict(YAML(typ="safe", pure=True).load(project_file.read_text(encoding="utf-8")))
    main = root / (project.main or "__main__.py")
    assert main.is_file() or (main / "__main__.py").is_file(), f"entry point {main} does not exist"
    for stack_file in root.glob("Pulumi.*.yaml"):
        settings = StackSettings._deserialize(YAML(typ="safe", pure=True).load(stack_file.read_text(encoding="utf-8")))
        for key in settings.config or {}:
            namespace = key.split(":", 1)[0]
            assert ":" in key and namespace in PROVIDER_NAMESPACES | {project.name}, f"{stack_file.name}: {key}"


@pytest.mark.parametrize("case", [c for c in TREE_CASES if c.after], ids=lambda c: c.id)
def test_tree_case(case: Case, tmp_path, monkeypatch) -> None:
    root = tmp_path / "project"
    shutil.copytree(case.before, root)
    monkeypatch.chdir(tmp_path)

    report = run_tree(case, root)
    assert not report.problems, [(r.path, r.error or r.skipped) for r in report.problems]
    assert any(f.rule_id == case.rule_id for f in report.findings), "the rule did not fire"
    assert tree(root) == tree(case.after), "the fixed project differs from after/"
    check_tree_is_valid(root)

    second = run_tree(case, root)
    assert not second.changed, "a second run changed the fixed project"
    assert not [f for f in second.findings if f.fixable], "a second run still finds fixable findings"

    everything = run_tree(case, root, rules=all_rules())
    assert not everything.changed, [r.path for r in everything.changed]


@pytest.mark.parametrize("case", [c for c in TREE_CASES if not c.after], ids=lambda c: c.id)
def test_clean_tree_untouched(case: Case, tmp_path, monkeypatch) -> None:
    root = tmp_path / "project"
    shutil.copytree(case.before, root)
    monkeypatch.chdir(tmp_path)
    report = run_tree(case, root, rules=all_rules())
    assert not report.changed and tree(root) == tree(case.before)
    assert report.findings == (), [f"{f.path}: {f.rule_id}: {f.message}" for f in report.findings]
