"""Which expressions are boto3 clients of which AWS service (shared by the boto3 rules).

Private helper module (no `Rule` subclass, so the registry ignores it). A boto3 rule must only
rewrite calls on objects it can show to be a client of the right service, never on any object
that happens to have a `.describe_secret` or `.describe_vpcs` attribute. `Boto3Clients` answers
`service_of(expr)` for:

- `boto3.client("svc", ...)` / `boto3.client(service_name="svc")`, whatever the import spelling
  (`import boto3 as b`, `from boto3 import client`), resolved with `QualifiedNameProvider`;
- `<session>.client("svc")` where `<session>` is `boto3.Session(...)` /
  `boto3.session.Session(...)` (or a name / attribute bound to one, or a parameter annotated
  with it), and botocore's `get_session().create_client("svc")`;
- a local or module-global name bound to one of these (every binding that reaches the use must
  agree; `x = None` placeholders are ignored);
- `self.x` / `cls.x` / `ClassName.x` where the class (or a base class defined in the same module)
  assigns `x` one of these, in any method (`setUpClass`, `setUp`, `__init__`) or in the class
  body;
- a parameter or variable annotated with a boto3-stubs client type (`SecretsManagerClient` from
  `mypy_boto3_secretsmanager`, `EC2Client` from `mypy_boto3_ec2`, or the `types_boto3_*`
  packages), including quoted annotations and `Optional[...]` / `X | None`.

Anything else (an unannotated parameter, a value returned by a helper, a dict lookup) is
unknown and `service_of` returns None: the rules stay silent rather than guess.

A rule using this sets `METADATA_DEPENDENCIES = (*CLIENT_METADATA,)`, creates
one `Boto3Clients(self, node)` per file in `visit_Module(node)` and asks it about nodes of the
original tree (`original_node` in `leave_*`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import libcst as cst
from libcst.helpers import get_full_name_for_node
import libcst.matchers as m
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

CLIENT_METADATA = (ParentNodeProvider, ScopeProvider, QualifiedNameProvider)

_CLIENT_FACTORIES = frozenset({"boto3.client"})
_SESSION_FACTORIES = frozenset({"boto3.Session", "boto3.session.Session"})
_BOTOCORE_SESSION_FACTORIES = frozenset(
    {"botocore.session.get_session", "botocore.session.Session"}
)
_STUB_PACKAGES = ("mypy_boto3_", "types_boto3_")
_SESSION = "session"
_BOTOCORE_SESSION = "botocore-session"
_CLIENT = "client:"
#: The kind of a placeholder binding (`x = None`) that does not count against agreement.
_NEUTRAL = "neutral"


class _MetadataSource(Protocol):
    def get_metadata(self, key: object, node: cst.CSTNode, default: object = ...) -> object: ...


class Boto3Clients:
    """Answers questions about boto3 clients in one module, for one rule run."""

    def __init__(self, rule: _MetadataSource, module: cst.Module) -> None:
        """`module` is the tree the rule visits (the one `rule.get_metadata` knows)."""
        self._rule = rule
        self._module = module
        self._class_attributes: dict[cst.ClassDef, dict[str, list[_AttrBinding]]] = {}
        self._all_classes: list[cst.ClassDef] | None = None

    # -- public API -------------------------------------------------------------------------

    def service_of(self, expr: cst.BaseExpression) -> str | None:
        """The AWS service (`"secretsmanager"`, `"ec2"`) of the client `expr`, if provable."""
        kind = self._kind_of(expr, frozenset())
        if kind is not None and kind.startswith(_CLIENT):
            return kind[len(_CLIENT):]
        return None

    def bindings(self, name: cst.Name) -> frozenset[Assignment] | None:
        """The assignments that can reach this use of `name`, or None when unknown.

        libcst keeps only the assignments that precede the access in source order; that is
        not enough inside a loop, so a later assignment that shares a loop with the access
        makes the answer unknown. Imports, builtins and globals-from-nowhere are unknown.
        """
        scope = self._scope(name)
        if scope is None:
            return None
        accesses = [access for access in scope.accesses[name] if access.node is name]
        if len(accesses) != 1:
            return None
        referents = accesses[0].referents
        if not referents or not all(isinstance(a, Assignment) for a in referents):
            return None
        for assignment in referents:
            for other in assignment.scope[name.value]:
                if other in referents or not isinstance(other, Assignment):
                    continue
                if other.scope is assignment.scope and self._share_a_loop(name, other.node):
                    return None
        return frozenset(referents)  # type: ignore[arg-type]

    def assigned_value(self, assignment: BaseAssignment) -> cst.BaseExpression | None:
        """`value` when the assignment is `name = value` / `name: T = value` (one target)."""
        node = getattr(assignment, "node", None)
        if not isinstance(node, cst.Name):
            return None
        parent = self._parent(node)
        if isinstance(parent, cst.AssignTarget):
            statement = self._parent(parent)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                return statement.value
        if isinstance(parent, cst.AnnAssign) and parent.target is node:
            return parent.value
        return None

    def loop_iterable(self, assignment: BaseAssignment) -> cst.BaseExpression | None:
        """`items` for the target of `for name in items`, in a statement or a comprehension."""
        node = getattr(assignment, "node", None)
        if not isinstance(node, cst.Name):
            return None
        parent = self._parent(node)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is node:
            return parent.iter
        return None

    def reusable_at(self, expr: cst.BaseExpression, use: cst.CSTNode) -> bool:
        """Whether `expr` (a name or `self.x`) can be written again at `use` and mean the same.

        True for a name (or the `self` of `self.x`) that is bound exactly once in its scope and
        resolves to that same binding where `use` is.
        """
        if m.matches(expr, m.Attribute(value=m.Name(), attr=m.Name())):
            expr = expr.value  # type: ignore[attr-defined]
        if not isinstance(expr, cst.Name):
            return False
        here, there = self._scope(expr), self._scope(use)
        if here is None or there is None:
            return False
        if expr.value not in here or expr.value not in there:
            return False
        bound = set(here[expr.value])
        return len(bound) == 1 and bound == set(there[expr.value])

    # -- kinds ------------------------------------------------------------------------------

    def _kind_of(self, expr: cst.BaseExpression, seen: frozenset[cst.CSTNode]) -> str | None:
        if expr in seen:
            return None
        seen = seen | {expr}
        if isinstance(expr, cst.Call):
            return self._kind_of_call(expr, seen)
        if isinstance(expr, cst.Name):
            assignments = self.bindings(expr)
            if assignments is None:
                return None
            return self._agree(self._kind_of_assignment(a, seen) for a in assignments)
        if isinstance(expr, cst.Attribute):
            classes = self._classes_of(expr.value)
            if not classes:
                return None
            bound = [
                binding
                for class_def in classes
                for binding in self._attributes(class_def).get(expr.attr.value, [])
            ]
            return self._agree(self._kind_of_binding(b, seen) for b in bound)
        return None

    def _kind_of_call(self, call: cst.Call, seen: frozenset[cst.CSTNode]) -> str | None:
        names = self._qualified_names(call.func)
        if names & _CLIENT_FACTORIES:
            service = _service_argument(call)
            return _CLIENT + service if service else None
        if names & _SESSION_FACTORIES:
            return _SESSION
        if names & _BOTOCORE_SESSION_FACTORIES:
            return _BOTOCORE_SESSION
        if isinstance(call.func, cst.Attribute):
            method = call.func.attr.value
            if method in ("client", "create_client"):
                expected = _SESSION if method == "client" else _BOTOCORE_SESSION
                if self._kind_of(call.func.value, seen) == expected:
                    service = _service_argument(call)
                    return _CLIENT + service if service else None
        return None

    def _kind_of_binding(self, binding: _AttrBinding, seen: frozenset[cst.CSTNode]) -> str | None:
        if binding.annotation is not None:
            return self._kind_of_annotation(binding.annotation)
        if binding.value is None:
            return None
        if _is_none(binding.value):
            return _NEUTRAL
        return self._kind_of(binding.value, seen)

    def _kind_of_assignment(
        self, assignment: Assignment, seen: frozenset[cst.CSTNode]
    ) -> str | None:
        node = assignment.node
        if isinstance(node, cst.Param):
            if node.annotation is None:
                return None
            return self._kind_of_annotation(node.annotation.annotation)
        if isinstance(node, cst.Name):
            parent = self._parent(node)
            if isinstance(parent, cst.AnnAssign) and parent.target is node:
                annotated = self._kind_of_annotation(parent.annotation.annotation)
                if annotated is not None:
                    return annotated
            value = self.assigned_value(assignment)
            if value is None:
                return None
            if _is_none(value):
                return _NEUTRAL
            return self._kind_of(value, seen)
        return None

    def _kind_of_annotation(self, annotation: cst.BaseExpression) -> str | None:
        inner = _unwrap_optional(annotation)
        if inner is None:
            return None
        if isinstance(inner, cst.SimpleString):
            text = inner.evaluated_value
            if not isinstance(text, str):
                return None
            scope = self._scope(inner)
            if scope is None:
                return None
            try:
                parsed = cst.parse_expression(text.strip())
            except cst.ParserSyntaxError:
                return None
            inner = _unwrap_optional(parsed)
            if not isinstance(inner, (cst.Name, cst.Attribute)):
                return None
            names = {q.name for q in scope.get_qualified_names_for(get_full_name_for_node(inner) or "")}
        else:
            names = self._qualified_names(inner)
        if names & _SESSION_FACTORIES:
            return _SESSION
        for name in names:
            service = _stub_client_service(name)
            if service is not None:
                return _CLIENT + service
        return None

    @staticmethod
    def _agree(kinds: Iterable[str | None]) -> str | None:
        """The one kind every binding has (placeholders like `None` aside), else None."""
        found = {kind for kind in kinds if kind != _NEUTRAL}
        if len(found) != 1:
            return None
        return found.pop()

    # -- classes ----------------------------------------------------------------------------

    def _classes_of(self, receiver: cst.BaseExpression) -> list[cst.ClassDef]:
        """The classes whose attribute bindings `receiver.x` may read: the class of `receiver`
        (a class name, or the `self` / `cls` of a method), its bases and its subclasses defined
        in the same module (a subclass may rebind the attribute before an inherited method
        reads it)."""
        if not isinstance(receiver, cst.Name):
            return []
        assignments = self.bindings(receiver)
        if assignments is None or len(assignments) != 1:
            return []
        node = next(iter(assignments)).node
        if isinstance(node, cst.Param):
            node = self._method_of_first_param(node)
        if not isinstance(node, cst.ClassDef):
            return []
        found = self._with_bases(node, [])
        for other in self._classes():
            if other not in found and node in self._with_bases(other, []):
                found.append(other)
        return found

    def _classes(self) -> list[cst.ClassDef]:
        if self._all_classes is None:
            classes: list[cst.ClassDef] = []

            class Finder(cst.CSTVisitor):
                def visit_ClassDef(self, node: cst.ClassDef) -> None:
                    classes.append(node)

            self._module.visit(Finder())
            self._all_classes = classes
        return self._all_classes

    def _method_of_first_param(self, param: cst.Param) -> cst.ClassDef | None:
        """The class when `param` is `self`/`cls`: the first parameter of a non-static method."""
        parameters = self._parent(param)
        if not isinstance(parameters, cst.Parameters):
            return None
        first = (*parameters.posonly_params, *parameters.params)[:1]
        if not first or first[0] is not param:
            return None
        function = self._parent(parameters)
        if not isinstance(function, cst.FunctionDef):
            return None
        if any(m.matches(d.decorator, m.Name("staticmethod")) for d in function.decorators):
            return None
        block = self._parent(function)
        class_def = self._parent(block) if block is not None else None
        return class_def if isinstance(class_def, cst.ClassDef) else None

    def _with_bases(
        self, class_def: cst.ClassDef, found: list[cst.ClassDef]
    ) -> list[cst.ClassDef]:
        if class_def in found:
            return found
        found.append(class_def)
        for base in class_def.bases:
            if base.keyword is None and isinstance(base.value, cst.Name):
                assignments = self.bindings(base.value) or frozenset()
                for assignment in assignments:
                    if isinstance(assignment.node, cst.ClassDef):
                        self._with_bases(assignment.node, found)
        return found

    def _attributes(self, class_def: cst.ClassDef) -> dict[str, list[_AttrBinding]]:
        """attr -> what the class body and its methods bind to it."""
        if class_def not in self._class_attributes:
            collector = _AttributeCollector()
            for statement in _body(class_def):
                if isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        collector.record_class_level(small)
                elif isinstance(statement, cst.FunctionDef):
                    collector.record_method(statement)
            self._class_attributes[class_def] = collector.values
        return self._class_attributes[class_def]

    # -- metadata ---------------------------------------------------------------------------

    def _qualified_names(self, node: cst.CSTNode) -> set[str]:
        names = self._rule.get_metadata(QualifiedNameProvider, node, set())
        return {q.name for q in names}  # type: ignore[union-attr]

    def _scope(self, node: cst.CSTNode) -> Scope | None:
        return self._rule.get_metadata(ScopeProvider, node, None)  # type: ignore[return-value]

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        parent = self._rule.get_metadata(ParentNodeProvider, node, None)
        return parent  # type: ignore[return-value]

    def _share_a_loop(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        loops = set(self._enclosing_loops(first))
        return any(loop in loops for loop in self._enclosing_loops(second))

    def _enclosing_loops(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self._parent(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
            if isinstance(current, (cst.For, cst.While)):
                yield current
            current = self._parent(current)


@dataclass(frozen=True)
class _AttrBinding:
    """One binding of a class attribute: `x = value`, `self.x: annotation`, or unknown (both
    None: a tuple-unpacked or augmented assignment)."""

    value: cst.BaseExpression | None = None
    annotation: cst.BaseExpression | None = None


class _AttributeCollector:
    """Collects `x = v` in a class body and `self.x = v` / `cls.x = v` in its methods."""

    def __init__(self) -> None:
        self.values: dict[str, list[_AttrBinding]] = {}

    def record_class_level(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Name):
                self._add(target.value, _AttrBinding(value=small.value))
        elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
            self._add(small.target.value, _AttrBinding(annotation=small.annotation.annotation))

    def record_method(self, function: cst.FunctionDef) -> None:
        if any(m.matches(d.decorator, m.Name("staticmethod")) for d in function.decorators):
            return
        first = (*function.params.posonly_params, *function.params.params)[:1]
        if not first:
            return
        receiver = first[0].name.value
        collector = self

        class Visitor(cst.CSTVisitor):
            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False  # a nested class has its own `self`

            def visit_Assign(self, node: cst.Assign) -> None:
                for target in node.targets:
                    attr = _receiver_attribute(target.target, receiver)
                    if attr is not None:
                        # `a.x = b.y = v` binds both to v; a tuple target is unknown.
                        collector._add(attr, _AttrBinding(value=node.value))
                    elif not isinstance(target.target, (cst.Name, cst.Attribute, cst.Subscript)):
                        for element in _tuple_elements(target.target):
                            attr = _receiver_attribute(element, receiver)
                            if attr is not None:
                                collector._add(attr, _AttrBinding())

            def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
                attr = _receiver_attribute(node.target, receiver)
                if attr is not None:
                    collector._add(attr, _AttrBinding(annotation=node.annotation.annotation))
                    if node.value is not None:
                        collector._add(attr, _AttrBinding(value=node.value))

            def visit_AugAssign(self, node: cst.AugAssign) -> None:
                attr = _receiver_attribute(node.target, receiver)
                if attr is not None:
                    collector._add(attr, _AttrBinding())

        function.body.visit(Visitor())

    def _add(self, attr: str, binding: _AttrBinding) -> None:
        self.values.setdefault(attr, []).append(binding)


def _receiver_attribute(target: cst.BaseExpression, receiver: str) -> str | None:
    if m.matches(target, m.Attribute(value=m.Name(receiver), attr=m.Name())):
        return target.attr.value  # type: ignore[attr-defined]
    return None


def _tuple_elements(target: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield element.value
            yield from _tuple_elements(element.value)


def _body(class_def: cst.ClassDef) -> tuple[cst.CSTNode, ...]:
    body = class_def.body
    return tuple(body.body)


def _service_argument(call: cst.Call) -> str | None:
    """The literal service name of `client("svc")` / `client(service_name="svc")`."""
    value: cst.BaseExpression | None = None
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None and value is None:
            value = arg.value
        elif arg.keyword is not None and arg.keyword.value == "service_name":
            value = arg.value
    if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
        text = value.evaluated_value
        return text if isinstance(text, str) else None
    return None


def _stub_client_service(qualified: str) -> str | None:
    """`mypy_boto3_secretsmanager.SecretsManagerClient` -> `secretsmanager` (also `.client.`)."""
    for prefix in _STUB_PACKAGES:
        if not qualified.startswith(prefix):
            continue
        parts = qualified[len(prefix):].split(".")
        if len(parts) in (2, 3) and parts[-1].endswith("Client"):
            if len(parts) == 3 and parts[1] != "client":
                return None
            return parts[0].replace("_", "-")
    return None


def _unwrap_optional(annotation: cst.BaseExpression) -> cst.BaseExpression | None:
    """`Optional[X]` / `X | None` / `None | X` -> X; anything else unchanged."""
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        sides = [s for s in (annotation.left, annotation.right) if not _is_none(s)]
        return sides[0] if len(sides) == 1 else None
    if m.matches(
        annotation,
        m.Subscript(
            value=m.Name("Optional") | m.Attribute(attr=m.Name("Optional")),
            slice=[m.SubscriptElement(slice=m.Index())],
        ),
    ):
        return annotation.slice[0].slice.value  # type: ignore[attr-defined]
    return annotation


def _is_none(expr: cst.BaseExpression) -> bool:
    return m.matches(expr, m.Name("None"))


__all__ = ["CLIENT_METADATA", "Boto3Clients"]
