"""Shared reading of pulumi_aws networking code (private helpers of the networking rules).

Private helper module (no `Rule` subclass, so the registry ignores it), used by
sg-all-protocols, alb-listener-sg-port-mismatch, http-listener-without-redirect,
vpc-without-flow-logs, subnet-cidr-overlap and nat-gateway-per-az-cost. It answers:

- which pulumi_aws class a call constructs (`resource_class`), however pulumi_aws is imported
  (`import pulumi_aws as aws`, `from pulumi_aws import ec2`, `from pulumi_aws.ec2 import Vpc`,
  the defining submodule `pulumi_aws.ec2.vpc.Vpc`), as a short `"ec2.Vpc"`; `alb.*` is the same
  class as `lb.*` (pulumi_aws exports both) and is reported as `lb.*`;
- the arguments of a call (`argument`), literal strings and integers (`literal_str`,
  `literal_int`), and a label for messages (`describe`: `ec2.Vpc "payment-vpc-{env}"`);
- what a name or `self.attribute` is bound to in the same file (`Bindings.value`): one plain
  assignment, else nothing — the rules stay silent rather than guess.

A "resolver" is anything with libcst's `get_metadata` (a `Rule`, or a `cst.CSTVisitor` run through
a `MetadataWrapper` by a project rule) that declares `NETWORK_METADATA`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

NETWORK_METADATA = (ParentNodeProvider, ScopeProvider, QualifiedNameProvider)

PULUMI_AWS = "pulumi_aws"
#: pulumi_aws exports the elbv2 classes under both `lb` and `alb` (the same classes).
_MODULE_ALIASES = {"alb": "lb"}
_MAX_DEPTH = 4


def resource_class(resolver: Any, call: cst.Call) -> str | None:
    """`"ec2.SecurityGroup"` for a pulumi_aws constructor call however it is spelled, else None."""
    for qualified in resolver.get_metadata(QualifiedNameProvider, call.func, set()):
        short = canonical(qualified.name)
        if short is not None:
            return short
    return None


def canonical(qualified: str) -> str | None:
    """`pulumi_aws.ec2.security_group.SecurityGroup` / `pulumi_aws.alb.Listener` -> the short
    `ec2.SecurityGroup` / `lb.Listener`; None for anything outside pulumi_aws."""
    parts = qualified.split(".")
    if parts[0] != PULUMI_AWS:
        return None
    if len(parts) == 4 and not parts[2][:1].isupper():  # the defining submodule
        parts = [*parts[:2], parts[3]]
    if len(parts) != 3 or not parts[2][:1].isupper():
        return None
    return f"{_MODULE_ALIASES.get(parts[1], parts[1])}.{parts[2]}"


def argument(call: cst.Call, name: str, position: int | None = None) -> cst.BaseExpression | None:
    """The value passed as `name=` (or at positional index `position`), else None."""
    for index, arg in enumerate(call.args):
        if arg.star:
            continue
        if arg.keyword is not None:
            if arg.keyword.value == name:
                return arg.value
        elif position is not None and index == position:
            return arg.value
    return None


def has_star_args(call: cst.Call) -> bool:
    """`**kwargs` / `*args`: the call may pass anything the rule cannot see."""
    return any(arg.star for arg in call.args)


def literal_str(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def literal_int(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal_int(node.expression)
        return -inner if inner is not None else None
    return None


def literal_bool(node: cst.BaseExpression | None) -> bool | None:
    if m.matches(node, m.Name("True")):
        return True
    if m.matches(node, m.Name("False")):
        return False
    return None


def code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def short_code(node: cst.CSTNode, limit: int = 60) -> str:
    """The node's code on one line, cut to `limit` characters, for messages."""
    text = " ".join(code(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def logical_name(call: cst.Call) -> str | None:
    """The resource's logical name as written: `payment-vpc-{environment_suffix}` for an
    f-string (placeholders shown as code), the text of a plain literal; None otherwise."""
    node = argument(call, "resource_name", 0)
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return literal_str(node)
    if isinstance(node, cst.FormattedString):
        pieces = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                pieces.append(part.value)
            else:
                pieces.append("{" + " ".join(code(part.expression).split()) + "}")
        return "".join(pieces)
    return None


def describe(kind: str, call: cst.Call) -> str:
    """`ec2.Vpc "payment-vpc-{environment_suffix}"` (or just `ec2.Vpc` without a literal name)."""
    name = logical_name(call)
    return f'{kind} "{name}"' if name is not None else kind


class Bindings:
    """What names and `self.x` attributes are bound to in one module (one plain assignment)."""

    def __init__(self, resolver: Any) -> None:
        self.resolver = resolver

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.resolver.get_metadata(ParentNodeProvider, node, None)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def value(self, expr: cst.BaseExpression | None, depth: int = 0) -> cst.BaseExpression | None:
        """Follow `x` / `self.x` to the one value assigned to it (repeatedly), else None.

        Anything that is not a plain name or `self.x` comes back as it is.
        """
        if expr is None or depth > _MAX_DEPTH:
            return None
        if isinstance(expr, cst.Name):
            bound = self._name_value(expr)
            return self.value(bound, depth + 1) if bound is not None else None
        if m.matches(expr, m.Attribute(value=m.Name())):
            bound = self._attribute_value(expr)  # type: ignore[arg-type]
            if bound is not None:
                return self.value(bound, depth + 1)
            return None
        return expr

    def call(self, expr: cst.BaseExpression | None) -> cst.Call | None:
        value = self.value(expr)
        return value if isinstance(value, cst.Call) else None

    def _name_value(self, name: cst.Name) -> cst.BaseExpression | None:
        scope = self.resolver.get_metadata(ScopeProvider, name, None)
        if not isinstance(scope, Scope):
            return None
        accesses = [a for a in scope.accesses[name] if a.node is name]
        if len(accesses) != 1:
            return None
        referents = list(accesses[0].referents)
        if len(referents) != 1 or not isinstance(referents[0], Assignment):
            return None
        assignment = referents[0]
        if len(list(assignment.scope[name.value])) != 1:
            return None  # rebound somewhere: which value reaches the use is not known
        return self._assigned_value(assignment.node)

    def _assigned_value(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        parent = self.parent(node)
        if isinstance(parent, cst.AssignTarget):
            statement = self.parent(parent)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                return statement.value
        if isinstance(parent, cst.AnnAssign) and parent.target is node:
            return parent.value
        return None

    def _attribute_value(self, expr: cst.Attribute) -> cst.BaseExpression | None:
        """The one `self.x = value` of the class whose method reads `self.x`."""
        receiver = expr.value.value  # type: ignore[attr-defined]
        class_def = None
        function = None
        for ancestor in self.ancestors(expr):
            if isinstance(ancestor, cst.FunctionDef) and function is None:
                function = ancestor
            if isinstance(ancestor, cst.ClassDef):
                class_def = ancestor
                break
        if class_def is None or function is None or _first_param(function) != receiver:
            return None
        values = []
        wanted = m.Attribute(value=m.Name(receiver), attr=m.Name(expr.attr.value))
        for found in m.findall(class_def, m.Assign() | m.AnnAssign() | m.AugAssign()):
            targets = ([t.target for t in found.targets] if isinstance(found, cst.Assign)  # type: ignore[union-attr]
                       else [found.target])  # type: ignore[union-attr]
            for target in targets:
                if m.matches(target, wanted):
                    if isinstance(found, cst.AugAssign) or len(targets) != 1 or found.value is None:  # type: ignore[union-attr]
                        return None
                    values.append(found.value)  # type: ignore[union-attr]
                elif not isinstance(target, cst.Attribute) and m.findall(target, wanted):
                    return None  # bound by unpacking
        return values[0] if len(values) == 1 else None


def _first_param(function: cst.FunctionDef) -> str | None:
    params = (*function.params.posonly_params, *function.params.params)
    return params[0].name.value if params else None


def list_elements(bindings: Bindings, expr: cst.BaseExpression | None) -> list[cst.BaseExpression] | None:
    """The elements of a list/tuple literal (followed through one binding), None if not literal."""
    value = bindings.value(expr)
    if isinstance(value, (cst.List, cst.Tuple)):
        if any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        return [e.value for e in value.elements]
    return None


def dict_items(node: cst.BaseExpression) -> dict[str, cst.BaseExpression] | None:
    """`{"protocol": "-1", ...}` -> {"protocol": node}; None when a key is not a literal."""
    if not isinstance(node, cst.Dict):
        return None
    items: dict[str, cst.BaseExpression] = {}
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            return None
        key = literal_str(element.key)
        if key is None:
            return None
        items[key] = element.value
    return items


def camel_to_snake(name: str) -> str:
    """`fromPort` -> `from_port` (Pulumi accepts dict inputs in either spelling)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


#: `lb.LoadBalancer` (also spelled `alb.LoadBalancer`; `canonical` maps both to `lb.*`).
LOAD_BALANCER = "lb.LoadBalancer"
LISTENER = "lb.Listener"


def referenced_call(bindings: Bindings, expr: cst.BaseExpression | None,
                    attributes: tuple[str, ...] = ("arn", "id")) -> cst.Call | None:
    """The constructor call behind `x.arn` / `self.x.id` (one plain binding), else None."""
    if not isinstance(expr, cst.Attribute) or expr.attr.value not in attributes:
        return None
    return bindings.call(expr.value)


def load_balancer(resolver: Any, bindings: Bindings, listener: cst.Call) -> cst.Call | None:
    """The `lb.LoadBalancer(...)` call a listener's `load_balancer_arn=` traces to, else None."""
    call = referenced_call(bindings, argument(listener, "load_balancer_arn"))
    if call is not None and resource_class(resolver, call) == LOAD_BALANCER:
        return call
    return None


def action_types(resolver: Any, bindings: Bindings,
                 actions: cst.BaseExpression | None) -> list[str] | None:
    """The literal `type` of each listener action (`ListenerDefaultActionArgs(type=...)`,
    `ListenerRuleActionArgs`, or a dict), lower-cased; None if a type is not a literal."""
    elements = list_elements(bindings, actions)
    if elements is None:
        return None
    types = []
    for element in elements:
        value = bindings.value(element) if isinstance(element, cst.Name) else element
        if isinstance(value, cst.Call):
            kind = literal_str(argument(value, "type", 0))
        else:
            items = dict_items(value) if value is not None else None
            kind = literal_str(items.get("type")) if items is not None else None
        if kind is None:
            return None
        types.append(kind.lower())
    return types
