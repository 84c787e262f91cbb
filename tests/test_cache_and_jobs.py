"""Speed without changed answers: the prefilter never hides a finding, the cache never returns a
stale result, and a process pool gives the same report, in the same order, as one process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_fixtures import CLEAN_CASES, FIX_CASES, FLAGGED_CASES, Case, run

from iacfix import cache as cache_module
from iacfix import engine
from iacfix.cache import Cache
from iacfix.config import load as load_config
from iacfix.context import ProjectContext, context_for_directory
from iacfix.engine import run as run_engine
from iacfix.registry import all_rules, rule_by_id
from iacfix.results import Safety
from iacfix.rule import Rule, RuleSettings

ROOT = Path(__file__).resolve().parent.parent


def without_prefilter(monkeypatch, rules) -> None:
    """Make every rule in `rules` say it applies to every file."""
    for rule in rules:
        monkeypatch.setattr(rule, "applies", classmethod(lambda cls, *args: True))


@pytest.mark.parametrize("case", FIX_CASES + FLAGGED_CASES, ids=lambda c: c.id)
def test_prefilter_never_hides_a_finding(case: Case, monkeypatch):
    source = case.before.read_bytes()
    rule = rule_by_id(case.rule_id)
    project, _ = case.settings()
    assert rule.applies(source, case.before.name, project, case.rule_settings()), "the prefilter skips this case"
    with_prefilter = run(case, source)
    without_prefilter(monkeypatch, [rule])
    without = run(case, source)
    assert with_prefilter.findings == without.findings and with_prefilter.output == without.output


# --- the cache ----------------------------------------------------------------------------------

SOURCE = b'import pulumi_aws as aws\n\n"awslogs-region": "us-east-1"\nx = {"awslogs-region": "us-east-1"}\n'
AWSLOGS = rule_by_id("awslogs-region-hardcoded")
PROJECT = ProjectContext(aws_major=7)


def cache_for(directory: Path, rules=(AWSLOGS,), threshold=Safety.SAFE, settings=RuleSettings()) -> Cache:
    return Cache(directory, [rule.id for rule in rules], threshold, settings)


def test_a_cached_result_equals_the_computed_one(tmp_path):
    result = engine.fix_source("lib/a.py", SOURCE, [AWSLOGS], Safety.SAFE, project=PROJECT)
    cache = cache_for(tmp_path)
    key = cache.key(SOURCE, PROJECT, "lib/a.py")
    assert cache.get(key, "lib/a.py", SOURCE) is None
    cache.put(key, result)
    assert cache.get(key, "lib/a.py", SOURCE) == result
    assert (tmp_path / ".gitignore").read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize(
    "change",
    ["bytes", "path", "context", "rules", "threshold", "profile", "options", "version", "data"],
)
def test_any_change_of_input_rules_or_version_gives_another_key(tmp_path, monkeypatch, change):
    base = cache_for(tmp_path).key(SOURCE, PROJECT, "lib/a.py")
    source, project, path, made = SOURCE, PROJECT, "lib/a.py", {}
    if change == "bytes":
        source = SOURCE + b"\n"
    elif change == "path":
        path = "tests/a.py"
    elif change == "context":
        project = ProjectContext(aws_major=6)
    elif change == "rules":
        made["rules"] = (AWSLOGS, rule_by_id("random-for-secrets"))
    elif change == "threshold":
        made["threshold"] = Safety.UNSAFE
    elif change == "profile":
        made["settings"] = RuleSettings(profile="ephemeral")
    elif change == "options":
        made["settings"] = RuleSettings(options={"required-tags-missing": {"tags": ["Owner"]}})
    elif change == "version":
        monkeypatch.setattr(cache_module, "__version__", "999.0")
    elif change == "data":
        monkeypatch.setattr(cache_module, "_data_digest", lambda: "another table")
    assert cache_for(tmp_path, **made).key(source, project, path) != base


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 1}', b'{"format": 0, "output": null}'])
def test_a_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path, damage):
    cache = cache_for(tmp_path)
    result = engine.fix_source("a.py", SOURCE, [AWSLOGS], Safety.SAFE, project=PROJECT)
    key = cache.key(SOURCE, PROJECT, "a.py")
    cache.put(key, result)
    entry = next(tmp_path.glob("*/*.json"))
    entry.write_bytes(damage)
    assert cache.get(key, "a.py", SOURCE) is None
    cache.put(key, result)
    assert cache.get(key, "a.py", SOURCE) == result


def test_an_unwritable_cache_directory_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = cache_for(blocker / "cache")
    result = engine.fix_source("a.py", SOURCE, [AWSLOGS], Safety.SAFE, project=PROJECT)
    cache.put(cache.key(SOURCE, PROJECT, "a.py"), result)  # no exception
    assert cache.get(cache.key(SOURCE, PROJECT, "a.py"), "a.py", SOURCE) is None


def test_a_warm_run_parses_nothing_and_a_changed_file_is_recomputed(tmp_path, monkeypatch):
    project = tmp_path / "seed"
    shutil.copytree(ROOT / "fixtures" / "seed-002" / "before", project)
    monkeypatch.chdir(tmp_path)
    cache = cache_for(tmp_path / ".iacfix_cache", all_rules(), Safety.UNSAFE)
    cold = run_engine([project], all_rules(), Safety.UNSAFE, cache=cache)

    parsed = []
    real = engine.fix_source
    monkeypatch.setattr(engine, "fix_source", lambda path, *a, **k: parsed.append(path) or real(path, *a, **k))
    assert run_engine([project], all_rules(), Safety.UNSAFE, cache=cache) == cold
    assert parsed == []

    monitoring = project / "lib" / "monitoring.py"
    monitoring.write_text(monitoring.read_text().replace('"us-east-1"', '"us-west-2"'))
    changed = run_engine([project], all_rules(), Safety.UNSAFE, cache=cache)
    assert parsed == ["seed/lib/monitoring.py"]
    [finding] = [f for f in changed.findings if f.path == "seed/lib/monitoring.py"]
    assert "us-west-2" in finding.message


# --- whole runs --------------------------------------------------------------------------------

#: Runs the CLI in a fresh interpreter and says on stderr whether libcst was loaded.
CLI_PROBE = """
import sys
from iacfix.cli import app
try:
    app(sys.argv[1:], prog_name="iacfix")
