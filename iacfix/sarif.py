"""SARIF 2.1.0 logs for `iacfix check --output-format sarif` (GitHub code scanning, IDE viewers).

One run, one result per finding. Choices a consumer can rely on:

- **level**: every finding is an `error`. Every rule describes a failure that breaks a deploy or
  leaks a secret, and `check` exits 1 for each of them; how safe the *fix* is says nothing about
  how bad the *failure* is, so fix safety goes into `properties.fixSafety` instead.
- **locations**: `uri` relative to the working directory (where the engine's paths are relative
  to) with `uriBaseId` `%SRCROOT%`; 1-based `startLine`/`startColumn`, columns counted in Unicode
  code points (`columnKind`), as libcst counts them.
- **partialFingerprints** (`iacfixFindingHash/v1`): a hash of rule id, path, the flagged line's
  text with whitespace collapsed, and the finding's rank among findings with the same three: never
  the line number, so lines inserted above a finding leave its fingerprint alone.
- **fixes**: for findings `iacfix apply` fixes with the run's settings (`properties.fixedByApply`;
  unsafe ones only with `--unsafe-fixes`). The replacements are the zero-context hunks of the
  file's own diff, so applying every fix of a file gives exactly what `apply` writes. Each hunk
  goes to one finding: to a finding of the rule that made it (found by running each fixing rule
  alone on the file and seeing which lines it touches; import lines a rule adds or removes stay
  with that rule), and among that rule's findings to the nearest one by line.
- No secret of the checked code is in the log: messages are masked (`iacfix.redact`), and a file
  whose fixes would insert a line holding one of its secrets (a password literal left on a line
  another rule rewrites) gets no `fixes` (`properties.fixedByApply` still says `apply` fixes it).
- Files iacfix could not check, or whose fixes were withheld, are `toolExecutionNotifications`,
  and make `executionSuccessful` false (the same condition as exit code 2).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

from iacfix import __version__, redact
from iacfix.context import context_for_directory
from iacfix.engine import fix_source
from iacfix.results import FileResult, Finding, Report
from iacfix.rule import Rule, RuleSettings

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "iacfixFindingHash/v1"
LEVEL = "error"

Hunk = tuple[int, int, int, int]  # (i1, i2, j1, j2): source lines [i1, i2) become output lines [j1, j2)


def sarif_log(
    report: Report, rules: Sequence[type[Rule]], *, region: str | None = None, root: Path | None = None,
    settings: RuleSettings | None = None,
) -> dict:
    """The SARIF log of `report`. `rules` are the rules iacfix has (the driver's rule list);
    `region` and `settings` are the run's; `root` is the directory the report's paths are relative
    to (the working directory, as the engine reports them)."""
    root = (root or Path.cwd()).resolve()
    index = {rule.id: position for position, rule in enumerate(rules)}
    by_id = {rule.id: rule for rule in rules}
    results = []
    for file in report.files:
        fixes = _fixes(file, by_id, region, settings)
        for position, (finding, fingerprint) in enumerate(zip(file.findings, _fingerprints(file))):
            results.append(_result(finding, fingerprint, index, by_id, fixes.get(position, [])))
    run = {
        "tool": {"driver": _driver(rules)},
        "invocations": [_invocation(report)],
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


# --- tool and rules ------------------------------------------------------------------------------


def _driver(rules: Sequence[type[Rule]]) -> dict:
    driver = {
        "name": "iacfix",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_descriptor(rule) for rule in rules],
    }
    if homepage := _homepage():
        driver["informationUri"] = homepage
    return driver


def _homepage() -> str | None:
    """The project URL from the installed package's metadata (`[project.urls]`), if it has one."""
    try:
        meta = metadata.metadata("iacfix")
    except metadata.PackageNotFoundError:
        return None
    urls = {
        label.strip().lower(): url.strip()
        for label, _, url in (entry.partition(",") for entry in meta.get_all("Project-URL") or [])
    }
    for label in ("homepage", "repository", "source", "documentation"):
        if label in urls:
            return urls[label]
    return meta.get("Home-page")


def _descriptor(rule: type[Rule]) -> dict:
    sections = [
        (heading, rule.doc_section(heading))
        for heading in ("Why is this bad?", "Fix", "Fix safety", "References")
    ]
    suppress = f"Suppress one finding with `# iacfix: ignore[{rule.id}]` on the flagged line."
    head = f"{rule.title}. Fix safety: {rule.safety.value}.\n\n{rule.summary()}"
    text = "\n\n".join([head, *(f"{heading}\n{body}" for heading, body in sections if body), suppress])
    markdown = "\n\n".join(
        [f"**{rule.title}.** Fix safety: **{rule.safety.value}**.\n\n{rule.summary()}",
         *(f"## {heading}\n{body}" for heading, body in sections if body), suppress]
    )
    return {
        "id": rule.id,
        "name": "".join(word.capitalize() for word in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.summary()},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL},
        "properties": {
            "fixSafety": rule.safety.value,
            "tags": ["pulumi", "aws", "infrastructure-as-code", f"{rule.safety.value}-fix"],
        },
    }


