"""The engine: turn bytes into a FileResult. It computes; it never writes.

`fix_source` parses a file once, runs every selected rule on that tree in turn, then re-parses
and compiles the output; if the output is not valid Python where the input was, every fix in the
file is reverted and the file carries an internal error. A rule that crashes (in its prefilter,
its metadata or its transform) is isolated: its changes and findings are dropped and the other
rules still run; any other failure is an internal error of that one file. Binary, undecodable,
too large or too deeply nested files are skipped with the reason (`iacfix.limits`: libcst would
crash the process on them), and every message has the file's secrets masked (`iacfix.redact`).
"""

from __future__ import annotations

import difflib
import functools
import multiprocessing
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import MetadataWrapper

from iacfix import limits, redact
from iacfix.cache import Cache
from iacfix.context import ProjectContext, context_for_directory
from iacfix.errors import REPORT_HINT
from iacfix.files import discover, discover_projects, display_path, unreadable_text
from iacfix.project import Project, ProjectRule
from iacfix.results import FileResult, Finding, Report, Safety
from iacfix.rule import FileContext, Rule, RuleDocs, RuleSettings, parse_suppressions
from iacfix.shipped_data import DataFileError


def fix_source(
    path: str,
    source: bytes,
    rules: Sequence[type[Rule]],
    threshold: Safety | None = Safety.SAFE,
    *,
    project: ProjectContext | None = None,
    settings: RuleSettings | None = None,
) -> FileResult:
    """Run `rules` over one file's bytes and return what they found and what they fixed.

    `threshold` is the least safe fix applied (SAFE by default, UNSAFE with --unsafe-fixes,
    None to apply nothing). Project-level rules in `rules` are ignored here (`run` runs them).
    `settings` carries the profile and per-rule options. Fixes are never written here.
    """
    unchanged = FileResult(path=path, source=source, output=source)
    try:
        result = _fix_source(path, source, rules, threshold, project or ProjectContext(), settings or RuleSettings())
    except (RecursionError, MemoryError) as error:
        result = replace(unchanged, skipped=f"nested too deeply to check safely ({type(error).__name__}); not checked")
    except DataFileError:
        raise  # a broken installation: no file can be checked right, the run stops
    except Exception as error:  # noqa: BLE001 - a bug outside any one rule: this file only
        result = replace(unchanged, error=f"internal error while checking this file ({type(error).__name__}: "
                                          f"{error}); nothing in it was fixed. {REPORT_HINT}")
    return redact.result(result)


def _crashed(rule_id: str, error: Exception) -> str:
    return (f"rule {rule_id} crashed ({type(error).__name__}: {error}); its fixes were not applied and the other "
            f"rules ran. {REPORT_HINT}")


def _fix_source(path: str, source: bytes, rules, threshold, project: ProjectContext,
                settings: RuleSettings) -> FileResult:
    unchanged = FileResult(path=path, source=source, output=source)
    if reason := unreadable_text(source):  # reported whatever the rules: it is not Python source
        return replace(unchanged, skipped=reason)
    errors: list[str] = []
    selected = []
    for rule in rules:
        try:
            if issubclass(rule, Rule) and rule.applies(source, path, project, settings):
                selected.append(rule)
        except DataFileError:
            raise
        except Exception as error:  # noqa: BLE001 - a prefilter's bug is its rule's crash
            errors.append(_crashed(rule.id, error))
    rules = selected
    if not rules:
        return replace(unchanged, error="; ".join(errors) or None)
    if reason := limits.refusal(source):
        return replace(unchanged, skipped=reason)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        return replace(
            unchanged,
            skipped=f"cannot parse at line {error.raw_line}, column {error.raw_column + 1}: "
            f"{error.message}",
        )
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        return replace(unchanged, skipped=f"cannot decode: {error}")

    suppressions = parse_suppressions(module.code)
    tree = module
    findings: list[Finding] = []
    # Metadata is resolved once per tree, for every rule still to run at once (libcst batches
    # the providers into one traversal); only a rule that fixes something makes the next ones
    # resolve again. A transformer always returns a new tree object, so a rule that fixed
    # nothing hands on the tree it was given: its copy would only cost a new resolution.
    wrapper = None
    for index, rule_class in enumerate(rules):
        if wrapper is None or wrapper.module is not tree:
            wrapper = _wrap(tree, rules[index:])
        file = FileContext(
            path=path,
            threshold=threshold,
            project=project,
            settings=settings,
            suppressions=suppressions,
            original_line=_line_map(module.code, tree.code) if tree is not module else _same,
        )
        rule = rule_class(CodemodContext(filename=path), file)
        try:
            new_tree = rule.transform_shared(wrapper)
        except (RecursionError, DataFileError):
            raise  # the file's nesting or iacfix's installation, not the rule
        except Exception as error:  # noqa: BLE001 - one rule's bug must not stop the others
            errors.append(_crashed(rule_class.id, error))
            continue
        findings.extend(rule.findings)
        if any(finding.fixed for finding in rule.findings):
            tree = new_tree

    output = tree.bytes if tree is not module else source
    if output != source and (problem := _invalid_output(path, source, output)):
        errors.append(f"internal error: the fixed code {problem}; all fixes in this file reverted. {REPORT_HINT}")
        output = source
        findings = [replace(f, fixed=False) for f in findings]
    return FileResult(
        path=path,
        source=source,
        output=output,
        findings=tuple(sorted(findings)),
        error="; ".join(errors) or None,
    )


