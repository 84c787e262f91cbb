"""iacfix's benchmark (issue 9): `iacfix check` against the other ways to run the same checks.

    python bench/bench.py --files 2000

Generates a deterministic corpus of Pulumi projects (Pulumi.yaml with `main: tap.py`, a stack file
with `aws:region`, requirements.txt, tap.py, lib/*.py, tests/unit and tests/integration; about 10
Python files each). A share of the files (`--trigger-share`, default 0.15) are the fixture cases
`fixtures/<rule-id>/*.before.py` and `*.flagged.py`, failures some rule fixes or reports; the rest
are clean modules from `bench/templates/`. Then, in one run, each in its own subprocess so
interpreter start-up is paid where the real tool pays it, it times:

- `iacfix check` cold (empty cache directory) and warm (the same cache again);
- the naive way: every rule as its own libcst parse + transform per file, as
  `python -m libcst.tool codemod` does (on a `--naive-sample`, extrapolated per file);
- `fixit lint` with fixit's default rules (sampled on big trees, extrapolated);
- `ruff check --select S --no-cache`, the floor;
- a bare `libcst.parse_module` of every file, in one process.

It prints seconds, files per second, peak RSS and the ratios the issue sets as targets, the time
of `iacfix check` on one 10-file project and the import time of `iacfix.cli`, and writes all the
numbers to `--json` (default bench/result.json). `--memory-check 20000` also runs `iacfix check`
cold on a 20,000-file corpus and compares its peak RSS with the main corpus's.

Flags of `iacfix check` that not every version has (`--jobs`, `--cache-dir`) are detected from
its `--help` and only passed when present.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "bench" / "templates"
FIXTURES = ROOT / "fixtures"
DEFAULT_JSON = ROOT / "bench" / "result.json"

#: Regions of the generated stacks (those the RDS version data knows, so every rule can judge them).
REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "eu-south-1",
           "ap-southeast-1", "ap-northeast-1")
APP_WORDS = ("orders", "billing", "ledger", "catalog", "checkout", "payments", "search", "inventory",
             "shipping", "identity", "reports", "gateway", "webhooks", "notify", "media", "pricing")
STACKS = ("dev", "staging", "prod", "TapStackdev", "TapStackpr")
#: The marker the templates use for the application's name in resource names and docstrings.
MARKER = "acme"

#: The Python files of one project, in the order a partial last project keeps them:
#: (path in the project, template name or a tuple of alternatives, may hold a trigger case).
LAYOUT: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("tap.py", ("tap_entry",), False),
    ("lib/__init__.py", ("",), False),
    ("lib/tap_stack.py", ("tap_stack",), True),
    ("lib/networking.py", ("networking",), True),
    ("lib/database.py", ("database_aurora", "database_dynamodb"), True),
    ("lib/compute.py", ("compute_ecs", "compute_lambda"), True),
    ("lib/monitoring.py", ("monitoring",), True),
    ("lib/{extra}.py", ("iam", "storage"), True),
    ("tests/unit/test_tap_stack.py", ("unit_test_mocks",), False),
    ("tests/integration/test_tap_stack.py", ("integration_test_boto3",), False),
)
FILES_PER_PROJECT = len(LAYOUT)
#: The largest trigger share the layout can hold (triggers replace lib modules only).
MAX_TRIGGER_SHARE = sum(slot[2] for slot in LAYOUT) / FILES_PER_PROJECT


# -- corpus -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerCase:
    """A fixture case that makes some rule fire, and the project it needs (region, aws major)."""

    rule_id: str
    name: str
    path: Path
    region: str | None = None
    aws_major: int = 7


@dataclass
class CorpusFile:
    """One generated Python file: where, whether it holds a trigger, and where it came from."""

    path: str  # relative to the corpus root, POSIX
    kind: str  # "trigger" or "clean"
    origin: str  # "templates/<name>.py" or "fixtures/<rule-id>/<case file>"


@dataclass
class Corpus:
    """What `generate_corpus` wrote."""

    root: Path
    files: list[CorpusFile]
    projects: int
    seed: int

    @property
    def triggers(self) -> list[CorpusFile]:
        return [f for f in self.files if f.kind == "trigger"]


def trigger_cases() -> list[TriggerCase]:
    """Every `*.before.py` / `*.flagged.py` fixture case a generated project can reproduce.

    A case's `context.toml` table may ask for a region or a pulumi_aws major, which the project
    it lands in then gets (stack file, requirements pin); cases needing a profile or rule options
    are left out, as those are run-wide settings, not per project.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    cases = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith(("seed-", "_"))):
        context_file = folder / "context.toml"
        tables = tomllib.loads(context_file.read_text()) if context_file.exists() else {}
        for path in sorted([*folder.glob("*.before.py"), *folder.glob("*.flagged.py")]):
            name = path.name.removesuffix(".before.py").removesuffix(".flagged.py")
            table = tables.get(name, {})
            if set(table) - {"region", "aws-major", "unsafe-fixes"}:
                continue
            cases.append(TriggerCase(folder.name, name, path, table.get("region"), table.get("aws-major", 7)))
    return cases


