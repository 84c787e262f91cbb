"""The values the engine returns: frozen and picklable so a process pool can carry them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class Safety(enum.Enum):
    """How safe a fix is to apply to infrastructure code (see DESIGN.md, "Fix safety")."""

    SAFE = "safe"
    """Behaves the same or strictly more correctly; `pulumi up` replaces nothing. Applied by default."""
    UNSAFE = "unsafe"
    """A deployed resource may be replaced or a runtime value changes. Applied with --unsafe-fixes."""
    DISPLAY_ONLY = "display-only"
    """The right value needs a human. Never applied; the finding says what to supply."""

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allowed_by(self, threshold: Safety | None) -> bool:
        """Whether a fix of this safety is applied when `threshold` is the most a run applies.

        `None` applies nothing; DISPLAY_ONLY is never applied whatever the threshold.
        """
        if threshold is None or self is Safety.DISPLAY_ONLY:
            return False
        return self.rank <= threshold.rank


_RANK = {Safety.SAFE: 0, Safety.UNSAFE: 1, Safety.DISPLAY_ONLY: 2}


@dataclass(frozen=True, order=True)
class Finding:
    """One failure found in one file, and whether the fix for it was applied to the output."""

    path: str
    line: int
    column: int
    rule_id: str
    message: str
    safety: Safety = field(compare=False)
    fixed: bool = field(default=False, compare=False)

    @property
    def fixable(self) -> bool:
        """A fix exists (it may need --unsafe-fixes), as opposed to a display-only finding."""
        return self.safety is not Safety.DISPLAY_ONLY


@dataclass(frozen=True)
class FileResult:
    """What the engine made of one file. `output` equals `source` when nothing was fixed.

    `skipped` says why the file could not be checked at all (does not parse, not text, not
    decodable); `error` says why fixes were withheld (a rule crashed, or the fixed code did not
    parse and was reverted). Both are messages for the user, never exceptions.
    """

    path: str
    source: bytes
    output: bytes
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    skipped: str | None = None

    @property
    def changed(self) -> bool:
        return self.output != self.source

    @property
    def encoding(self) -> str:
        """The encoding the file was read in (PEP 263 / BOM aware), for rendering diffs."""
        from iacfix.files import detect_encoding

        return detect_encoding(self.source)

    @property
    def silent(self) -> bool:
        """Nothing to say: no finding, no change, no error, not skipped."""
        return not (self.findings or self.error or self.skipped or self.changed)

    def slim(self) -> FileResult:
        """This result without the file's bytes when it is silent (no one reads them), so a
        report over many files holds only the bytes of files with something to say."""
        return replace(self, source=b"", output=b"") if self.silent and self.source else self


@dataclass(frozen=True)
class Report:
    """The results of one run, in path order."""

    files: tuple[FileResult, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.files for f in r.findings)

    @property
    def changed(self) -> tuple[FileResult, ...]:
        return tuple(r for r in self.files if r.changed)

    @property
    def remaining(self) -> tuple[Finding, ...]:
        """Findings the run did not fix."""
        return tuple(f for f in self.findings if not f.fixed)

    @property
    def problems(self) -> tuple[FileResult, ...]:
        """Files that were skipped or had an internal error: the run is incomplete (exit 2)."""
        return tuple(r for r in self.files if r.skipped or r.error)
