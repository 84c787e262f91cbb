"""`iacfix verify`: run a Pulumi program under Pulumi's mock runtime before and after the fixes,
and show what the fixes do to the resources it would deploy.

Each run is a subprocess (`iacfix/verify_child.py`) under the project's interpreter, in a temporary
copy of the project (the fixed files written into the copy, never into the user's tree), with a
temporary HOME and TMPDIR, a minimal environment, no network, no processes, no writes outside the
copy, and a timeout that kills the whole process group. It records every resource the program
registers: type, logical name, parent, inputs and options (protect, delete_before_replace,
retain_on_delete, ignore_changes, depends_on), the invokes, the stack outputs, the project files
it loaded, the environment variables it read, and what the guards refused.

`verify` then compares the runs resource by resource (by URN without stack and project), marks a
changed input **replace** where the replacement table (`iacfix/data/replacement.json`) says the
property forces a new resource for that type, and gives every fix a verdict. A fix that makes a
running program fail is rolled back: the fixes are bisected, as (rule, file) pairs in rule order,
until the remaining ones run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from iacfix.context import PROJECT_FILE, context_for_directory, entry_point, load_yaml, project_root, stack_files
from iacfix.errors import UsageError
from iacfix.files import SKIP_DIRS
from iacfix.results import FileResult, Report
from iacfix.shipped_data import load_json

CHILD = Path(__file__).with_name("verify_child.py")
SECRET_PLACEHOLDER = "placeholder-secret-value"
DEFAULT_TIMEOUT = 60.0
DEFAULT_REGION = "us-east-1"
#: Failures that say the environment, not the fix, is wrong: never a reason to roll a fix back.
ENVIRONMENT_FAILURES = frozenset({"missing-package", "interpreter"})
#: What the child's environment holds besides HOME/TMPDIR (and the user's --env): credentials that
#: are obviously fake, so a program that calls AWS reaches the network guard instead of failing on
#: missing credentials, and no instance-metadata lookups or retries.
CHILD_ENVIRONMENT = {
    "LANG": "C.UTF-8",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7VERIFY0",
    "AWS_SECRET_ACCESS_KEY": "iacfix-verify-mock-secret-access-key",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_MAX_ATTEMPTS": "1",
    "PULUMI_SKIP_UPDATE_CHECK": "true",
}


# -- what a run records -----------------------------------------------------------------------


@dataclass(frozen=True)
class RunError:
    """Why a run failed. `kind`: exception, config, import, missing-package, network, write,
    process, signal, exit, timeout, crash or interpreter."""

    kind: str
    message: str
    detail: str = ""


@dataclass(frozen=True)
class Resource:
    key: str  # the URN without stack and project: qualified type (parents' types) :: name
    type: str
    name: str
    parent: str = ""
    custom: bool = True
    inputs: dict[str, Any] = field(default_factory=dict, hash=False)
    protect: bool = False
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    OPTIONS = ("parent", "protect", "delete_before_replace", "retain_on_delete", "ignore_changes", "depends_on")


@dataclass(frozen=True)
class ProgramRun:
    """One run of the program under the mocks."""

    label: str
    ok: bool
    seconds: float
    error: RunError | None = None
    resources: tuple[Resource, ...] = ()
    invokes: tuple[str, ...] = ()
    outputs: dict[str, Any] = field(default_factory=dict, hash=False)
    loaded: frozenset[str] = frozenset()  # project files the program imported or read
    env_read: dict[str, bool] = field(default_factory=dict, hash=False)  # variable -> was it set
    events: tuple[dict, ...] = ()  # what the guards refused or noticed
    stderr: str = ""
    project: str = ""  # the project name this tree's Pulumi.yaml gives

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Resource:
        [resource] = self.of_type(type_token)
        return resource

    @property
    def summary(self) -> str:
        if self.ok:
            return f"ran: {len(self.resources)} resource{'s' * (len(self.resources) != 1)}"
        return f"failed: {self.error.message if self.error else 'unknown error'}"

    def notes(self) -> list[str]:
        """What the program did that the report should name (even when the program went on)."""
        notes = []
        for event in self.events:
            kind, detail = event.get("kind"), event.get("detail")
            if kind == "network":
                via = f"{event['library']} \u2192 " if event.get("library") else ""
                notes.append(f"the program called the network ({via}{detail}); verify blocks the network")
            elif kind == "write":
                notes.append(f"the program wrote outside its directory ({detail}); verify blocked it")
            elif kind == "process":
                notes.append(f"the program started a process ({detail}); verify blocked it")
            elif kind == "signal":
                notes.append(f"the program signalled another process ({detail}); verify blocked it")
            elif kind == "read":
                found = "" if event.get("exists") else "; it does not exist in verify's sandbox"
                notes.append(f"the program read {detail}, outside its directory (from {event.get('caller')}{found})")
        unset = sorted(name for name, present in self.env_read.items() if not present)
        if unset:
            notes.append(f"the program read unset environment variable{'s' * (len(unset) > 1)} "
                         f"{', '.join(unset)} (pass --env NAME=VALUE to set them)")
        return notes


class NotRunnable(Exception):
    """A tree that is not a runnable Pulumi project (no name, no entry point)."""


@dataclass(frozen=True)
class ProjectSettings:
    """What one tree of the project tells the mock runtime: read from the original tree, and again
    from every fixed copy (a fix may rename the project or change its config)."""

    name: str
    main: str  # the entry point file, relative to the root
    config: dict[str, str] = field(hash=False)
    secret_keys: tuple[str, ...] = ()
    region: str = DEFAULT_REGION
    region_source: str = ""
    problem: str = ""  # why this tree cannot run (its entry point is missing): the run fails with it


@dataclass(frozen=True)
class Program:
    """A Pulumi project and how to run it: stack, config set over the stack's, interpreter,
    environment and timeout. `settings` are those of the original tree."""

    root: Path
    stack: str
    settings: ProjectSettings
    overrides: dict[str, str] = field(default_factory=dict, hash=False)  # config set over the stack's
    region_hint: str | None = None  # --region, lib/AWS_REGION or the environment, when no aws:region is set
    hint_source: str = ""
    python: str = sys.executable
    env: dict[str, str] = field(default_factory=dict, hash=False)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def main(self) -> str:
        return self.settings.main

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def region_source(self) -> str:
        return self.settings.region_source

    @classmethod
    def load(cls, path: Path, *, stack: str | None = None, region: str | None = None, python: str | None = None,
             env: dict[str, str] | None = None, config: dict[str, str] | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> Program:
        """The project at or above `path`, with the config of `Pulumi.<stack>.yaml` (the only stack
        file when `stack` is None), `config` (keys with or without namespace) set over it."""
        root = project_root(Path(path))
        if root is None:
            raise UsageError(f"{path}: no {PROJECT_FILE} here or above; verify runs a Pulumi project")
        stacks = stack_files(root)
        if stack is None:
            if len(stacks) > 1:
                raise UsageError(f"{root}: stacks {', '.join(stacks)}; pass --stack to choose one")
            stack = next(iter(stacks), "dev")
        elif stack not in stacks:
            raise UsageError(f"--stack {stack}: no Pulumi.{stack}.yaml in {root}")
        context = context_for_directory(root, region, stack if stack in stacks else None)
        hint, hint_source = (region, "--region") if region else (context.region, context.region_source or "")
        program = cls(root=root, stack=stack, settings=ProjectSettings("", "", {}), overrides=dict(config or {}),
                      region_hint=hint, hint_source=hint_source,
                      python=python or _project_python(root) or sys.executable,
                      env=dict(env or {}), timeout=timeout)
        try:
            return replace(program, settings=program.settings_of(root))
        except NotRunnable as error:
            raise UsageError(str(error)) from None

    def settings_of(self, tree: Path) -> ProjectSettings:
        """Project name, entry point, config and region as this tree (the original or a copy) gives
        them; NotRunnable when the tree is not a runnable Pulumi project."""
        project = load_yaml(tree / PROJECT_FILE)
        if not isinstance(project, dict) or not isinstance(project.get("name"), str):
            raise NotRunnable(f"{PROJECT_FILE}: not a Pulumi project file (no name:)")
        name = project["name"]
        main_name = entry_point(tree, project)
        main, problem = tree / (main_name or "__main__.py"), ""
        if main.is_dir():
            main = main / "__main__.py"
        if main_name is None:
            problem = f"{PROJECT_FILE} has no main: and there is no __main__.py: Pulumi has nothing to run"
        elif not main.is_file():
            problem = f"the entry point {main_name} that {PROJECT_FILE} names does not exist: Pulumi has nothing to run"
        values: dict[str, str] = {}
        secrets: list[str] = []
        declared = project.get("config") if isinstance(project.get("config"), dict) else {}
        for key, value in declared.items():
            if isinstance(value, dict):
                if "value" not in value and "default" not in value:
                    continue
                value = value.get("value", value.get("default"))
            _set_config(values, secrets, name, str(key), value)
        stack_file = stack_files(tree).get(self.stack)
        document = load_yaml(stack_file) if stack_file is not None else None
        stack_config = document.get("config") if isinstance(document, dict) else None
        for key, value in (stack_config if isinstance(stack_config, dict) else {}).items():
            _set_config(values, secrets, name, str(key), value)
        for key, value in self.overrides.items():
            _set_config(values, secrets, name, key, value)
        if values.get("aws:region"):
            region = values["aws:region"]
            source = "--set" if "aws:region" in self.overrides else f"aws:region of stack {self.stack}"
        elif self.region_hint:
            region, source = self.region_hint, self.hint_source
        else:
            region, source = DEFAULT_REGION, "no region configured; the mocks answer"
        return ProjectSettings(name, main.relative_to(tree).as_posix(), values, tuple(secrets), region, source, problem)


def _set_config(values: dict, secrets: list, project: str, key: str, value: Any) -> None:
    key = key if ":" in key else f"{project}:{key}"
    if isinstance(value, dict) and "secure" in value:
        values[key] = SECRET_PLACEHOLDER
        if key not in secrets:
            secrets.append(key)
    else:
        values[key] = value if isinstance(value, str) else json.dumps(value)


def _project_python(root: Path) -> str | None:
    """The interpreter of the virtualenv Pulumi.yaml names (runtime.options.virtualenv), if present."""
    project = load_yaml(root / PROJECT_FILE)
    runtime = project.get("runtime") if isinstance(project, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    if isinstance(venv, str):
        python = (root / venv / "bin" / "python")
        if python.exists():
            return str(python)
    return None


def run_program(program: Program, overrides: dict[str, bytes] | None = None, label: str = "run") -> ProgramRun:
    """Run `program` once, with `overrides` (paths relative to the root -> bytes) written into
    its temporary copy. The user's tree is only read."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iacfix-verify-") as directory:
        sandbox = Path(directory).resolve()
        copy, home, tmp = sandbox / "project", sandbox / "home", sandbox / "tmp"
        shutil.copytree(program.root, copy, symlinks=True, ignore=shutil.ignore_patterns(*SKIP_DIRS))
        home.mkdir()
        tmp.mkdir()
        for name, data in (overrides or {}).items():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            settings = program.settings_of(copy)
        except NotRunnable as error:
            return ProgramRun(label, False, time.monotonic() - started, RunError("project", str(error)))
        if settings.problem:
            return ProgramRun(label, False, time.monotonic() - started, RunError("project", settings.problem),
                              project=settings.name)
        spec = {
            "project": str(copy), "sandbox": str(sandbox), "main": str(copy / settings.main),
            "project_name": settings.name, "stack": program.stack, "region": settings.region,
            "config": settings.config, "secret_keys": list(settings.secret_keys),
            "result": str(sandbox / "result.json"),
        }
        (sandbox / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "TMPDIR": str(tmp),
               "AWS_REGION": settings.region, "AWS_DEFAULT_REGION": settings.region, **CHILD_ENVIRONMENT,
               **program.env}
        with open(sandbox / "stdout", "wb") as out, open(sandbox / "stderr", "wb") as err:
            try:
                process = subprocess.Popen(
                    [program.python, "-I", str(CHILD), str(sandbox / "spec.json")], cwd=copy, env=env,
                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                )
            except OSError as error:
                raise UsageError(f"--python {program.python}: cannot run it ({error.strerror or error})") from None
            timed_out = False
            try:
                process.wait(timeout=program.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(process)
        stderr = (sandbox / "stderr").read_text(encoding="utf-8", errors="replace")
        result_file = sandbox / "result.json"
        data = None
        if result_file.is_file():
            try:
                data = json.loads(result_file.read_text(encoding="utf-8"))
            except ValueError:
                data = None
        seconds = time.monotonic() - started
        if timed_out:
            return ProgramRun(label, False, seconds, RunError(
                "timeout", f"the program did not finish within {program.timeout:g} s; verify stopped it "
                           "(and every process it started)"), stderr=stderr[-4000:], project=settings.name)
        if data is None:
            return ProgramRun(label, False, seconds, _no_result(process.returncode, stderr), stderr=stderr[-4000:],
                              project=settings.name)
        return replace(_from_child(label, seconds, data, stderr), project=settings.name)


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the run's whole process group (its session), whether or not it is still running."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _no_result(returncode: int, stderr: str) -> RunError:
    tail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else returncode
        return RunError("crash", f"the program was killed by {name} before it finished", stderr[-4000:])
    return RunError("exit", f"the interpreter exited with status {returncode} before the program finished"
                            + (f" ({tail})" if tail else ""), stderr[-4000:])


def _from_child(label: str, seconds: float, data: dict, stderr: str) -> ProgramRun:
    error = data.get("error")
    return ProgramRun(
        label=label,
        ok=bool(data.get("ok")) and error is None,
        seconds=seconds,
        error=RunError(error["kind"], error["message"], error.get("detail", "")) if error else None,
        resources=tuple(Resource(
            key=r["key"], type=r["type"], name=r["name"], parent=r["parent"], custom=r["custom"], inputs=r["inputs"],
            protect=r["protect"], delete_before_replace=r["delete_before_replace"],
            retain_on_delete=r["retain_on_delete"], ignore_changes=tuple(r["ignore_changes"]),
            depends_on=tuple(r["depends_on"]),
        ) for r in data.get("resources", [])),
        invokes=tuple(data.get("invokes", [])),
        outputs=data.get("outputs") or {},
        loaded=frozenset(data.get("loaded", [])),
        env_read=data.get("env", {}),
        events=tuple(data.get("events", [])),
        stderr=stderr[-4000:],
    )


# -- what changed -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def replacement_table() -> dict[str, dict[str, str]]:
    """type token -> {input property (as the engine sees it, camelCase): where that fact comes from}."""
    return load_json("iacfix", "replacement.json", _replacement_table,
                     remedy="reinstall iacfix (its derived part: scripts/replacement_from_docstrings.py)")


def _replacement_table(data: dict) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for section in ("curated", "derived"):
        part = data.get(section, {})
        source = part.get("source", section)
        for type_token, properties in part.get("types", {}).items():
            for name in properties:
                table.setdefault(type_token, {}).setdefault(name, source)
    return table


def forces_replacement(type_token: str, prop: str) -> bool:
    return prop in replacement_table().get(type_token, {})


@dataclass(frozen=True)
class PropertyChange:
    name: str  # the input property, or an option (`option protect`)
    old: Any
    new: Any
    replace: bool = False
    details: tuple[tuple[str, Any, Any], ...] = ()  # (path inside the value, old, new) for nested values


@dataclass(frozen=True)
class ResourceChange:
    key: str
    type: str
    name: str
    changes: tuple[PropertyChange, ...]

    @property
    def replaced(self) -> bool:
        return any(c.replace for c in self.changes)


@dataclass(frozen=True)
class ResourceDiff:
    added: tuple[Resource, ...] = ()
    removed: tuple[Resource, ...] = ()
    changed: tuple[ResourceChange, ...] = ()
    outputs: tuple[PropertyChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.outputs)

    @property
    def count(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    @property
    def replaced(self) -> int:
        return sum(c.replaced for c in self.changed)


_MISSING = object()


def diff_runs(before: ProgramRun, after: ProgramRun) -> ResourceDiff:
    """Resources added, removed and changed between two runs (by URN without stack and project)."""
    old = {r.key: r for r in before.resources}
    new = {r.key: r for r in after.resources}
    changed = []
    for key in [k for k in new if k in old]:
        a, b = old[key], new[key]
        changes = []
        for prop in sorted(set(a.inputs) | set(b.inputs)):
            va, vb = a.inputs.get(prop, _MISSING), b.inputs.get(prop, _MISSING)
            if va != vb:
                changes.append(PropertyChange(prop, _shown(va), _shown(vb),
                                              a.custom and forces_replacement(a.type, prop),
                                              tuple(_leaf_changes(va, vb))))
        for option in Resource.OPTIONS:
            va, vb = getattr(a, option), getattr(b, option)
            if va != vb:
                changes.append(PropertyChange(f"option {option}", va, vb))
        if changes:
            changed.append(ResourceChange(key, b.type, b.name, tuple(changes)))
    outputs = [PropertyChange(name, _shown(before.outputs.get(name, _MISSING)),
                              _shown(after.outputs.get(name, _MISSING)))
               for name in sorted(set(before.outputs) | set(after.outputs))
               if before.outputs.get(name, _MISSING) != after.outputs.get(name, _MISSING)]
    return ResourceDiff(
        added=tuple(new[k] for k in new if k not in old),
        removed=tuple(old[k] for k in old if k not in new),
        changed=tuple(changed),
        outputs=tuple(outputs),
    )


def _shown(value: Any) -> Any:
    return None if value is _MISSING else value


def _decoded(value: Any) -> Any:
    """A string holding a JSON object or list (a policy, container definitions) as its data."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secret"}


def _leaf_changes(a: Any, b: Any, path: str = "", secret: bool = False) -> Iterable[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs between two nested values; JSON text is
    compared as data, so one changed field of a container definition shows as that field. Leaves
    inside a secret stay wrapped as {"secret": ...}, so they are never shown."""
    if _is_secret(a) or _is_secret(b):
        secret = True
        a = a["secret"] if _is_secret(a) else a
        b = b["secret"] if _is_secret(b) else b
    a, b = _decoded(a), _decoded(b)
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k, _MISSING) != b.get(k, _MISSING):
                yield from _leaf_changes(a.get(k, _MISSING), b.get(k, _MISSING), f"{path}.{k}" if path else str(k),
                                         secret)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                yield from _leaf_changes(x, y, f"{path}[{i}]", secret)
    elif path:
        old, new = _shown(a), _shown(b)
        yield (path, {"secret": old}, {"secret": new}) if secret else (path, old, new)


def verdict(before: ProgramRun, after: ProgramRun, diff: ResourceDiff | None) -> str:
    if not after.ok:
        return "breaks the run" if before.ok else "the run fails before and after"
    if not before.ok:
        return "fixes the run"
    if diff is None or diff.empty:
        return "no behaviour change"
    if not diff.count:
        return "changes the stack outputs"
    return f"changes {diff.count} resource{'s' * (diff.count != 1)} ({diff.replaced} replaced)"


# -- the fixes and their subsets ----------------------------------------------------------------

#: One fix as verify sees it: a rule's changes to one file.
Pair = tuple[str, Path]


class Fixes:
    """The fixes the engine made (`report`, all selected rules), and the files for any subset of
    them: `compute(rule_ids)` reruns the engine with only those rules (memoised)."""

    def __init__(self, report: Report, compute: Callable[[frozenset[str]], Report], rule_order: Sequence[str]):
        self.report = report
        self._compute = compute
        self._computed: dict[frozenset[str], dict[Path, FileResult]] = {}
        self.files = {Path(r.path).resolve(): r for r in report.files}
        order = {rule_id: i for i, rule_id in enumerate(rule_order)}
        found = {(f.rule_id, Path(f.path).resolve()) for f in report.findings if f.fixed}
        self.pairs: tuple[Pair, ...] = tuple(sorted(
            (p for p in found if p[1] in self.files and self.files[p[1]].changed),
            key=lambda p: (order.get(p[0], len(order)), p[0], p[1].as_posix())))

    def pairs_in(self, root: Path) -> tuple[Pair, ...]:
        root = root.resolve()
        return tuple(p for p in self.pairs if root in p[1].parents)

    def _results(self, rule_ids: frozenset[str]) -> dict[Path, FileResult]:
        if rule_ids not in self._computed:
            self._computed[rule_ids] = {Path(r.path).resolve(): r for r in self._compute(rule_ids).files}
        return self._computed[rule_ids]

    def outputs(self, kept: Iterable[Pair]) -> dict[Path, bytes]:
        """Each changed file's bytes with only the `kept` fixes: the rules kept anywhere, less those
        whose fix in this file is not kept."""
        kept = set(kept)
        rules = frozenset(rule for rule, _ in kept)
        everything = frozenset(rule for rule, _ in self.pairs)
        dropped = set(self.pairs) - kept
        outputs = {}
        for path, result in self.files.items():
            if not result.changed:
                continue
            wanted = frozenset(r for r in rules if (r, path) not in dropped)
            if wanted == everything:
                outputs[path] = result.output
            elif not wanted:
                outputs[path] = result.source
            else:
                found = self._results(wanted).get(path)
                outputs[path] = found.output if found is not None and found.source == result.source else result.source
        return outputs

    def report_for(self, kept: Iterable[Pair]) -> Report:
        """The report with only the `kept` fixes applied and marked fixed."""
        kept = set(kept)
        outputs = self.outputs(kept)
        files = []
        for path, result in self.files.items():
            findings = tuple(replace(f, fixed=f.fixed and (f.rule_id, path) in kept) for f in result.findings)
            files.append(replace(result, output=outputs.get(path, result.output), findings=findings))
        return Report(files=tuple(files))


# -- verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollback:
    rule_id: str
    path: str  # relative to the project root
    error: RunError


@dataclass(frozen=True)
class FixVerdict:
    rule_id: str
    files: tuple[str, ...]  # relative to the project root
    verdict: str
    diff: ResourceDiff | None = None
    error: RunError | None = None
    note: str = ""


@dataclass(frozen=True)
class Verification:
    program: Program
    original: ProgramRun
    fixed: ProgramRun  # with the fixes that were kept
    diff: ResourceDiff | None
    verdict: str
    fixes: tuple[FixVerdict, ...]
    rollbacks: tuple[Rollback, ...]
    kept: tuple[Pair, ...]
    runs: tuple[ProgramRun, ...]  # every run made, in order, for the wall times
    seconds: float

    @property
    def could_not_verify(self) -> RunError | None:
        """An environment failure (a missing package) that kept verify from judging the fixes."""
        for run in (self.original, self.fixed):
            if run.error is not None and run.error.kind in ENVIRONMENT_FAILURES:
                return run.error
        return None

    @property
    def exit_code(self) -> int:
        """0: the fixed program runs and nothing was rolled back; 1: a fix was rolled back, or the
        program fails even with the fixes; 2: verify could not run the program (a missing package)."""
        if self.could_not_verify is not None:
            return 2
        return 1 if self.rollbacks or not self.fixed.ok else 0

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.program.root.resolve()).as_posix()

    def to_json(self) -> dict:
        return {
            "project": self.program.name, "root": str(self.program.root), "stack": self.program.stack,
            "region": self.program.region, "python": self.program.python, "verdict": self.verdict,
            "exit_code": self.exit_code,
            "runs": [_run_json(run) for run in self.runs],
            "original": _run_json(self.original, resources=True),
            "fixed": _run_json(self.fixed, resources=True),
            "diff": _diff_json(self.diff),
            "fixes": [{"rule": f.rule_id, "files": list(f.files), "verdict": f.verdict, "note": f.note,
                       "error": f.error.message if f.error else None, "diff": _diff_json(f.diff)} for f in self.fixes],
            "rolled_back": [{"rule": r.rule_id, "path": r.path, "kind": r.error.kind, "error": r.error.message}
                            for r in self.rollbacks],
            "seconds": round(self.seconds, 2),
        }


