"""How results look: rich on a terminal, plain text when piped, JSON on request."""

from __future__ import annotations

import contextlib
import inspect
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from iacfix.context import ProjectContext
from iacfix.diff import FileStat
from iacfix.results import Finding, Report, Safety

if TYPE_CHECKING:
    from rich.progress import Progress

    from iacfix.rule import Rule
    from iacfix.verify import Verification

SAFETY_STYLE = {Safety.SAFE: "green", Safety.UNSAFE: "yellow", Safety.DISPLAY_ONLY: "magenta"}


def consoles() -> tuple[Console, Console]:
    """(stdout, stderr) consoles, created per command so tests can capture them. No emoji codes:
    `lib/x.py:100:24` must not print as `lib/x.py💯24`."""
    return (Console(highlight=False, soft_wrap=True, emoji=False),
            Console(stderr=True, highlight=False, soft_wrap=True, emoji=False))


@contextlib.contextmanager
def progress_bar(after: float = 1.0) -> Iterator[Callable[[int, int], None]]:
    """A callback for the engine's progress: a bar on stderr when it is a terminal and the run
    has taken longer than `after` seconds. No refresh thread (the engine may fork workers)."""
    err = Console(stderr=True)
    started = time.monotonic()
    bar: Progress | None = None
    task = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            if not err.is_terminal or time.monotonic() - started < after or done >= total:
                return
            from rich.progress import MofNCompleteColumn, Progress  # only when a run is slow

            bar = Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=err,
                           transient=True, auto_refresh=False)
            bar.start()
            task = bar.add_task("checking", total=total)
        bar.update(task, completed=done)
        bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def finding_line(finding: Finding) -> str:
    marker = "[bold green]\\[*][/] " if finding.fixed else ""
    return (
        f"[bold]{escape(finding.path)}[/]:{finding.line}:{finding.column}: "
        f"[red]{finding.rule_id}[/] {marker}{escape(finding.message)}"
    )


def findings(out: Console, report: Report, *, remaining_only: bool = False) -> None:
    for finding in report.remaining if remaining_only else report.findings:
        out.print(finding_line(finding))


def problems(err: Console, report: Report) -> None:
    for result in report.problems:
        if result.skipped:
            err.print(f"[bold red]error[/]: {escape(result.path)}: {escape(result.skipped)}")
        if result.error:
            err.print(f"[bold red]error[/]: {escape(result.path)}: {escape(result.error)}")


def summary(err: Console, report: Report, *, applied: bool) -> None:
    """ruff-like closing lines: what was found, what was (or would be) fixed, what remains."""
    found = report.findings
    fixed = [f for f in found if f.fixed]
    unsafe = [f for f in found if not f.fixed and f.safety is Safety.UNSAFE]
    human = [f for f in found if f.safety is Safety.DISPLAY_ONLY]
    files = len(report.files)
    if applied:
        err.print(f"Fixed {_count(len(fixed), 'finding')} in {_count(len(report.changed), 'file')}; "
                  f"{_count(len(found) - len(fixed), 'finding')} remain.")
    elif not found:
        err.print(f"All checks passed ({_count(files, 'file')} checked).")
        return
    else:
        err.print(f"Found {_count(len(found), 'finding')} in {_count(files, 'file')} checked.")
        if fixed:
            err.print(f"[green]\\[*][/] {len(fixed)} fixable with `iacfix apply`.")
    if unsafe:
        err.print(f"{len(unsafe)} more fixable with `--unsafe-fixes` "
                  "(they may replace deployed resources; review the diff).")
    if human:
        err.print(f"{len(human)} need a human decision (display only; see each message).")


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "findings": [
                {
                    "path": f.path, "line": f.line, "column": f.column, "rule": f.rule_id,
                    "message": f.message, "safety": f.safety.value, "fixed": f.fixed,
                }
                for f in report.findings
            ],
            "errors": [
                {"path": r.path, "message": r.skipped or r.error} for r in report.problems
            ],
        },
        indent=2,
    )


def diff_stats(err: Console, stats: Iterable[FileStat]) -> None:
    stats = list(stats)
    width = max((len(stat.path) for stat in stats), default=0)
    for stat in stats:
        err.print(f" {escape(stat.path):<{width}} | [green]+{stat.added}[/] [red]-{stat.removed}[/]")
    if stats:
        added = sum(s.added for s in stats)
        removed = sum(s.removed for s in stats)
        err.print(f" {_count(len(stats), 'file')} changed, {added} insertions(+), {removed} deletions(-)")


