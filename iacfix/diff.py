"""Unified diffs of what `apply` would write, and their statistics.

The patch uses `a/` and `b/` prefixes so `git apply` and `patch -p1` take it as it is. Each file's
diff is encoded in that file's own encoding, so CRLF lines, BOMs and non-UTF-8 text survive.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from unidiff import PatchSet

from iacfix.results import FileResult

NO_NEWLINE = "\\ No newline at end of file\n"


def file_diff(result: FileResult, context: int = 3) -> bytes:
    """The unified diff turning `result.source` into `result.output` (empty when unchanged)."""
    if not result.changed:
        return b""
    # A BOM stays in the first line as git sees it, so decode UTF-8-with-BOM as plain UTF-8.
    codec = "utf-8" if result.encoding == "utf-8-sig" else result.encoding
    before = _lines(result.source.decode(codec))
    after = _lines(result.output.decode(codec))
    lines = difflib.unified_diff(
        before, after, fromfile=f"a/{result.path}", tofile=f"b/{result.path}", n=context
    )
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:  # the last line of a file without a final newline
            out.append(line + "\n" + NO_NEWLINE)
    # The `---`/`+++` lines name the file with the bytes of its name (not UTF-8 on every system).
    return "".join(out[:2]).encode("utf-8", errors="surrogateescape") + "".join(out[2:]).encode(codec)


def _lines(text: str) -> list[str]:
    """Split like git does: only "\n" ends a line (a "\r" stays part of its CRLF line, and
    form feeds or U+2028 inside strings do not split, unlike `str.splitlines`)."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def patch(results: Iterable[FileResult]) -> bytes:
    """One patch for every changed file, sorted by path."""
    return b"".join(file_diff(r) for r in sorted(results, key=lambda r: r.path))


@dataclass(frozen=True)
class FileStat:
    path: str
    added: int
    removed: int


def stats(patch_bytes: bytes) -> list[FileStat]:
    """Per-file added/removed line counts, read back from the patch by unidiff."""
    if not patch_bytes:
        return []
    parsed = PatchSet(patch_bytes.decode("utf-8", errors="surrogateescape"))
    return [FileStat(f.path, f.added, f.removed) for f in parsed]
