"""Keep the secrets of the code under fix out of what iacfix says about it.

Findings, errors and the formats built from them (text, JSON, SARIF, GitHub annotations, pull
request bodies, commit messages) are read in CI logs and code-scanning pages by people who may not
read the repository, and they are kept for a long time. So every message about a file has the
file's secret values masked, whichever rule wrote it: a string literal bound to a secret-named
variable, argument, attribute, dict key or YAML key (`db_password = "..."`, `master_password=...`,
`{"password": ...}`, `auth_token: ...`), the argument of `pulumi.Output.secret(...)`, a hardcoded
fallback of a secret config read, and anything shaped like a well-known token (GitHub, AWS access
key ids, Slack, private key blocks) wherever it appears.

Diffs are not messages: `iacfix diff` prints the user's own code so that `git apply` can take it,
secrets included, like `git diff` does.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable
from dataclasses import replace

from iacfix.files import detect_encoding
from iacfix.results import FileResult

MASK = "****"
#: Shorter values are not masked: masking "x" or "db" would garble every message.
MIN_LENGTH = 4

#: Token formats worth masking anywhere (GitHub, AWS access key ids, Slack, PEM private keys).
TOKEN_SHAPES = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
    r"|xox[abeprs]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
#: Config reads whose first argument is a key name, not a value.
_KEY_READS = frozenset({"get", "require", "get_secret", "require_secret", "get_object", "require_object",
                        "get_secret_object", "require_secret_object", "get_int", "require_int", "get_bool",
                        "require_bool", "get_float", "require_float", "getenv", "environ"})
#: Calls whose arguments become the value itself (`pulumi.Output.secret("x")`, `"".join(...)`).
_PASS_THROUGH = frozenset({"secret", "str", "join", "format", "encode", "decode", "concat", "from_input",
                           "b64encode", "strip", "dumps", "json_dumps", "bytes"})
#: `name = "value"` / `name: "value"` / `"name": "value"` / YAML `name: value`, for text Python's
#: parser does not take (a file that does not parse, a stack file).
_LINE = re.compile(
    r"""(?P<name>[A-Za-z_][\w:.-]*)["']?[ \t]*(?:=|:)[ \t]*(?:[\w.]*secret\([ \t]*)?"""
    r"""(?:[rRuUbB]{0,2}(?P<q>["'])(?P<quoted>(?:\\.|(?!(?P=q)).)*)(?P=q)|(?P<bare>[^\s#"'{}\[\],][^#\r\n]*))"""
)


def is_secret_name(name: str) -> bool:
    from iacfix.codemods.random_for_secrets import is_secret_name as secret_named

    return secret_named(name.rpartition(":")[2].rpartition(".")[2])


def secret_values(text: str, *, python: bool = True) -> frozenset[str]:
    """The secret values `text` (a file's contents) holds, each at least `MIN_LENGTH` long."""
    found: set[str] = set()
    tree = None
    if python:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
    if tree is not None:
        try:
            found.update(_from_tree(tree))
        except RecursionError:
            tree = None
    if tree is None:
        for match in _LINE.finditer(text):
            value = match.group("quoted") if match.group("q") else (match.group("bare") or "").strip()
            if is_secret_name(match.group("name")) and not value.startswith("secure:"):
                found.add(value)
    found.update(match.group() for match in TOKEN_SHAPES.finditer(text))
    return frozenset(value for value in found if len(value) >= MIN_LENGTH)


def _from_tree(tree: ast.AST) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            if any(_secret_target(target) for target in node.targets):
                yield from _strings(node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            if node.value is not None and _secret_target(node.target):
                yield from _strings(node.value)
        elif isinstance(node, ast.keyword):
            if node.arg and is_secret_name(node.arg):
                yield from _strings(node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and is_secret_name(key.value):
                    yield from _strings(value)
        elif isinstance(node, ast.Call):
            if _called(node) == "secret":  # pulumi.Output.secret("...")
                for argument in node.args:
                    yield from _strings(argument)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_secret_target(operand) for operand in operands):
                for operand in operands:
                    yield from _strings(operand)
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            pairs = [*zip(positional[len(positional) - len(node.defaults):], node.defaults),
                     *zip(node.kwonlyargs, node.kw_defaults)]
            for argument, default in pairs:
                if default is not None and is_secret_name(argument.arg):
                    yield from _strings(default)


def _secret_target(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return is_secret_name(node.id)
    if isinstance(node, ast.Attribute):
        return is_secret_name(node.attr)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return isinstance(node.slice.value, str) and is_secret_name(node.slice.value)
    if isinstance(node, (ast.Tuple, ast.List)):
        return any(_secret_target(element) for element in node.elts)
    return False


def _called(call: ast.Call) -> str:
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def _strings(node: ast.AST) -> Iterable[str]:
    """String constants a secret value is made of: not config keys (`config.get("db_password")`),
    not the arguments of a resource or lookup call, not dict keys or other entries of a dict."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            yield node.value
        elif isinstance(node.value, bytes):
            yield node.value.decode("utf-8", errors="ignore")
        return
    if isinstance(node, ast.Call):
        name = _called(node)
        if name in _KEY_READS:  # the key is a name; a default is a value
            children = [*node.args[1:], *(k.value for k in node.keywords)]
        elif name in _PASS_THROUGH:
            children = [node.func, *node.args, *(k.value for k in node.keywords)]
        else:  # a resource, a lookup by id...: its arguments are not the secret
            children = [node.func]
    elif isinstance(node, ast.Dict):  # a credentials dict: its secret-named entries (and `**` ones)
        children = [value for key, value in zip(node.keys, node.values)
                    if not (isinstance(key, ast.Constant) and isinstance(key.value, str)) or is_secret_name(key.value)]
    elif isinstance(node, ast.Subscript):
        children = [node.value]  # `os.environ["DB_PASSWORD"]`: a key
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _strings(child)


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (longest first) and every token-shaped string replaced by `MASK`."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return TOKEN_SHAPES.sub(MASK, text)


def result(file: FileResult) -> FileResult:
    """`file` with its secrets masked in every finding message, error and reason for skipping."""
    if not (file.findings or file.error or file.skipped):
        return file
    try:
        text = file.source.decode(detect_encoding(file.source), errors="replace")
    except LookupError:
        text = file.source.decode("utf-8", errors="replace")
    secrets = secret_values(text, python=not file.path.endswith((".yaml", ".yml")))
    return replace(
        file,
        findings=tuple(replace(f, message=mask(f.message, secrets)) for f in file.findings),
        error=mask(file.error, secrets) if file.error else file.error,
        skipped=mask(file.skipped, secrets) if file.skipped else file.skipped,
    )