def context(err: Console, label: str, project: ProjectContext) -> None:
    err.print(f"[dim]context for {escape(label)}: {escape(project.describe())}[/]")


def rule_table(out: Console, rules: Iterable[type[Rule]]) -> None:
    rules = list(rules)
    if not out.is_terminal:  # plain, one line per rule, never wrapped: easy to grep and cut
        width = max(len(r.id) for r in rules)
        for rule in rules:
            out.print(f"{rule.id:<{width}}  {rule.safety.value:<12}  {rule.title}", markup=False)
        return
    from rich.table import Table

    table = Table(pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("safety", no_wrap=True)
    table.add_column("title")
    for rule in rules:
        table.add_row(rule.id, f"[{SAFETY_STYLE[rule.safety]}]{rule.safety.value}[/]", escape(rule.title))
    out.print(table)


def rule_doc(out: Console, rule: type[Rule], example_patch: bytes | None) -> None:
    doc = inspect.cleandoc(rule.__doc__ or "")
    text = f"# {rule.id}\n\n{rule.title}. Fix safety: **{rule.safety.value}**.\n\n{doc}\n"
    if rule.options:
        settings = "\n".join(f"- `{name}` (default: `{default!r}`)" for name, default in rule.options.items())
        text += f"\n## Options\nSet in `[tool.iacfix.options.{rule.id}]` of pyproject.toml:\n{settings}\n"
    if out.is_terminal:
        from rich.markdown import Markdown

        out.print(Markdown(text))
    else:
        out.print(escape(text), markup=False)
    if example_patch:
        out.print("## Example", markup=False)
        out.file.write(example_patch.decode("utf-8", errors="replace"))  # raw: a diff is exact text


def _table(out: Console, headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A rich table on a terminal; aligned plain columns, never wrapped, when piped."""
    if out.is_terminal:
        from rich.table import Table

        table = Table(pad_edge=False, box=None, header_style="bold")
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        out.print(table)
        return
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    for row in [headers, *rows]:
        cells = [f"{cell:<{width}}" for cell, width in zip(row, widths)] + [row[-1]]
        out.print("  " + "  ".join(cells).rstrip(), markup=False)


def verification(out: Console, v: Verification) -> None:
    """`iacfix verify`'s report: the runs with their wall times, a verdict per fix, what was rolled
    back and why, what the program did that verify blocked, and the resource diff."""
    from iacfix.verify import diff_lines  # only verify pays for importing it

    p = v.program
    out.print(f"[bold]verify {escape(p.name)}[/] at {escape(str(p.root))}: stack {escape(p.stack)}, region "
              f"{escape(p.region)} ({escape(p.region_source)}), python {escape(p.python)}")
    _table(out, ("run", "result", "wall time"),
           [(run.label, run.summary, f"{run.seconds:.1f} s") for run in v.runs])
    if v.fixes:
        out.print("")
        _table(out, ("fix", "verdict", "files"),
               [(f.rule_id, f.verdict + (f" ({f.note})" if f.note else ""), ", ".join(f.files)) for f in v.fixes])
    for rollback in v.rollbacks:
        out.print(f"[bold red]rolled back[/] {escape(rollback.rule_id)} in {escape(rollback.path)}: it breaks the "
                  f"run: {escape(rollback.error.message)}")
    for note in dict.fromkeys(v.original.notes() + v.fixed.notes()):
        out.print(f"[yellow]note[/]: {escape(note)}")
    if v.diff is not None and not v.diff.empty:
        out.print("\n[bold]resource changes[/] (original \u2192 fixed):")
        for line in diff_lines(v.diff):
            style = {"+": "green", "-": "red", "~": "yellow"}.get(line[:1])
            out.print(f"[{style}]{escape(line)}[/]" if style else escape(line))
    problem = v.could_not_verify
    if problem is not None:
        out.print(f"[bold red]could not verify[/]: {escape(problem.message)}")
    out.print(f"[bold]verdict[/]: {escape(v.verdict)} ({len(v.runs)} run{'s' * (len(v.runs) != 1)}, "
              f"{v.seconds:.1f} s)")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