def _run_json(run: ProgramRun, resources: bool = False) -> dict:
    data = {"label": run.label, "ok": run.ok, "seconds": round(run.seconds, 2),
            "error": {"kind": run.error.kind, "message": run.error.message} if run.error else None,
            "resources": len(run.resources), "notes": run.notes()}
    if resources:
        data["resources"] = [{k: v for k, v in vars(r).items()} for r in run.resources]
        data["invokes"] = list(run.invokes)
        data["outputs"] = run.outputs
    return data


def _diff_json(diff: ResourceDiff | None) -> dict | None:
    if diff is None:
        return None
    return {
        "added": [{"type": r.type, "name": r.name, "key": r.key} for r in diff.added],
        "removed": [{"type": r.type, "name": r.name, "key": r.key} for r in diff.removed],
        "changed": [{"type": c.type, "name": c.name, "key": c.key, "replace": c.replaced,
                     "changes": [{"property": p.name, "old": p.old, "new": p.new, "replace": p.replace,
                                  "details": [list(d) for d in p.details]} for p in c.changes]}
                    for c in diff.changed],
        "outputs": [{"name": p.name, "old": p.old, "new": p.new} for p in diff.outputs],
    }


class _Runner:
    """Runs the program with subsets of the fixes, keeping every run."""

    def __init__(self, program: Program, fixes: Fixes, jobs: int):
        self.program, self.fixes, self.jobs = program, fixes, max(1, jobs)
        self.runs: list[ProgramRun] = []

    def overrides(self, kept: Iterable[Pair]) -> dict[str, bytes]:
        root = self.program.root.resolve()
        outputs = self.fixes.outputs(kept)
        return {path.relative_to(root).as_posix(): data for path, data in outputs.items()
                if root in path.parents and data != self.fixes.files[path].source}

    def run(self, kept: Iterable[Pair], label: str) -> ProgramRun:
        return self.many([(kept, label)])[0]

    def many(self, jobs: Sequence[tuple[Iterable[Pair], str]]) -> list[ProgramRun]:
        prepared = [(self.overrides(kept), label) for kept, label in jobs]
        if len(prepared) == 1 or self.jobs == 1:
            done = [run_program(self.program, o, label) for o, label in prepared]
        else:
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(prepared))) as pool:
                done = list(pool.map(lambda job: run_program(self.program, *job), prepared))
        self.runs.extend(done)
        return done


