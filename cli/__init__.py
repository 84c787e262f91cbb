"""The `iacfix` command line: a thin typer layer over the engine.

Every command parses options, loads `[tool.iacfix]`, selects rules, calls `iacfix.engine.run`,
renders, and (for `apply`) writes changed files atomically. Exit codes: 0 clean, 1 findings (or a
non-empty diff), 2 iacfix could not do its job (usage, config, a file it could not read, parse or
write, an internal error).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
import traceback
from dataclasses import dataclass, replace
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Annotated, Callable, Optional, TypeVar

import typer
from typer.exceptions import TyperException

from iacfix import __version__
from iacfix import config as config_module
from iacfix import redact
from iacfix.annotations import github_annotations
from iacfix.cache import DEFAULT_DIRECTORY as DEFAULT_CACHE
from iacfix.cache import Cache
from iacfix.context import ProjectContext, context_for_directory, project_root
from iacfix.diff import file_diff, patch, stats
from iacfix.errors import REPORT_HINT, GitHubError, IacfixError, UsageError
from iacfix.files import discover_projects, display_path, stale_temp_files, write_atomic
from iacfix.registry import all_rules, rule_by_id, select_ids
from iacfix.results import FileResult, Report, Safety
from iacfix.settings import RuleSettings

from . import render

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="iacfix",
    help="Find and fix the failures that break `pulumi up` in Pulumi Python programs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class VerifyFormat(str, Enum):
    text = "text"
    json = "json"


Paths = Annotated[Optional[list[Path]], typer.Argument(help="Files or directories [default: .]", show_default=False)]
Select = Annotated[Optional[list[str]], typer.Option("--select", help="Rule ids or prefixes to run (repeatable).")]
Ignore = Annotated[Optional[list[str]], typer.Option("--ignore", help="Rule ids or prefixes to skip (repeatable).")]
UnsafeFixes = Annotated[
    Optional[bool],
    typer.Option("--unsafe-fixes/--no-unsafe-fixes", help="Also apply fixes that may replace deployed resources.",
                 show_default=False),
]
Region = Annotated[Optional[str], typer.Option("--region", help="The AWS region the program deploys to.")]
Stack = Annotated[
    Optional[str], typer.Option("--stack", help="The stack whose Pulumi.<stack>.yaml gives config and region.")
]
Profile = Annotated[
    Optional[str],
    typer.Option("--profile", help="production (default: report unprotected data) or ephemeral (make test "
                 "stacks destroyable).", show_default=False),
]
ConfigPath = Annotated[
    Optional[Path], typer.Option("--config", help="A pyproject.toml to read [tool.iacfix] from.", dir_okay=False)
]
Jobs = Annotated[
    Optional[int],
    typer.Option("--jobs", "-j", min=1, help="Processes to fix files with [default: the machine's cores].",
                 show_default=False),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the result cache.")]
CacheDir = Annotated[
    Optional[Path],
    typer.Option("--cache-dir", file_okay=False,
                 help="Where to keep results of unchanged files [default: .iacfix_cache beside the config].",
                 show_default=False),
]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Print findings only, no summary.")]
VerifyFlag = Annotated[
    bool, typer.Option("--verify", help="Run the program under Pulumi's mock runtime before and after the fixes; "
                       "roll back fixes that break it (runs your code: see `iacfix verify`).")
]
Python = Annotated[
    str | None,
    typer.Option("--python", help="The interpreter to run the program with [default: Pulumi.yaml's virtualenv, "
                 "else iacfix's].", show_default=False),
]
Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Seconds one run of the program may take.")]
EnvVars = Annotated[
    list[str] | None, typer.Option("--env", help="NAME=VALUE in the program's environment (repeatable).")
]
ConfigValues = Annotated[
    list[str] | None,
    typer.Option("--set", help="KEY=VALUE: a config value over the stack's, e.g. --set aws:region=eu-west-1 "
                 "(repeatable).", show_default=False),
]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Also print each project's context.")]

F = TypeVar("F", bound=Callable[..., None])


def handles_errors(command: F) -> F:
    """Turn an IacfixError into one line on stderr and exit 2: the one place errors are caught. Any
    other exception is iacfix's bug: one line asking for a report, and exit 2 as well."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except IacfixError as error:
            _, err = render.consoles()
            err.print(f"[bold red]error[/]: {render.escape(str(error))}")
            raise typer.Exit(EXIT_ERROR) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as error:  # noqa: BLE001 - a bug: one line and exit 2, never 1 ("findings")
            _, err = render.consoles()
            err.print(f"[bold red]error[/]: internal error ({type(error).__name__}: "
                      f"{render.escape(redact.mask(str(error), ()))}). {REPORT_HINT}; IACFIX_TRACEBACK=1 shows where.")
            if os.environ.get("IACFIX_TRACEBACK"):
                traceback.print_exc()
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class _Settings:
    """What a run needs, from the command line over `[tool.iacfix]`."""

    paths: list[Path]
    rule_ids: tuple[str, ...]
    threshold: Safety
    exclude: tuple[str, ...]
    region: Optional[str]
    config: config_module.Config
    stack: Optional[str] = None
    rule_settings: RuleSettings = RuleSettings()

    @property
    def rules(self) -> tuple:
        """The selected rule classes (importing them: libcst and every codemod), once the
        configured rule options are checked against them."""
        self.config.check_options()
        chosen = set(self.rule_ids)
        return tuple(rule for rule in all_rules() if rule.id in chosen)


