"""Rule `subnet-cidr-overlap`: subnets of one VPC whose CIDRs overlap, fall outside the VPC or are
not network addresses, including CIDRs computed in loops (seed 002 §7)."""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from iacfix.codemods._network import (
    NETWORK_METADATA,
    Bindings,
    argument,
    describe,
    referenced_call,
    resource_class,
    short_code,
)
from libcst.metadata import QualifiedNameProvider

from iacfix.results import Safety
from iacfix.rule import Rule

_SUBNET = "ec2.Subnet"
_VPC = "ec2.Vpc"
_ASSOCIATION = "ec2.VpcIpv4CidrBlockAssociation"
_SUBNET_TEXT = re.compile(rb"\bSubnet\b")

#: Bounds of the evaluator: any integer beyond this is "unknown" (no CIDR octet or loop count
#: comes near it), and so is any loop longer than `MAX_ITERATIONS` or any set of nested loops
#: with more than `MAX_COMBINATIONS` combinations.
MAX_INT = 2**32
MAX_ITERATIONS = 256
MAX_COMBINATIONS = 1024
#: AWS subnet sizes: /16 (largest) to /28 (smallest).
_LARGEST, _SMALLEST = 16, 28

Value = int | str
Lookup = Callable[[cst.Name], "Value | None"]


class _Opaque:
    """An item of a sequence whose value is not known (`azs[:2]` of a list the rule cannot
    see): fine to iterate over, unknown when used."""

    def __repr__(self) -> str:
        return "<opaque>"


OPAQUE = _Opaque()


# -- the evaluator ------------------------------------------------------------------------------
#
# A tiny interpreter over libcst nodes, for the arithmetic of CIDR f-strings: integer and string
# literals, names bound in `env` (loop variables) or by `lookup` (module constants), unary minus,
# `+ - * // %` on integers, `+` on strings, f-strings without format specs. Everything else
# (calls, attributes, `**`, subscripts, comparisons) is unknown: None. Nothing is ever eval()ed.

_INT_OPS: dict[type, Callable[[int, int], int | None]] = {
    cst.Add: lambda a, b: a + b,
    cst.Subtract: lambda a, b: a - b,
    cst.Multiply: lambda a, b: a * b,
    cst.FloorDivide: lambda a, b: a // b if b else None,
    cst.Modulo: lambda a, b: a % b if b else None,
}


def evaluate(node: cst.BaseExpression, env: Mapping[str, object],
             lookup: Lookup | None = None) -> Value | None:
    """The value of `node` (an int or str) under `env`, or None when it is not that simple."""
    if isinstance(node, cst.Integer):
        value = int(node.value.replace("_", ""), 0)
        return value if abs(value) <= MAX_INT else None
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        if isinstance(node, cst.SimpleString) and "b" in node.prefix.lower():
            return None
        text = node.evaluated_value
        return text if isinstance(text, str) else None
    if isinstance(node, cst.Name):
        if node.value in env:
            value = env[node.value]
        elif lookup is not None:
            value = lookup(node)
        else:
            return None
        return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    if isinstance(node, cst.UnaryOperation):
        inner = evaluate(node.expression, env, lookup)
        if not isinstance(inner, int):
            return None
        if isinstance(node.operator, cst.Minus):
            return -inner
        return inner if isinstance(node.operator, cst.Plus) else None
    if isinstance(node, cst.BinaryOperation):
        operation = _INT_OPS.get(type(node.operator))
        if operation is None:
            return None  # `**`, bit operations, `/`, `@`: not CIDR arithmetic
        left = evaluate(node.left, env, lookup)
        if left is None:
            return None
        right = evaluate(node.right, env, lookup)
        if isinstance(left, str) and isinstance(right, str) and isinstance(node.operator, cst.Add):
            return left + right if len(left) + len(right) <= 256 else None
        if not isinstance(left, int) or not isinstance(right, int):
            return None
        result = operation(left, right)
        return result if result is not None and abs(result) <= MAX_INT else None
    if isinstance(node, cst.FormattedString):
        pieces = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                pieces.append(part.value.replace("{{", "{").replace("}}", "}"))
                continue
            if part.format_spec is not None or part.conversion is not None:
                return None
            value = evaluate(part.expression, env, lookup)
            if value is None:
                return None
            pieces.append(str(value))
        return "".join(pieces)
    return None