def verify(program: Program, fixes: Fixes, *, jobs: int = 2) -> Verification:
    """Run `program` without and with `fixes` (those inside its root), roll back fixes that break
    a running program, and give each rule's fixes a verdict."""
    started = time.monotonic()
    runner = _Runner(program, fixes, jobs)
    pairs = fixes.pairs_in(program.root)
    if pairs:
        original, fixed = runner.many([((), "original"), (pairs, "fixed")])
    else:
        original = runner.run((), "original")
        fixed = original
    kept, rollbacks = list(pairs), []
    if original.ok and not fixed.ok and fixed.error.kind not in ENVIRONMENT_FAILURES:
        kept, rollbacks, fixed = _bisect(runner, kept, fixed)
    diff = diff_runs(original, fixed) if original.ok and fixed.ok else None
    overall = verdict(original, fixed, diff) if pairs else "nothing to fix"
    verdicts = _per_fix(runner, program, pairs, kept, rollbacks, original, fixed, diff)
    return Verification(program, original, fixed, diff, overall, tuple(verdicts), tuple(rollbacks), tuple(kept),
                        tuple(runner.runs), time.monotonic() - started)


def _bisect(runner: _Runner, kept: list[Pair], failing: ProgramRun) -> tuple[list[Pair], list[Rollback], ProgramRun]:
    """Roll back, one at a time, the fix whose addition makes the run fail: the shortest failing
    prefix of the (rule, file) pairs in rule order ends with it. Repeat until the rest runs."""
    rollbacks = []
    root = runner.program.root.resolve()
    run = failing
    while kept and not run.ok and run.error.kind not in ENVIRONMENT_FAILURES:
        good, bad, culprit_run = 0, len(kept), run  # kept[:good] runs (the original does), kept[:bad] fails
        while bad - good > 1:
            middle = (good + bad) // 2
            attempt = runner.run(kept[:middle], f"bisect {middle}/{len(kept)}")
            if attempt.ok:
                good = middle
            else:
                bad, culprit_run = middle, attempt
        rule_id, path = kept.pop(bad - 1)
        rollbacks.append(Rollback(rule_id, path.relative_to(root).as_posix(), culprit_run.error))
        run = runner.run(kept, "fixed" if not kept else f"fixed without {len(rollbacks)}")
    return kept, rollbacks, run