@dataclass(frozen=True)
class Speed:
    """How a run may go fast: processes, and the result cache."""

    jobs: Optional[int] = None
    no_cache: bool = False
    cache_dir: Optional[Path] = None


def _run(paths, select, ignore, unsafe_fixes, region, config_path, verbose, *, stack: str | None = None,
         profile: str | None = None, speed: Speed = Speed()) -> Report:
    return _execute(_settings(paths, select, ignore, unsafe_fixes, region, config_path, verbose, stack=stack,
                              profile=profile), speed)


def _execute(s: _Settings, speed: Speed = Speed()) -> Report:
    """Run the engine, unless the cache has the report of this very run (same files, context
    and settings): then neither the rules nor libcst are loaded."""
    cache = entry = None
    if not speed.no_cache:
        home = Path(s.config.source).parent if s.config.source else Path.cwd()
        cache = Cache(speed.cache_dir or home / DEFAULT_CACHE, s.rule_ids, s.threshold, s.rule_settings)
        entry = cache.run_entry(s.paths, s.exclude, s.region, s.stack)
        if entry is not None and (report := cache.get_run(entry)) is not None:
            return report
    from iacfix.engine import run  # libcst and the rules: only when something must be computed

    with render.progress_bar() as progress:
        report = run(s.paths, s.rules, s.threshold, exclude=s.exclude, region=s.region, stack=s.stack,
                     settings=s.rule_settings, jobs=speed.jobs or os.cpu_count() or 1, cache=cache,
                     progress=progress)
    if entry is not None:
        cache.put_run(entry, report)
    return report


def _settings(paths, select, ignore, unsafe_fixes, region, config_path, verbose, *, stack=None,
              profile=None) -> _Settings:
    paths = paths or [Path(".")]
    if profile is not None:
        config_module.check_profile(profile, "--profile")
    settings = config_module.load(config_path, start=paths[0])
    rule_ids = select_ids(select or settings.select, [*(settings.ignore or ()), *(ignore or ())])
    unsafe = settings.unsafe_fixes if unsafe_fixes is None else unsafe_fixes
    region = region or settings.region
    if verbose:
        _, err = render.consoles()
        if settings.source:
            err.print(f"[dim]config: {render.escape(settings.source)}[/]")
        err.print(f"[dim]rules: {', '.join(rule_ids) or 'none'}[/]")
        for path in paths:
            directory = path if path.is_dir() else path.parent
            render.context(err, str(path), context_for_directory(directory.resolve(), region, stack))
        for root in discover_projects(paths, settings.exclude):
            if root.resolve() not in {(p if p.is_dir() else p.parent).resolve() for p in paths}:
                render.context(err, str(root), context_for_directory(root.resolve(), region, stack))
    threshold = Safety.UNSAFE if unsafe else Safety.SAFE
    return _Settings(paths, rule_ids, threshold, settings.exclude, region, settings, stack,
                     settings.rule_settings(profile))


def _exit(report: Report, *, failed: bool) -> None:
    if report.problems:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


