"""Building f-strings from string literals, for rules that put a run-time value (the region, the
account id) where a literal stood: plain-string text must become f-string text with the same value,
and each replaced span becomes a replacement field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import libcst as cst

#: In a non-raw string: an escaped backslash, a named escape `\N{...}` (whose braces an f-string
#: keeps as they are), or a brace that an f-string must double.
_BRACE_OR_ESCAPE = re.compile(r"(?P<keep>\\\\|\\N\{[^{}]*\})|(?P<brace>[{}])")


def double_braces(text: str, raw: bool) -> str:
    """Plain-string source text as f-string source text with the same value."""
    if raw:
        return text.replace("{", "{{").replace("}", "}}")
    return _BRACE_OR_ESCAPE.sub(lambda m: m["keep"] or m["brace"] * 2, text)


def fstring_parts(
    text: str,
    replacements: Iterable[tuple[tuple[int, int], cst.BaseExpression]],
    *,
    from_plain_string: bool,
    raw: bool = False,
) -> Iterator[cst.BaseFormattedStringContent]:
    """f-string parts for `text` (source text) with each `(start, end)` span replaced by a
    replacement field holding its expression. `from_plain_string`: `text` is the body of a plain
    string, whose braces must be doubled (`raw`: an r-string)."""

    def literal(chunk: str) -> cst.FormattedStringText:
        return cst.FormattedStringText(double_braces(chunk, raw) if from_plain_string else chunk)

    position = 0
    for (start, end), expression in sorted(replacements, key=lambda item: item[0]):
        if start > position:
            yield literal(text[position:start])
        yield cst.FormattedStringExpression(expression=expression)
        position = end
    if position < len(text):
        yield literal(text[position:])


def imported_modules(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The module names an `import` / absolute `from ... import` statement names."""
    if isinstance(node, cst.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative:
        return [node.module]
    return []