def load_templates() -> dict[str, str]:
    """The clean module templates, by name (file stem)."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(TEMPLATES.glob("*.py"))}


def with_header(source: bytes, header: str) -> bytes:
    """`source` with a first comment line, keeping its BOM and its line endings."""
    bom = b"\xef\xbb\xbf" if source.startswith(b"\xef\xbb\xbf") else b""
    body = source[len(bom):]
    newline = b"\r\n" if b"\r\n" in body.split(b"\n", 1)[0] + b"\n" else b"\n"
    return bom + header.encode() + newline + body


def generate_corpus(root: Path, files: int, trigger_share: float = 0.15, seed: int = 0) -> Corpus:
    """Write `files` Python files as Pulumi projects under `root`; the same seed writes the same bytes.

    Exactly round(files * trigger_share) files, spread at random over the projects' lib modules,
    are fixture cases that some rule fires on; every other file is a clean template filled in
    with the project's names.
    """
    if not 0 <= trigger_share <= MAX_TRIGGER_SHARE:
        raise ValueError(f"--trigger-share must be between 0 and {MAX_TRIGGER_SHARE:.2f}")
    rng = random.Random(seed)
    templates = load_templates()
    projects = math.ceil(files / FILES_PER_PROJECT)
    slots = [(p, s) for p in range(projects) for s in range(FILES_PER_PROJECT)][:files]
    eligible = [i for i, (_, s) in enumerate(slots) if LAYOUT[s][2]]
    chosen = set(rng.sample(eligible, round(files * trigger_share)))

    cases = trigger_cases()
    queue: list[TriggerCase] = []
    corpus = Corpus(root, [], projects, seed)
    root.mkdir(parents=True, exist_ok=True)
    for project in range(projects):
        first = project * FILES_PER_PROJECT
        indices = [(i, i - first) for i in range(first, min(first + FILES_PER_PROJECT, files))]
        # Fixture cases for this project's trigger slots, each compatible with the ones before it.
        picked: dict[int, TriggerCase] = {}
        for index in (i for i, _ in indices if i in chosen):
            if not queue:
                queue = rng.sample(cases, len(cases))
            case = next((c for c in queue if _fits(c, picked.values())), None)
            if case is not None:
                queue.remove(case)
            else:  # nothing left in this round fits the project: reuse one that does
                case = next(c for c in cases if _fits(c, picked.values()))
            picked[index] = case
        _write_project(corpus, project, indices, picked, templates, rng)
    return corpus


def _fits(case: TriggerCase, others) -> bool:
    """Whether `case` can share a project (its region and pulumi_aws pin) with the cases `others`."""
    regions = {c.region for c in others} - {None}
    majors = {c.aws_major for c in others}
    return (case.region is None or not regions or case.region in regions) and (
        not majors or case.aws_major in majors)


def _write_project(corpus: Corpus, project: int, indices: list[tuple[int, int]], picked: dict[int, TriggerCase],
                   templates: dict[str, str], rng: random.Random) -> None:
    """Write one project: Pulumi files, requirements and its Python files (`picked` are triggers)."""
    word = APP_WORDS[project % len(APP_WORDS)]
    app = f"{word}{project}"
    name = f"{word}-service-{project:05d}"
    needs = [c for c in picked.values() if c.region]
    region = needs[0].region if needs else rng.choice(REGIONS)
    aws_major = next((c.aws_major for c in picked.values()), 7)
    stack = rng.choice(STACKS)
    account = rng.randrange(10**11, 10**12)
    directory = corpus.root / f"{word}-{project:05d}"
    (directory / "lib").mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime:\n  name: python\n"
        f"description: The {word} service of {app} (generated by bench/bench.py)\nmain: tap.py\n"
    )
    (directory / f"Pulumi.{stack}.yaml").write_text(
        f"config:\n  aws:region: {region}\n  {name}:env: {stack.removeprefix('TapStack')}\n"
        f"  {name}:certificate_arn: arn:aws:acm:{region}:{account}:certificate/"
        f"{rng.getrandbits(128):032x}\n"
    )
    (directory / "requirements.txt").write_text(
        f"pulumi>=3.0.0,<4.0.0\npulumi-aws>={aws_major}.0.0,<{aws_major + 1}.0.0\n"
        "pulumi-random>=4.0.0,<5.0.0\nboto3>=1.34\npytest>=8\n"
    )
    extra = rng.choice(LAYOUT[7][1])
    for index, slot in indices:
        pattern, choices, _ = LAYOUT[slot]
        relative = pattern.format(extra=extra)
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shown = target.relative_to(corpus.root).as_posix()
        if index in picked:
            case = picked[index]
            origin = case.path.relative_to(ROOT).as_posix()
            target.write_bytes(with_header(case.path.read_bytes(), f"# {shown}: from {origin}"))
            corpus.files.append(CorpusFile(shown, "trigger", origin))
            continue
        template = extra if "{extra}" in pattern else rng.choice(choices)
        if not template:
            text = f'"""The {app} service\'s Pulumi components."""\n'
        else:
            text = templates[template].replace(MARKER, app)
        target.write_text(text, encoding="utf-8")
        corpus.files.append(CorpusFile(shown, "clean", f"templates/{template or '__init__'}.py"))