def _per_fix(runner: _Runner, program: Program, pairs: Sequence[Pair], kept: Sequence[Pair],
             rollbacks: Sequence[Rollback], original: ProgramRun, fixed: ProgramRun,
             diff: ResourceDiff | None) -> list[FixVerdict]:
    root = program.root.resolve()
    rules = list(dict.fromkeys(rule for rule, _ in pairs))
    loaded = original.loaded | fixed.loaded
    rolled: dict[str, list[Rollback]] = {}
    for rollback in rollbacks:
        rolled.setdefault(rollback.rule_id, []).append(rollback)

    def matters(path: Path) -> bool:
        name = path.relative_to(root).as_posix()
        return name in loaded or name == program.main or (name.startswith("Pulumi.") and "/" not in name)

    verdicts: dict[str, FixVerdict] = {}
    relevant: list[str] = []
    for rule in rules:
        mine = [p for p in kept if p[0] == rule]
        files = tuple(p[1].relative_to(root).as_posix() for p in pairs if p[0] == rule)
        if rule in rolled:
            first = rolled[rule][0]
            kept_in = ", ".join(p[1].relative_to(root).as_posix() for p in mine)
            note = _rolled_note(rolled[rule]) + (f"; its fixes in {kept_in} are kept" if kept_in else "")
            verdicts[rule] = FixVerdict(rule, files, "breaks the run", error=first.error, note=note)
        elif not any(matters(p[1]) for p in mine):
            unused = ", ".join(p[1].relative_to(root).as_posix() for p in mine)
            verdicts[rule] = FixVerdict(rule, files, "no behaviour change",
                                        note=f"the program does not load {unused}")
        else:
            relevant.append(rule)
    others = {rule for rule, path in kept if rule not in relevant and matters(path)}
    if len(relevant) == 1 and not others:  # the fixed run is this rule's alone, as far as the program sees
        rule = relevant[0]
        verdicts[rule] = FixVerdict(rule, _files(pairs, rule, root), verdict(original, fixed, diff), diff,
                                    fixed.error, _renamed(original, fixed))
    elif relevant:
        runs = runner.many([([p for p in kept if p[0] == rule], f"only {rule}") for rule in relevant])
        for rule, run in zip(relevant, runs):
            own = diff_runs(original, run) if original.ok and run.ok else None
            verdicts[rule] = FixVerdict(rule, _files(pairs, rule, root), verdict(original, run, own), own, run.error,
                                        _renamed(original, run))
    return [verdicts[rule] for rule in rules]


