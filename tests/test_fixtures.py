"""The one parametrised fixture test: every case of every rule, checked byte for byte.

For each `fixtures/<rule-id>/<case>.before.py` with its `<case>.after.py`:
- exact output: the rule turns `before` into `after`, byte for byte (CRLF, trailing space);
- it fires: at least one finding of the rule on `before`;
- validity: `after` parses and compiles;
- idempotence: the rule leaves `after` unchanged and finds nothing fixable in it;
- cross-rule quiet: all rules together leave `after` unchanged.
Each `<case>.clean.py` look-alike comes back byte-identical with no finding of any rule.

An optional `fixtures/<rule-id>/context.toml` sets the project context of a case:
`[<case>]` with `aws-major`, `region`, `unsafe-fixes` (default: aws-major 7, no region, unsafe
fixes on so UNSAFE rules show their fix).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import pytest

from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.registry import all_rules, rule_by_id
from iacfix.results import Safety

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
    after: Path | None  # None for a clean look-alike

    @property
    def id(self) -> str:
        return f"{self.rule_id}/{self.name}"

    def settings(self) -> tuple[ProjectContext, Safety]:
        table = {}
        context_file = self.before.parent / "context.toml"
        if context_file.exists():
            table = tomllib.loads(context_file.read_text()).get(self.name, {})
        project = ProjectContext(region=table.get("region"), aws_major=table.get("aws-major", 7))
        threshold = Safety.UNSAFE if table.get("unsafe-fixes", True) else Safety.SAFE
        return project, threshold


def collect_cases() -> list[Case]:
    cases = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name != "__pycache__"):
        for before in sorted(folder.glob("*.before.py")):
            name = before.name.removesuffix(".before.py")
            cases.append(Case(folder.name, name, before, folder / f"{name}.after.py"))
        for clean in sorted(folder.glob("*.clean.py")):
            cases.append(Case(folder.name, clean.name.removesuffix(".clean.py"), clean, None))
    return cases


CASES = collect_cases()
FIX_CASES = [c for c in CASES if c.after is not None]
CLEAN_CASES = [c for c in CASES if c.after is None]


def run(case: Case, source: bytes, rules=None):
    project, threshold = case.settings()
    rules = rules if rules is not None else [rule_by_id(case.rule_id)]
    return fix_source(case.before.name, source, rules, threshold, project=project)


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


@pytest.mark.parametrize("case", FIX_CASES, ids=lambda c: c.id)
def test_safe_threshold_applies_only_safe_fixes(case: Case) -> None:
    project, _ = case.settings()
    rule = rule_by_id(case.rule_id)
    result = fix_source(case.before.name, case.before.read_bytes(), [rule], Safety.SAFE, project=project)
    for finding in result.findings:
        assert finding.fixed == (finding.safety is Safety.SAFE)
    if not any(f.fixed for f in result.findings):
        assert result.output == result.source
