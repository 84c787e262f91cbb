"""Where a database password comes from and whether its uses take a Pulumi `Output`.

Private helper module (no rule class, so the registry ignores it), shared by the two rules about
secrets kept in plain text: `hardcoded-db-password` (a literal or plain config read that becomes
a database master password) and `secret-in-plain-config` (a secret-named config key read with
plain `config.get`/`require` for any other use). Both need the same three facts, so they live here
and the two rules cannot disagree about which config read belongs to whom:

- which resource arguments are database passwords (`DB_SINKS`);
- where the value of such an argument comes from (`Flow.origin`): a string literal, optionally
  wrapped in `pulumi.Output.secret(...)`, optionally bound once to a name first, or a plain read
  of a `pulumi.Config` bag (`config.get("k")`, `config.require("k")`, `config.get("k") or "x"`);
- whether every use of a value still works when the value becomes an `Output`
  (`Flow.output_ok`): a keyword argument of a provider class (`aws.rds.Cluster(...)`,
  `aws.lambda_.FunctionEnvironmentArgs(...)`), an argument of `pulumi.Output.all/concat/
  json_dumps/secret/from_input` or `pulumi.export`, a dict or list literal in such a place, a
  name bound once whose uses all are such places, or the first argument of a `json.dumps(...)`
  that is itself in such a place (the fix then calls `pulumi.Output.json_dumps` instead).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from iacfix.codemods._pulumi_config import CONFIG_CLASSES

if TYPE_CHECKING:
    from iacfix.rule import Rule

#: Resource class -> the arguments that hold its master password or AUTH token, and the service
#: (whose password rules decide the generated alphabet). Checked against pulumi_aws 7.51 with
#: `inspect.signature(pulumi_aws.rds.Cluster._internal_init)` etc. (tests/test_real_db_password.py
#: checks every entry); the write-only `_wo` variants take the same values.
DB_SINKS: Mapping[str, tuple[tuple[str, ...], str]] = MappingProxyType({
    "pulumi_aws.rds.Cluster": (("master_password", "master_password_wo"), "rds"),
    "pulumi_aws.rds.Instance": (("password", "password_wo"), "rds"),
    "pulumi_aws.docdb.Cluster": (("master_password", "master_password_wo"), "docdb"),
    "pulumi_aws.redshift.Cluster": (("master_password", "master_password_wo"), "redshift"),
    "pulumi_aws.redshiftserverless.Namespace": (
        ("admin_user_password", "admin_user_password_wo"), "redshift"),
    "pulumi_aws.elasticache.ReplicationGroup": (("auth_token", "auth_token_wo"), "elasticache"),
})

#: Plain config reads -> the secret read of the same type.
PLAIN_TO_SECRET: Mapping[str, str] = MappingProxyType({
    "get": "get_secret",
    "require": "require_secret",
    "get_object": "get_secret_object",
    "require_object": "require_secret_object",
    "get_int": "get_secret_int",
    "require_int": "require_secret_int",
    "get_float": "get_secret_float",
    "require_float": "require_secret_float",
    "get_bool": "get_secret_bool",
    "require_bool": "require_secret_bool",
})
#: `get*` -> the `require*` read that replaces a `get` with a hardcoded fallback.
GET_TO_REQUIRE_SECRET: Mapping[str, str] = MappingProxyType({
    "get": "require_secret",
    "get_object": "require_secret_object",
    "get_int": "require_secret_int",
    "get_float": "require_secret_float",
    "get_bool": "require_secret_bool",
})

OUTPUT_SECRET = frozenset({"pulumi.Output.secret", "pulumi.output.Output.secret"})
#: Functions any argument of which may be an Output.
OUTPUT_FUNCTIONS = frozenset(
    f"{prefix}.{name}"
    for prefix in ("pulumi.Output", "pulumi.output.Output")
    for name in ("all", "concat", "json_dumps", "secret", "unsecret", "from_input", "format")
) | {"pulumi.export"}
JSON_DUMPS = "json.dumps"
#: Resource constructor keywords that are never inputs.
_NOT_INPUTS = frozenset({"resource_name", "opts", "__props__"})


def normalise(name: str) -> str:
    """`pulumi_aws.rds.cluster.Cluster` -> `pulumi_aws.rds.Cluster`."""
    parts = name.split(".")
    if len(parts) == 4 and parts[0] == "pulumi_aws":
        return ".".join((parts[0], parts[1], parts[3]))
    return name


def code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def string_value(node: cst.CSTNode) -> str | None:
    """The value of a plain (non-f) string literal, implicit concatenations included."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


