"""Rule `sg-all-protocols`: security group ingress that admits every protocol or every port
(seed 004 §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from iacfix.codemods._network import (
    NETWORK_METADATA,
    Bindings,
    argument,
    camel_to_snake,
    describe,
    dict_items,
    list_elements,
    literal_bool,
    literal_int,
    literal_str,
    resource_class,
    short_code,
)

from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: Resources whose `ingress=` list holds inline rules (pulumi_aws 7.51 signatures).
_GROUPS = frozenset({"ec2.SecurityGroup", "ec2.DefaultSecurityGroup"})
#: Inline ingress rule classes -> their positional parameter order (`inspect.signature` of
#: `pulumi_aws.ec2.SecurityGroupIngressArgs.__init__`: from_port, protocol, to_port, ...).
_INGRESS_ARGS = frozenset({"ec2.SecurityGroupIngressArgs", "ec2.DefaultSecurityGroupIngressArgs"})
_ARGS_POSITIONS = {"from_port": 0, "protocol": 1, "to_port": 2}
#: Standalone rules: `ec2.SecurityGroupRule(type="ingress", protocol=, from_port=, to_port=,
#: cidr_blocks=, ipv6_cidr_blocks=, prefix_list_ids=, self=, source_security_group_id=)` and
#: `vpc.SecurityGroupIngressRule(ip_protocol=, from_port=, to_port=, cidr_ipv4=, cidr_ipv6=,
#: prefix_list_id=, referenced_security_group_id=)`.
_RULE = "ec2.SecurityGroupRule"
_VPC_INGRESS_RULE = "vpc.SecurityGroupIngressRule"
#: The protocol values AWS reads as "every protocol" (`-1`; the provider also accepts `all`).
_ALL_PROTOCOLS = frozenset({"-1", "all"})
#: Protocols that have ports: tcp/udp by name or by IANA number.
_PORTED = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}
_WORLD = frozenset({"0.0.0.0/0", "::/0"})
_MAX_PORT = 65535
#: The prefilter's view of the literals `_opened` reads: an all-protocols string or -1 given as a
#: protocol (keyword, dict key, or the second positional argument of `*IngressArgs(`), or an
#: integer literal (any base) that may reach the top port.
_ALL_VALUE = r"""(?:["']\s*(?:-1|all)\s*["']|-\s*(?:0[xob])?0*1(?![\w.]))"""
_ALL_TEXT = re.compile(rf"""protocol["']?\s*[=:]\s*{_ALL_VALUE}|IngressArgs\s*\(\s*[^,()=]*,\s*{_ALL_VALUE}""",
                       re.IGNORECASE)
_INTEGER = re.compile(r"(?<![\w.])(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*)(?![\w.])")
#: Egress is never read: its arguments, `*EgressArgs(...)` calls and `SecurityGroupRule(...)`
#: calls that say "egress" are cut from the text before the literals are looked for.
_EGRESS_CALLS = re.compile(r"\w*EgressArgs|SecurityGroupEgressRule")
_RULE_CALLS = re.compile(r"SecurityGroupRule")


@dataclass
class _Sources:
    """Where an ingress rule admits traffic from, as text for the message."""

    shown: list[str] = field(default_factory=list)
    world: list[str] = field(default_factory=list)
    only_self: bool = False
    cidr: bool = False


class SgAllProtocols(Rule):
    """Report security group ingress that admits every protocol, or every port, of the group.

    An ingress rule with `protocol="-1"` (or `"all"`), or a tcp/udp rule over ports 0-65535,
    opens every port of every instance, task, function or endpoint in the group to its source.
    From seed 004 §2: a VPC endpoint security group admitted `protocol="-1"` from the VPC CIDR
    `10.0.0.0/16`, where the fix admitted tcp 443 from the Lambda functions' own group.

    Checked: inline rules of `ec2.SecurityGroup(ingress=[...])` (and
    `ec2.DefaultSecurityGroup`), written as `ec2.SecurityGroupIngressArgs(...)` or as dicts
    (`{"protocol": "-1", ...}`, snake or camel case keys), standalone
    `ec2.SecurityGroupRule(type="ingress", ...)` and `vpc.SecurityGroupIngressRule(ip_protocol=
    "-1", ...)`. Ingress open to `0.0.0.0/0` or `::/0` is the severe case and the message says
    so; any other source (a VPC CIDR, a security group, a prefix list) is reported as a least-
    privilege finding.

    Left alone: egress (every protocol to `0.0.0.0/0` is the rule AWS gives every new group,
    and a narrower all-protocol egress is tighter than that default; reporting either would fire
    on nearly every program), ingress whose only source is the group itself (`self=True`, the
    rule of every VPC's default group, used by clusters whose members talk on many ports), ICMP
    rules, and protocols or ports that are not literals.

    ## Why is this bad?
    Every service behind the group is reachable on ports nobody meant to open: a debug port, a
    database, the metadata of an agent. From the internet that is an open door for scanners; from
    the VPC CIDR it lets any compromised workload in the VPC reach everything in the group, and it
    fails least-privilege audits (PCI DSS, CIS AWS Foundations 5.x, Security Hub EC2.18/EC2.19).

    ## Fix
    Admit only the protocol and ports the members listen on (`protocol="tcp", from_port=443,
    to_port=443` for interface VPC endpoints and HTTPS load balancers), from the clients'
    security group (`security_groups=[client_sg.id]` / `referenced_security_group_id=`) rather
    than a CIDR. Not automatic: which ports the service uses needs the author.

    ## Fix safety
    Display only: narrowing the rule cuts off whatever traffic relied on the open ports, so the
    ports must come from someone who knows the service.

    ## References
    - Seed 004 §2 ("Missing VPC Security Group for Lambda Functions")
    - https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html
    - https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html (EC2.18, EC2.19)
    - https://www.pulumi.com/registry/packages/aws/api-docs/ec2/securitygroup/
    """

    id = "sg-all-protocols"
    title = "Report security group ingress that admits every protocol or every port"
    safety = Safety.DISPLAY_ONLY
    #: Every spelling of an all-protocols value (`"-1"`, `'all'`, `protocol=-1`, `"protocol": -1`)
    #: or of the top port; a bare `-1` would match every region name (`us-east-1`).
    evidence = (b'"-1"', b"'-1'", b"=-1", b": -1", b'"all"', b"'all'", b'"ALL"', b"'ALL'",
                b'"All"', b"'All'", b"65535")
    METADATA_DEPENDENCIES = NETWORK_METADATA

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Outside egress: "ingress" occurs, and an all-protocols literal or a port >= 65535."""
        if not super().applies(source, path, project, settings):
            return False
        text = prefilter.text_of(source)
        cut = [(a.start, a.start + len(a.value)) for a in prefilter.keyword_arguments(text, {"egress"})]
        cut += prefilter.call_spans(text, _EGRESS_CALLS)
        cut += [(start, end) for start, end in prefilter.call_spans(text, _RULE_CALLS)
                if re.search(r"""["']egress["']""", text[start:end])]
        for start, end in sorted(cut, reverse=True):
            text = text[:start] + text[end:]
        if "ingress" not in text.lower():
            return False
        return bool(_ALL_TEXT.search(text)) or any(
            _port(number) >= _MAX_PORT for number in _INTEGER.findall(text))

    def visit_Module(self, node: cst.Module) -> None:
        self._bindings = Bindings(self)
        self._seen: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        kind = resource_class(self, node)
        if kind in _INGRESS_ARGS:
            fields = {name: argument(node, name, _ARGS_POSITIONS.get(name))
                      for name in ("protocol", "from_port", "to_port", "cidr_blocks",
                                   "ipv6_cidr_blocks", "prefix_list_ids", "security_groups", "self")}
            self._check(node, self._owner(node), fields)
        elif kind in _GROUPS:
            for element in list_elements(self._bindings, argument(node, "ingress")) or ():
                items = dict_items(element)
                if items is not None:
                    fields = {camel_to_snake(key): value for key, value in items.items()}
                    self._check(element, describe(kind, node), fields)
        elif kind == _RULE:
            if literal_str(argument(node, "type")) == "ingress":
                fields = {name: argument(node, name)
                          for name in ("protocol", "from_port", "to_port", "cidr_blocks",
                                       "ipv6_cidr_blocks", "prefix_list_ids", "self",
                                       "source_security_group_id")}
                self._check(node, describe(kind, node), fields)
        elif kind == _VPC_INGRESS_RULE:
            fields = {
                "protocol": argument(node, "ip_protocol"),
                "from_port": argument(node, "from_port"),
                "to_port": argument(node, "to_port"),
                "cidr_ipv4": argument(node, "cidr_ipv4"),
                "cidr_ipv6": argument(node, "cidr_ipv6"),
                "prefix_list_id": argument(node, "prefix_list_id"),
                "referenced_security_group_id": argument(node, "referenced_security_group_id"),
            }
            self._check(node, describe(kind, node), fields)

    def _owner(self, args: cst.Call) -> str:
        """The security group an inline rule belongs to, for the message."""
        for ancestor in self._bindings.ancestors(args):
            if isinstance(ancestor, cst.Call) and resource_class(self, ancestor) in _GROUPS:
                return describe(resource_class(self, ancestor) or "", ancestor)
        return "a SecurityGroupIngressArgs"

    def _check(self, node: cst.CSTNode, owner: str, fields: dict[str, cst.BaseExpression | None]) -> None:
        if id(node) in self._seen:
            return
        self._seen.add(id(node))
        opened = _opened(fields)
        if opened is None:
            return
        sources = self._sources(fields)
        if not sources.shown or sources.only_self:
            return
        if sources.world:
            message = (f"{owner} ingress admits {opened} from {' and '.join(sources.world)}: every "
                       "port of every member of the group is open to the internet; admit only the "
                       "protocol and ports the service listens on (e.g. tcp 443), from the "
                       "narrowest source that needs them.")
        else:
            hint = " for interface VPC endpoints" if "endpoint" in owner.lower() else ""
            source = ", from the clients' security group rather than a CIDR" if sources.cidr else ""
            message = (f"{owner} ingress admits {opened} from {', '.join(sources.shown)}, more than "
                       "any member of the group needs (least privilege); admit only the protocol "
                       f"and ports it listens on (e.g. tcp 443{hint}){source}.")
        self.report(node, message)

    def _sources(self, fields: dict[str, cst.BaseExpression | None]) -> _Sources:
        sources = _Sources()
        for key in ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6"):
            value = fields.get(key)
            if value is None:
                continue
            sources.cidr = True
            single = key.startswith("cidr_ipv")
            elements = [value] if single else list_elements(self._bindings, value)
            if elements is None:
                sources.shown.append(short_code(value))
                continue
            for element in elements:
                text = literal_str(self._bindings.value(element) if isinstance(element, cst.Name) else element)
                if text is not None and text.strip() in _WORLD:
                    sources.world.append(text.strip())
                sources.shown.append(text if text is not None else short_code(element))
        for key in ("security_groups", "prefix_list_ids"):
            value = fields.get(key)
            if value is not None:
                elements = list_elements(self._bindings, value)
                shown = [short_code(e) for e in elements] if elements is not None else [short_code(value)]
                label = "security group" if key == "security_groups" else "prefix list"
                sources.shown += [f"{label} {text}" for text in shown]
        for key in ("source_security_group_id", "referenced_security_group_id"):
            value = fields.get(key)
            if value is not None:
                sources.shown.append(f"security group {short_code(value)}")
        if fields.get("prefix_list_id") is not None:
            sources.shown.append(f"prefix list {short_code(fields['prefix_list_id'])}")  # type: ignore[arg-type]
        is_self = literal_bool(fields.get("self")) is True
        if is_self:
            sources.only_self = not sources.shown
            sources.shown.append("the group itself")
        return sources


def _opened(fields: dict[str, cst.BaseExpression | None]) -> str | None:
    """What the rule opens ('all protocols and ports (protocol "-1")', 'every tcp port
    (0-65535)'), or None when it opens less or the values are not literals."""
    node = fields.get("protocol")
    number = literal_int(node)
    protocol = str(number) if number is not None else literal_str(node)
    if protocol is None:
        return None
    protocol = protocol.strip().lower()
    if protocol in _ALL_PROTOCOLS:
        return f'all protocols and ports (protocol "{protocol}")'
    if protocol in _PORTED:
        low, high = literal_int(fields.get("from_port")), literal_int(fields.get("to_port"))
        if low is not None and high is not None and low <= 1 and high >= _MAX_PORT:
            return f"every {_PORTED[protocol]} port ({low}-{high})"
    return None



def _port(literal: str) -> int:
    """The value of an integer literal the prefilter found (`0xFFFF`, `65_535`, `065535`)."""
    try:
        return int(literal.replace("_", ""), 0)
    except ValueError:  # leading zeros: not valid Python, the parser reports it
        return int(literal.replace("_", ""))