def sample(corpus: Corpus, count: int, seed: int) -> list[CorpusFile]:
    """A deterministic sample of `count` files with the corpus's share of trigger files."""
    if count >= len(corpus.files):
        return list(corpus.files)
    rng = random.Random(seed)
    triggers = corpus.triggers
    clean = [f for f in corpus.files if f.kind != "trigger"]
    wanted = round(count * len(triggers) / len(corpus.files))
    return sorted(rng.sample(triggers, wanted) + rng.sample(clean, count - wanted), key=lambda f: f.path)


# -- workers (each run in its own subprocess: `bench.py _naive|_parse LISTFILE [JOBS]`) ------------


def _naive_one(path: str) -> int:
    """Run every Python rule on one file, each with its own parse + transform; return the findings."""
    import libcst as cst
    from libcst.codemod import CodemodContext

    from iacfix.context import context_for_directory
    from iacfix.registry import all_rules
    from iacfix.rule import FileContext, Rule, RuleSettings, parse_suppressions

    source = Path(path).read_bytes()
    project = context_for_directory(Path(path).parent.resolve(), None, None)
    found = 0
    for rule_class in (r for r in all_rules() if issubclass(r, Rule)):
        module = cst.parse_module(source)  # libcst.tool codemod: one parse per codemod per file
        file = FileContext(path=path, project=project, settings=RuleSettings(),
                           suppressions=parse_suppressions(module.code))
        rule = rule_class(CodemodContext(filename=path), file)
        try:
            rule.transform_module(module)
        except Exception:  # noqa: BLE001, S110 - a crash costs what it cost; keep timing the rest
            pass
        found += len(rule.findings)
    return found


