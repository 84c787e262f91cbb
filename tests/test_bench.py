"""The benchmark's corpus generator (bench/bench.py): deterministic, project-shaped, parseable, and
honest about triggers: trigger files make iacfix report something, clean template files do not."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import libcst as cst
import pytest

from iacfix.engine import run
from iacfix.registry import all_rules
from iacfix.results import Safety

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("iacfix_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_corpus_is_deterministic_project_shaped_and_parses(bench, tmp_path):
    first = bench.generate_corpus(tmp_path / "a", 30, 0.15, seed=3)
    second = bench.generate_corpus(tmp_path / "b", 30, 0.15, seed=3)
    other = bench.generate_corpus(tmp_path / "c", 30, 0.15, seed=4)
    assert tree_bytes(first.root) == tree_bytes(second.root)
    assert tree_bytes(first.root) != tree_bytes(other.root)

    python = sorted(p.relative_to(first.root).as_posix() for p in first.root.rglob("*.py"))
    assert python == sorted(f.path for f in first.files) and len(python) == 30
    assert len(first.triggers) == round(30 * 0.15)
    assert {f.kind for f in first.files} == {"trigger", "clean"}
    assert all(f.path.split("/")[1] == "lib" for f in first.triggers)  # triggers replace lib modules

    projects = [p for p in first.root.iterdir() if p.is_dir()]
    assert len(projects) == first.projects == 3
    for project in projects:
        assert "main: tap.py" in (project / "Pulumi.yaml").read_text()
        stacks = list(project.glob("Pulumi.*.yaml"))
        assert len(stacks) == 1 and "aws:region:" in stacks[0].read_text()
        assert (project / "requirements.txt").is_file() and (project / "tap.py").is_file()
        assert (project / "lib" / "tap_stack.py").is_file() or any(
            f.path == f"{project.name}/lib/tap_stack.py" for f in first.triggers)
        assert (project / "tests" / "unit").is_dir() and (project / "tests" / "integration").is_dir()

    for path in python:
        cst.parse_module((first.root / path).read_bytes())


def test_trigger_share_is_respected_and_sampled_evenly(bench, tmp_path):
    corpus = bench.generate_corpus(tmp_path / "corpus", 200, 0.3, seed=1)
    assert len(corpus.triggers) == 60
    picked = bench.sample(corpus, 50, seed=1)
    assert len(picked) == 50 and sum(f.kind == "trigger" for f in picked) == 15
    assert bench.sample(corpus, 50, seed=1) == picked
    with pytest.raises(ValueError):
        bench.generate_corpus(tmp_path / "too-many", 10, 0.9)


def test_trigger_files_make_iacfix_report(bench, tmp_path, monkeypatch):
    corpus = bench.generate_corpus(tmp_path / "corpus", 30, 0.2, seed=5)
    monkeypatch.chdir(corpus.root)
    report = run([f.path for f in corpus.triggers], all_rules(), Safety.SAFE)
    findings = {result.path: result.findings for result in report.files}
    for file in corpus.triggers:
        assert findings.get(file.path), f"{file.path} (from {file.origin}) has no finding"


def test_clean_templates_are_clean(bench, tmp_path, monkeypatch):
    """A generated project plus the templates it did not use (the other database, compute and
    iam/storage variant): no rule may report anything in it, Python files or project files."""
    corpus = bench.generate_corpus(tmp_path / "corpus", bench.FILES_PER_PROJECT, 0.0, seed=2)
    project = next(p for p in corpus.root.iterdir() if p.is_dir())
    app = "orders0"  # the name project 0 gets
    used = {f.origin for f in corpus.files}
    for name, text in bench.load_templates().items():
        if f"templates/{name}.py" in used:
            continue
        target = project / ("tests/unit" if "test" in name else "lib") / f"{name}.py"
        target.write_text(text.replace(bench.MARKER, app))
    monkeypatch.chdir(corpus.root)
    report = run(["."], all_rules(), Safety.SAFE)
    assert not [result.skipped for result in report.files if result.skipped]
    found = [f"{f.path}:{f.line}: {f.rule_id} {f.message}" for result in report.files for f in result.findings]
    assert found == []
