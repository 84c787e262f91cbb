"""Cheap text tests a rule's `applies` prefilter builds on, so a file no rule can fire on is
never parsed (a libcst parse plus metadata costs 50-300 ms a file; these cost microseconds).

They read the source as text and over-approximate: where the text is ambiguous they answer
"maybe", which only costs a parse. `keyword_values` finds the expressions given to keyword
arguments without a parser: it skips strings (f-string placeholders included, as text),
comments and nested brackets, and stops at the comma or bracket that ends the argument.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

_STRING_START = re.compile(r"""(?i)[rbuf]{0,2}("{3}|'{3}|"|')""")
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def text_of(source: bytes) -> str:
    """The source as text for a prefilter; undecodable bytes become U+FFFD (never an error)."""
    return source.decode("utf-8", errors="replace")


def alternatives(words: Iterable[str]) -> str:
    """`words` as a regular-expression alternation, longest first (so `get_int` beats `get`)."""
    return "|".join(sorted((re.escape(word) for word in words), key=lambda w: (-len(w), w)))


def keyword_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """`name=` for any of `names` (not `==`, not an attribute `x.name=`), capturing the name."""
    return re.compile(rf"(?<![\w.])({alternatives(names)})\s*=(?!=)")


def keyword_values(text: str, pattern: re.Pattern[str]) -> Iterator[tuple[str, str]]:
    """(keyword, expression text) for every match of `pattern` (see `keyword_pattern`)."""
    for match in pattern.finditer(text):
        yield match.group(1), value_text(text, match.end())


_ANY_KEYWORD = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*=(?!=)")
_TOKEN = re.compile(r"""(?P<string>(?i:[rbuf]{0,2})("{3}|'{3}|"|'))|(?P<comment>\#[^\n]*)"""
                    r"""|(?<!\w)(?<!\w\.)(?P<call>[A-Za-z_][\w.]*)\s*\(|(?P<open>[(\[{])|(?P<close>[)\]}])""")
# A call's name starts where a dotted name starts (`x().y(` is a call of `y`): a search that tried
# every position inside `a.b.b...b` would rescan the rest of the chain from each (quadratic).


class Argument(NamedTuple):
    """A keyword argument found in the text: `callee(keyword=value)`, `value` starting at `start`;
    `dotted` is the called name as written (`aws.dynamodb.Table`), `callee` its last part."""

    callee: str
    keyword: str
    value: str
    start: int
    dotted: str


def keyword_arguments(text: str, names: Iterable[str] | None) -> Iterator[Argument]:
    """Every keyword argument named in `names` (any, for None) given to a call of a plain
    (dotted) name; the callee is the name's last part (`Table` for `aws.dynamodb.Table(`).
    Keywords inside other brackets (`make()(name=...)`, a dict) are not arguments. Strings and
    comments are skipped."""
    keyword = keyword_pattern(names) if names is not None else _ANY_KEYWORD
    stack: list[str | None] = []
    index, end = 0, len(text)
    while index < end:
        token = _TOKEN.search(text, index)
        argument = keyword.search(text, index, token.start() if token else end)
        if argument is not None:
            if stack and stack[-1] is not None:
                start = argument.end() + len(text[argument.end():argument.end() + 80]) - len(
                    text[argument.end():argument.end() + 80].lstrip())
                dotted = stack[-1]
                yield Argument(dotted.rsplit(".", 1)[-1], argument.group(1), value_text(text, argument.end()), start,
                               dotted)
            index = argument.end()
            continue
        if token is None:
            return
        kind = token.lastgroup
        if kind == "string":
            index = _after_string(text, token.end(), token.group(2))
            continue
        if kind == "call":
            stack.append(token.group("call"))
        elif kind == "open":
            stack.append(None)
        elif kind == "close" and stack:
            stack.pop()
        index = token.end()


def fstring_fields(text: str) -> Iterator[str]:
    """The text of every replacement field of every f-string in `text` (nested fields flattened)."""
    index, end = 0, len(text)
    while index < end:
        token = _TOKEN.search(text, index)
        if token is None:
            return
        if token.lastgroup == "string":
            index = _after_string(text, token.end(), token.group(2))
            if "f" in token.group(0).lower()[:-len(token.group(2))]:
                body = text[token.end():max(token.end(), index - len(token.group(2)))]
                yield from re.findall(r"\{([^{}]*)\}", body.replace("{{", "").replace("}}", ""))
        else:
            index = token.end()


def code_only(text: str) -> str:
    """`text` with comments and the insides of string literals blanked (same length), so a
    pattern that must match code is not fooled by a docstring or a comment."""
    chars = list(text)
    index, end = 0, len(text)
    while index < end:
        token = _TOKEN.search(text, index)
        if token is None:
            break
        if token.lastgroup == "string":
            index = _after_string(text, token.end(), token.group(2))
            inside = range(token.end(), max(token.end(), index - len(token.group(2))))
        elif token.lastgroup == "comment":
            inside, index = range(token.start(), token.end()), token.end()
        else:
            index = token.end()
            continue
        for position in inside:
            if chars[position] != "\n":
                chars[position] = " "
    return "".join(chars)


def string_contents(text: str) -> str:
    """The contents of every string literal in `text` (f-strings and docstrings included, quotes
    and prefixes left out), one per line, for tests that only strings can satisfy."""
    contents = []
    index, end = 0, len(text)
    while index < end:
        token = _TOKEN.search(text, index)
        if token is None:
            break
        if token.lastgroup == "string":
            index = _after_string(text, token.end(), token.group(2))
            contents.append(text[token.end():max(token.end(), index - len(token.group(2)))])
        else:
            index = token.end()
    return "\n".join(contents)


def call_spans(text: str, callees: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """(start, end) of every call `Name(...)` whose name `callees` matches in full."""
    for match in re.finditer(r"(?<!\w)([A-Za-z_]\w*)\s*\(", text):
        if callees.fullmatch(match.group(1)):
            expression = value_text(text, match.start())
            yield match.start(), match.start() + len(expression)


def value_text(text: str, start: int) -> str:
    """The expression that starts at `start`: up to the first comma, newline or closing bracket
    outside brackets and strings (a newline inside brackets belongs to the expression)."""
    depth: list[str] = []
    index = start
    end = len(text)
    while index < end:
        char = text[index]
        string = _STRING_START.match(text, index) if char in "\"'rRbBuUfF" else None
        if string is not None and (index == 0 or not (text[index - 1].isalnum() or text[index - 1] == "_")
                                   or char in "\"'"):
            index = _after_string(text, string.end(), string.group(1))
            continue
        if char == "#":
            newline = text.find("\n", index)
            index = end if newline < 0 else newline
            continue
        if char in "([{":
            depth.append(char)
        elif char in ")]}":
            if not depth:
                break
            depth.pop()
        elif char in ",;" and not depth:
            break
        elif char == "\n" and not depth and not text[start:index].rstrip().endswith("\\"):
            if text[start:index].strip():
                break
        index += 1
    return text[start:index].strip()


def after_brackets(text: str, start: int) -> int:
    """The index just past the bracket that closes the one at `start` (strings and comments
    skipped); the end of the text when it is not closed."""
    depth, index, end = 0, start, len(text)
    while index < end:
        char = text[index]
        string = _STRING_START.match(text, index) if char in "\"'rRbBuUfF" else None
        if string is not None and (char in "\"'" or not (text[index - 1].isalnum() or text[index - 1] == "_")):
            index = _after_string(text, string.end(), string.group(1))
            continue
        if char == "#":
            newline = text.find("\n", index)
            index = end if newline < 0 else newline
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return end


def _after_string(text: str, index: int, quote: str) -> int:
    """The index just past the string literal whose body starts at `index`."""
    end = len(text)
    while index < end:
        if text[index] == "\\":
            index += 2
            continue
        if text.startswith(quote, index):
            return index + len(quote)
        if text[index] == "\n" and len(quote) == 1:
            return index  # an unterminated one-line string: the parser will say so
        index += 1
    return end


def string_value(expression: str) -> str | None:
    """The value of `expression` when it is only plain string literals (implicit concatenation
    included), as libcst's `evaluated_value` gives it; None for anything else (f-strings too)."""
    if not expression or expression[0] not in "\"'rRuU" or _is_fstring(expression):
        return None
    try:
        value = ast.literal_eval(expression if "\n" not in expression else f"({expression})")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _is_fstring(expression: str) -> bool:
    return bool(re.match(r"(?i)[rbu]?f|f[rb]?", expression))


def is_string(expression: str) -> bool:
    """Whether `expression` starts with a string literal (plain, raw, bytes or f-string)."""
    return bool(_STRING_START.match(expression))