def _wrap(tree: cst.Module, rules: Sequence[type[Rule]]) -> MetadataWrapper:
    """`tree` with the metadata of `rules` resolved at once; if a provider fails on it, without:
    each rule then resolves its own, and the failure is that rule's crash."""
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    try:
        wrapper.resolve_many({p for rule in rules for p in rule.get_inherited_dependencies()})
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001
        wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    return wrapper


def _same(line: int) -> int:
    return line


def _line_map(original: str, current: str) -> Callable[[int], int]:
    """Map lines of `current` back to `original` (earlier rules may have added import lines)."""
    matcher = difflib.SequenceMatcher(
        None, original.splitlines(), current.splitlines(), autojunk=False
    )
    mapping: dict[int, int] = {}
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        for offset in range(b1 - b0):
            # Equal lines map one to one; new or rewritten lines map into the block they replace.
            original_index = a0 + offset if tag == "equal" else min(a0 + offset, max(a1 - 1, a0))
            mapping[b0 + offset + 1] = original_index + 1
    return lambda line: mapping.get(line, line)


def _invalid_output(path: str, source: bytes, output: bytes) -> str | None:
    """Why `output` is not valid Python, or None. Only counts if `source` itself compiled.
    compile() may warn about the user's code (`x is "a"`): iacfix is not a linter, so silence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _compile_problem(path, source, output)


def _compile_problem(path: str, source: bytes, output: bytes) -> str | None:
    try:
        cst.parse_module(output)
        compile(output, path, "exec", dont_inherit=True)
    except (cst.ParserSyntaxError, SyntaxError, ValueError) as error:
        try:
            compile(source, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None  # the input did not compile either (e.g. newer syntax); not our doing
        return f"does not compile ({type(error).__name__}: {error})"
    return None


def run(
    paths: Iterable[str | Path],
    rules: Sequence[type[RuleDocs]],
    threshold: Safety | None = Safety.SAFE,
    *,
    exclude: Iterable[str] = (),
    region: str | None = None,
    stack: str | None = None,
    settings: RuleSettings | None = None,
    jobs: int = 1,
    cache: Cache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Check (and compute fixes for) every Python file under `paths`, and every Pulumi project
    whose Pulumi.yaml is under them. Writes nothing.

    Project-level rules run first; a Python file one of them changed (line endings, say) then
    goes through the Python rules from its changed bytes, so every file has one FileResult. Project
    rules marked `after_python` run last and see the Python fixes (a fix that adds
    `import pulumi_random` makes the project's requirements file need it).

    Python files are fixed over `jobs` processes (results come back in the files' order), and
    `cache` answers for files it has seen with the same bytes, context and rules. `progress`, if
    given, is called with (files done, files in all) as Python files finish.
    """
    context_for_directory.cache_clear()  # files may have changed since an earlier run
    paths = list(paths)
    python_rules = [r for r in rules if issubclass(r, Rule)]
    project_rules = [r for r in rules if issubclass(r, ProjectRule)]
    unreadable: list[tuple[Path, str]] = []
    files = discover(paths, exclude, unreadable)
    settings = settings or RuleSettings()
    context = (exclude, region, stack, settings)
    first = [r for r in project_rules if not r.after_python]
    projects = _run_project_rules(paths, files, first, threshold, *context, cache=cache, jobs=jobs)

    results: dict[Path, FileResult] = {
        directory.resolve(): FileResult(path=display_path(directory), source=b"", output=b"",
                                        skipped=f"cannot read this directory: {reason}; its files were not checked")
        for directory, reason in unreadable}
    tasks = [_Task(file.resolve(), display_path(file), projects.pop(file.resolve(), None),
                   context_for_directory(file.parent.resolve(), region, stack)) for file in files]
    fixed = _fix_all(tasks, python_rules, threshold, settings, jobs=jobs, cache=cache, progress=progress)
    results.update((task.resolved, result) for task, result in zip(tasks, fixed, strict=True))
    results.update(projects)

    late = [r for r in project_rules if r.after_python]
    if late:
        fixed = {path: result.output for path, result in results.items() if result.changed}
        late_results = _run_project_rules(paths, files, late, threshold, *context, fixed=fixed, cache=cache, jobs=jobs,
                                          phase="after_python")
        for path, found in late_results.items():
            earlier = results.get(path)
            if earlier is not None and earlier.silent:
                earlier = replace(earlier, source=found.source, output=found.source)  # its bytes were let go
            results[path] = found if earlier is None else _merged(
                earlier, found, output=found.output if found.changed else earlier.output)
    return Report(files=tuple(sorted(results.values(), key=lambda r: r.path)))


