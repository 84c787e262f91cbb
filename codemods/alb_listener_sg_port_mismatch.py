"""Rule `alb-listener-sg-port-mismatch`: a load balancer listener on a port its security groups
do not admit (seed 003 §3)."""

from __future__ import annotations

import libcst as cst

from iacfix.codemods._network import (
    LISTENER,
    LOAD_BALANCER,
    NETWORK_METADATA,
    Bindings,
    argument,
    camel_to_snake,
    describe,
    dict_items,
    list_elements,
    literal_int,
    literal_str,
    load_balancer,
    referenced_call,
    resource_class,
)

from iacfix.results import Safety
from iacfix.rule import Rule

_GROUP = "ec2.SecurityGroup"
#: Inline ingress classes; positional order of `SecurityGroupIngressArgs.__init__` in
#: pulumi_aws 7.51: from_port, protocol, to_port.
_INGRESS_ARGS = frozenset({"ec2.SecurityGroupIngressArgs"})
_POSITIONS = {"from_port": 0, "protocol": 1, "to_port": 2}
_RULE = "ec2.SecurityGroupRule"
_VPC_INGRESS_RULE = "vpc.SecurityGroupIngressRule"
_ALL_PROTOCOLS = frozenset({"-1", "all"})
_TCP = frozenset({"tcp", "6"})
#: Listener protocols carried over TCP (an ALB's HTTP/HTTPS, an NLB's TCP/TLS). UDP and
#: TCP_UDP listeners need udp rules and are left alone.
_TCP_LISTENERS = frozenset({"HTTP", "HTTPS", "TCP", "TLS"})
_ALL = (0, 65535)


class _Unknown(Exception):
    """A rule whose ports cannot be read: the rule says nothing about that listener."""


