"""Rule `http-listener-without-redirect`: an internet-facing HTTP listener that serves the
application instead of redirecting to HTTPS (seed 003 §1, §2)."""

from __future__ import annotations

import libcst as cst

from iacfix.codemods._network import (
    LISTENER,
    LOAD_BALANCER,
    NETWORK_METADATA,
    Bindings,
    action_types,
    argument,
    describe,
    literal_bool,
    literal_int,
    literal_str,
    load_balancer,
    referenced_call,
    resource_class,
)

from iacfix.results import Safety
from iacfix.rule import Rule

_LISTENER_RULE = "lb.ListenerRule"
#: Load balancer types without HTTP listeners (`load_balancer_type` of pulumi_aws 7.51).
_NOT_APPLICATION = frozenset({"network", "gateway"})


class HttpListenerWithoutRedirect(Rule):
    """Report an internet-facing HTTP listener that forwards to the targets instead of
    redirecting to HTTPS.

    From seed 003: the certificate could not be validated, so the HTTPS listener was commented
    out and an HTTP listener on port 80 forwarding to the target group took its place "for
    testing". The same shape is common beside a working HTTPS listener, where port 80 should
    only redirect.

    Reported: an `lb.Listener(protocol="HTTP")` (`alb.Listener` too) whose default actions
    include `forward` and none is a `redirect`, on a load balancer traced in the same file
    (`load_balancer_arn=alb.arn`, `alb = lb.LoadBalancer(...)`) that is internet-facing
    (`internal` absent or `False`, not a network or gateway load balancer). Two messages:
    - the load balancer also has an HTTPS listener in the file: plain HTTP is served beside it,
      make port 80 a redirect;
    - it has none (seed 003's testing fallback): the application is only reachable unencrypted;
      the message says this is acceptable for a test stack only and what production needs.
    Left alone: internal load balancers, listeners that redirect or answer with a fixed response,
    listeners with an `lb.ListenerRule` that redirects, and anything whose protocol, action types
    or load balancer cannot be read from literals and plain assignments.

    ## Why is this bad?
    Everything sent to port 80 (logins, session cookies, payment data) crosses the internet in
    clear text and can be read or altered on the way; browsers mark the site "Not secure", and
    PCI DSS 4.2.1 requires strong cryptography for cardholder data in transit.

    ## Fix
    With an HTTPS listener: make the HTTP listener's default action a redirect,
    `ListenerDefaultActionArgs(type="redirect", redirect=ListenerDefaultActionRedirectArgs(
    protocol="HTTPS", port="443", status_code="HTTP_301"))`. Without one: create an ACM
    certificate for a domain you control, validate it, add the HTTPS listener and then the
    redirect. Not automatic.

    ## Fix safety
    Display only: a redirect changes what every client of port 80 gets, and without an HTTPS
    listener it needs a certificate and a domain that only the author has.

    ## References
    - Seed 003 §1 ("ACM Certificate with Unvalidatable Domain"), §2 ("Missing HTTP Fallback
      Listener")
    - https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#redirect-actions
    - https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html (ELB.1)
    """

    id = "http-listener-without-redirect"
    title = "Report internet-facing HTTP listeners that do not redirect to HTTPS"
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
        elif kind == _LISTENER_RULE:
            self._rules.append(node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        for listener in self._listeners:
            if (literal_str(argument(listener, "protocol")) or "").upper() == "HTTP":
                self._check(listener)
        return updated_node

    def _check(self, listener: cst.Call) -> None:
        balancer = load_balancer(self, self._bindings, listener)
        if balancer is None or not self._internet_facing(balancer):
            return
        types = action_types(self, self._bindings, argument(listener, "default_actions"))
        if not types or "forward" not in types or "redirect" in types or self._redirected_by_rule(listener):
            return
        port = literal_int(argument(listener, "port"))
        where = f" on port {port}" if port is not None else ""
        label = describe(LISTENER, listener)
        https = [other for other in self._listeners
                 if (literal_str(argument(other, "protocol")) or "").upper() == "HTTPS"
                 and load_balancer(self, self._bindings, other) is balancer]
        if https:
            https_port = literal_int(argument(https[0], "port"))
            shown = describe(LISTENER, https[0]) + (f", port {https_port}" if https_port is not None else "")
            self.report(listener, (
                f"{label}{where} forwards plain HTTP to the targets although "
                f"{describe(LOAD_BALANCER, balancer)} has an HTTPS listener ({shown}); make its "
                'default action a redirect: type="redirect", redirect=ListenerDefaultActionRedirectArgs('
                f'protocol="HTTPS", port="{https_port or 443}", status_code="HTTP_301").'
            ))
        else:
            self.report(listener, (
                f"{label}{where} serves the application over plain HTTP on internet-facing "
                f"{describe(LOAD_BALANCER, balancer)}, which has no HTTPS listener, so traffic "
                "crosses the internet unencrypted; acceptable for a test stack only: for production "
                "add an HTTPS listener with a validated ACM certificate and make this one redirect to it."
            ))

    def _internet_facing(self, balancer: cst.Call) -> bool:
        internal = argument(balancer, "internal")
        if internal is not None and literal_bool(internal) is not False:
            return False  # internal, or decided at run time
        kind = argument(balancer, "load_balancer_type")
        if kind is not None:
            text = literal_str(kind)
            if text is None or text.lower() in _NOT_APPLICATION:
                return False
        return True

    def _redirected_by_rule(self, listener: cst.Call) -> bool:
        for rule in self._rules:
            types = action_types(self, self._bindings, argument(rule, "actions"))
            if types is not None and "redirect" not in types:
                continue
            target = referenced_call(self._bindings, argument(rule, "listener_arn"))
            if target is None or target is listener:
                return True  # a redirect rule on this listener, or one that might be
        return False