@dataclass
class Origin:
    """Where a password value comes from.

    `replace` is the expression a fix replaces (the literal, its `Output.secret(...)` wrapper,
    the config call or `config.get(...) or "x"`); `binding` is the `name = <replace>` statement
    when the value was bound to a name first, with `name` its target.
    """

    kind: str  # "literal" | "config"
    node: cst.BaseExpression  # the literal, or the config call
    replace: cst.BaseExpression
    wrapped: bool = False  # already an Output (`pulumi.Output.secret(...)`)
    binding: cst.Assign | None = None
    name: cst.Name | None = None
    value: str = ""  # the literal's value (never shown), or the config key
    method: str = ""  # the config method
    fallback: bool = False  # the config read has a hardcoded default


@dataclass
class Verdict:
    """Whether a value may become an Output, and what else the fix must change for it."""

    ok: bool = True
    where: str = ""
    json_dumps: set[cst.Call] = field(default_factory=set)

    def add(self, other: Verdict) -> None:
        if self.ok and not other.ok:
            self.ok, self.where = False, other.where
        self.json_dumps |= other.json_dumps


class Flow:
    """Data-flow questions about one module, answered with the rule's metadata."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    # -- names ---------------------------------------------------------------------------------

    def qualified(self, node: cst.CSTNode) -> set[str]:
        return {
            normalise(q.name) for q in self.rule.get_metadata(QualifiedNameProvider, node, set())
        }

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.rule.get_metadata(ParentNodeProvider, node, None)

    def db_sink(self, call: cst.Call) -> tuple[str, tuple[str, ...], str] | None:
        """(class, password keywords, service) when `call` constructs a database resource."""
        for name in self.qualified(call.func):
            if name in DB_SINKS:
                keywords, service = DB_SINKS[name]
                return name, keywords, service
        return None

    def is_provider_class(self, call: cst.Call) -> bool:
        """A pulumi provider resource or args class (`aws.rds.Cluster`, `...FunctionEnvironmentArgs`)."""
        return any(
            name.startswith("pulumi_") and name.rpartition(".")[2][:1].isupper()
            for name in self.qualified(call.func)
        )

    # -- config --------------------------------------------------------------------------------

    def config_read(self, call: cst.Call) -> tuple[str, str] | None:
        """(method, key) when `call` reads a `pulumi.Config` bag (plain or secret) with a literal key."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not call.args:
            return None
        method = func.attr.value
        if method not in PLAIN_TO_SECRET and not method.startswith(("get_secret", "require_secret")):
            return None
        first = call.args[0]
        if first.star or (first.keyword is not None and first.keyword.value != "key"):
            return None
        key = string_value(first.value)
        if key is None or not self.is_config_bag(func.value):
            return None
        return method, key

    def is_config_bag(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """`pulumi.Config(...)`, a name bound only to one, or `self.x` set only to one."""
        if depth > 3:
            return False
        if isinstance(expr, cst.Call):
            return bool(self.qualified(expr.func) & CONFIG_CLASSES)
        if isinstance(expr, cst.Name):
            values = self.bound_values(expr)
            return bool(values) and all(self.is_config_bag(v, depth + 1) for v in values)
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value == "self"
        ):
            values = self._self_attribute_values(expr, expr.attr.value)
            return bool(values) and all(self.is_config_bag(v, depth + 1) for v in values)
        return False

    def _self_attribute_values(self, node: cst.CSTNode, attr: str) -> list[cst.BaseExpression]:
        current = self.parent(node)
        while current is not None and not isinstance(current, cst.ClassDef):
            current = self.parent(current)
        if current is None:
            return []
        values: list[cst.BaseExpression] = []

        class Finder(cst.CSTVisitor):
            def visit_Assign(self, node: cst.Assign) -> None:
                for target in node.targets:
                    t = target.target
                    if (isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name)
                            and t.value.value == "self" and t.attr.value == attr):
                        values.append(node.value)

        current.visit(Finder())
        return values

    # -- bindings ------------------------------------------------------------------------------

    def binding_of(self, name: cst.Name) -> tuple[Assignment, cst.Assign] | None:
        """The one `name = value` statement `name` can refer to (one assignment in its scope)."""
        scope = self.rule.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or type(assignments[0]) is not Assignment:
            return None
        assignment = assignments[0]
        target = assignment.node
        holder = self.parent(target)
        statement = self.parent(holder) if isinstance(holder, cst.AssignTarget) else None
        if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
            return None
        if statement.targets[0].target is not target:
            return None
        return assignment, statement

    def bound_values(self, name: cst.Name) -> list[cst.BaseExpression]:
        found = self.binding_of(name)
        return [found[1].value] if found else []

    def accesses(self, assignment: Assignment) -> list[cst.Name] | None:
        names = [access.node for access in assignment.references]
        return names if all(isinstance(n, cst.Name) for n in names) else None

    # -- origins -------------------------------------------------------------------------------

    def origin(self, expr: cst.BaseExpression, *, follow: bool = True) -> Origin | None:
        """Where the value of a password argument comes from, when it is plain text."""
        literal = string_value(expr)
        if literal is not None:
            return Origin("literal", expr, expr, value=literal) if literal else None
        if isinstance(expr, cst.Call) and self.qualified(expr.func) & OUTPUT_SECRET:
            if len(expr.args) != 1 or expr.args[0].keyword is not None or expr.args[0].star:
                return None
            inner = self.origin(expr.args[0].value, follow=False)
            if inner is None:
                return None
            inner.replace, inner.wrapped = expr, True
            return inner
        if isinstance(expr, cst.Call):
            read = self.config_read(expr)
            if read is None or read[0] not in PLAIN_TO_SECRET:
                return None
            method, key = read
            fallback = any(a.keyword is None or a.keyword.value == "default"
                           for a in expr.args[1:])
            return Origin("config", expr, expr, value=key, method=method, fallback=fallback)
        if (
            isinstance(expr, cst.BooleanOperation)
            and isinstance(expr.operator, cst.Or)
            and isinstance(expr.left, cst.Call)
            and string_value(expr.right) is not None
        ):
            inner = self.origin(expr.left, follow=False)
            if inner is None or inner.kind != "config" or inner.method not in GET_TO_REQUIRE_SECRET:
                return None
            inner.replace, inner.fallback = expr, True
            return inner
        if isinstance(expr, cst.Name) and follow:
            found = self.binding_of(expr)
            if found is None:
                return None
            inner = self.origin(found[1].value, follow=False)
            if inner is None:
                return None
            inner.binding, inner.name = found[1], found[1].targets[0].target
            return inner
        return None

    def db_origins(self, module: cst.Module) -> list[tuple[cst.Call, cst.Arg, str, Origin]]:
        """Every database password argument in `module` whose value is plain text:
        (resource call, the argument, service, origin)."""
        found: list[tuple[cst.Call, cst.Arg, str, Origin]] = []
        flow = self

        class Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                sink = flow.db_sink(node)
                if sink is None:
                    return
                for arg in node.args:
                    if arg.keyword is not None and arg.keyword.value in sink[1]:
                        origin = flow.origin(arg.value)
                        if origin is not None:
                            found.append((node, arg, sink[2], origin))

        module.visit(Calls())
        return found

    # -- does an Output fit? -------------------------------------------------------------------

    def output_ok(self, node: cst.BaseExpression, depth: int = 0) -> Verdict:
        """Whether the value of `node` may become an Output without breaking the program."""
        parent = self.parent(node)
        if isinstance(parent, cst.Arg) and parent.value is node:
            call = self.parent(parent)
            if not isinstance(call, cst.Call):
                return Verdict(False, "as an unpacked argument")
            names = self.qualified(call.func)
            if names & OUTPUT_FUNCTIONS:
                return Verdict()
            if self.is_provider_class(call):
                if parent.keyword is not None and parent.keyword.value not in _NOT_INPUTS:
                    return Verdict()
                return Verdict(False, f"as a positional argument of `{code(call.func)}`")
            if JSON_DUMPS in names and call.args and call.args[0] is parent and depth < 6:
                outer = self.output_ok(call, depth + 1)
                if outer.ok:
                    outer.json_dumps.add(call)
                    return outer
                return Verdict(False, f"in `{code(call.func)}(...)` {outer.where}")
            return Verdict(False, f"in a call to `{code(call.func)}`")
        if isinstance(parent, cst.DictElement) and parent.value is node:
            return self.output_ok(self.parent(parent), depth + 1)
        if isinstance(parent, cst.Element) and parent.value is node:
            return self.output_ok(self.parent(parent), depth + 1)
        if isinstance(parent, cst.BooleanOperation):
            return self.output_ok(parent, depth + 1)
        if isinstance(parent, cst.Assign) and parent.value is node:
            target = parent.targets[0].target if len(parent.targets) == 1 else None
            if not isinstance(target, cst.Name) or depth > 6:
                return Verdict(False, f"in `{code(parent.targets[0].target)}`")
            found = self.binding_of(target)
            accesses = self.accesses(found[0]) if found else None
            if accesses is None:
                return Verdict(False, f"through `{target.value}`, which is assigned more than once")
            verdict = Verdict()
            for access in accesses:
                verdict.add(self.output_ok(access, depth + 1))
            return verdict
        if isinstance(parent, cst.FormattedStringExpression):
            return Verdict(False, "inside an f-string")
        if isinstance(parent, cst.Lambda):
            return Verdict(False, "inside a lambda")
        if isinstance(parent, cst.Return):
            return Verdict(False, "in a return statement")
        if isinstance(parent, (cst.Dict, cst.List, cst.Tuple, cst.Set)):
            return Verdict(False, "unpacked into a collection")
        snippet = code(parent).strip().splitlines()[0] if parent is not None else ""
        return Verdict(False, f"in `{snippet[:40]}`")

    def function_of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The innermost function around `node`, or the module."""
        current = self.parent(node)
        while current is not None:
            if isinstance(current, (cst.FunctionDef, cst.Module)):
                return current
            current = self.parent(current)
        raise ValueError("node outside the module")


_KIND_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(cluster|instance|replication-group|replication_group|rg)(?![A-Za-z0-9])"
)


def derived_name(name_node: cst.BaseExpression | None, word: str) -> str:
    """Code for a logical name beside the resource's: the resource kind (`cluster`, `instance`,
    `replication-group`) replaced by `word`, else `word` added before a trailing `-{suffix}` or at
    the end. `f"payment-db-cluster-{environment_suffix}"` -> `f"payment-db-password-{...}"`."""
    if isinstance(name_node, cst.SimpleString) and isinstance(name_node.evaluated_value, str):
        value = name_node.evaluated_value
        new, count = _replace_last_kind(value, word)
        if not count:
            new = f"{value}-{word}"
        return _quoted(new)
    if isinstance(name_node, cst.FormattedString):
        parts = list(name_node.parts)
        for index in range(len(parts) - 1, -1, -1):
            part = parts[index]
            if isinstance(part, cst.FormattedStringText):
                new, count = _replace_last_kind(part.value, word)
                if count:
                    parts[index] = part.with_changes(value=new)
                    return code(name_node.with_changes(parts=parts))
        first = parts[0] if parts else None
        if (isinstance(first, cst.FormattedStringText) and len(parts) > 1
                and first.value[-1:] in ("-", "_")):
            parts[0] = first.with_changes(value=f"{first.value}{word}{first.value[-1]}")
        elif parts and isinstance(parts[-1], cst.FormattedStringText):
            parts[-1] = parts[-1].with_changes(value=f"{parts[-1].value}-{word}")
        else:
            parts.append(cst.FormattedStringText(f"-{word}"))
        return code(name_node.with_changes(parts=parts))
    if isinstance(name_node, (cst.Name, cst.Attribute)):
        return f'f"{{{code(name_node)}}}-{word}"'
    return _quoted(f"db-{word}")


def _replace_last_kind(text: str, word: str) -> tuple[str, int]:
    matches = list(_KIND_WORDS.finditer(text))
    if not matches:
        return text, 0
    last = matches[-1]
    return text[: last.start()] + word + text[last.end():], 1


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def vanishing_json_import(rule: Rule, module: cst.Module,
                          converted: set[cst.Call]) -> cst.SimpleStatementLine | None:
    """The top-level `import json` line that the `json.dumps` -> `pulumi.Output.json_dumps`
    conversions leave unused (RemoveImportsVisitor then drops it, with its leading lines)."""
    funcs = {call.func.value for call in converted if isinstance(call.func, cst.Attribute)}
    for statement in module.body:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            continue
        small = statement.body[0]
        if not (isinstance(small, cst.Import) and len(small.names) == 1
                and small.names[0].asname is None and small.names[0].evaluated_name == "json"):
            continue
        scope = rule.get_metadata(ScopeProvider, small, None)
        if scope is None:
            return None
        accesses = [a.node for assignment in scope.assignments["json"]
                    for a in assignment.references]
        return statement if accesses and all(node in funcs for node in accesses) else None
    return None


def keep_leading_lines(original: cst.Module, updated: cst.Module,
                       vanishing: cst.SimpleStatementLine | None) -> cst.Module:
    """Hand the leading lines (blank lines, comments) of an import line that is about to be
    removed to the statement after it, so the module's layout survives the removal."""
    if vanishing is None:
        return updated
    body = list(updated.body)
    for index, statement in enumerate(original.body[:-1]):
        if statement is not vanishing:
            continue
        moved = list(body[index].leading_lines)
        following = body[index + 1]
        blank_only = all(line.comment is None for line in moved)
        if blank_only and any(line.comment is None for line in following.leading_lines):
            break
        body[index] = body[index].with_changes(leading_lines=[])
        body[index + 1] = following.with_changes(leading_lines=[*moved, *following.leading_lines])
        break
    return updated.with_changes(body=body)


def output_class(rule: Rule, module: cst.Module) -> str:
    """How to spell `pulumi.Output` in `module`: `Output` when it is imported from pulumi, else
    `<alias>.Output`, scheduling `import pulumi` when the module has no such import."""
    from iacfix.pulumi_names import ensure_module_alias, module_alias

    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (isinstance(small, cst.ImportFrom) and not small.relative
                    and small.module is not None and code(small.module) == "pulumi"
                    and not isinstance(small.names, cst.ImportStar)):
                for alias in small.names:
                    if alias.evaluated_name == "Output":
                        return alias.evaluated_alias or "Output"
    alias = module_alias(module, "pulumi")
    if alias is not None:
        return f"{alias}.Output"
    return f"{ensure_module_alias(rule.context, module, 'pulumi', 'pulumi')}.Output"
