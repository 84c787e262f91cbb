"""Rule `nat-gateway-per-az-cost`: one NAT gateway per availability zone in every environment
(seed 004 §8)."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from iacfix.codemods._network import (
    NETWORK_METADATA,
    Bindings,
    argument,
    describe,
    literal_int,
    literal_str,
    resource_class,
    short_code,
)
from iacfix.codemods.subnet_cidr_overlap import iterate

from iacfix.results import Safety
from iacfix.rule import Rule

_NAT = "ec2.NatGateway"
#: Hourly price of one NAT gateway (us-east-1, 2025: $0.045/hour, ~730 hours a month) and of the
#: data it processes; other regions cost a little more. Source: https://aws.amazon.com/vpc/pricing/
_MONTHLY = 32
_PER_GB = "0.045"
#: Reads of configuration or the environment: a loop over what they return is a flag already.
_CONFIG_READS = frozenset({"get", "get_int", "get_bool", "get_float", "get_object", "get_secret",
                           "require", "require_int", "require_bool", "require_float",
                           "require_object", "getenv"})
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


class NatGatewayPerAzCost(Rule):
    """Report a NAT gateway created once per availability zone with no environment condition.

    From seed 004 §8: the VPC stack created NAT gateways in every environment, dev included, at
    about $32 a month each plus data processing; the fix skipped them outside production. The
    costly shape is `ec2.NatGateway(...)` inside a `for` loop (or comprehension) over AZs or
    public subnets, so every stack, however short-lived, pays for one per AZ.

    Reported at the `ec2.NatGateway` call when it is inside a loop in the same function and
    nothing makes the count depend on the environment: no `if`/conditional expression around
    it, no guard clause before the loop (`if not is_production: return`), no `break`/`continue`
    in the loop, and a loop whose iterable does not read configuration (`config.get_int(...)`,
    `os.getenv(...)`, a conditional expression, or `range(n)` / `[:n]` with a computed `n`,
    also through one assignment such as `nat_count = 3 if is_production else 1`). The message
    gives the count and monthly cost when the loop length is known (`range(3)`, `azs[:2]`, a
    literal list). A regional NAT gateway (`availability_mode="regional"`) is not per AZ and is
    left alone, as is a single NAT gateway outside a loop.

    ## Why is this bad?
    Each NAT gateway bills about $32 a month (plus $0.045 per GB processed) from the moment it
    exists, whether traffic flows or not: three AZs cost ~$96 a month per stack, multiplied by
    every developer, PR and test stack. Per-AZ NAT gateways buy availability that a development
    stack does not need.

    ## Fix
    Put the count behind a config flag: one NAT gateway per AZ in production, a single one (or
    none, with VPC gateway/interface endpoints for S3, DynamoDB and the AWS APIs) elsewhere,
    e.g. `nat_count = len(public_subnets) if config.get_bool("highAvailabilityNat") else 1`, with
    the private route tables of every AZ pointing at NAT gateway `i % nat_count`. Not automatic:
    the routing changes with it and the production choice is the author's.

    ## Fix safety
    Display only: removing NAT gateways from a deployed stack changes its outbound routing and
    replaces route tables' routes.

    ## References
    - Seed 004 §8 ("Missing NAT Gateway Cost Optimization")
    - https://aws.amazon.com/vpc/pricing/ (NAT gateway pricing)
    - https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html
    """

    id = "nat-gateway-per-az-cost"
    title = "Report NAT gateways created per availability zone in every environment"
    safety = Safety.DISPLAY_ONLY
    evidence = (b"NatGateway",)
    METADATA_DEPENDENCIES = NETWORK_METADATA

    def visit_Module(self, node: cst.Module) -> None:
        self._bindings = Bindings(self)

    def visit_Call(self, node: cst.Call) -> None:
        if resource_class(self, node) != _NAT:
            return
        if literal_str(argument(node, "availability_mode")) == "regional":
            return
        loop = self._loop(node)
        if loop is None:
            return
        _target, iterable, header = loop
        if self._configured(iterable):
            return
        items = iterate(iterable, {}, None, self._sequence)
        if items is not None and len(items) <= 1:
            return
        count = (f" ({len(items)} NAT gateways, about ${_MONTHLY * len(items)} a month before data)"
                 if items is not None else "")
        self.report(node, (
            f"{describe(_NAT, node)} is created once per iteration of `{header}`{count} in every "
            f"environment: each NAT gateway costs about ${_MONTHLY} a month plus ${_PER_GB} per GB "
            "processed; for non-production stacks create a single NAT gateway (or none, with VPC "
            "endpoints) behind a config flag, e.g. one per AZ only "
            'if config.get_bool("highAvailabilityNat").'
        ))

    def _loop(self, call: cst.Call) -> tuple[cst.BaseExpression, cst.BaseExpression, str] | None:
        """The innermost loop creating the call in the same function, unless something
        conditional stands between them or guards the loop."""
        found = None
        child: cst.CSTNode = call
        for ancestor in self._bindings.ancestors(call):
            if isinstance(ancestor, (cst.If, cst.IfExp, cst.While, cst.Match)):
                return None
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.Module)):
                break
            if isinstance(ancestor, cst.For) and child is ancestor.body and found is None:
                if m.findall(ancestor.body, m.Break() | m.Continue()):
                    return None
                header = f"for {short_code(ancestor.target)} in {short_code(ancestor.iter)}"
                found = (ancestor.target, ancestor.iter, header)
            if isinstance(ancestor, _COMPREHENSIONS) and found is None:
                comp = ancestor.for_in
                if comp.ifs or comp.inner_for_in is not None:
                    return None
                header = f"for {short_code(comp.target)} in {short_code(comp.iter)}"
                found = (comp.target, comp.iter, header)
            child = ancestor
        if found is not None and self._guarded(call):
            return None
        return found

    def _guarded(self, node: cst.CSTNode) -> bool:
        """An early exit (`if ...: return` / `raise`) before `node` in an enclosing block."""
        child: cst.CSTNode = node
        for ancestor in self._bindings.ancestors(node):
            if isinstance(ancestor, (cst.IndentedBlock, cst.Module)):
                body = list(ancestor.body)
                statement = child
                if statement in body:
                    for earlier in body[: body.index(statement)]:
                        if isinstance(earlier, cst.If) and m.findall(earlier, m.Return() | m.Raise()):
                            return True
            if isinstance(ancestor, (cst.FunctionDef, cst.Module)):
                return False
            child = ancestor
        return False

    def _configured(self, iterable: cst.BaseExpression) -> bool:
        """Whether the loop's length is a decision made at run time (config, env, a condition)."""
        for expression in self._expressions(iterable):
            if m.findall(expression, m.IfExp()):
                return True
            for call in m.findall(expression, m.Call(func=m.Attribute())):
                if call.func.attr.value in _CONFIG_READS:  # type: ignore[attr-defined]
                    return True
            if m.findall(expression, m.Attribute(value=m.Name("os"), attr=m.Name("environ"))):
                return True
            for call in m.findall(expression, m.Call(func=m.Name("range"))):
                if not all(literal_int(arg.value) is not None
                           or m.matches(arg.value, m.Call(func=m.Name("len")))
                           for arg in call.args):  # type: ignore[attr-defined]
                    return True
            for sliced in m.findall(expression, m.Slice()):
                for bound in (sliced.lower, sliced.upper):  # type: ignore[attr-defined]
                    if bound is not None and literal_int(bound) is None:
                        return True
        return False

    def _expressions(self, iterable: cst.BaseExpression) -> list[cst.BaseExpression]:
        """The iterable and the values of the names in it (one assignment deep)."""
        found = [iterable]
        for name in m.findall(iterable, m.Name()):
            value = self._bindings.value(name)  # type: ignore[arg-type]
            if value is not None and value is not name:
                found.append(value)
        return found

    def _sequence(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self._bindings.value(node)
        return None
