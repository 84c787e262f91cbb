"""GitHub Actions workflow commands for `iacfix check --output-format github`.

Each finding becomes `::error file=…,line=…,col=…,title=<rule-id>::<message>`, which GitHub shows
as an annotation on the line in the run summary and the pull request. Findings are errors whatever
their fix safety (as in the SARIF output): every rule describes a failure, and `check` exits 1 for
each; the second line of the message says whether and how it is fixed. Files iacfix could not
check are errors on the file, titled `iacfix`. Paths are relative to the working directory, so run
iacfix from the repository root for the annotations to land on the right files.
"""

from __future__ import annotations

from iacfix.results import Finding, Report, Safety


def escape_data(text: str) -> str:
    """Escape a command's message as @actions/core does (`%`, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value: also `:` and `,`, which would end the value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    """One workflow command line, e.g. `command("error", "msg", file="a.py", line=3)`."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _how_fixed(finding: Finding) -> str:
    if finding.fixed:
        return f"Fixed by `iacfix apply` ({finding.safety.value} fix)."
    if finding.safety is Safety.UNSAFE:
        return "Fixed by `iacfix apply --unsafe-fixes` (unsafe fix: it may replace deployed resources)."
    return "No automatic fix: the right value needs a human decision."


def github_annotations(report: Report) -> str:
    """Every finding and every file that could not be checked, one command per line."""
    lines = [
        command("error", f"{f.message}\n{_how_fixed(f)}", file=f.path, line=f.line, col=f.column, title=f.rule_id)
        for f in report.findings
    ]
    for result in report.problems:
        lines += [command("error", text, file=result.path, title="iacfix")
                  for text in (result.skipped, result.error) if text]
    return "".join(line + "\n" for line in lines)