@app.command()
@handles_errors
def check(
    paths: Paths = None,
    select: Select = None,
    ignore: Ignore = None,
    unsafe_fixes: UnsafeFixes = None,
    region: Region = None,
    stack: Stack = None,
    profile: Profile = None,
    config: ConfigPath = None,
    jobs: Jobs = None,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--output-format", help="How to print findings.")
    ] = OutputFormat.text,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")] = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Report every finding, fixable or not. Writes nothing. Exit 1 if there are findings."""
    s = _settings(paths, select, ignore, unsafe_fixes, region, config, verbose, stack=stack, profile=profile)
    report = _execute(s, Speed(jobs, no_cache, cache_dir))
    out, err = render.consoles()
    if output_format is OutputFormat.json:
        out.print(render.as_json(report), markup=False)
    elif output_format in (OutputFormat.sarif, OutputFormat.github):
        # Written raw: rich would read `:name:` in a message as an emoji code.
        if output_format is OutputFormat.sarif:
            from iacfix.sarif import sarif_log  # imports the engine: only for SARIF

            typer.echo(json.dumps(sarif_log(report, all_rules(), region=s.region, settings=s.rule_settings), indent=2))
        else:
            typer.echo(github_annotations(report), nl=False)
        render.problems(err, report)
        if not quiet:
            render.summary(err, report, applied=False)
    else:
        render.findings(out, report)
        render.problems(err, report)
        if not quiet:
            render.summary(err, report, applied=False)
    _exit(report, failed=bool(report.findings) and not exit_zero)


def _print_diff(report: Report, quiet: bool) -> None:
    data = patch(report.changed)
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    _, err = render.consoles()
    render.problems(err, report)
    if not quiet:
        render.diff_stats(err, stats(data))
    _exit(report, failed=bool(data))


@app.command()
@handles_errors
def diff(
    paths: Paths = None,
    select: Select = None,
    ignore: Ignore = None,
    unsafe_fixes: UnsafeFixes = None,
    region: Region = None,
    stack: Stack = None,
    profile: Profile = None,
    config: ConfigPath = None,
    jobs: Jobs = None,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Print the unified diff `apply` would make (git apply / patch -p1 take it). Writes nothing."""
    speed = Speed(jobs, no_cache, cache_dir)
    _print_diff(_run(paths, select, ignore, unsafe_fixes, region, config, verbose, stack=stack, profile=profile,
                     speed=speed), quiet)


@app.command()
@handles_errors
def apply(
    paths: Paths = None,
    select: Select = None,
    ignore: Ignore = None,
    unsafe_fixes: UnsafeFixes = None,
    region: Region = None,
    stack: Stack = None,
    profile: Profile = None,
    config: ConfigPath = None,
    jobs: Jobs = None,
    no_cache: NoCache = False,
    cache_dir: CacheDir = None,
    dry_run: Annotated[bool, typer.Option("--diff", "--dry-run", help="Print the diff instead of writing.")] = False,
    verify: VerifyFlag = False,
    python: Python = None,
    timeout: Timeout = 60.0,
    env: EnvVars = None,
    values: ConfigValues = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Apply fixes in place (changed files only). Exit 0 if nothing remains, 1 if findings remain.
    With --verify, only the fixes that keep the program running are written (2: could not verify)."""
    s = _settings(paths, select, ignore, unsafe_fixes, region, config, verbose, stack=stack, profile=profile)
    if verify:
        verifier = _verifier(s, VerifyOptions(python, timeout, tuple(env or ()), tuple(values or ()), stack, region,
                                              jobs))
    report = _execute(s, Speed(jobs, no_cache, cache_dir))
    out, err = render.consoles()
    if verify and report.changed:
        verified = verifier(report, s.paths)
        for verification in verified.verifications:
            render.verification(err, verification)
        for path in verified.unverified:
            err.print(f"[yellow]not verified[/]: {render.escape(path)} is in no Pulumi project")
        if verified.exit_code == EXIT_ERROR:
            err.print("[bold red]error[/]: verify could not run the program; nothing written")
            raise typer.Exit(EXIT_ERROR)
        report = verified.report
    if dry_run:
        _print_diff(report, quiet)
    final = Report(files=tuple(_write(r) if r.changed else r for r in report.files))
    stale = _remove_stale_temp_files(paths or [Path(".")])
    render.findings(out, final, remaining_only=True)
    render.problems(err, final)
    if stale and not quiet:
        err.print(f"Removed {len(stale)} temporary file{'s' * (len(stale) != 1)} an interrupted iacfix run "
                  f"left behind: {render.escape(', '.join(stale))}")
    if not quiet:
        render.summary(err, final, applied=True)
    _exit(final, failed=bool(final.remaining))


def _remove_stale_temp_files(paths: list[Path]) -> list[str]:
    """Delete the temporary files of iacfix runs that were killed while writing (never any other file)."""
    removed = []
    for path in stale_temp_files(paths):
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(display_path(path))
    return removed


def _write(result: FileResult) -> FileResult:
    """Write one changed file; if that fails, the result says so and its fixes count as unfixed."""
    try:
        write_atomic(Path(result.path), result.output, expected=result.source)
    except (IacfixError, OSError) as error:
        return replace(
            result,
            output=result.source,
            findings=tuple(replace(f, fixed=False) for f in result.findings),
            error=f"not written: {error}",
        )
    return result


@dataclass(frozen=True)
class VerifyOptions:
    """How `verify` (and `--verify`) runs the program."""

    python: str | None = None
    timeout: float = 60.0
    env: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    stack: str | None = None
    region: str | None = None
    jobs: int | None = None


def _pairs(items: list[str] | tuple[str, ...] | None, option: str) -> dict[str, str]:
    found = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} {item}: expected NAME=VALUE")
        found[name] = value
    return found