class AlbListenerSgPortMismatch(Rule):
    """Report a load balancer listener whose port no ingress rule of the load balancer's
    security groups admits.

    From seed 003 §3: an HTTP listener on port 80 was added to an ALB whose security group
    admitted only tcp 443 (`ingress=[SecurityGroupIngressArgs(protocol="tcp", from_port=443,
    to_port=443, ...)]`), so the listener existed and nothing could reach it.

    The rule works within one file (the seed's `tap_stack.py` holds the listener, the load
    balancer and its group): it traces `lb.Listener(load_balancer_arn=alb.arn)` to
    `alb = lb.LoadBalancer(security_groups=[alb_sg.id])` and each group to `alb_sg =
    ec2.SecurityGroup(ingress=[...])` through plain assignments (`x = ...`, `self.x = ...`), and
    adds the group's standalone `ec2.SecurityGroupRule(type="ingress")` and
    `vpc.SecurityGroupIngressRule` resources of the same file. `alb.*` spellings are the same
    classes. It reports only when everything is known: a listener port that is a literal, every
    security group of the load balancer traced to a group with an inline `ingress=` list (inline
    rules are the group's complete set: Pulumi documents that inline and standalone rules must
    not be mixed), and every rule's protocol and ports literal. Ingress ports with no listener
    are not findings (a group may serve other purposes). Groups or rules in other modules are not
    seen, so those listeners are left alone.

    ## Why is this bad?
    The listener is created and `pulumi up` succeeds, but the load balancer drops every
    connection on that port: health checks pass, the target group looks healthy, and the
    endpoint times out for every client. It is found only by testing the URL.

    ## Fix
    Add an ingress rule for the listener's port to the load balancer's security group
    (`SecurityGroupIngressArgs(protocol="tcp", from_port=80, to_port=80, cidr_blocks=[...])`),
    or remove the listener if the port is not meant to be served. Not automatic: the source the
    port should be open to (the internet, a corporate range, a CloudFront prefix list) is the
    author's decision.

    ## Fix safety
    Display only: opening a port widens what the internet can reach, so a human chooses the
    source range.

    ## References
    - Seed 003 §3 ("ALB Security Group Port Mismatch")
    - https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/ec2/securitygroup/ (inline vs standalone rules)
    """

    id = "alb-listener-sg-port-mismatch"
    title = "Report load balancer listeners on ports their security groups do not admit"
    safety = Safety.DISPLAY_ONLY
    evidence = (b"Listener",)
    METADATA_DEPENDENCIES = NETWORK_METADATA

    def visit_Module(self, node: cst.Module) -> None:
        self._bindings = Bindings(self)
        self._listeners: list[cst.Call] = []
        self._rules: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        kind = resource_class(self, node)
        if kind == LISTENER:
            self._listeners.append(node)
        elif kind == _VPC_INGRESS_RULE or (kind == _RULE and literal_str(argument(node, "type")) == "ingress"):
            self._rules.append(node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        for listener in self._listeners:
            self._check(listener)
        return updated_node

    def _check(self, listener: cst.Call) -> None:
        port = literal_int(argument(listener, "port"))
        protocol = literal_str(argument(listener, "protocol")) or "HTTP"
        if port is None or protocol.upper() not in _TCP_LISTENERS:
            return
        balancer = load_balancer(self, self._bindings, listener)
        if balancer is None:
            return
        groups = self._groups(balancer)
        if not groups:
            return
        try:
            admitted = {id(group): self._admitted(group) for group in groups}
        except _Unknown:
            return
        if any(low <= port <= high for ranges in admitted.values() for low, high in ranges):
            return
        shown = "; ".join(f"{describe(_GROUP, group)} admits {_ranges(admitted[id(group)])}"
                          for group in groups)
        which, verb = ("security group", "does") if len(groups) == 1 else ("security groups", "do")
        self.report(
            listener,
            f"{describe(LISTENER, listener)} listens on port {port} ({protocol.upper()}), but the "
            f"{which} of {describe(LOAD_BALANCER, balancer)} {verb} not admit tcp {port} ({shown}), so "
            f"clients cannot reach it; add an ingress rule for tcp {port} from the clients' range, "
            "or remove the listener.",
        )

    def _groups(self, balancer: cst.Call) -> list[cst.Call] | None:
        elements = list_elements(self._bindings, argument(balancer, "security_groups"))
        if not elements:
            return None
        groups = []
        for element in elements:
            group = referenced_call(self._bindings, element, ("id",))
            if group is None or resource_class(self, group) != _GROUP:
                return None
            if argument(group, "ingress") is None:
                return None  # rules live elsewhere: not the complete set
            groups.append(group)
        return groups

    def _admitted(self, group: cst.Call) -> list[tuple[int, int]]:
        """The tcp port ranges the group's ingress admits (from any source)."""
        elements = list_elements(self._bindings, argument(group, "ingress"))
        if elements is None:
            raise _Unknown
        ranges = []
        for element in elements:
            value = self._bindings.value(element) if isinstance(element, cst.Name) else element
            if isinstance(value, cst.Call) and resource_class(self, value) in _INGRESS_ARGS:
                fields = {k: argument(value, k, _POSITIONS[k]) for k in _POSITIONS}
            elif value is not None and (items := dict_items(value)) is not None:
                fields = {camel_to_snake(k): v for k, v in items.items()}
            else:
                raise _Unknown
            ranges += _range(fields.get("protocol"), fields.get("from_port"), fields.get("to_port"))
        for rule in self._rules:
            target = referenced_call(self._bindings, argument(rule, "security_group_id"), ("id",))
            if target is None:
                raise _Unknown  # it may belong to this group
            if target is group:
                protocol = argument(rule, "ip_protocol") or argument(rule, "protocol")
                ranges += _range(protocol, argument(rule, "from_port"), argument(rule, "to_port"))
        return ranges


def _range(protocol_node, low_node, high_node) -> list[tuple[int, int]]:
    number = literal_int(protocol_node)
    protocol = str(number) if number is not None else literal_str(protocol_node)
    if protocol is None:
        raise _Unknown
    protocol = protocol.strip().lower()
    if protocol in _ALL_PROTOCOLS:
        return [_ALL]
    if protocol not in _TCP:
        return []  # udp, icmp: no tcp port
    low, high = literal_int(low_node), literal_int(high_node)
    if low is None or high is None:
        raise _Unknown
    return [(low, high)]


def _ranges(ranges: list[tuple[int, int]]) -> str:
    if not ranges:
        return "no tcp port"
    shown = sorted({f"tcp {low}" if low == high else f"tcp {low}-{high}" for low, high in ranges})
    return "only " + ", ".join(shown)