def naive_worker(list_file: str, jobs: int) -> None:
    """Time the naive way over the listed files in `jobs` processes; print seconds spent on files."""
    paths = Path(list_file).read_text().split("\n")
    from iacfix.registry import all_rules

    all_rules()
    start = time.perf_counter()
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            found = sum(pool.map(_naive_one, paths, chunksize=4))
    else:
        found = sum(map(_naive_one, paths))
    print(json.dumps({"work_seconds": time.perf_counter() - start, "findings": found}))


def parse_worker(list_file: str) -> None:
    """Parse every listed file with libcst, in this one process."""
    import libcst as cst

    for path in Path(list_file).read_text().split("\n"):
        cst.parse_module(Path(path).read_bytes())


# -- measuring ------------------------------------------------------------------------------------

#: Runs a command with its output discarded and prints its wall time, exit code, the peak RSS of
#: the largest process in its tree (RUSAGE_CHILDREN of this otherwise idle parent) and its
#: stdout's last line (the naive worker reports there).
_RUNNER = r"""
import json, resource, subprocess, sys, time
keep = sys.argv[1] == "keep"
start = time.perf_counter()
done = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE if keep else subprocess.DEVNULL,
                      stderr=subprocess.PIPE)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
rss_kb = rss // 1024 if sys.platform == "darwin" else rss
print(json.dumps({"seconds": seconds, "returncode": done.returncode, "rss_kb": rss_kb,
                  "stdout": (done.stdout or b"").decode(errors="replace").strip().splitlines()[-1:],
                  "stderr": done.stderr.decode(errors="replace")[-2000:]}))
"""


@dataclass
class Run:
    """One timed tool run over (some of) the corpus."""

    name: str
    command: str
    seconds: float | None = None  # for the whole corpus (extrapolated when sampled)
    files: int = 0
    peak_rss_mb: float | None = None
    measured_seconds: float | None = None
    measured_files: int | None = None  # set when the run covered a sample
    note: str = ""
    error: str | None = None

    @property
    def files_per_second(self) -> float | None:
        return self.files / self.seconds if self.seconds else None


