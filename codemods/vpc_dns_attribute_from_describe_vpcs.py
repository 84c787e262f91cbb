"""Rule `vpc-dns-attribute-from-describe-vpcs`: VPC DNS settings come from
`describe_vpc_attribute()` (seed 001 §6)."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider

from iacfix.codemods._boto3_clients import CLIENT_METADATA, Boto3Clients
from iacfix.results import Safety
from iacfix.rule import Rule

SERVICE = "ec2"

#: Response key -> the `Attribute=` value of DescribeVpcAttribute that returns it. None of these
#: keys is a member of the `Vpc` shape describe_vpcs returns (checked against botocore in
#: tests/test_real_boto3_calls.py).
ATTRIBUTES = {
    "EnableDnsHostnames": "enableDnsHostnames",
    "EnableDnsSupport": "enableDnsSupport",
    "EnableNetworkAddressUsageMetrics": "enableNetworkAddressUsageMetrics",
}


class VpcDnsAttributeFromDescribeVpcs(Rule):
    """VPC DNS settings are not in `describe_vpcs()`; read them with `describe_vpc_attribute()`.

    From seed 001 (§6, "Incorrect VPC DNS Attribute Testing"): an integration test fetched
    the VPC with `ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]` and asserted
    `vpc["EnableDnsHostnames"]` and `vpc["EnableDnsSupport"]`. The `Vpc` items of a
    describe_vpcs response have no such keys (they carry `VpcId`, `CidrBlock`, `State`,
    `IsDefault`, `Tags`, ...); each DNS setting, like `EnableNetworkAddressUsageMetrics`, is
    returned only by `describe_vpc_attribute(VpcId=..., Attribute="enableDnsHostnames")`, as
    `{"EnableDnsHostnames": {"Value": True}}`.

    The rule follows a value from an EC2 client's `describe_vpcs(...)` (client tracking as in
    `describe-secret-name`: `boto3.client("ec2")` however imported, sessions, names,
    `self.x`/`cls.x` set in `setUpClass`, `EC2Client` annotations) through `["Vpcs"]` or
    `.get("Vpcs", [])`, an index (`[0]`) or a `for` loop / comprehension, into a name, and
    flags reading one of those keys from it with `[...]` or `.get(...)`.

    ## Why is this bad?

    `vpc["EnableDnsHostnames"]` raises `KeyError: 'EnableDnsHostnames'` on every real
    response, so the test errors instead of checking the VPC. `vpc.get("EnableDnsHostnames")`
    is worse: it is always `None` (or the default), so `assertTrue` always fails and
    `assertFalse` always passes, whatever the VPC's settings are.

    ## Fix

    When the VPC item is a plain name bound once (`vpc = resp["Vpcs"][0]`, `for vpc in
    ...["Vpcs"]`) and the client is a name or `self.x` / `cls.x` that means the same client
    where the key is read, `vpc["EnableDnsHostnames"]` becomes

    ```
    ec2.describe_vpc_attribute(
        VpcId=vpc["VpcId"], Attribute="enableDnsHostnames"
    )["EnableDnsHostnames"]["Value"]
    ```

    (split inside the call's parentheses, as above, so the line stays readable). `VpcId` is always
    present in a describe_vpcs item, so the VPC asked about is the one the test fetched,
    however it was found (by id, by tag filter, or in a loop).

    Otherwise (the key is read straight off `describe_vpcs(...)["Vpcs"][0]`, the client is
    created inline, or a name is rebound) the finding is display-only and says which call to
    make instead.

    ## Fix safety

    Safe for `vpc["..."]`: that read raises `KeyError` on every response, so replacing it with
    a read-only `DescribeVpcAttribute` request that returns the real boolean only turns a
    certain failure into the check the author meant. Test code changes; no resource does. The
    test role needs `ec2:DescribeVpcAttribute`, which read-only policies grant with
    `ec2:Describe*`.

    Unsafe for `vpc.get("...")`: that read never raised, it returned `None` or its default, so
    an assertion that passed by accident (`assertFalse`, a truthy default) may start to fail
    and a new API call may raise; the result changes, so the fix needs `--unsafe-fixes`.

    ## References

    - https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcAttribute.html
    - https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Vpc.html
    - https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/ec2/client/describe_vpc_attribute.html
    - seed 001, §6 "Incorrect VPC DNS Attribute Testing"
    """

    id = "vpc-dns-attribute-from-describe-vpcs"
    title = "Read VPC DNS settings with `describe_vpc_attribute()`, not from `describe_vpcs()`"
    safety = Safety.SAFE
    evidence = tuple(key.encode() for key in ATTRIBUTES)

    METADATA_DEPENDENCIES = (*CLIENT_METADATA,)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A DNS key is read, and the file calls (or paginates) `describe_vpcs`."""
        return super().applies(source, path, project, settings) and b"describe_vpcs" in source

    def visit_Module(self, node: cst.Module) -> None:
        self.clients = Boto3Clients(self, node)

    # vpc["EnableDnsHostnames"]
    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        if not m.matches(
            original_node, m.Subscript(slice=[m.SubscriptElement(slice=m.Index(m.SimpleString()))])
        ):
            return updated_node
        key = original_node.slice[0].slice.value  # type: ignore[attr-defined]
        if key.evaluated_value not in ATTRIBUTES or self._is_target(original_node):
            return updated_node
        return self._check(original_node, updated_node, original_node.value, key, Safety.SAFE)

    # vpc.get("EnableDnsHostnames") / vpc.get("EnableDnsHostnames", False)
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not m.matches(
            original_node,
            m.Call(
                func=m.Attribute(attr=m.Name("get")),
                args=m.OneOf(
                    [m.Arg(m.SimpleString(), keyword=None, star="")],
                    [m.Arg(m.SimpleString(), keyword=None, star=""), m.Arg(keyword=None, star="")],
                ),
            ),
        ):
            return updated_node
        key = original_node.args[0].value
        if key.evaluated_value not in ATTRIBUTES:  # type: ignore[attr-defined]
            return updated_node
        receiver = original_node.func.value  # type: ignore[attr-defined]
        return self._check(
            original_node, updated_node, receiver, key, Safety.UNSAFE  # type: ignore[arg-type]
        )

    def _check(
        self,
        original: cst.BaseExpression,
        updated: cst.BaseExpression,
        item: cst.BaseExpression,
        key: cst.SimpleString,
        safety: Safety,
    ) -> cst.BaseExpression:
        origin = self._describe_vpcs_item(item)
        if origin is None:
            return updated
        client = origin.func.value  # type: ignore[attr-defined]
        name = key.evaluated_value
        attribute = ATTRIBUTES[name]  # type: ignore[index]
        if isinstance(original, cst.Call):
            problem = (
                f"`{name}` is not a key of the VPCs describe_vpcs() returns, so `.get()` always "
                "gives the default"
            )
        else:
            problem = f"`{name}` is not a key of the VPCs describe_vpcs() returns (KeyError)"
        fixable = isinstance(item, cst.Name) and self.clients.reusable_at(client, original)
        if not fixable:
            self.report(
                original,
                f"{problem}; call `describe_vpc_attribute(VpcId=<the VPC id>, "
                f'Attribute="{attribute}")["{name}"]["Value"]` on the EC2 client instead.',
                safety=Safety.DISPLAY_ONLY,
            )
            return updated
        if not self.report(
            original,
            f"{problem}; the fix reads it with `describe_vpc_attribute(VpcId=..., "
            f'Attribute="{attribute}")`.',
            safety=safety,
        ):
            return updated
        return self._replacement(original, client, item, key, attribute)  # type: ignore[arg-type]

    def _replacement(
        self,
        original: cst.BaseExpression,
        client: cst.BaseExpression,
        item: cst.Name,
        key: cst.SimpleString,
        attribute: str,
    ) -> cst.BaseExpression:
        quote = key.quote
        client_code = self.module.code_for_node(client)
        arguments = f"VpcId={item.value}[{quote}VpcId{quote}], Attribute={quote}{attribute}{quote}"
        tail = f"[{key.value}][{quote}Value{quote}]"
        # Split inside the call's parentheses, indented from the line the read starts on: one
        # line would pass 88 columns for any realistic client and item name.
        position = self.position(original)
        line = self.module.code.splitlines()[position.start.line - 1]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        inner = indent + self.module.default_indent
        code = f"{client_code}.describe_vpc_attribute(\n{inner}{arguments}\n{indent}){tail}"
        return _absolute_indentation(cst.parse_expression(code))

    def _describe_vpcs_item(self, item: cst.BaseExpression) -> cst.Call | None:
        """The `describe_vpcs(...)` call on an EC2 client that `item` is one VPC of."""
        if isinstance(item, cst.Name):
            bindings = self.clients.bindings(item)
            if bindings is None or len(bindings) != 1:
                return None
            (binding,) = bindings
            value = self.clients.assigned_value(binding)
            if value is not None:
                return self._indexed_vpcs(value)
            iterable = self.clients.loop_iterable(binding)
            if iterable is not None:
                return self._vpcs_list(iterable)
            return None
        return self._indexed_vpcs(item)

    def _indexed_vpcs(self, expr: cst.BaseExpression) -> cst.Call | None:
        """`<vpcs list>[0]` (any integer index) -> the describe_vpcs call."""
        if m.matches(
            expr,
            m.Subscript(
                slice=[
                    m.SubscriptElement(
                        slice=m.Index(m.Integer() | m.UnaryOperation(m.Minus(), m.Integer()))
                    )
                ]
            ),
        ):
            return self._vpcs_list(expr.value)  # type: ignore[attr-defined]
        return None

    def _vpcs_list(self, expr: cst.BaseExpression) -> cst.Call | None:
        """`<response>["Vpcs"]` / `<response>.get("Vpcs", ...)` / a name bound to one."""
        response: cst.BaseExpression | None = None
        if m.matches(
            expr, m.Subscript(slice=[m.SubscriptElement(slice=m.Index(m.SimpleString()))])
        ):
            if expr.slice[0].slice.value.evaluated_value == "Vpcs":  # type: ignore[attr-defined]
                response = expr.value  # type: ignore[attr-defined]
        elif m.matches(
            expr,
            m.Call(
                func=m.Attribute(attr=m.Name("get")),
                args=[m.Arg(m.SimpleString(), keyword=None, star=""), m.ZeroOrMore()],
            ),
        ):
            if expr.args[0].value.evaluated_value == "Vpcs":  # type: ignore[attr-defined]
                response = expr.func.value  # type: ignore[attr-defined]
        elif isinstance(expr, cst.Name):
            value = self._single_value(expr)
            return self._vpcs_list(value) if value is not None else None
        if response is None:
            return None
        if isinstance(response, cst.Name):
            response = self._single_value(response)
        return self._describe_vpcs_call(response)

    def _describe_vpcs_call(self, expr: cst.BaseExpression | None) -> cst.Call | None:
        if m.matches(expr, m.Call(func=m.Attribute(attr=m.Name("describe_vpcs")))):
            if self.clients.service_of(expr.func.value) == SERVICE:  # type: ignore[union-attr]
                return expr  # type: ignore[return-value]
        return None

    def _single_value(self, name: cst.Name) -> cst.BaseExpression | None:
        bindings = self.clients.bindings(name)
        if bindings is None or len(bindings) != 1:
            return None
        return self.clients.assigned_value(next(iter(bindings)))

    def _is_target(self, node: cst.CSTNode) -> bool:
        """Whether `node` is written to (`vpc["X"] = ...`, `del vpc["X"]`), not read."""
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.AssignTarget):
            return True
        if isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node:
            return True
        return isinstance(parent, cst.Del)


class _AbsoluteIndentation(cst.CSTTransformer):
    """Generated code carries its full indentation; stop libcst adding the block's again."""

    def leave_ParenthesizedWhitespace(
        self, original_node: cst.ParenthesizedWhitespace, updated_node: cst.ParenthesizedWhitespace
    ) -> cst.ParenthesizedWhitespace:
        return updated_node.with_changes(indent=False)


def _absolute_indentation(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.visit(_AbsoluteIndentation())  # type: ignore[return-value]