@dataclass(frozen=True)
class _Task:
    """One Python file to fix, and what a project rule made of it first. Its bytes are read by
    whichever process fixes it, so the run never holds every file at once."""

    resolved: Path
    shown: str
    edited: FileResult | None
    project: ProjectContext


#: Below this many files per worker a process pool costs more than it saves.
_FILES_PER_WORKER = 4


def _fix_all(tasks: list[_Task], rules, threshold, settings, *, jobs: int, cache: Cache | None,
             progress: Callable[[int, int], None] | None) -> list[FileResult]:
    """`_fix_task` for every task, in order, in-process or over a pool of `jobs` processes."""
    fix = functools.partial(_fix_task, rules=tuple(rules), threshold=threshold, settings=settings, cache=cache)
    if progress is not None:
        progress(0, len(tasks))
    if jobs > 1 and len(tasks) >= jobs * _FILES_PER_WORKER:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
            return _collect(pool.map(fix, tasks, chunksize=max(1, len(tasks) // (jobs * 8))), len(tasks), progress)
    return _collect(map(fix, tasks), len(tasks), progress)


def _collect(outcomes, total: int, progress) -> list[FileResult]:
    collected = []
    for result in outcomes:
        collected.append(result)
        if progress is not None:
            progress(len(collected), total)
    return collected


def _fix_task(task: _Task, *, rules, threshold, settings, cache: Cache | None) -> FileResult:
    """Read one file, answer from the cache or fix it (and store the result), and return the
    result slim: a silent file's bytes are not carried back."""
    if task.edited is not None:
        source, text = task.edited.source, task.edited.output
    else:
        try:
            if task.resolved.exists() and not task.resolved.is_file():  # a FIFO named on the command line
                raise OSError(0, "not a regular file")  # would block the read
            source = text = task.resolved.read_bytes()
        except OSError as error:
            return FileResult(path=task.shown, source=b"", output=b"",
                              skipped=f"cannot read: {error.strerror or error}")
    key = cache.key(text, task.project, task.shown) if cache is not None else None
    result = cache.get(key, task.shown, text) if key is not None else None
    if result is None:
        result = fix_source(task.shown, text, rules, threshold, project=task.project, settings=settings)
        if key is not None:
            cache.put(key, result)
    if task.edited is not None:  # a project rule changed the file first: report both against the disk
        result = _merged(replace(result, source=source), task.edited,
                         output=source if result.skipped else result.output)
    return result.slim()


def _pool_context():
    """`fork` where the platform has it: workers start with every rule already imported."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else methods[0])


def _merged(result: FileResult, other: FileResult, *, output: bytes) -> FileResult:
    """`result` with `other`'s findings and errors added (two phases that saw the same file)."""
    return replace(
        result,
        output=output,
        findings=tuple(sorted(result.findings + other.findings)),
        error="; ".join(filter(None, (other.error, result.error))) or None,
    )


def _run_project_rules(paths, files, rules, threshold, exclude, region, stack, settings, fixed=None,
                       cache: Cache | None = None, phase: str = "first", jobs: int = 1) -> dict[Path, FileResult]:
    """FileResults, keyed by resolved path, of every file project-level rules changed or flagged.
    `fixed` holds the Python rules' output, for the rules that run after them. Projects are
    checked over `jobs` processes when there are several (each on its own files)."""
    results: dict[Path, FileResult] = {}
    if not rules:
        return results
    todo = []
    found_by_root: dict[Path, dict[Path, FileResult]] = {}  # in discovery order
    roots = [root.resolve() for root in discover_projects(paths, exclude)]
    files_of = _under_roots(((file.resolve(), file) for file in files), roots)
    fixed_of = _under_roots(((path, path) for path in fixed or {}), roots)
    for root in roots:
        found_by_root[root] = {}
        inside = files_of[root]
        own_fixed = {path: fixed[path] for path in fixed_of[root]} if fixed else {}
        context = context_for_directory(root, region, stack)
        key = cache.project_key(root, context, inside, own_fixed, phase) if cache is not None else None
        found = cache.get_project(key, display_path) if key is not None else None
        if found is not None:
            found_by_root[root] = found
            continue
        todo.append((key, (root, context, inside, settings, own_fixed, tuple(rules), threshold)))
    arguments = [task for _, task in todo]
    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=_pool_context()) as pool:
            computed = list(pool.map(_check_project_task, arguments))
    else:
        computed = [_check_project_task(task) for task in arguments]
    for (key, task), found in zip(todo, computed, strict=True):
        found_by_root[task[0]] = found
        if key is not None:
            cache.put_project(key, found)
    for found in found_by_root.values():
        for path, result in found.items():
            results[path] = result if path not in results else _merged(results[path], result, output=result.output)
    return dict(sorted(results.items(), key=lambda item: item[0].as_posix()))


def _under_roots(paths: Iterable[tuple[Path, Path]], roots: Sequence[Path]) -> dict[Path, list[Path]]:
    """For each root, the paths (given as (resolved, as shown) pairs, in order) below it; a path
    in a project nested in another is below both. One pass over the paths' parents: matching
    every path against every root costs projects x files resolves (hours at 20,000 files)."""
    below: dict[Path, list[Path]] = {root: [] for root in roots}
    for resolved, shown in paths:
        for parent in resolved.parents:
            if parent in below:
                below[parent].append(shown)
    return below


def _check_project_task(task) -> dict[Path, FileResult]:
    root, context, inside, settings, fixed, rules, threshold = task
    return _check_project(Project(root, context, inside, display_path, settings, fixed), rules, threshold)


def _check_project(project: Project, rules, threshold) -> dict[Path, FileResult]:
    """Every project-level rule on one project: the files they changed or flagged."""
    findings: dict[Path, list[Finding]] = {}
    errors: dict[Path, list[str]] = {}
    for rule_class in rules:
        rule = rule_class(project, threshold)
        before = project.snapshot()
        try:
            rule.check()
        except DataFileError:
            raise
        except Exception as error:  # noqa: BLE001 - one rule's bug must not stop the others
            errors.setdefault(project.project_file.resolve(), []).append(
                f"rule {rule_class.id} crashed ({type(error).__name__}: {error}); its fixes were not applied"
            )
            project.restore(before)
            continue
        for path, found in rule.findings_by_path.items():
            findings.setdefault(path.resolve(), []).extend(found)
    edits = {path.resolve(): data for path, data in project.edits.items()}
    originals = {path.resolve(): project.original(path) for path in project.edits}
    results = {}
    for path in sorted(set(findings) | set(edits) | set(errors), key=lambda p: p.as_posix()):
        source = originals.get(path)
        if source is None:
            try:
                source = path.read_bytes()
            except OSError:
                source = b""
        results[path] = FileResult(
            path=display_path(path),
            source=source,
            output=edits.get(path, source),
            findings=tuple(sorted(findings.get(path, ()))),
            error="; ".join(errors.get(path, ())) or None,
        )
    return results