def _compute(s: _Settings, paths: list[Path]) -> Callable[[frozenset[str]], Report]:
    """The engine on `paths` with only some of the selected rules: verify's subsets of the fixes."""

    from iacfix.engine import run

    def compute(rule_ids: frozenset[str]) -> Report:
        return run(paths, [r for r in s.rules if r.id in rule_ids], s.threshold, exclude=s.exclude,
                   region=s.region, stack=s.stack, settings=s.rule_settings)

    return compute


def _programs(options: VerifyOptions):
    """A function from a project root to the Program verify runs (options checked first)."""
    from iacfix.verify import Program

    env = _pairs(options.env, "--env")
    values = _pairs(options.values, "--set")
    if options.region:
        values.setdefault("aws:region", options.region)

    def program(root: Path) -> Program:
        return Program.load(root, stack=options.stack, region=options.region, python=options.python, env=env,
                            config=values, timeout=options.timeout)

    return program


def _verify_jobs(options: VerifyOptions) -> int:
    return min(options.jobs or os.cpu_count() or 1, 4)


def _verifier(s: _Settings, options: VerifyOptions):
    """verify_paths for a report computed on `paths`: what `apply --verify` and `pr --verify` use."""
    from iacfix.verify import verify_paths

    programs = _programs(options)

    def verifier(report: Report, paths: list[Path]):
        return verify_paths(report, _compute(s, paths), [r.id for r in s.rules], programs, jobs=_verify_jobs(options))

    return verifier


@app.command()
@handles_errors
def verify(
    project: Annotated[Path | None, typer.Argument(help="The Pulumi project (directory with Pulumi.yaml) "
                                                           "[default: .]", show_default=False)] = None,
    select: Select = None,
    ignore: Ignore = None,
    unsafe_fixes: UnsafeFixes = None,
    region: Region = None,
    stack: Stack = None,
    profile: Profile = None,
    config: ConfigPath = None,
    python: Python = None,
    timeout: Timeout = 60.0,
    env: EnvVars = None,
    values: ConfigValues = None,
    jobs: Jobs = None,
    output_format: Annotated[
        VerifyFormat, typer.Option("--output-format", help="How to print the verification.")
    ] = VerifyFormat.text,
    verbose: Verbose = False,
) -> None:
    """Run the program under Pulumi's mock runtime before and after the fixes and show what they
    change. Runs your code (isolated; see README). Writes nothing. Exit 0 if the fixed program runs
    and no fix was rolled back, 1 otherwise, 2 if it could not run the program."""
    from iacfix.verify import Fixes
    from iacfix.verify import verify as verify_program

    given = project or Path(".")
    root = project_root(given.parent if given.is_file() else given)
    if root is None:
        raise UsageError(f"{given}: no Pulumi.yaml here or above; verify runs a Pulumi project")
    s = _settings([root], select, ignore, unsafe_fixes, region, config, verbose, stack=stack, profile=profile)
    options = VerifyOptions(python, timeout, tuple(env or ()), tuple(values or ()), stack, region, jobs)
    program = _programs(options)(root)
    report = _execute(s, Speed(jobs, True, None))
    fixes = Fixes(report, _compute(s, s.paths), [r.id for r in s.rules])
    result = verify_program(program, fixes, jobs=_verify_jobs(options))
    out, err = render.consoles()
    if output_format is VerifyFormat.json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        render.verification(out, result)
    render.problems(err, report)
    raise typer.Exit(EXIT_ERROR if report.problems else result.exit_code)


