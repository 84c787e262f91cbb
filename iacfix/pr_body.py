"""The text of an iacfix pull request: title, and a body a reviewer can act on.

The body has a table of the fixes (rule, file, lines, safety), each rule's "why" and fix safety
from its docstring, the diffstat, how to suppress or configure a rule away, and a hidden marker
with the fingerprint that `iacfix pr` finds again on its next run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from iacfix import __version__
from iacfix.diff import stats
from iacfix.git import subject
from iacfix.registry import rule_by_id
from iacfix.results import Finding, Safety
from iacfix.verify import Verification, diff_lines

#: Rows shown in the table; GitHub rejects bodies over 65536 characters.
MAX_ROWS = 100


def marker(fingerprint: str) -> str:
    return f"<!-- iacfix-fingerprint: {fingerprint} -->"


def title(rule_ids: Iterable[str]) -> str:
    return subject(rule_ids)


def body(findings: Sequence[Finding], patch: bytes, fingerprint: str, base: str,
         verifications: Sequence[Verification] = ()) -> str:
    """The pull request body for the fixed `findings`, whose changes are `patch`, on `base`; with
    `verifications` (`--verify`), what running the program before and after showed."""
    rule_ids = sorted({f.rule_id for f in findings})
    files = sorted({f.path for f in findings})
    parts = [
        (f"iacfix fixed {_count(len(findings), 'failure')} in {_count(len(files), 'file')}: code that breaks "
         f"`pulumi up` or weakens the stack. Each change was re-parsed and compiled before it was "
         f"committed; the branch is one commit on `{base}`."),
        _table(findings),
    ]
    unsafe = sorted({f.rule_id for f in findings if f.safety is Safety.UNSAFE})
    if unsafe:
        names = ", ".join(f"`{rule_id}`" for rule_id in unsafe)
        parts.append(
            "> [!WARNING]\n"
            f"> {names}: **unsafe** fix{'es' if len(unsafe) > 1 else ''}. A deployed resource may be "
            "replaced or a runtime value changes; run `pulumi preview` on this branch before merging."
        )
    if verifications:
        parts.append(verify_section(verifications, rule_ids))
    parts.append("## Why these changes")
    for rule_id in rule_ids:
        parts.append(_rule_section(rule_id))
    parts.append("## Diffstat\n\n```text\n" + _diffstat(patch) + "```")
    parts.append(_opt_out(rule_ids))
    parts.append(f"<sub>Opened by iacfix {__version__} (`iacfix pr`); fingerprint `{fingerprint}`.</sub>\n"
                 + marker(fingerprint))
    return "\n\n".join(parts) + "\n"


#: Resource-diff lines shown in the body before the rest is cut.
MAX_DIFF_LINES = 200


def verify_section(verifications: Sequence[Verification], rule_ids: Sequence[str]) -> str:
    """`iacfix verify`'s summary: runs, a verdict per fix of this pull request, rollbacks, notes
    and the resource diff."""
    parts = ["## Verify"]
    for v in verifications:
        p = v.program
        lines = [(f"`iacfix verify` ran `{p.name}` (stack `{p.stack}`, region `{p.region}`) under Pulumi's mock "
                  f"runtime before and after these fixes: **{v.verdict}**."), "",
                 "| run | result | wall time |", "|---|---|---|"]
        lines += [f"| {run.label} | {_cell(run.summary)} | {run.seconds:.1f} s |" for run in v.runs]
        fixes = [f for f in v.fixes if f.rule_id in rule_ids or f.verdict == "breaks the run"]
        if fixes:
            lines += ["", "| fix | verdict |", "|---|---|"]
            lines += [f"| `{f.rule_id}` | {_cell(f.verdict + (f' ({f.note})' if f.note else ''))} |" for f in fixes]
        for rollback in v.rollbacks:
            lines.append(f"\n- **Rolled back** `{rollback.rule_id}` in `{rollback.path}`: it breaks the run "
                         f"({_cell(rollback.error.message)}); that fix is not in this pull request.")
        for note in dict.fromkeys(v.original.notes() + v.fixed.notes()):
            lines.append(f"- Note: {_cell(note)}")
        if v.diff is not None and not v.diff.empty:
            shown = diff_lines(v.diff)
            cut = shown[:MAX_DIFF_LINES] + ([f"... {len(shown) - MAX_DIFF_LINES} more lines"]
                                            if len(shown) > MAX_DIFF_LINES else [])
            lines += ["", "<details><summary>Resource changes (original \u2192 fixed)</summary>", "",
                      "```text", *cut, "```", "", "</details>"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(findings: Sequence[Finding]) -> str:
    lines: dict[tuple[str, str], list[int]] = defaultdict(list)
    safety: dict[tuple[str, str], set[str]] = defaultdict(set)
    for finding in findings:
        key = (finding.rule_id, finding.path)
        lines[key].append(finding.line)
        safety[key].add(finding.safety.value)
    rows = ["| rule | file | lines | fix safety |", "|---|---|---|---|"]
    keys = sorted(lines)
    for rule_id, path in keys[:MAX_ROWS]:
        where = ", ".join(str(n) for n in sorted(set(lines[rule_id, path])))
        rows.append(f"| `{rule_id}` | `{path}` | {where} | {', '.join(sorted(safety[rule_id, path]))} |")
    if len(keys) > MAX_ROWS:
        rows.append(f"| … | {len(keys) - MAX_ROWS} more files | | |")
    return "\n".join(rows)


def _rule_section(rule_id: str) -> str:
    rule = rule_by_id(rule_id)
    return (
        f"### `{rule.id}`: {rule.title}\n\n"
        f"**Why is this bad?** {rule.doc_section('Why is this bad?')}\n\n"
        f"**Fix safety.** {rule.doc_section('Fix safety')}\n\n"
        f"`iacfix rules {rule.id}` shows the full documentation and an example."
    )


def _diffstat(patch: bytes) -> str:
    rows = stats(patch)
    width = max((len(row.path) for row in rows), default=0)
    out = [f" {row.path:<{width}} | +{row.added} -{row.removed}\n" for row in rows]
    added, removed = sum(r.added for r in rows), sum(r.removed for r in rows)
    out.append(f" {_count(len(rows), 'file')} changed, {added} insertions(+), {removed} deletions(-)\n")
    return "".join(out)


def _opt_out(rule_ids: Sequence[str]) -> str:
    example = rule_ids[0]
    return (
        "## Not what you want?\n\n"
        f"- **Keep one place as it is:** add `# iacfix: ignore[{example}]` (with the rule's id) as a comment on "
        "the first or last line of the flagged code; iacfix will not flag it again.\n"
        "- **Turn a rule off for the repository**, in `pyproject.toml`:\n\n"
        f"  ```toml\n  [tool.iacfix]\n  ignore = [\"{example}\"]\n  ```\n\n"
        "- **Close this pull request** without merging and iacfix will not propose this fix again; a new "
        "failure gets a pull request of its own.\n"
        "- **Push commits to this branch** and iacfix leaves it to you: it never overwrites work it did not do."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
