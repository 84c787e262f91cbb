"""Rule `placeholder-domain`: domains no stack can own, and CloudFront domains that are not one."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from iacfix.codemods._aws_resources import (
    assigned_values,
    canonical,
    code,
    describe,
    dict_is_open,
    has_opaque_arguments,
    keyword_name,
    literal_str,
    resource_arguments,
    short_class,
)
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: Second-level labels that are placeholders under any public suffix (`example.com`,
#: `api.example.io`, `yourdomain.co.uk`). `example.com/.org/.net` are reserved by RFC 2606; the
#: others are what templates and generators write for "your domain here".
_PLACEHOLDER_LABELS = frozenset({
    "example", "yourdomain", "your-domain", "mydomain", "my-domain", "yourcompany", "your-company",
})
#: Registrable domains that are placeholders only as written: `test.com`, `domain.com` and
#: `mycompany.com` are real, owned by someone else, and what generators write by default.
#: `mycompany.io`, `acme.io` and the like are deliberately NOT listed: they read like real names.
_PLACEHOLDER_DOMAINS = frozenset({"test.com", "domain.com", "mycompany.com"})
#: Top-level domains reserved by RFC 2606 (no registry delegates under them).
_RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost"})
_RFC2606 = frozenset({"example.com", "example.org", "example.net"})
#: The second-level labels of two-label public suffixes (`co.uk`, `com.au`).
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu"})
#: Stands for a part of a value only known at run time (an f-string field, a variable).
_UNKNOWN = "\ue000"
_HOST = re.compile(r"[a-z0-9_\ue000-]+(?:\.[a-z0-9_\ue000-]+)+")
#: First labels of `*.cloudfront.net` names that are placeholders, not distributions:
#: `placeholder`, `xxxx`/`dxxxxxxxxxxxxx`, the AWS docs' `d111111abcdef8`, `your-...`, `example...`.
_CLOUDFRONT_PLACEHOLDER = re.compile(
    r".*placeholder.*|d?x{3,}|d111111abcdef8|your.*|example.*"
)
_CLOUDFRONT_SUFFIX = ".cloudfront.net"
#: Keyword names that carry the stack's own domain into a component (`domain=`, `api_domain=`).
_DOMAIN_KEYWORD = re.compile(r"(^|_)(domain|domain_name|hostname|zone_name)$", re.IGNORECASE)
#: Keyword names that carry a CloudFront domain into a component (`cloudfront_domain=`).
_CLOUDFRONT_KEYWORD = re.compile(
    r"(cloudfront|distribution).*(domain|dns|host)|(domain|dns|host).*(cloudfront|distribution)",
    re.IGNORECASE,
)

_CERTIFICATE = "pulumi_aws.acm.Certificate"
_VALIDATION = "pulumi_aws.acm.CertificateValidation"
_ZONE = "pulumi_aws.route53.Zone"
_RECORD = "pulumi_aws.route53.Record"
_DISTRIBUTION = "pulumi_aws.cloudfront.Distribution"
_RECORD_ALIAS_ARGS = frozenset({"pulumi_aws.route53.RecordAliasArgs"})
_OUTPUT_TEXT = frozenset({"pulumi.Output.concat", "pulumi.output.Output.concat"})
_OUTPUT_WRAP = frozenset({"pulumi.Output.from_input", "pulumi.output.Output.from_input",
                          "pulumi.Output.secret", "pulumi.output.Output.secret"})

#: Resource -> (its Args class, {argument: what an unownable domain there breaks}); argument
#: names checked against pulumi_aws 7.51 (`inspect.signature(<Resource>._internal_init)`).
_DOMAIN_ARGUMENTS: dict[str, tuple[str, dict[str, str]]] = {
    _CERTIFICATE: ("pulumi_aws.acm.CertificateArgs", {
        "domain_name": "its validation can never complete and the certificate stays "
                       "PENDING_VALIDATION (listeners and distributions using it fail)",
        "subject_alternative_names": "its validation can never complete and the certificate "
                                     "stays PENDING_VALIDATION (listeners and distributions using it fail)",
    }),
    _ZONE: ("pulumi_aws.route53.ZoneArgs", {
        "name": "no parent zone can delegate to this public hosted zone and its records (and ACM "
                "validation through them) never resolve",
    }),
    _RECORD: ("pulumi_aws.route53.RecordArgs", {
        "name": "no public resolver ever reaches this record",
    }),
    _DISTRIBUTION: ("pulumi_aws.cloudfront.DistributionArgs", {
        "aliases": "CloudFront rejects it: an alias needs a validated certificate covering it, "
                   "which nobody can get",
    }),
    "pulumi_aws.apigateway.DomainName": ("pulumi_aws.apigateway.DomainNameArgs", {
        "domain_name": "API Gateway rejects it: it needs an issued ACM certificate for the name, "
                       "which nobody can get",
    }),
    "pulumi_aws.apigatewayv2.DomainName": ("pulumi_aws.apigatewayv2.DomainNameArgs", {
        "domain_name": "API Gateway rejects it: it needs an issued ACM certificate for the name, "
                       "which nobody can get",
    }),
}
_OWN_DOMAIN = 'use a domain you own, read from config (e.g. config.require("domainName"))'
_RESOLVE_DEPTH = 4


@dataclass(frozen=True)
class _Text:
    """A string value as far as the code shows it: `probe` has `_UNKNOWN` for run-time parts,
    `shown` has their source (`{environment_suffix}`) for messages."""

    probe: str
    shown: str


class PlaceholderDomain(Rule):
    """A domain no stack can own (`example.com`, `yourdomain.com`, `.test`) as a certificate,
    hosted zone, record, CloudFront alias or API Gateway domain; a placeholder CloudFront domain
    as a DNS target; an ACM certificate validation with no validation record.

    Generated programs fill in domains with documentation placeholders: `acm.Certificate(
    domain_name=f"payment-{environment_suffix}.example.com")` (seed 003 §1), hosted zones for
    `dev.api.example.com` (seed 004 §3), and DNS records pointing at `Output.concat("placeholder")`
    instead of the distribution's domain (seed 004 §5). The value may be a literal, an f-string, an
    `Output.concat` of literals, or a variable / dict entry of the same module holding one.

    Placeholders are, on label boundaries: any domain whose registrable part is `example`,
    `yourdomain`, `your-domain`, `mydomain`, `my-domain`, `yourcompany` or `your-company` under a
    public suffix (`example.com`, `api.example.io`, `example.co.uk`; RFC 2606 reserves
    `example.com/.org/.net`); exactly `test.com`, `domain.com`, `mycompany.com` (real domains
    owned by someone else and the generators' favourites); the RFC 2606 top-level domains `.test`,
    `.example`, `.invalid`, `.localhost`. The list is explicit on purpose: `api.mycompany.io`
    reads like a real domain and is left alone, as is `example.mycorp.com` (a real subdomain).
    CloudFront placeholders are `*.cloudfront.net` names whose first label is `placeholder...`,
    `xxxx`, `your...`, `example...` or the AWS docs' `d111111abcdef8`, and any text containing
    `placeholder`, when used as a `route53.Record` alias target or record value, or passed as a
    keyword naming a CloudFront or distribution domain (`cloudfront_domain=`, the seed's component).

    ## Why is this bad?
    Nobody can prove ownership of a reserved or placeholder domain. ACM DNS validation never
    completes, so the certificate stays `PENDING_VALIDATION`; the HTTPS listener, CloudFront
    distribution or API Gateway domain that needs it fails, and an `acm.CertificateValidation`
    blocks `pulumi up` for its whole create timeout. A public hosted zone for such a name is
    created but never delegated, so its records never resolve. A record aliased to
    `"placeholder"` deploys and resolves to nothing (seed 004 §5: "100% downtime").

    An `acm.CertificateValidation` without `validation_record_fqdns` has no dependency on the DNS
    record that proves ownership: unless that record exists outside the program (or the
    certificate is validated by email), the validation waits its whole create timeout and fails.
    It is reported only when the certificate is a DNS-validated `acm.Certificate` of the same
    module; an ARN from elsewhere may name a certificate that is already issued.

    ## Fix
    None automatic: the right domain is the owner's. The finding says what to supply: a domain
    you own read from config (`config.require("domainName")`), or the distribution's
    `.domain_name` for a CloudFront target (create the distribution first), or the `fqdn`s of the
    `route53.Record`s made from the certificate's `domain_validation_options`.

    Not reported: domains read from config or passed in from elsewhere (a parameter, another
    module), `config.get(...) or "example.com"` defaults (the config is the contract), private
    hosted zones (`vpcs=`) and records in a private zone of the same module, certificates issued
    by a private CA or imported (`certificate_authority_arn=`, `certificate_body=`), AWS endpoints
    (`*.amazonaws.com`), and e-mail addresses such as an SNS subscription to
    `alerts@example.com` (the subscription deploys and waits for a confirmation that never comes:
    harmless to the deployment, and not a domain the stack must own). Tags, descriptions,
    comments and docstrings are not read.

    An `acm.CertificateValidation` of such a certificate without `custom_timeouts` in its options
    is reported too (seed 004 §4): when the validation record does not resolve yet (a zone whose
    delegation is not in place, a slow propagation), `pulumi up` blocks for the provider's default
    create timeout before it fails, with no sign of why. Setting `custom_timeouts=
    pulumi.CustomTimeouts(create="45m")` states how long this stack's DNS may take; the right value
    is the owner's (seed 004 chose 45 minutes).

    A placeholder domain passed to the program's own component as a `domain=`/`domain_name=`/
    `*_domain=` keyword (seed 004: `Route53Stack(domain=domain)`) is reported where it is passed:
    the component creates the zone, certificate and records from it in another module.

    ## Fix safety
    Display only: the domain (or the CloudFront target) is the owner's choice, and a wrong guess
    would deploy certificates and records for someone else's name.

    ## References
    - Seed 003 §1 (ACM certificate with unvalidatable domain), seed 004 §3 (hosted zone without
      domain ownership), §4 (certificate validation and DNS), §5 (placeholder CloudFront domain)
    - https://www.rfc-editor.org/rfc/rfc2606 (reserved example domains and TLDs)
    - https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html
    - https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/CreatingNewSubdomain.html
    - https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/acm/certificatevalidation/
    """

    id = "placeholder-domain"
    title = "Report placeholder domains and CloudFront targets no stack can own or resolve"
    safety = Safety.DISPLAY_ONLY
    #: Lowercase and uppercase spellings (plus `Example`, `Placeholder`); matching itself is
    #: case-insensitive, but a mixed-case `YourDomain.com` alone does not get the file parsed.
    evidence = tuple(
        spelling
        for word in (b"xample", b"ourdomain", b"our-domain", b"ydomain", b"y-domain", b"ourcompany",
                     b"our-company", b"test.com", b"domain.com", b"ycompany.com", b".test",
                     b".invalid", b".localhost", b"laceholder", b"cloudfront.net")
        for spelling in (word, word.upper())
    ) + (b"CertificateValidation",)

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A validation resource, or a placeholder word inside a string literal (in any case:
        `@pulumi.runtime.test` is not a `.test` domain)."""
        if b"CertificateValidation" in source:
            return True
        if not super().applies(source, path, project, settings):
            return False
        strings = prefilter.string_contents(prefilter.text_of(source)).lower()
        return any(token.decode() in strings for token in cls.evidence if token.islower())

    def visit_Module(self, node: cst.Module) -> None:
        self._components_told: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        resource = self._class_of(node.func)
        if resource in _DOMAIN_ARGUMENTS:
            self._check_domains(node, resource)
        if resource == _RECORD:
            self._check_record_targets(node)
        if resource == _VALIDATION:
            self._check_validation(node)
        self._check_cloudfront_keywords(node, resource)

    # -- domains the stack must own ----------------------------------------------------------

    def _check_domains(self, call: cst.Call, resource: str) -> None:
        args_class, arguments = _DOMAIN_ARGUMENTS[resource]
        given = resource_arguments(call, frozenset({args_class}), self._qualified)
        if given is None:
            if resource == _ZONE:
                return  # `**kwargs` may hold vpcs=: maybe a private zone
            given = {name: arg for arg in call.args if (name := keyword_name(arg)) is not None}
        if resource == _ZONE and "vpcs" in given:
            return  # a private hosted zone may use any name
        if resource == _RECORD and self._in_private_zone(given.get("zone_id")):
            return
        if resource == _CERTIFICATE and {"certificate_authority_arn", "certificate_body"} & set(given):
            return  # private CA or imported: no domain validation
        for argument, consequence in arguments.items():
            arg = given.get(argument)
            if arg is None:
                continue
            found = [(text, reason) for text in self._candidates(arg.value)
                     if (reason := _placeholder_reason(text.probe)) is not None]
            if not found:
                continue
            text, reason = found[0]
            self.report(
                arg,
                f"{describe(call, short_class(resource))}: {argument} {_shown(text, arg.value)} "
                f"{reason}, so {consequence}; {_OWN_DOMAIN}.",
            )

    def _in_private_zone(self, arg: cst.Arg | None) -> bool:
        """`zone_id=z.zone_id` / `z.id` where `z` is a `route53.Zone(..., vpcs=...)` here."""
        if arg is None or not isinstance(arg.value, cst.Attribute):
            return False
        for value in self._resolve(arg.value.value, 0):
            if isinstance(value, cst.Call) and self._class_of(value.func) == _ZONE:
                given = resource_arguments(value, frozenset({"pulumi_aws.route53.ZoneArgs"}), self._qualified)
                if given is not None and "vpcs" in given:
                    return True
        return False

    # -- CloudFront targets ------------------------------------------------------------------

    def _check_record_targets(self, call: cst.Call) -> None:
        given = resource_arguments(call, frozenset({"pulumi_aws.route53.RecordArgs"}), self._qualified) or {}
        aliases = given.get("aliases")
        if aliases is not None:
            for alias in self._elements(aliases.value):
                target = self._alias_name(alias)
                if target is not None:
                    self._report_cloudfront(target, call, "aliases name")
        records = given.get("records")
        if records is not None:
            for element in self._elements(records.value):
                self._report_cloudfront(element, call, "records")

    def _check_cloudfront_keywords(self, call: cst.Call, resource: str | None) -> None:
        if resource in _DOMAIN_ARGUMENTS or resource in (_RECORD, _VALIDATION):
            return
        for arg in call.args:
            name = keyword_name(arg)
            if name is not None and _CLOUDFRONT_KEYWORD.search(name):
                self._report_cloudfront(arg, call, name)
            elif name is not None and resource is None and _DOMAIN_KEYWORD.search(name):
                self._report_component_domain(arg, call, name)

    def _report_component_domain(self, arg: cst.Arg, call: cst.Call, name: str) -> None:
        """A placeholder domain handed to the program's own component, which builds the zone,
        certificate or records from it elsewhere."""
        found = [(text, reason) for text in self._candidates(arg.value)
                 if (reason := _placeholder_reason(text.probe)) is not None]
        if found and found[0][0].probe not in self._components_told:
            text, reason = found[0]
            self._components_told.add(text.probe)  # one finding per domain, where first passed
            self.report(
                arg,
                f"{describe(call, code(call.func))}: {name} {_shown(text, arg.value)} {reason}, so the "
                f"certificates, zones and records built from it never validate or resolve; {_OWN_DOMAIN}.",
            )

    def _report_cloudfront(self, node: cst.CSTNode, call: cst.Call, where: str) -> None:
        value = node.value if isinstance(node, cst.Arg) else node
        for text in self._candidates(value):  # type: ignore[arg-type]
            if _cloudfront_placeholder(text.probe):
                owner = describe(call, short_class(self._class_of(call.func) or code(call.func)))
                self.report(
                    node,
                    f"{owner}: {where} {_shown(text, value)} is a placeholder, not a CloudFront "  # type: ignore[arg-type]
                    "domain, so the DNS name points nowhere; pass the distribution's .domain_name "
                    "(create the distribution first and depend on it).",
                )
                return

    def _alias_name(self, alias: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(alias, cst.Call) and {canonical(q) for q in self._qualified(alias.func)} & _RECORD_ALIAS_ARGS:
            for arg in alias.args:
                if keyword_name(arg) == "name":
                    return arg.value
            return None
        if isinstance(alias, cst.Dict):
            for element in alias.elements:
                if (isinstance(element, cst.DictElement) and literal_str(element.key) == "name"):
                    return element.value
        return None

    # -- certificate validation --------------------------------------------------------------

    def _check_validation(self, call: cst.Call) -> None:
        if has_opaque_arguments(call):
            return
        given = resource_arguments(call, frozenset({"pulumi_aws.acm.CertificateValidationArgs"}), self._qualified)
        if given is None:
            return
        certificate = given.get("certificate_arn")
        if certificate is None or not self._dns_validated_here(certificate.value):
            return
        if _without_custom_timeouts(call):
            self.report(
                call,
                f"{describe(call, 'acm.CertificateValidation')} has no custom_timeouts, so while its DNS "
                "record does not resolve (delegation not in place, slow propagation) `pulumi up` waits the "
                "provider's whole default create timeout and then fails; set opts=pulumi.ResourceOptions("
                "custom_timeouts=pulumi.CustomTimeouts(create=\"45m\")) to the time this stack's DNS needs.",
            )
        if "validation_record_fqdns" in given:
            return
        self.report(
            call,
            f"{describe(call, 'acm.CertificateValidation')} has no validation_record_fqdns, so nothing "
            "ties it to the DNS record proving ownership and, unless that record exists outside this "
            "program, it waits its whole create timeout and fails; pass the fqdn of each "
            "route53.Record made from the certificate's domain_validation_options.",
        )

    def _dns_validated_here(self, value: cst.BaseExpression) -> bool:
        """`cert.arn` where `cert` is an `acm.Certificate(validation_method="DNS")` of this
        module: a new certificate that needs the record (an ARN from elsewhere may be issued)."""
        if not isinstance(value, cst.Attribute):
            return False
        for found in self._resolve(value.value, 0):
            if isinstance(found, cst.Call) and self._class_of(found.func) == _CERTIFICATE:
                given = resource_arguments(found, frozenset({"pulumi_aws.acm.CertificateArgs"}), self._qualified)
                method = given.get("validation_method") if given is not None else None
                if (method is not None and (literal_str(method.value) or "").upper() == "DNS"
                        and not {"certificate_authority_arn", "certificate_body"} & set(given)):
                    return True
        return False

    # -- values ------------------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _class_of(self, func: cst.BaseExpression) -> str | None:
        for name in self._qualified(func):
            name = canonical(name)
            if name.startswith("pulumi_aws."):
                return name
        return None

    def _elements(self, value: cst.BaseExpression) -> list[cst.BaseExpression]:
        """The items of a list/tuple display (resolved through one variable), else the value."""
        for found in self._resolve(value, 0) or [value]:
            if isinstance(found, (cst.List, cst.Tuple)):
                return [e.value for e in found.elements if isinstance(e, cst.Element)]
        return [value]

    def _candidates(self, value: cst.BaseExpression) -> list[_Text]:
        """Every text the value may have as far as this module shows: a list's items, each
        assignment of a variable, each value of a dict it is looked up in."""
        texts: list[_Text] = []
        for item in self._elements(value):
            for resolved in self._resolve(item, 0) or [item]:
                text = self._text(resolved, 0)
                if text is not None and text.probe.strip(_UNKNOWN):
                    texts.append(text)
        return texts

    def _resolve(self, node: cst.BaseExpression, depth: int) -> list[cst.BaseExpression]:
        """The values a name, `self.attr`, `d[key]` or `d.get(key)` may hold; [] when unknown."""
        if depth > _RESOLVE_DEPTH:
            return []
        if isinstance(node, cst.Name):
            values = assigned_values(self, node)
        elif isinstance(node, cst.Attribute) and m.matches(node.value, m.Name("self")):
            values = self._self_attribute_values(node.attr.value)
        elif isinstance(node, cst.Subscript):
            values = self._dict_values(node.value, depth)
        elif (isinstance(node, cst.Call) and m.matches(node.func, m.Attribute(attr=m.Name("get")))
              and node.args):
            values = self._dict_values(node.func.value, depth)  # type: ignore[attr-defined]
            if values and len(node.args) > 1:
                values.append(node.args[1].value)
        else:
            return []
        resolved: list[cst.BaseExpression] = []
        for value in values:
            deeper = self._resolve(value, depth + 1)
            resolved.extend(deeper or [value])
        return resolved

    def _dict_values(self, node: cst.BaseExpression, depth: int) -> list[cst.BaseExpression]:
        values = []
        for found in self._resolve(node, depth + 1) if not isinstance(node, cst.Dict) else [node]:
            if isinstance(found, cst.Dict) and not dict_is_open(found):
                values.extend(e.value for e in found.elements if isinstance(e, cst.DictElement))
        return values

    def _self_attribute_values(self, attribute: str) -> list[cst.BaseExpression]:
        """Values of `self.<attribute> = value` anywhere in the module (one class per module in
        the programs this rule reads; a clash only widens the candidates)."""
        module = self.context.wrapper.module if self.context.wrapper is not None else None
        if module is None:
            return []
        target = m.Attribute(value=m.Name("self"), attr=m.Name(attribute))
        values = []
        for found in m.findall(module, m.Assign(targets=[m.AssignTarget(target=target)])):
            values.append(found.value)  # type: ignore[attr-defined]
        return values

    def _text(self, node: cst.BaseExpression, depth: int) -> _Text | None:
        """The string a value builds, with run-time parts as `_UNKNOWN`; None if not a string."""
        if depth > _RESOLVE_DEPTH:
            return None
        if isinstance(node, cst.SimpleString):
            value = node.evaluated_value
            return _Text(value, value) if isinstance(value, str) else None
        if isinstance(node, cst.FormattedString):
            probe, shown = [], []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    probe.append(part.value)
                    shown.append(part.value)
                else:
                    probe.append(_UNKNOWN)
                    shown.append("{" + code(part.expression) + "}")
            return _Text("".join(probe), "".join(shown))
        if isinstance(node, cst.ConcatenatedString):
            return self._join([node.left, node.right], depth)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self._join([node.left, node.right], depth)
        if isinstance(node, cst.Call):
            names = {q.name for q in self.get_metadata(QualifiedNameProvider, node.func, set())}
            if names & _OUTPUT_TEXT and not has_opaque_arguments(node):
                return self._join([a.value for a in node.args], depth)
            if names & _OUTPUT_WRAP and len(node.args) == 1:
                return self._text(node.args[0].value, depth + 1)
        return None

    def _join(self, parts: list[cst.BaseExpression], depth: int) -> _Text | None:
        texts = []
        for part in parts:
            text = self._text(part, depth + 1)
            if text is None:
                resolved = self._resolve(part, depth + 1)
                text = self._text(resolved[0], depth + 1) if len(resolved) == 1 else None
            texts.append(text or _Text(_UNKNOWN, "{" + code(part) + "}"))
        return _Text("".join(t.probe for t in texts), "".join(t.shown for t in texts))


def _without_custom_timeouts(call: cst.Call) -> bool:
    """No `opts=`, or an inline `ResourceOptions(...)` without `custom_timeouts=` (options built
    elsewhere may carry them: not judged)."""
    opts = next((arg for arg in call.args if keyword_name(arg) == "opts"), None)
    if opts is None:
        return True
    value = opts.value
    if not isinstance(value, cst.Call) or not code(value.func).endswith("ResourceOptions"):
        return False
    return not any(keyword_name(arg) in ("custom_timeouts", "customTimeouts") for arg in value.args)


def _shown(text: _Text, value: cst.BaseExpression) -> str:
    """`"payment-{suffix}.example.com"`, or `"dev.api.example.com" (from domain)` when the text
    was found through a variable or a dict."""
    if isinstance(value, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString,
                          cst.BinaryOperation, cst.Call, cst.List, cst.Tuple)):
        return f'"{text.shown}"'
    return f'"{text.shown}" (from {code(value)})'


def _placeholder_reason(probe: str) -> str | None:
    """Why a domain cannot be owned, or None when it may be real (or is not a domain)."""
    host = probe.strip().lower().rstrip(".")
    host = host.removeprefix("*.")
    if not _HOST.fullmatch(host):
        return None
    labels = host.split(".")
    if labels[-1] in _RESERVED_TLDS:
        return f"is under .{labels[-1]}, a top-level domain reserved by RFC 2606"
    for index, label in enumerate(labels[:-1]):
        suffix = labels[index + 1:]
        if label in _PLACEHOLDER_LABELS and _is_public_suffix(suffix):
            domain = ".".join(labels[index:])
            if domain in _RFC2606:
                return f"is under {domain}, reserved for documentation by RFC 2606"
            return f"is under {domain}, a placeholder domain this stack cannot own"
    registrable = ".".join(labels[-2:])
    if registrable in _PLACEHOLDER_DOMAINS:
        return f"is under {registrable}, a placeholder domain this stack cannot own"
    return None


def _is_public_suffix(labels: list[str]) -> bool:
    """`com`, `io`, `co.uk`: what may follow a registrable label (a rough public-suffix test)."""
    if any(_UNKNOWN in label for label in labels):
        return False
    if len(labels) == 1:
        return labels[0].isalpha() and len(labels[0]) >= 2
    return len(labels) == 2 and labels[0] in _SECOND_LEVEL and len(labels[1]) == 2 and labels[1].isalpha()


def _cloudfront_placeholder(probe: str) -> bool:
    text = probe.strip().lower().rstrip(".")
    if text.endswith(_CLOUDFRONT_SUFFIX):
        first = text[: -len(_CLOUDFRONT_SUFFIX)].split(".")[-1]
        return bool(_CLOUDFRONT_PLACEHOLDER.fullmatch(first))
    return "placeholder" in text