def _renamed(before: ProgramRun, after: ProgramRun) -> str:
    if before.project and after.project and before.project != after.project:
        return (f"the project name changes from {before.project} to {after.project}: the stack config of that "
                "namespace is now read, and a deployed stack's URNs all change")
    return ""


def _files(pairs: Sequence[Pair], rule: str, root: Path) -> tuple[str, ...]:
    return tuple(p[1].relative_to(root).as_posix() for p in pairs if p[0] == rule)


def _rolled_note(rollbacks: Sequence[Rollback]) -> str:
    return "; ".join(f"rolled back in {r.path}: {r.error.message}" for r in rollbacks)


# -- text ---------------------------------------------------------------------------------------

#: Characters of a value shown before it is cut.
VALUE_WIDTH = 90


def shown_value(value: Any) -> str:
    if _is_secret(value):
        return "[secret]" if value["secret"] is not None else "(none)"
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "\u2026"


def diff_lines(diff: ResourceDiff) -> list[str]:
    """The resource diff as text lines: `+` added, `-` removed, `~` changed (`REPLACE` when a
    changed input forces a new resource), each changed input as `old -> new`."""
    lines = []
    for resource in diff.added:
        lines.append(f"+ {resource.type}  {resource.name}")
    for resource in diff.removed:
        lines.append(f"- {resource.type}  {resource.name}")
    for change in diff.changed:
        lines.append(f"~ {change.type}  {change.name}{'  REPLACE' if change.replaced else ''}")
        for prop in change.changes:
            mark = "  (forces replacement)" if prop.replace else ""
            if prop.details and len(prop.details) <= 6:
                for where, old, new in prop.details:
                    where = where if where.startswith("[") else f".{where}"
                    lines.append(f"    {prop.name}{where}: {shown_value(old)} \u2192 {shown_value(new)}{mark}")
            else:
                lines.append(f"    {prop.name}: {shown_value(prop.old)} \u2192 {shown_value(prop.new)}{mark}")
    for output in diff.outputs:
        lines.append(f"  output {output.name}: {shown_value(output.old)} \u2192 {shown_value(output.new)}")
    return lines