def _invocation(report: Report) -> dict:
    notifications = []
    for file in report.problems:
        for descriptor, text in (("file-not-checked", file.skipped), ("fixes-withheld", file.error)):
            if text:
                notifications.append({
                    "descriptor": {"id": descriptor},
                    "level": "error",
                    "message": {"text": f"{file.path}: {text}"},
                    "locations": [{"physicalLocation": {"artifactLocation": _artifact(file.path)}}],
                })
    return {"executionSuccessful": not report.problems, "toolExecutionNotifications": notifications}


# --- results -------------------------------------------------------------------------------------


def _artifact(path: str) -> dict:
    if Path(path).is_absolute():  # outside the working directory: the engine reports it absolute
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(os.fsencode(path)), "uriBaseId": SRCROOT}  # the name's bytes, as they are


def _result(finding: Finding, fingerprint: str, index: dict, by_id: dict, hunks: list[dict]) -> dict:
    result = {
        "ruleId": finding.rule_id,
        "level": LEVEL,
        "message": {"text": finding.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": _artifact(finding.path),
                "region": {"startLine": finding.line, "startColumn": finding.column},
            }
        }],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {"fixSafety": finding.safety.value, "fixedByApply": finding.fixed},
    }
    if finding.rule_id in index:
        result["ruleIndex"] = index[finding.rule_id]
    if hunks:
        rule = by_id.get(finding.rule_id)
        title = rule.title if rule else finding.message
        result["fixes"] = [{
            "description": {"text": f"{title} ({finding.safety.value} fix)"},
            "artifactChanges": [{"artifactLocation": _artifact(finding.path), "replacements": hunks}],
        }]
    return result


def _fingerprints(file: FileResult) -> list[str]:
    """One fingerprint per finding of `file`, in order (see the module docstring)."""
    lines = _lines(_decode(file.source, file)) if file.findings else []
    seen: Counter[tuple[str, str, str]] = Counter()
    prints = []
    for finding in file.findings:
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        key = (finding.rule_id, finding.path, " ".join(text.split()))
        occurrence = seen[key]
        seen[key] += 1
        prints.append(hashlib.sha256("\0".join([*key, str(occurrence)]).encode(errors="surrogateescape")).hexdigest())
    return prints


# --- fixes ---------------------------------------------------------------------------------------