def iterate(node: cst.BaseExpression, env: Mapping[str, object], lookup: Lookup | None = None,
            sequence: Callable[[cst.BaseExpression], list | None] | None = None,
            builtin: Callable[[cst.Call], str | None] | None = None) -> list | None:
    """The items a `for` loop over `node` binds: `range(...)`, `enumerate(...)`, list/tuple
    literals, slices `[:n]`, a list comprehension's length; None when not known. `sequence`
    resolves other expressions (a name bound to a list literal); `builtin` says which builtin a
    call is (default: by its name)."""
    if isinstance(node, cst.Call) and not any(arg.star for arg in node.args):
        name = builtin(node) if builtin is not None else _bare_name(node)
        if name == "range":
            numbers = [evaluate(arg.value, env, lookup) for arg in node.args if arg.keyword is None]
            if not 1 <= len(numbers) <= 3 or len(numbers) != len(node.args):
                return None
            if not all(isinstance(n, int) for n in numbers) or (len(numbers) == 3 and numbers[2] == 0):
                return None
            span = range(*numbers)  # type: ignore[arg-type]
            return list(span) if len(span) <= MAX_ITERATIONS else None
        if name == "enumerate":
            if not node.args or node.args[0].keyword is not None:
                return None
            start = 0
            for arg in node.args[1:]:
                if arg.keyword is not None and arg.keyword.value != "start":
                    return None
                start = evaluate(arg.value, env, lookup)  # type: ignore[assignment]
            if not isinstance(start, int):
                return None
            items = iterate(node.args[0].value, env, lookup, sequence, builtin)
            return None if items is None else [(start + i, item) for i, item in enumerate(items)]
        return None
    if isinstance(node, (cst.List, cst.Tuple)):
        items: list = []
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                return None
            value = element.value
            if isinstance(value, cst.Tuple):
                items.append(tuple(_item(e.value, env, lookup) for e in value.elements))
            else:
                items.append(_item(value, env, lookup))
        return items if len(items) <= MAX_ITERATIONS else None
    if isinstance(node, cst.ListComp) and not node.for_in.ifs and node.for_in.inner_for_in is None:
        # `[ec2.Subnet(...) for i, az in enumerate(azs)]`: as many (opaque) items as its loop
        inner = iterate(node.for_in.iter, env, lookup, sequence, builtin)
        return None if inner is None else [OPAQUE] * len(inner)
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if not isinstance(index, cst.Slice) or index.step is not None:
            return None
        lower = evaluate(index.lower, env, lookup) if index.lower is not None else 0
        upper = evaluate(index.upper, env, lookup) if index.upper is not None else None
        if not isinstance(lower, int) or lower < 0 or (upper is not None and not isinstance(upper, int)):
            return None
        items = iterate(node.value, env, lookup, sequence, builtin)
        if items is not None:
            return items[lower:upper]
        if upper is None or upper < lower or upper - lower > MAX_ITERATIONS:
            return None
        # A list the rule cannot see, cut to n items: taken as n items (every AWS region has at
        # least three availability zones, the usual thing sliced here).
        return [OPAQUE] * (upper - lower)
    if sequence is not None:
        resolved = sequence(node)
        if resolved is not None and resolved is not node:
            return iterate(resolved, env, lookup, sequence, builtin)  # type: ignore[arg-type]
    return None


def _item(node: cst.BaseExpression, env: Mapping[str, object], lookup: Lookup | None) -> object:
    value = evaluate(node, env, lookup)
    return OPAQUE if value is None else value


def _bare_name(call: cst.Call) -> str | None:
    return call.func.value if isinstance(call.func, cst.Name) else None


def bind(target: cst.BaseExpression, item: object, env: dict[str, object]) -> bool:
    """Bind a loop target (`i`, `i, az`, `(i, (a, b))`) to an item; False if the shapes differ."""
    if isinstance(target, cst.Name):
        env[target.value] = item
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        if not isinstance(item, tuple) or len(item) != len(target.elements):
            return False
        return all(bind(e.value, v, env) for e, v in zip(target.elements, item))
    return False