@dataclass(frozen=True)
class Verified:
    """The verifications of every project that holds a fix, and the fixes that survived them."""

    fixes: Fixes
    kept: tuple[Pair, ...]
    verifications: tuple[Verification, ...]

    @cached_property
    def report(self) -> Report:
        """The report with only the surviving fixes (fixes outside any project are kept, unverified)."""
        if len(self.kept) == len(self.fixes.pairs):
            return self.fixes.report
        return self.fixes.report_for(self.kept)

    def report_for(self, rule_ids: Iterable[str]) -> Report:
        """The surviving fixes of these rules only (a per-rule pull request)."""
        wanted = set(rule_ids)
        return self.fixes.report_for([p for p in self.kept if p[0] in wanted])

    @property
    def exit_code(self) -> int:
        return max((v.exit_code for v in self.verifications), default=0)

    @property
    def unverified(self) -> tuple[str, ...]:
        """Files with fixes outside every verified project."""
        inside = {p for v in self.verifications for p in self.fixes.pairs_in(v.program.root)}
        return tuple(sorted({p[1].as_posix() for p in self.fixes.pairs if p not in inside}))


def verify_paths(report: Report, compute: Callable[[frozenset[str]], Report], rule_order: Sequence[str],
                 make_program: Callable[[Path], Program], *, jobs: int = 2) -> Verified:
    """Verify every Pulumi project that holds a fix in `report`."""
    fixes = Fixes(report, compute, rule_order)
    roots = sorted({root for _, path in fixes.pairs if (root := project_root(path.parent)) is not None})
    verifications = tuple(verify(make_program(root), fixes, jobs=jobs) for root in roots)
    inside = {pair for v in verifications for pair in fixes.pairs_in(v.program.root)}
    kept = tuple(p for p in fixes.pairs if p not in inside or any(p in v.kept for v in verifications))
    return Verified(fixes, kept, verifications)
