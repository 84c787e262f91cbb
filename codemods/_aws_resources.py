"""How pulumi_aws resource calls look in source (shared by `placeholder-domain`,
`cloudfront-default-certificate` and `missing-waf`).

Private helper module (no rule class, so the registry ignores it): the canonical qualified name of
a pulumi_aws class however it is imported, the keyword arguments of a resource call (including
those of an inline `<Resource>Args(...)` given as `args=`), the logical name for messages, and
literal evaluation of dicts.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import Assignment, ParentNodeProvider, Scope, ScopeProvider

PULUMI_AWS = "pulumi_aws"


def canonical(qualified: str) -> str:
    """`pulumi_aws.acm.certificate.Certificate` -> `pulumi_aws.acm.Certificate` (the class is
    re-exported by its package; `_inputs` holds the Args classes)."""
    parts = qualified.split(".")
    if (len(parts) == 4 and parts[0] == PULUMI_AWS and parts[2][:1] in "_abcdefghijklmnopqrstuvwxyz"
            and parts[3][:1].isupper()):
        return ".".join((parts[0], parts[1], parts[3]))
    return qualified


def code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def keyword_name(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def has_opaque_arguments(call: cst.Call) -> bool:
    """`**kwargs` / `*args`: the call may carry any argument the code does not show."""
    return any(arg.star for arg in call.args)


def resource_arguments(call: cst.Call, args_classes: frozenset[str], qualified) -> dict[str, cst.Arg] | None:
    """The keyword arguments of a resource call by name, with those of an inline `XArgs(...)`
    passed as `args=` (or second positional); None when the call hides some (`**kwargs`, an
    `args=` variable) so absence cannot be concluded. `qualified(node)` gives qualified names."""
    found: dict[str, cst.Arg] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        name = keyword_name(arg)
        if name is None and index == 1 or name == "args":
            inner = arg.value
            if not (isinstance(inner, cst.Call)
                    and {canonical(q) for q in qualified(inner.func)} & args_classes):
                return None
            nested = resource_arguments(inner, frozenset(), qualified)
            if nested is None:
                return None
            found.update(nested)
        elif name is not None:
            found[name] = arg
    return found


def logical_name(call: cst.Call) -> str | None:
    """The resource name for messages: the literal, or the f-string's template text."""
    for index, arg in enumerate(call.args):
        if (index == 0 and arg.keyword is None and not arg.star) or keyword_name(arg) == "resource_name":
            value = arg.value
            if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                return value.evaluated_value
            if isinstance(value, cst.FormattedString):
                return "".join(
                    part.value if isinstance(part, cst.FormattedStringText)
                    else "{" + code(part.expression) + "}"
                    for part in value.parts
                )
            return None
    return None


def describe(call: cst.Call, short_class: str) -> str:
    """`acm.Certificate "payment-cert-{environment_suffix}"` (or without the name)."""
    name = logical_name(call)
    return f'{short_class} "{name}"' if name is not None else short_class


def short_class(qualified: str) -> str:
    """`pulumi_aws.acm.Certificate` -> `acm.Certificate`."""
    return qualified.split(".", 1)[1] if qualified.startswith(PULUMI_AWS + ".") else qualified


def dict_value(node: cst.BaseExpression, key: str) -> cst.BaseExpression | None:
    """The value under the literal key `key` of a dict display (None when absent or hidden)."""
    if not isinstance(node, cst.Dict):
        return None
    for element in node.elements:
        if (isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)
                and element.key.evaluated_value == key):
            return element.value
    return None


def dict_is_open(node: cst.Dict) -> bool:
    """A dict display with `**other` may hold any key."""
    return any(isinstance(element, cst.StarredDictElement) for element in node.elements)


def is_none_or_empty(node: cst.BaseExpression) -> bool:
    """`None`, `[]`, `()`: the argument is as good as absent."""
    return (isinstance(node, cst.Name) and node.value == "None") or (
        isinstance(node, (cst.List, cst.Tuple)) and not node.elements)


def literal_bool(node: cst.BaseExpression | None) -> bool | None:
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    return None


def literal_str(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    return None


def assigned_values(rule, name: cst.Name) -> list[cst.BaseExpression]:
    """The values of every `name = value` that reaches this use of `name`; [] if any binding is
    something else (a parameter, a loop variable, an import). `rule` is a visitor declaring
    ScopeProvider and ParentNodeProvider."""
    scope = rule.get_metadata(ScopeProvider, name, None)
    if not isinstance(scope, Scope):
        return []
    accesses = [a for a in scope.accesses[name] if a.node is name]
    if len(accesses) != 1 or not accesses[0].referents:
        return []
    values = []
    for assignment in accesses[0].referents:
        if not isinstance(assignment, Assignment):
            return []
        parent = rule.get_metadata(ParentNodeProvider, assignment.node, None)
        statement = rule.get_metadata(ParentNodeProvider, parent, None) if parent is not None else None
        if isinstance(parent, cst.AssignTarget) and isinstance(statement, cst.Assign) \
                and len(statement.targets) == 1:
            values.append(statement.value)
        elif isinstance(parent, cst.AnnAssign) and parent.value is not None:
            values.append(parent.value)
        else:
            return []
    return values