# -- the rule -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """One CIDR a subnet call produces, with the loop values that produce it."""

    call: cst.Call
    text: str
    where: str  # "i=1", or "" outside loops
    network: ipaddress.IPv4Network | None


class SubnetCidrOverlap(Rule):
    """Report subnets whose CIDRs overlap, lie outside their VPC, or are not network addresses.

    Evaluates `ec2.Subnet(cidr_block=...)` within one file, including CIDRs computed in loops
    and comprehensions: `for i in range(3)`, `for i, az in enumerate(azs[:2])`,
    `enumerate(["a", "b"], start=1)`, list/tuple literals (also through a name bound to one),
    with f-strings such as `f"10.0.{i}.0/24"`, `f"10.0.{i * 2 + 1}.0/24"`,
    `f"10.0.{i + 10}.0/24"` and module constants. The arithmetic is evaluated by a small
    interpreter over libcst nodes (integer `+ - * // %`, string `+`, f-strings without format
    specs, bounded values); calls, attributes, `**` and anything else are unknown and the
    subnet is left out — nothing is ever `eval()`ed. A slice `azs[:n]` of a list the rule cannot
    see is taken as n items (every AWS region has at least three availability zones); an
    un-sliced unknown list, a loop body with `break`/`continue`, or an `if` between the loop and
    the subnet leave the subnet out (which iterations run is not known).

    Reported (one finding per `ec2.Subnet` call, at the call):
    - a CIDR that is not a network address (`10.0.1.5/24`: host bits set), not an IPv4 CIDR
      (`10.0.300.0/24`), or not a size AWS allows (/16 to /28);
    - a CIDR outside the VPC's `cidr_block` when the `ec2.Vpc` is in the same file (literal
      CIDR, no secondary `VpcIpv4CidrBlockAssociation` the rule cannot read);
    - two subnets of the same VPC (same `vpc_id=` traced to one `ec2.Vpc`, or the same
      expression) whose networks overlap, also two iterations of one loop; reported at the one
      that comes later in the file.

    Seed 002 §7's `f"10.0.{i}.0/24"` + `f"10.0.{i + 10}.0/24"` leaves a gap between the tiers but
    does not overlap: not a finding (nor is its ideal `i * 2` / `i * 2 + 1`).

    ## Why is this bad?
    EC2 rejects a subnet whose range overlaps another subnet of the VPC (`InvalidSubnet.Conflict`)
    or lies outside the VPC (`InvalidSubnet.Range`), and the provider rejects a `cidr_block`
    that is not a network address: `pulumi up` fails halfway, after some subnets exist. With
    loop arithmetic the clash is invisible in review: `10.0.{i}.0/24` and `10.0.{i + 1}.0/24`
    look like two tiers and collide from the second AZ on.

    ## Fix
    Give every subnet a range of its own inside the VPC: offset each tier by at least the
    number of AZs (`10.0.{i}.0/24` and `10.0.{i + 10}.0/24`), interleave them (`i * 2` and
    `i * 2 + 1`), or compute them with `ipaddress.ip_network(vpc_cidr).subnets(new_prefix=24)`.
    Not automatic: the layout is a design decision and deployed subnets are replaced when their
    CIDR changes.

    ## Fix safety
    Display only: changing a deployed subnet's CIDR replaces the subnet and everything in it.

    ## References
    - Seed 002 §7 ("Inefficient Subnet CIDR Allocation")
    - https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
    - https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
      (InvalidSubnet.Conflict, InvalidSubnet.Range)
    - https://docs.python.org/3/library/ipaddress.html
    """

    id = "subnet-cidr-overlap"
    title = "Report subnet CIDRs that overlap, leave the VPC or are not network addresses"
    safety = Safety.DISPLAY_ONLY
    evidence = (b"Subnet",)
    METADATA_DEPENDENCIES = NETWORK_METADATA

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """`Subnet` as a word (not `SubnetGroup`) and a CIDR keyword: `ec2.Subnet(cidr_block=...)`."""
        return bool(_SUBNET_TEXT.search(source)) and b"cidr_block" in source

    def visit_Module(self, node: cst.Module) -> None:
        self._bindings = Bindings(self)
        self._subnets: list[cst.Call] = []
        self._associations: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        kind = resource_class(self, node)
        if kind == _SUBNET:
            self._subnets.append(node)
        elif kind == _ASSOCIATION:
            self._associations.append(node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        groups: dict[object, list[_Value]] = {}
        vpcs: dict[object, cst.Call] = {}
        reported: set[int] = set()
        for call in self._subnets:
            values = self._values(call)
            if values is None:
                continue
            bad = next((v for v in values if v.network is None), None)
            if bad is not None:
                self._report_invalid(call, bad)
                reported.add(id(call))
                continue
            key, vpc = self._vpc_key(call)
            if vpc is not None:
                vpcs[key] = vpc
                outside = self._outside(vpc, values)
                if outside is not None:
                    self._report_outside(call, outside[0], vpc, outside[1])
                    reported.add(id(call))
                    continue
            groups.setdefault(key, []).extend(values)
        for values in groups.values():
            self._overlaps(values, reported)
        return updated_node

    # -- values -------------------------------------------------------------------------------

    def _values(self, call: cst.Call) -> list[_Value] | None:
        expression = argument(call, "cidr_block")
        if expression is None:
            return None
        environments = self._environments(call)
        if environments is None:
            return None
        names = {n.value for n in m.findall(expression, m.Name())}  # type: ignore[union-attr]
        values = []
        seen = set()
        for env in environments:
            text = evaluate(expression, env, self._lookup)
            if not isinstance(text, str):
                return None
            where = ", ".join(f"{k}={v}" for k, v in env.items()
                              if k in names and isinstance(v, int) and not isinstance(v, bool))
            if (text, where) in seen:
                continue
            seen.add((text, where))
            values.append(_Value(call, text, where, _network(text)))
        return values

    def _environments(self, call: cst.Call) -> list[dict[str, object]] | None:
        """Every combination of loop variables the call runs with ([{}] outside loops)."""
        loops: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        child: cst.CSTNode = call
        for ancestor in self._bindings.ancestors(call):
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                break
            if isinstance(ancestor, (cst.If, cst.IfExp, cst.While, cst.Match)):
                return None  # which iterations create the subnet is not known
            if isinstance(ancestor, cst.For):
                if child is ancestor.iter or child is ancestor.target or child is ancestor.orelse:
                    return None
                if m.findall(ancestor.body, m.Break() | m.Continue()):
                    return None
                loops.append((ancestor.target, ancestor.iter))
            if isinstance(ancestor, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
                if child is ancestor.for_in:
                    return None
                comp: cst.CompFor | None = ancestor.for_in
                nested = []
                while comp is not None:
                    if comp.ifs:
                        return None
                    nested.append((comp.target, comp.iter))
                    comp = comp.inner_for_in
                loops.extend(reversed(nested))
            child = ancestor
        loops.reverse()  # outermost first
        environments: list[dict[str, object]] = [{}]
        for target, iterable in loops:
            grown = []
            for env in environments:
                items = iterate(iterable, env, self._lookup, self._sequence, self._builtin)
                if items is None:
                    return None
                for item in items:
                    bound = dict(env)
                    if not bind(target, item, bound):
                        return None
                    grown.append(bound)
            if len(grown) > MAX_COMBINATIONS:
                return None
            environments = grown
        return environments

    def _lookup(self, name: cst.Name) -> Value | None:
        value = self._bindings.value(name)
        if value is None or value is name:
            return None
        return evaluate(value, {}, None)

    def _sequence(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self._bindings.value(node)
        return None

    def _builtin(self, call: cst.Call) -> str | None:
        for qualified in self.get_metadata(QualifiedNameProvider, call.func, set()):
            if qualified.name in ("builtins.range", "builtins.enumerate"):
                return qualified.name.split(".")[1]
        return None

    def _vpc_key(self, call: cst.Call) -> tuple[object, cst.Call | None]:
        vpc_id = argument(call, "vpc_id")
        if vpc_id is None:
            return "default", None
        vpc = referenced_call(self._bindings, vpc_id, ("id",))
        if vpc is not None and resource_class(self, vpc) == _VPC:
            return id(vpc), vpc
        return " ".join(short_code(vpc_id, 1000).split()), None

    def _outside(self, vpc: cst.Call, values: list[_Value]) -> tuple[_Value, str] | None:
        cidr = argument(vpc, "cidr_block")
        text = evaluate(cidr, {}, self._lookup) if cidr is not None else None
        network = _network(text) if isinstance(text, str) else None
        if network is None:
            return None
        networks = [network]
        for association in self._associations:
            target = referenced_call(self._bindings, argument(association, "vpc_id"), ("id",))
            if target is not None and target is not vpc:
                continue
            extra = argument(association, "cidr_block")
            extra_text = evaluate(extra, {}, self._lookup) if extra is not None else None
            extra_network = _network(extra_text) if isinstance(extra_text, str) else None
            if extra_network is None:
                return None  # a secondary range the rule cannot read
            networks.append(extra_network)
        for value in values:
            if value.network is not None and not any(value.network.subnet_of(n) for n in networks):
                return value, ", ".join(str(n) for n in networks)
        return None

    def _overlaps(self, values: list[_Value], reported: set[int]) -> None:
        clashes: dict[int, list[tuple[_Value, _Value]]] = {}
        for first, second in itertools.combinations(values, 2):
            if first.network is None or second.network is None or not first.network.overlaps(second.network):
                continue
            later_first = self._order(first.call) > self._order(second.call)
            later, earlier = (first, second) if later_first else (second, first)
            clashes.setdefault(id(later.call), []).append((later, earlier))
        for pairs in clashes.values():
            later, earlier = pairs[0]
            if id(later.call) in reported:
                continue
            reported.add(id(later.call))
            same = later.call is earlier.call
            other = "another iteration of the same call" if same else describe(_SUBNET, earlier.call)
            more = f" (and {len(pairs) - 1} more overlap{'s' if len(pairs) > 2 else ''})" if len(pairs) > 1 else ""
            self.report(later.call, (
                f"{self._label(later)}, which overlaps {earlier.network}{_where(earlier)} of {other} "
                f"in the same VPC{more}; EC2 rejects the second subnet (InvalidSubnet.Conflict): give "
                "each subnet a range of its own, e.g. offset each tier by at least the number of AZs."
            ))

    def _order(self, call: cst.Call) -> tuple[int, int]:
        start = self.position(call).start
        return start.line, start.column

    # -- messages -----------------------------------------------------------------------------

    def _label(self, value: _Value) -> str:
        expression = argument(value.call, "cidr_block")
        shown = short_code(expression) if expression is not None else "?"
        literal = isinstance(expression, cst.SimpleString)
        head = f"{describe(_SUBNET, value.call)} cidr_block {shown}"
        return head if literal else f"{head} gives {value.text}{_where(value)}"

    def _report_invalid(self, call: cst.Call, value: _Value) -> None:
        problem = _problem(value.text)
        self.report(call, f"{self._label(value)}, which {problem}.")

    def _report_outside(self, call: cst.Call, value: _Value, vpc: cst.Call, ranges: str) -> None:
        self.report(call, (
            f"{self._label(value)}, which is outside {describe(_VPC, vpc)} ({ranges}); EC2 rejects "
            "it (InvalidSubnet.Range): choose a range inside the VPC's CIDR."
        ))


def _where(value: _Value) -> str:
    return f" ({value.where})" if value.where else ""


def _network(text: str) -> ipaddress.IPv4Network | None:
    """The network when `text` is a valid AWS subnet CIDR, else None (see `_problem`)."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        return None
    if not isinstance(network, ipaddress.IPv4Network) or "/" not in text:
        return None
    if not _LARGEST <= network.prefixlen <= _SMALLEST:
        return None
    return network


def _problem(text: str) -> str:
    """Why `text` is not a usable subnet CIDR, as the end of a sentence."""
    try:
        loose = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return "is not an IPv4 CIDR (a.b.c.d/n with octets 0-255); EC2 cannot create it"
    if not isinstance(loose, ipaddress.IPv4Network) or "/" not in text:
        return "is not an IPv4 CIDR with a prefix length (a.b.c.d/n); cidr_block takes one"
    if str(loose) != text.strip():
        return (f"has host bits set (the network is {loose}); the provider rejects a cidr_block "
                "that is not a network address: write the network address")
    return (f"is a /{loose.prefixlen}; AWS subnets must be between /{_LARGEST} and "
            f"/{_SMALLEST}")
