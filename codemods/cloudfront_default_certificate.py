"""Rule `cloudfront-default-certificate`: the *.cloudfront.net certificate asked to do more."""

from __future__ import annotations

import libcst as cst
from iacfix.codemods._aws_resources import (
    assigned_values,
    canonical,
    code,
    describe,
    dict_is_open,
    is_none_or_empty,
    literal_bool,
    literal_str,
    resource_arguments,
)
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from iacfix.results import Safety
from iacfix.rule import Rule

_DISTRIBUTION = "pulumi_aws.cloudfront.Distribution"
_DISTRIBUTION_ARGS = frozenset({"pulumi_aws.cloudfront.DistributionArgs"})
_VIEWER_CERTIFICATE_ARGS = frozenset({"pulumi_aws.cloudfront.DistributionViewerCertificateArgs"})
#: Keys of the viewer certificate in its dict form (snake_case, as the TypedDict spells them, and
#: camelCase, which Pulumi also accepts), by the snake_case name of the Args class.
_DICT_KEYS = {
    "cloudfront_default_certificate": ("cloudfront_default_certificate", "cloudfrontDefaultCertificate"),
    "minimum_protocol_version": ("minimum_protocol_version", "minimumProtocolVersion"),
}
#: The security policy CloudFront applies to *.cloudfront.net with the default certificate.
_DEFAULT_POLICY = "TLSv1"
_CERTIFICATE_ADVICE = ("an ACM certificate issued in us-east-1 and read from config "
                       '(acm_certificate_arn=config.require("certificateArn"), ssl_support_method="sni-only")')
_RESOLVE_DEPTH = 3