def measure(command: list[str], cwd: Path, ok_codes=(0, 1), keep_stdout: bool = False) -> dict:
    """Run `command` in a fresh runner process; its seconds, peak RSS (MB) and last stdout line."""
    done = subprocess.run([sys.executable, "-c", _RUNNER, "keep" if keep_stdout else "drop", *command],
                          cwd=cwd, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    result["rss_mb"] = result.pop("rss_kb") / 1024
    if result["returncode"] not in ok_codes:
        tail = result["stderr"].strip().splitlines()[-3:]
        raise RuntimeError(f"`{' '.join(command)}` exited {result['returncode']}: {' / '.join(tail)}")
    return result


def tool(name: str) -> str | None:
    """The executable `name` next to this Python (the venv's), else on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def iacfix_features(iacfix: list[str]) -> dict[str, bool]:
    """Which optional `iacfix check` flags this iacfix has (from its --help)."""
    done = subprocess.run([*iacfix, "check", "--help"], capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    return {flag: f"--{flag}" in text for flag in ("jobs", "cache-dir", "no-cache")}


def iacfix_command(iacfix: list[str], features: dict[str, bool], jobs: int, cache: Path | None,
                   paths: list[str]) -> list[str]:
    """`iacfix check --exit-zero` with the flags this iacfix supports."""
    command = [*iacfix, "check", "--exit-zero"]
    if features["jobs"]:
        command += ["--jobs", str(jobs)]
    if cache is not None and features["cache-dir"]:
        command += ["--cache-dir", str(cache)]
    return command + paths


def clear_default_caches(*directories: Path) -> None:
    """Remove `.iacfix_cache/` directories a cache-dir-less iacfix may have left (cold means cold)."""
    for directory in directories:
        for cache in [directory / ".iacfix_cache", *directory.rglob(".iacfix_cache")]:
            shutil.rmtree(cache, ignore_errors=True)


def time_iacfix(iacfix, features, jobs, corpus: Corpus, cache: Path, warm_too: bool = True) -> list[Run]:
    """`iacfix check` cold, then (optionally) warm over the same cache."""
    shutil.rmtree(cache, ignore_errors=True)
    clear_default_caches(corpus.root.parent)
    command = iacfix_command(iacfix, features, jobs, cache, [corpus.root.name])
    runs = []
    for label in ("cold", "warm")[: 2 if warm_too else 1]:
        if label == "warm" and not (features["cache-dir"] or features["no-cache"]):
            runs.append(Run("iacfix check warm", _shown(command), files=len(corpus.files),
                            note="not run: this iacfix has no result cache (no --cache-dir/--no-cache)"))
            continue
        result = measure(command, corpus.root.parent)
        runs.append(Run(f"iacfix check {label}", _shown(command), result["seconds"], len(corpus.files),
                        result["rss_mb"], note=_pool_note(features, jobs)))
    return runs


def _pool_note(features: dict[str, bool], jobs: int) -> str:
    if not features["jobs"]:
        return "no --jobs flag: one process"
    return f"--jobs {jobs}; RSS of the largest process" if jobs > 1 else "--jobs 1"


def _shown(command: list[str]) -> str:
    return " ".join(Path(part).name if os.sep in part and part.startswith(sys.prefix) else part for part in command)


def time_naive(corpus: Corpus, count: int, jobs: int, seed: int, workdir: Path) -> Run:
    """Every rule as its own parse + transform on a sample; extrapolated to the corpus per file."""
    picked = sample(corpus, count, seed)
    listing = workdir / "naive-files.txt"
    listing.write_text("\n".join(str(corpus.root / f.path) for f in picked))
    command = [sys.executable, str(Path(__file__).resolve()), "_naive", str(listing), str(jobs)]
    result = measure(command, workdir, ok_codes=(0,), keep_stdout=True)
    work = json.loads(result["stdout"][0])["work_seconds"]
    start_up = result["seconds"] - work
    total = start_up + work * len(corpus.files) / len(picked)
    sampled = len(picked) < len(corpus.files)
    note = (f"EXTRAPOLATED from {len(picked)} files ({start_up:.2f} s start-up + per-file time x "
            f"{len(corpus.files)})" if sampled else "whole corpus") + f"; {jobs} processes"
    return Run("naive: parse + transform per rule", "bench.py _naive (rule.transform_module per rule per file)",
               total, len(corpus.files), result["rss_mb"], result["seconds"], len(picked), note)


def time_fixit(corpus: Corpus, count: int, seed: int, workdir: Path) -> Run:
    """`fixit lint` with its default rules, over the corpus or a sample (then extrapolated)."""
    fixit = tool("fixit")
    if fixit is None:
        return Run("fixit lint", "fixit lint", note="not installed (pip install -e '.[bench]')")
    picked = sample(corpus, count, seed)
    sampled = len(picked) < len(corpus.files)
    paths = [f.path for f in picked] if sampled else ["."]
    result = measure([fixit, "lint", *paths], corpus.root)
    total = result["seconds"]
    note = "whole corpus"
    if sampled:
        empty = workdir / "empty"
        empty.mkdir(exist_ok=True)
        (empty / "empty.py").write_text("")
        start_up = measure([fixit, "lint", "empty.py"], empty)["seconds"]
        total = start_up + (result["seconds"] - start_up) * len(corpus.files) / len(picked)
        note = (f"EXTRAPOLATED from {len(picked)} files ({start_up:.2f} s start-up, measured on an empty "
                f"file, + per-file time x {len(corpus.files)})")
    note += "; fixit's own process pool, RSS of the largest process"
    command = f"fixit lint <{len(picked)} sampled files>" if sampled else "fixit lint ."
    return Run("fixit lint (default rules)", command, total, len(corpus.files), result["rss_mb"],
               result["seconds"], len(picked) if sampled else None, note)


def time_ruff(corpus: Corpus) -> Run:
    """`ruff check --select S --no-cache` over the whole corpus: the floor."""
    ruff = tool("ruff")
    if ruff is None:
        return Run("ruff check --select S", "ruff", note="not installed (pip install -e '.[bench]')")
    command = [ruff, "check", "--select", "S", "--no-cache", "."]
    result = measure(command, corpus.root)
    return Run("ruff check --select S", _shown(command), result["seconds"], len(corpus.files), result["rss_mb"],
               note="ruff's own threads")


def time_parse(corpus: Corpus, workdir: Path) -> Run:
    """A bare `libcst.parse_module` of every file, in one process."""
    listing = workdir / "parse-files.txt"
    listing.write_text("\n".join(str(corpus.root / f.path) for f in corpus.files))
    command = [sys.executable, str(Path(__file__).resolve()), "_parse", str(listing)]
    result = measure(command, workdir, ok_codes=(0,))
    return Run("bare libcst.parse_module", "bench.py _parse", result["seconds"], len(corpus.files),
               result["rss_mb"], note="one process, no rules")


def time_small_project(iacfix, features, jobs, workdir: Path, seed: int, repeat: int = 3) -> dict:
    """`iacfix check .` inside one 10-file project, cold and warm: the median of `repeat` runs."""
    corpus = generate_corpus(workdir / "small", FILES_PER_PROJECT, 0.15, seed)
    project = next(p for p in corpus.root.iterdir() if p.is_dir())
    cold, warm = [], []
    for attempt in range(repeat):
        cache = workdir / f"small-cache-{attempt}"
        clear_default_caches(project)
        command = iacfix_command(iacfix, features, jobs, cache, ["."])
        cold.append(measure(command, project)["seconds"])
        warm.append(measure(command, project)["seconds"])
    return {"files": len(corpus.files), "cold_seconds": statistics.median(cold),
            "warm_seconds": statistics.median(warm), "runs": repeat}


def import_time() -> dict:
    """`python -X importtime -c "import iacfix.cli"`: total microseconds and the heavy modules in it."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import iacfix.cli"],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]), match[4]))
    last = rows[-1]
    # `import iacfix.cli` imports `iacfix` first: the top-level entries from it on are the total.
    first = next(i for i, row in enumerate(rows) if row[2] == 1 and row[3].split(".")[0] == "iacfix")
    total = sum(row[1] for row in rows[first:] if row[2] == 1)
    loaded = {row[3] for row in rows}
    heavy = [name for name in ("rich", "git", "github", "ruamel.yaml", "libcst", "typer", "unidiff")
             if name in loaded]
    return {"seconds": total / 1e6, "last_line_cumulative_seconds": last[1] / 1e6, "last_line_module": last[3],
            "heavy_modules_imported": heavy}