@app.command()
@handles_errors
def commit(
    paths: Paths = None,
    per_rule: Annotated[bool, typer.Option("--per-rule", help="One commit per rule instead of one per run.")] = False,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Also fix files with uncommitted changes; they are committed whole.")
    ] = False,
    select: Select = None,
    ignore: Ignore = None,
    unsafe_fixes: UnsafeFixes = None,
    region: Region = None,
    profile: Profile = None,
    config: ConfigPath = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Apply fixes, then commit only the files iacfix changed. Exit as apply; 2 if it refuses."""
    s = _settings(paths, select, ignore, unsafe_fixes, region, config, verbose, profile=profile)
    from iacfix import git as git_module  # GitPython: imported only by the commands that use it

    outcome = git_module.commit_fixes(s.paths, s.rules, s.threshold, exclude=s.exclude, region=s.region,
                                      per_rule=per_rule, allow_dirty=allow_dirty, settings=s.rule_settings)
    out, err = render.consoles()
    render.findings(out, outcome.report, remaining_only=True)
    for made in outcome.commits:  # raw: rich would read `:name:` as an emoji code
        typer.echo(f"[{made.sha[:8]}] {made.subject} ({len(made.files)} file{'s' * (len(made.files) != 1)})")
    render.problems(err, outcome.report)
    if not quiet:
        render.summary(err, outcome.report, applied=True)
    _exit(outcome.report, failed=bool(outcome.report.remaining))


@app.command()
@handles_errors
def pr(
    paths: Paths = None,
    repo: Annotated[Optional[str], typer.Option("--repo", help="The GitHub repository, OWNER/NAME (required).")] = None,
    base: Annotated[str, typer.Option("--base", help="The branch to fix and to open the PR against.")] = "main",
    remote: Annotated[str, typer.Option("--remote", help="The git remote to fetch from and push to.")] = "origin",
    api_url: Annotated[
        Optional[str],
        typer.Option("--api-url", help="For GitHub Enterprise: https://HOST/api/v3 [default: https://api.github.com].",
                     show_default=False),
    ] = None,
    token_env: Annotated[str, typer.Option("--token-env", help="The variable holding the token.")] = "GITHUB_TOKEN",
    draft: Annotated[bool, typer.Option("--draft", help="Open draft pull requests.")] = False,
    group: Annotated[bool, typer.Option("--group/--per-rule", help="One PR for all rules, or one per rule.")] = True,
    force: Annotated[bool, typer.Option("--force", help="Open a PR even if one for the same fix was closed.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print branch, title, body; touch no remote, no API.")] = (
        False
    ),
    verify: VerifyFlag = False,
    python: Python = None,
    timeout: Timeout = 60.0,
    env: EnvVars = None,
    values: ConfigValues = None,
    select: Select = None,
    ignore: Ignore = None,
    unsafe_fixes: UnsafeFixes = None,
    region: Region = None,
    profile: Profile = None,
    config: ConfigPath = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Open or update a pull request with the fixes, built from the base in a temporary worktree.

    Your working tree, index and branches are never touched. Exit 0 when done, 2 on an error.
    """
    if not repo or not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise UsageError("--repo OWNER/NAME is required (e.g. --repo acme/infra)")
    token = os.environ.get(token_env, "")
    if not dry_run and not token:
        raise GitHubError(f"no GitHub token: set {token_env} (or name another variable with --token-env)")
    s = _settings(paths, select, ignore, unsafe_fixes, region, config, verbose, profile=profile)
    from iacfix import pr as pr_module  # GitPython and PyGithub: only for `pr`
    from iacfix.github import DEFAULT_API_URL, GitHub

    options = pr_module.Options(repo=repo, base=base, remote=remote, draft=draft, per_rule=not group, force=force,
                                labels=s.config.pr_labels, secrets=(token,) if token else ())
    verifier = _verifier(s, VerifyOptions(python, timeout, tuple(env or ()), tuple(values or ()), None, region)) \
        if verify else None
    hub = None if dry_run else GitHub(repo, token, api_url=api_url or DEFAULT_API_URL, token_env=token_env)
    try:
        outcome = pr_module.pull_requests(s.paths, s.rules, s.threshold, options, exclude=s.exclude,
                                          region=s.region, hub=hub, settings=s.rule_settings, verifier=verifier)
    finally:
        if hub is not None:
            hub.close()
    _, err = render.consoles()
    if not outcome.proposals:
        err.print(f"Nothing to fix on {render.escape(base)}.")
    for action in outcome.actions:  # raw, like the body: rich would read `:name:` as an emoji code
        typer.echo(action)
    if dry_run:
        for proposal in outcome.proposals:
            typer.echo(f"would push branch {proposal.branch}: commit {proposal.commit[:8]} on {base} "
                       f"({proposal.base[:8]})\nwould open a pull request against {base}:\n\n"
                       f"title: {proposal.title()}\n\n{proposal.body(base)}")
    for verification in outcome.verifications:
        render.verification(err, verification)
    render.problems(err, outcome.report)
    left = [f for f in outcome.report.remaining if f.fixable]
    if left and not quiet:
        err.print(f"{len(left)} fixable finding{'s' * (len(left) != 1)} not in any pull request "
                  "(unsafe fixes need --unsafe-fixes; `iacfix check` lists them).")
    raise typer.Exit(EXIT_ERROR if outcome.report.problems else EXIT_CLEAN)


