"""What iacfix refuses to parse: files too large or nested too deeply for libcst to survive.

libcst builds a tree of Python objects about a thousand times the size of the source: a 1 MB
program takes a gigabyte of memory and minutes, so a larger file that a rule would have to parse is
reported and not checked (a file no rule applies to is never parsed, whatever its size).

libcst's native parser recurses once per level of nesting and crashes the whole process (a
segmentation fault, or gigabytes of memory) on a few thousand levels: `((((...))))`, `a + a + ...`
or `x and x and ...` thousands of terms long. One such file must not take down a run, so the
engine refuses files nested deeper than `MAX_DEPTH` (CPython itself refuses 200 nested
parentheses, and cannot compile a few thousand chained operators).

The measure is an upper bound computed from a light scan of the bytes: comments and string
literals are skipped; each open bracket, each operator, each `.`, `not`, `lambda`, `if`, and each
string literal adds a level, which a comma (a sibling) or a closing bracket takes back.
"""

from __future__ import annotations

import re

#: Files nested deeper than this are not parsed (see the module docstring).
MAX_DEPTH = 500
#: Files larger than this are not parsed.
MAX_BYTES = 1 << 20

_TOKEN = re.compile(
    rb"""
    (?P<comment>\#[^\r\n]*)
  | (?P<string>[rRbBuUfF]{0,2}(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"
                               |'(?:\\.|[^'\\\r\n])*'|"(?:\\.|[^"\\\r\n])*"))
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<sibling>[,;])
  | (?P<newline>\\\r?\n|\r\n|\r|\n)
  | (?P<chain>\b(?:and|or|not|lambda|if|await|in|is)\b|\*\*|//|<<|>>|[-+*/%@&|^~.<>=])
  | \w+
    """,
    re.VERBOSE | re.DOTALL,
)


def depth(source: bytes) -> tuple[int, int]:
    """(an upper bound of the deepest nesting, the 1-based line where it is reached)."""
    deepest, where, line = 0, 1, 1
    stack: list[int] = []  # for each open bracket: the level it adds (the chain before it, plus one)
    base = chain = 0  # base: the sum of `stack`; chain: operators since the last sibling or bracket
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        if kind == "chain":
            chain += 1
        elif kind == "string":
            chain += 1
            line += match.group().count(b"\n")
        elif kind == "open":
            stack.append(chain + 1)
            base += chain + 1
            chain = 0
        elif kind == "close":
            chain = stack.pop() if stack else 0
            base -= chain
        elif kind == "sibling":
            chain = 0
        elif kind == "newline":
            line += 1
            if not stack and not match.group().startswith(b"\\"):
                chain = 0
            continue
        else:  # a comment, a name, a number
            continue
        if base + chain > deepest:
            deepest, where = base + chain, line
    return deepest, where


def refusal(source: bytes) -> str | None:
    """Why `source` is not parsed (larger than `MAX_BYTES`, nested beyond `MAX_DEPTH`), or None."""
    if len(source) > MAX_BYTES:
        return (f"too large to check ({len(source) / (1 << 20):.1f} MB; iacfix parses files up to "
                f"{MAX_BYTES >> 20} MB); not checked: exclude it in [tool.iacfix] if it is generated")
    level, line = depth(source)
    if level <= MAX_DEPTH:
        return None
    return (f"nested too deeply to check safely (about {level} levels at line {line}; iacfix parses up to "
            f"{MAX_DEPTH}); not checked")