# -- report ---------------------------------------------------------------------------------------

TARGETS = (
    # (name, numerator run, denominator run, comparison, target)
    ("naive / cold", "naive: parse + transform per rule", "iacfix check cold", ">=", 10.0),
    ("fixit / cold", "fixit lint (default rules)", "iacfix check cold", ">=", 50.0),
    ("cold / ruff", "iacfix check cold", "ruff check --select S", "<=", 10.0),
    ("warm / ruff", "iacfix check warm", "ruff check --select S", "<=", 2.0),
)


def ratios(runs: list[Run]) -> list[dict]:
    """The issue's ratios, each with its target and PASS/FAIL."""
    by_name = {run.name: run for run in runs}
    found = []
    for name, top, bottom, op, target in TARGETS:
        a, b = by_name.get(top), by_name.get(bottom)
        value = a.seconds / b.seconds if a and b and a.seconds and b.seconds else None
        passed = None if value is None else (value >= target if op == ">=" else value <= target)
        found.append({"ratio": name, "value": value, "target": f"{op} {target:g}x", "pass": passed})
    return found


def verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else "PASS" if passed else "FAIL"


def print_report(result: dict) -> None:
    """The tables: runs, ratios, memory, small project and import time."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    corpus = result["corpus"]
    console.print(f"corpus: {corpus['files']} Python files in {corpus['projects']} projects, "
                  f"{corpus['trigger_files']} with a trigger ({corpus['trigger_share']:.0%}), seed {corpus['seed']}; "
                  f"{result['machine']['cores']} cores, iacfix {result['iacfix_version']}, "
                  f"iacfix flags found: {', '.join(k for k, v in result['iacfix_flags'].items() if v) or 'none'}")
    table = Table(title="Runs (wall clock, each in its own subprocess, interpreter start-up included)")
    for column in ("run", "seconds", "files/s", "peak RSS MB", "note"):
        table.add_column(column, justify="right" if column in ("seconds", "files/s", "peak RSS MB") else "left")
    for run in result["runs"]:
        seconds = f"{run['seconds']:.2f}" if run["seconds"] is not None else "-"
        rate = run["files"] / run["seconds"] if run["seconds"] else None
        rate = "-" if rate is None else f"{rate:.0f}" if rate >= 100 else f"{rate:.2g}"
        rss = f"{run['peak_rss_mb']:.0f}" if run["peak_rss_mb"] is not None else "-"
        note = run["note"] + (f" (measured {run['measured_seconds']:.2f} s)" if run["measured_files"] else "")
        table.add_row(run["name"], seconds, rate, rss, note)
    console.print(table)

    table = Table(title="Ratios (targets of issue 9)")
    for column in ("ratio", "value", "target", "result"):
        table.add_column(column)
    for row in result["ratios"]:
        table.add_row(row["ratio"], f"{row['value']:.2f}x" if row["value"] is not None else "-", row["target"],
                      verdict(row["pass"]))
    memory = result.get("memory_check")
    if memory:
        table.add_row(f"peak RSS {memory['files']} / {corpus['files']} files", f"{memory['ratio']:.2f}x",
                      "<= 1.5x", verdict(memory["pass"]))
    small = result["small_project"]
    table.add_row(f"small project ({small['files']} files), cold", f"{small['cold_seconds']:.2f} s", "< 1 s",
                  verdict(small["cold_seconds"] < 1.0))
    table.add_row(f"small project ({small['files']} files), warm", f"{small['warm_seconds']:.2f} s", "< 1 s",
                  verdict(small["warm_seconds"] < 1.0))
    console.print(table)
    if memory:
        console.print(f"memory check: iacfix check cold on {memory['files']} files: {memory['seconds']:.2f} s, "
                      f"peak RSS {memory['peak_rss_mb']:.0f} MB vs {memory['base_rss_mb']:.0f} MB on "
                      f"{corpus['files']} files")
    imports = result["import_time"]
    console.print(f"import time of iacfix.cli (python -X importtime): {imports['seconds'] * 1000:.0f} ms; "
                  f"heavy modules on that path: {', '.join(imports['heavy_modules_imported']) or 'none'}")
    machine = result["machine"]
    if machine["load_average_before"] is not None:
        console.print(f"load average (1 min) before / after: {machine['load_average_before']:.2f} / "
                      f"{machine['load_average_after']:.2f} on {machine['cores']} cores")
    console.print(f"benchmark wall time: {result['wall_seconds']:.1f} s")


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000, help="Python files in the corpus (default 2000)")
    parser.add_argument("--trigger-share", type=float, default=0.15,
                        help="share of files holding a failure some rule reports (default 0.15)")
    parser.add_argument("--seed", type=int, default=9, help="corpus seed (default 9)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for iacfix --jobs and the naive runner (default: the core count)")
    parser.add_argument("--naive-sample", type=int, default=200,
                        help="files the naive way runs on, extrapolated to the corpus (default 200)")
    parser.add_argument("--fixit-sample", type=int, default=None,
                        help="files fixit runs on, extrapolated (default: all up to 5000 files, else 1000)")
    parser.add_argument("--memory-check", type=int, metavar="M",
                        help="also run iacfix check cold on an M-file corpus and compare peak RSS")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the result")
    parser.add_argument("--keep", type=Path, help="generate the corpus here and keep it (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.files < 1 or args.naive_sample < 1:
        parser.error("--files and --naive-sample must be positive")
    if not 0 <= args.trigger_share <= MAX_TRIGGER_SHARE:
        parser.error(f"--trigger-share must be between 0 and {MAX_TRIGGER_SHARE:.2f}")
    return args


def benchmark(args: argparse.Namespace, workdir: Path) -> dict:
    """Generate the corpus, time every way, and return the result document."""
    started = time.perf_counter()
    load_before = _load()
    iacfix = [tool("iacfix")] if tool("iacfix") else [sys.executable, "-m", "iacfix"]
    features = iacfix_features(iacfix)
    generation = time.perf_counter()
    corpus = generate_corpus((args.keep or workdir) / "corpus", args.files, args.trigger_share, args.seed)
    generation = time.perf_counter() - generation
    print(f"generated {len(corpus.files)} files in {corpus.projects} projects in {generation:.1f} s; timing ...",
          file=sys.stderr)

    runs = time_iacfix(iacfix, features, args.jobs, corpus, workdir / "cache")
    runs.append(time_naive(corpus, args.naive_sample, args.jobs, args.seed, workdir))
    fixit_sample = args.fixit_sample or (len(corpus.files) if len(corpus.files) <= 5000 else 1000)
    runs.append(time_fixit(corpus, fixit_sample, args.seed, workdir))
    runs.append(time_ruff(corpus))
    runs.append(time_parse(corpus, workdir))

    memory = None
    if args.memory_check:
        big = generate_corpus(workdir / "memory" / "corpus", args.memory_check, args.trigger_share, args.seed)
        run = time_iacfix(iacfix, features, args.jobs, big, workdir / "memory-cache", warm_too=False)[0]
        base = runs[0].peak_rss_mb
        memory = {"files": len(big.files), "seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb,
                  "base_rss_mb": base, "ratio": run.peak_rss_mb / base, "pass": run.peak_rss_mb / base <= 1.5}
        shutil.rmtree(workdir / "memory", ignore_errors=True)

    return {
        "command": " ".join(["python", "bench/bench.py", *sys.argv[1:]]),
        "argv": sys.argv,
        "iacfix_version": _version("iacfix"),
        "versions": {name: _version(name) for name in ("libcst", "fixit", "ruff")},
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform,
                    "load_average_before": load_before, "load_average_after": _load()},
        "jobs": args.jobs,
        "iacfix_flags": features,
        "corpus": {"files": len(corpus.files), "projects": corpus.projects, "trigger_files": len(corpus.triggers),
                   "trigger_share": len(corpus.triggers) / len(corpus.files), "seed": args.seed,
                   "generate_seconds": generation},
        "runs": [asdict(run) | {"files_per_second": run.files_per_second} for run in runs],
        "ratios": ratios(runs),
        "memory_check": memory,
        "small_project": time_small_project(iacfix, features, args.jobs, workdir, args.seed),
        "import_time": import_time(),
        "wall_seconds": time.perf_counter() - started,
    }


def _load() -> float | None:
    """The 1-minute load average: other work on the machine skews every number."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_naive":
        return naive_worker(argv[1], int(argv[2]))
    if argv and argv[0] == "_parse":
        return parse_worker(argv[1])
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="iacfix-bench-"))
    try:
        result = benchmark(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