except SystemExit as done:
    code = done.code
print("libcst loaded:", "libcst" in sys.modules, file=sys.stderr)
print("heavy modules:", [m for m in ("ruamel.yaml", "git", "github", "pydantic", "iacfix.verify", "iacfix.engine",
                                     "iacfix.codemods._provider_index") if m in sys.modules], file=sys.stderr)
sys.exit(code)
"""


def check_in_subprocess(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI_PROBE, "check", "--output-format", "json", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def test_an_unchanged_tree_is_answered_without_loading_libcst_or_the_rules(tmp_path):
    shutil.copytree(ROOT / "fixtures" / "seed-002" / "before", tmp_path / "seed")
    cold = check_in_subprocess(tmp_path, "seed")
    warm = check_in_subprocess(tmp_path, "seed")
    assert "libcst loaded: True" in cold.stderr and "libcst loaded: False" in warm.stderr, warm.stderr
    assert "heavy modules: []" in warm.stderr, warm.stderr  # a warm run is a stat and a hash per file
    assert cold.returncode == warm.returncode == 1
    assert json.loads(warm.stdout) == json.loads(cold.stdout) and json.loads(cold.stdout)["findings"]
    (tmp_path / "seed" / "lib" / "vpc.py").write_text("# emptied\n")
    changed = check_in_subprocess(tmp_path, "seed")
    assert "libcst loaded: True" in changed.stderr
    assert json.loads(changed.stdout) != json.loads(cold.stdout)


@pytest.mark.parametrize("change", ["python", "stack file", "requirements", "new file", "environment",
                                    "working directory", "region", "paths", "rules"])
def test_the_whole_run_key_covers_every_input_of_the_run(tmp_path, monkeypatch, change):
    project = tmp_path / "work" / "seed"
    shutil.copytree(ROOT / "fixtures" / "seed-001" / "before", project)
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.delenv("AWS_REGION", raising=False)
    arguments = {"paths": [Path("seed")], "exclude": (), "region": None, "stack": None}
    base = cache_for(tmp_path / "cache", all_rules()).run_entry(**arguments).key
    rules = all_rules()
    if change == "python":
        (project / "lib" / "tap_stack.py").write_bytes((project / "lib" / "tap_stack.py").read_bytes() + b"\n")
    elif change == "stack file":  # the context (region) comes from it
        stack = next(project.glob("Pulumi.*.yaml"))
        stack.write_text(stack.read_text().replace("eu-south-1", "eu-west-1"))
    elif change == "requirements":  # the pinned pulumi_aws major comes from it
        (project / "requirements.txt").write_text("pulumi-aws>=6,<7\n")
    elif change == "new file":
        (project / "lib" / "AWS_REGION").write_text("eu-west-1\n")
    elif change == "environment":
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
    elif change == "working directory":  # findings show paths relative to it
        (tmp_path / "elsewhere").mkdir()
        monkeypatch.chdir(tmp_path / "elsewhere")
        arguments["paths"] = [project]
    elif change == "region":
        arguments["region"] = "eu-west-1"
    elif change == "paths":
        arguments["paths"] = [Path("seed/lib")]
    elif change == "rules":
        rules = rules[1:]
    assert cache_for(tmp_path / "cache", rules).run_entry(**arguments).key != base


def test_a_stored_run_comes_back_equal_and_a_file_outside_any_project_has_no_run_entry(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "fixtures" / "seed-004" / "before", tmp_path / "seed")
    monkeypatch.chdir(tmp_path)
    cache = cache_for(tmp_path / ".iacfix_cache", all_rules(), Safety.UNSAFE)
    entry = cache.run_entry([Path("seed")], (), None, None)
    assert cache.get_run(entry) is None
    report = run_engine([Path("seed")], all_rules(), Safety.UNSAFE)
    cache.put_run(entry, report)
    assert cache.get_run(cache.run_entry([Path("seed")], (), None, None)) == report
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "x.py").write_text("x = 1\n")
    assert cache.run_entry([Path("loose")], (), None, None) is None


# --- processes ---------------------------------------------------------------------------------


def test_jobs_give_the_same_report_in_the_same_order(tmp_path, monkeypatch):
    for seed in ("seed-000", "seed-001", "seed-002", "seed-003", "seed-004"):
        shutil.copytree(ROOT / "fixtures" / seed / "before", tmp_path / seed)
    monkeypatch.chdir(tmp_path)
    one = run_engine([tmp_path], all_rules(), Safety.UNSAFE, jobs=1)
    seen = []
    two = run_engine([tmp_path], all_rules(), Safety.UNSAFE, jobs=2, progress=lambda done, total: seen.append(done))
    assert len(one.files) >= 2 * engine._FILES_PER_WORKER, "too few files to use the pool"
    assert two == one
    assert [r.path for r in two.files] == sorted(r.path for r in two.files)
    assert seen == sorted(seen) and seen[-1] == len([f for f in one.files if f.path.endswith(".py")])


# --- the prefilter on every fixture file, for every rule ----------------------------------------


def fixture_files() -> list[tuple[Path, Case | None]]:
    """Every Python input under fixtures/ (rule cases with their own context, seed and project
    trees with none) and examples/: the code the rules are known to be right about."""
    cases = {case.before.resolve(): case for case in FIX_CASES + FLAGGED_CASES + CLEAN_CASES}
    files = sorted({*ROOT.joinpath("fixtures").rglob("*.py"), *ROOT.joinpath("examples").rglob("*.py")})
    return [(path, cases.get(path.resolve())) for path in files]


@pytest.mark.parametrize("path, case", fixture_files(),
                         ids=lambda value: value.relative_to(ROOT).as_posix() if isinstance(value, Path) else "")
def test_narrowed_prefilters_skip_no_finding(path: Path, case: Case | None, monkeypatch):
    """A rule whose `applies` says no to a file although its evidence tokens occur in it (the
    narrowing a rule adds with a regular expression, the profile, an option or test paths)
    finds nothing there when run anyway, under the file's own context and settings."""
    source = path.read_bytes()
    if case is not None:
        project, settings = case.settings()[0], case.rule_settings()
    else:  # a seed or example project: its own context and [tool.iacfix] settings
        project = context_for_directory(path.parent.resolve(), None, None)
        settings = load_config(start=path.parent).rule_settings()
    shown = str(path)
    narrowed = [rule for rule in all_rules() if issubclass(rule, Rule) and any(t in source for t in rule.evidence)
                and not rule.applies(source, shown, project, settings)]
    if not narrowed:
        return
    without_prefilter(monkeypatch, narrowed)
    result = engine.fix_source(shown, source, narrowed, None, project=project, settings=settings)
    assert [f"{f.rule_id}:{f.line}" for f in result.findings] == [], "the prefilter hid these findings"


def test_prefilter_reads_calls_where_dotted_names_start():
    """`x().y(k=1)` is a call of `y`; a call's name is never read from inside a dotted chain, so a
    line of 50,000 attributes costs one pass, not one per position (it took minutes)."""
    from iacfix.prefilter import keyword_arguments

    found = list(keyword_arguments("v = aws.s3.Bucket(\"b\", bucket=x().y(k=1))\n", None))
    assert [(a.dotted, a.keyword) for a in found] == [("aws.s3.Bucket", "bucket"), ("y", "k")]
    chain = "x = a" + ".b" * 50_000 + "\nz = f(k=1)\n"
    assert [(a.dotted, a.keyword) for a in keyword_arguments(chain, None)] == [("f", "k")]