def _fixes(file: FileResult, by_id: dict, region: str | None, settings=None) -> dict[int, list[dict]]:
    """Replacements per finding (by position in `file.findings`) from the file's diff hunks."""
    fixed = [position for position, finding in enumerate(file.findings) if finding.fixed]
    if not file.changed or not fixed:
        return {}
    before = _lines(_decode(file.source, file))
    after = _lines(_decode(file.output, file))
    rule_spans = _rule_spans(file, before, [file.findings[p] for p in fixed], by_id, region, settings)
    owned: dict[int, list[dict]] = defaultdict(list)
    for hunk in _hunks(before, after):
        rules = {rule_id for rule_id, spans in rule_spans.items() if any(_overlap(hunk, s) for s in spans)}
        candidates = [p for p in fixed if file.findings[p].rule_id in rules] or fixed
        owner = min(candidates, key=lambda p: (_distance(file.findings[p].line, hunk), p))
        owned[owner].append(_replacement(hunk, before, after))
    inserted = "".join(r.get("insertedContent", {}).get("text", "") for rs in owned.values() for r in rs)
    secrets = redact.secret_values("".join(before), python=not file.path.endswith((".yaml", ".yml")))
    if redact.mask(inserted, secrets) != inserted:
        return {}  # a fix would carry a secret of the file into the log: `iacfix apply` still makes it
    return owned


def _rule_spans(file, before, fixed: list[Finding], by_id: dict, region, settings) -> dict[str, list[Hunk]]:
    """The source lines each fixing rule touches when it runs alone on the file.

    Only needed when more than one rule fixed something in the file (empty otherwise: every hunk
    is then that one rule's). A rule reruns with the threshold that reproduces its fixes: the
    least safe of its fixed findings in this file.
    """
    rule_ids = sorted({finding.rule_id for finding in fixed})
    if len(rule_ids) == 1:
        return {}
    project = context_for_directory(Path(file.path).parent.resolve(), region)
    spans = {}
    for rule_id in rule_ids:
        if rule_id not in by_id:
            continue
        threshold = max((f.safety for f in fixed if f.rule_id == rule_id), key=lambda s: s.rank)
        alone = fix_source(file.path, file.source, [by_id[rule_id]], threshold, project=project,
                           settings=settings)
        spans[rule_id] = _hunks(before, _lines(_decode(alone.output, file)))
    return spans


def _hunks(before: list[str], after: list[str]) -> list[Hunk]:
    """The zero-context hunks of the line diff (difflib's opcodes that are not `equal`)."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _overlap(a: Hunk, b: Hunk) -> bool:
    """Whether two hunks touch the same source lines (an insertion touches its insertion point)."""
    (a1, a2), (b1, b2) = a[:2], b[:2]
    if a1 == a2:
        return b1 <= a1 <= b2
    if b1 == b2:
        return a1 <= b1 <= a2
    return a1 < b2 and b1 < a2


def _distance(line: int, hunk: Hunk) -> float:
    """How far a 1-based line is from the source lines a hunk replaces (or inserts between)."""
    i1, i2 = hunk[:2]
    low, high = (i1 + 1, i2) if i2 > i1 else (i1 + 0.5, i1 + 0.5)
    return max(low - line, line - high, 0)


def _replacement(hunk: Hunk, before: list[str], after: list[str]) -> dict:
    i1, i2, j1, j2 = hunk
    (start_line, start_column), (end_line, end_column) = _position(before, i1), _position(before, i2)
    replacement: dict = {
        "deletedRegion": {
            "startLine": start_line, "startColumn": start_column,
            "endLine": end_line, "endColumn": end_column,
        }
    }
    if j2 > j1:
        replacement["insertedContent"] = {"text": "".join(after[j1:j2])}
    return replacement


def _position(lines: list[str], boundary: int) -> tuple[int, int]:
    """(line, column) of the start of source line `boundary` (0-based), or of the end of the file.

    A region that ends at column 1 of the next line includes the newline of its last line, which
    is how SARIF spells "whole lines"; after a final newline the file has an empty last line.
    """
    if boundary < len(lines):
        return boundary + 1, 1
    if not lines:
        return 1, 1
    last = lines[-1]
    if last.endswith(("\n", "\r")):
        return len(lines) + 1, 1
    return len(lines), len(last) + 1


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> list[str]:
    """Lines with their newline sequences (CRLF, LF or CR, as Python and SARIF count lines)."""
    return _LINE.findall(text)


def _decode(data: bytes, file: FileResult) -> str:
    # A BOM is not text in any line; utf-8-sig drops it. The engine parsed the file, so it decodes.
    return data.decode(file.encoding, errors="replace")