class CloudfrontDefaultCertificate(Rule):
    """A CloudFront distribution on the default `*.cloudfront.net` certificate: with `aliases=`
    (rejected), with a `minimum_protocol_version` it cannot have (ignored), or alone (TLS 1.0 floor,
    no custom domain).

    `viewer_certificate=DistributionViewerCertificateArgs(cloudfront_default_certificate=True)`
    (or the dict form, or a variable holding either) serves the distribution on its own
    `dxxxx.cloudfront.net` name only. Seed 000 §3 ships it, and rightly calls that acceptable for
    a test stack without a custom domain; its "production fix" adds a custom domain, which needs
    an ACM certificate. Two combinations are wrong in any environment and reported here:

    - `aliases=` set (a non-empty list, or any expression that is not `None`/`[]`): the aliases
      are custom domains the default certificate does not cover;
    - `minimum_protocol_version=` other than `"TLSv1"`: pulumi_aws documents the argument as
      settable only when `cloudfront_default_certificate = false` ("If you have specified
      `cloudfront_default_certificate`, `TLSv1` must be specified", the docstring of
      `DistributionViewerCertificateArgs` in 7.51), and CloudFront serves `*.cloudfront.net` with
      its `TLSv1` policy anyway: the author asks for a TLS floor the distribution cannot have.

    The default certificate alone is reported too, with a softer message: seed 000 §3 documents
    it as its one TLS gap. It works (HTTPS on the CloudFront name, no domain needed) but leaves
    CloudFront's `TLSv1` security policy in force, so clients may still negotiate TLS 1.0 and 1.1,
    and the API has no name of its own. Test code (`tests/`) is not read.

    ## Why is this bad?
    CloudFront refuses an alternate domain name without a trusted certificate covering it:
    `pulumi up` fails with `InvalidViewerCertificate` ("To add an alternate domain name (CNAME)
    to a CloudFront distribution, you must attach a trusted certificate that validates your
    authorization to use the domain name"). A `minimum_protocol_version` next to the default
    certificate is outside what the provider accepts, and where it deploys at all clients can still
    negotiate TLS 1.0 and 1.1.

    ## Fix
    None automatic: the certificate must be issued for a domain the owner controls, in us-east-1
    (CloudFront only reads certificates there), so its ARN is the owner's to supply, e.g. from
    config: `acm_certificate_arn=config.require("certificateArn")`, `ssl_support_method="sni-only"`,
    `minimum_protocol_version="TLSv1.2_2021"`. Without a custom domain, drop `aliases=` /
    `minimum_protocol_version=` instead.

    ## Fix safety
    Display only: the certificate ARN (and whether the custom domain is wanted at all) needs a
    human.

    ## References
    - Seed 000 §3 (CloudFront default certificate)
    - https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html
    - https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ViewerCertificate.html
    - https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/cloudfront/distribution/
    """

    id = "cloudfront-default-certificate"
    title = "Report CloudFront aliases or TLS policies the default certificate cannot serve"
    safety = Safety.DISPLAY_ONLY
    checks_test_code = False
    evidence = (b"cloudfront_default_certificate", b"cloudfrontDefaultCertificate")

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    def visit_Module(self, node: cst.Module) -> bool:
        return not self.in_test_code

    def visit_Call(self, node: cst.Call) -> None:
        if _DISTRIBUTION not in {canonical(q) for q in self._qualified(node.func)}:
            return
        given = resource_arguments(node, _DISTRIBUTION_ARGS, self._qualified)
        if given is None or "viewer_certificate" not in given:
            return
        certificate = self._viewer_certificate(given["viewer_certificate"].value)
        if certificate is None:
            return
        default = certificate.get("cloudfront_default_certificate")
        if default is None or literal_bool(self._value(default)) is not True:
            return
        owner = describe(node, "cloudfront.Distribution")
        aliases = given.get("aliases")
        version = certificate.get("minimum_protocol_version")
        if aliases is not None and not self._empty(aliases.value):
            self.report(
                aliases,
                f"{owner}: aliases are set but viewer_certificate uses cloudfront_default_certificate=True, "
                "which only covers *.cloudfront.net, so CloudFront rejects the distribution "
                f"(InvalidViewerCertificate); supply {_CERTIFICATE_ADVICE} for the aliases.",
            )
        elif version is None or literal_str(self._value(version)) == _DEFAULT_POLICY:
            self.report(
                default,
                f"{owner} uses cloudfront_default_certificate=True: it serves only its *.cloudfront.net "
                f"name under CloudFront's {_DEFAULT_POLICY} policy, so clients may still negotiate TLS 1.0 "
                f"and 1.1; for a production endpoint supply {_CERTIFICATE_ADVICE} and "
                'minimum_protocol_version="TLSv1.2_2021".',
            )
        if version is not None:
            value = literal_str(self._value(version))
            if value != _DEFAULT_POLICY:
                shown = f'"{value}"' if value is not None else code(self._value(version))
                self.report(
                    version,
                    f"{owner}: minimum_protocol_version={shown} cannot go with "
                    f"cloudfront_default_certificate=True (the provider requires {_DEFAULT_POLICY} there, "
                    f"and CloudFront serves *.cloudfront.net with its {_DEFAULT_POLICY} policy); drop it, or "
                    f"serve a custom domain with {_CERTIFICATE_ADVICE} to get that TLS floor.",
                )

    # -- reading the arguments ---------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _viewer_certificate(self, value: cst.BaseExpression, depth: int = 0) -> dict[str, cst.CSTNode] | None:
        """The viewer certificate's arguments by snake_case name (an Arg or a DictElement), from
        the Args class, a dict display, or a variable holding exactly one of those."""
        if depth > _RESOLVE_DEPTH:
            return None
        if isinstance(value, cst.Call):
            if not {canonical(q) for q in self._qualified(value.func)} & _VIEWER_CERTIFICATE_ARGS:
                return None
            if any(arg.star for arg in value.args):
                return None
            return {arg.keyword.value: arg for arg in value.args if arg.keyword is not None}
        if isinstance(value, cst.Dict):
            if dict_is_open(value):
                return None
            found: dict[str, cst.CSTNode] = {}
            for element in value.elements:
                key = literal_str(element.key) if isinstance(element, cst.DictElement) else None
                for name, spellings in _DICT_KEYS.items():
                    if key in spellings:
                        found[name] = element
            return found
        if isinstance(value, cst.Name):
            values = assigned_values(self, value)
            if len(values) == 1:
                return self._viewer_certificate(values[0], depth + 1)
        return None

    @staticmethod
    def _value(node: cst.CSTNode) -> cst.BaseExpression:
        return node.value  # type: ignore[attr-defined]  # Arg and DictElement both have .value

    def _empty(self, value: cst.BaseExpression) -> bool:
        """`None`, `[]`, or a variable whose only assignment is one of those."""
        if is_none_or_empty(value):
            return True
        if isinstance(value, cst.Name):
            values = assigned_values(self, value)
            return bool(values) and all(is_none_or_empty(v) for v in values)
        return False
