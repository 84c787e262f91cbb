"""Every rule is well-formed, documented, and has the fixtures the design asks for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iacfix.errors import UsageError
from iacfix.registry import all_rules, markdown_table, rule_ids, select_ids, select_rules
from iacfix.results import Safety
from iacfix.rule import DOC_SECTIONS

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RULES = all_rules()


def test_there_are_rules_and_ids_are_unique_kebab_case():
    ids = [r.id for r in RULES]
    assert len(ids) >= 4 and len(set(ids)) == len(ids)
    for rule_id in ids:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule_id), rule_id


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_metadata_and_docstring(rule):
    assert isinstance(rule.safety, Safety)
    assert rule.title and not rule.title.endswith(".")
    assert isinstance(rule.evidence, tuple) and all(isinstance(e, bytes) and e for e in rule.evidence)
    doc = rule.__doc__ or ""
    positions = [doc.find(section) for section in DOC_SECTIONS]
    assert all(p > 0 for p in positions), f"{rule.id}: docstring needs {DOC_SECTIONS}"
    assert positions == sorted(positions), f"{rule.id}: sections out of order"
    assert rule.summary(), f"{rule.id}: docstring needs a summary paragraph"
    module = Path(__import__(rule.__module__, fromlist=["_"]).__file__).stem
    assert module == rule.id.replace("-", "_"), "one module per rule, named after its id"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_example_variants_and_look_alikes(rule):
    folder = FIXTURES / rule.id
    file_pairs = [p.name.removesuffix(".before.py") for p in folder.glob("*.before.py")]
    for name in file_pairs:
        assert (folder / f"{name}.after.py").is_file(), f"{name}.before.py has no .after.py"
    tree_pairs = [p.name for p in folder.iterdir() if (p / "before").is_dir()]
    for name in tree_pairs:
        assert (folder / name / "after").is_dir(), f"{name}/before has no after/"
    flagged = [p.name.removesuffix(".flagged.py") for p in folder.glob("*.flagged.py")]
    cases = file_pairs + tree_pairs + flagged
    assert "example" in cases, f"{rule.id}: needs an example case"
    assert len(cases) - 1 >= 3, f"{rule.id}: needs at least three variant cases"
    clean = list(folder.glob("*.clean.py")) + [p for p in folder.iterdir() if (p / "clean").is_dir()]
    assert len(clean) >= 2, f"{rule.id}: needs at least two look-alikes"


def test_every_fixture_folder_belongs_to_a_rule():
    folders = {p.name for p in FIXTURES.iterdir()
               if p.is_dir() and p.name != "__pycache__" and not p.name.startswith("seed-")}
    assert folders <= {r.id for r in RULES}


def test_readme_rule_table_is_current():
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "README rule table is stale; paste:\n" + markdown_table()


def test_select_by_prefix_and_ignore():
    ids = {r.id for r in RULES}
    first = sorted(ids)[0]
    assert {r.id for r in select_rules([first])} == {first}
    assert first not in {r.id for r in select_rules(None, [first])}
    prefix = first.split("-")[0] + "-"
    assert {r.id for r in select_rules([prefix])} == {i for i in ids if i.startswith(prefix)}


def test_unknown_selector_is_an_error():
    with pytest.raises(UsageError, match="unknown rule or prefix 'no-such-rule'"):
        select_rules(["no-such-rule"])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_doc_sections_are_readable(rule):
    for heading in ("Why is this bad?", "Fix", "Fix safety", "References"):
        text = rule.doc_section(heading)
        assert text and "## " not in text, f"{rule.id}: section {heading!r}"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = readme.split("Run the tests", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert command.startswith(".venv/bin/python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == command


def test_rule_ids_come_from_module_names_without_importing_the_rules():
    assert rule_ids() == tuple(rule.id for rule in all_rules())
    for rule in all_rules():
        assert rule.__module__ == f"iacfix.codemods.{rule.id.replace('-', '_')}", "name the module for the id"
    assert select_ids(["s3-"], ["s3-bucket"]) == tuple(r.id for r in select_rules(["s3-"], ["s3-bucket"]))