@app.command()
@handles_errors
def rules(
    rule_id: Annotated[Optional[str], typer.Argument(help="Explain one rule: its docs and example.")] = None,
) -> None:
    """List the rules (id, fix safety, title), or explain one with its example as a diff."""
    out, _ = render.consoles()
    if rule_id is None:
        render.rule_table(out, all_rules())
        return
    rule = rule_by_id(rule_id)
    render.rule_doc(out, rule, example_patch(rule.id))


def example_patch(rule_id: str) -> bytes | None:
    """The rule's `example` fixture as a diff, from the installed fixtures: a file pair, or for a
    project-level rule a pair of project trees. A report-only rule's `example.flagged.py` is shown
    as the file with the findings the rule reports on it."""
    folder = resources.files("iacfix.fixtures") / rule_id
    before, after = folder / "example.before.py", folder / "example.after.py"
    if before.is_file() and after.is_file():
        return file_diff(FileResult(path="example.py", source=before.read_bytes(), output=after.read_bytes()))
    flagged = folder / "example.flagged.py"
    if flagged.is_file():
        return _flagged_example(rule_id, flagged.read_bytes(), _example_context(folder))
    before, after = _files_under(folder / "example" / "before"), _files_under(folder / "example" / "after")
    if not after:
        return None
    if before == after:  # a report-only project rule: show what it reports on the example project
        return _reported_in_project(rule_id, before)
    return patch(
        FileResult(path=name, source=before.get(name, b""), output=after.get(name, b""))
        for name in sorted(before.keys() | after.keys())
    )


def _reported_in_project(rule_id: str, files: dict[str, bytes]) -> bytes:
    """The findings of a report-only project rule on its example project, each with its line."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        from iacfix.engine import run

        report = run([root], [rule_by_id(rule_id)], None)
    lines = []
    for finding in report.findings:
        name = Path(finding.path).resolve().relative_to(root.resolve()).as_posix()
        text = files[name].decode("utf-8", errors="replace").splitlines()[finding.line - 1].strip()
        lines += [f"{name}:{finding.line}:{finding.column}: {text}", f"    {finding.rule_id} {finding.message}"]
    return ("\n".join(lines) + "\n").encode()


def _example_context(folder) -> dict:
    """The `[example]` table of the rule's fixture context.toml (region, profile, options...)."""
    context = folder / "context.toml"
    return config_module.toml_loads(context.read_text(encoding="utf-8")).get("example", {}) if context.is_file() else {}


def _flagged_example(rule_id: str, source: bytes, context: dict) -> bytes:
    project = ProjectContext(region=context.get("region"), aws_major=context.get("aws-major"))
    settings = RuleSettings(profile=context.get("profile"), options={rule_id: context.get("options", {})})
    from iacfix.engine import fix_source

    result = fix_source("example.py", source, [rule_by_id(rule_id)], None, project=project, settings=settings)
    lines = [f"example.py:{f.line}:{f.column}: {f.rule_id} {f.message}" for f in result.findings]
    return source + b"\n" + "\n".join(lines).encode() + b"\n"


def _files_under(folder, prefix: str = "") -> dict[str, bytes]:
    """Bytes of every file under a package-resource folder, by relative path."""
    if not folder.is_dir():
        return {}
    found: dict[str, bytes] = {}
    for entry in folder.iterdir():
        if entry.is_dir():
            found.update(_files_under(entry, f"{prefix}{entry.name}/"))
        elif entry.is_file():
            found[prefix + entry.name] = entry.read_bytes()
    return found


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"iacfix {__version__}")
        raise typer.Exit()


@app.callback()
def common(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Find and fix the failures that break `pulumi up` in Pulumi Python programs."""


def main() -> None:
    app()
