"""Rule hardcoded-region-literal: region literals in JSON documents, endpoints and AZ names."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node, parse_template_expression
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

# Read-only reuse of awslogs-region-hardcoded's module-level helpers: how a plain string becomes
# an equivalent f-string (braces doubled, named escapes kept), and which modules import Pulumi.
from iacfix.codemods._fstrings import fstring_parts, imported_modules
from iacfix.pulumi_names import ensure_module_alias, module_alias, region_expression
from iacfix.results import Safety
from iacfix.rule import Rule

#: An AWS region name: `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-northwest-1`. Every
#: one ends in a compass direction (or `central`) before its number: the evidence relies on it.
_DIRECTIONS = ("east", "west", "north", "south", "central")
_REGION_PATTERN = r"[a-z]{2}(?:-[a-z]+)*-[a-z]*(?:" + "|".join(_DIRECTIONS) + r")-\d{1,2}"
_REGION = re.compile(_REGION_PATTERN)
#: An availability zone name: `us-east-1a`, `eu-south-1c` (not an AZ id such as `use1-az1`).
_AZ = re.compile(rf"(?P<region>{_REGION_PATTERN})(?P<letter>[a-z])")
#: `"region": "us-east-1"` / `"Region": ["us-east-1"]` in string JSON, quotes maybe escaped.
_JSON_REGION = re.compile(
    r'(?P<q>\\?")(?P<key>[Rr]egion)(?P=q)\s*:\s*(?P<open>\[\s*)?(?P=q)(?P<region>'
    + _REGION_PATTERN
    + r")(?P=q)(?(open)\s*\])"
)
#: A regional endpoint or URL: `sqs.us-east-1.amazonaws.com`, `https://s3.us-east-1.amazonaws.com/b/k`,
#: `{account}.dkr.ecr.us-east-1.amazonaws.com/repo`, `s3-website-us-east-1.amazonaws.com`.
#: Replacement fields of f-strings appear as NUL in the text this runs on.
_ENDPOINT = re.compile(
    r"(?<![A-Za-z0-9_.-])(?P<scheme>[a-z][a-z0-9+.-]*://)?"
    r"(?P<prefix>(?:[A-Za-z0-9\x00_-]+\.)*?)"
    r"(?P<service>[a-z0-9]+(?:-[a-z0-9]+)*?)[.-]"
    r"(?P<region>" + _REGION_PATTERN + r")\.amazonaws\.com(?:\.cn)?(?![A-Za-z0-9_-])"
    r"(?P<path>/[^\s\"'\\]*)?"
)
#: A VPC endpoint service name: `com.amazonaws.us-east-1.s3`, `com.amazonaws.vpce.us-east-1.vpce-svc-1`.
_SERVICE_NAME = re.compile(
    r"(?<![A-Za-z0-9_.-])com\.amazonaws\.(?P<vpce>vpce\.)?(?P<region>" + _REGION_PATTERN + r")\."
    r"(?P<service>[a-z0-9][a-z0-9.-]*)"
)
#: Console links: `https://us-east-1.console.aws.amazon.com/...`, `console.aws.amazon.com/...?region=us-east-1`.
_CONSOLE = re.compile(
    r"(?<![A-Za-z0-9_.-])(?P<region>" + _REGION_PATTERN + r")\.console\.aws\.amazon\.com"
    r"|console\.aws\.amazon\.com/[^\s\"']*?[?&]region=(?P<qregion>" + _REGION_PATTERN + r")(?![a-z0-9-])"
)
#: `"Service": "logs.us-east-1.amazonaws.com"` just before an endpoint in string JSON.
_PRINCIPAL_BEFORE = re.compile(r'\\?"Service\\?"\s*:\s*\[?(?:\s*\\?"[^"\\]*\\?"\s*,)*\s*\\?"$')

_JSON_DUMPS = {
    "json.dumps",
    "json.dump",
    "pulumi.Output.json_dumps",
    "pulumi.output.Output.json_dumps",
}
#: Keys that make a dict a CloudWatch dashboard widget's properties or an EventBridge pattern.
_JSON_SHAPED = {"metrics", "query", "view", "stat", "period", "source", "detail-type"}
#: CloudWatch namespaces of global services, whose metrics are in us-east-1 (WAFV2: those of
#: CLOUDFRONT-scope web ACLs, which a widget cannot be told apart from): a widget of them keeps
#: its "region" wherever the stack runs.
_GLOBAL_NAMESPACES = ("AWS/CloudFront", "AWS/Billing", "AWS/Route53", "AWS/TrustedAdvisor",
                      "AWS/Shield", "AWS/WAFV2")
_PROVIDERS = {"pulumi_aws.Provider", "pulumi_aws.provider.Provider"}
_GET_AZS = {"pulumi_aws.get_availability_zones", "pulumi_aws.get_availability_zones_output",
            "pulumi_aws.get_availability_zones.get_availability_zones"}
_RESOURCE_OPTIONS = {"pulumi.ResourceOptions", "pulumi.resource.ResourceOptions"}
#: Keyword arguments that region-file-mismatch owns (provider/resource `region=`, boto3 `region_name=`).
_OTHER_RULES_KEYWORDS = {"region", "region_name"}
#: Endpoint service label -> pulumi_aws modules whose resources the endpoint serves (identity
#: otherwise): a bare endpoint counts as the stack's when the module creates such resources.
_ENDPOINT_MODULES = {
    "logs": {"cloudwatch"},
    "monitoring": {"cloudwatch"},
    "events": {"cloudwatch"},
    "execute-api": {"apigateway", "apigatewayv2"},
    "lambda": {"lambda_"},
    "states": {"sfn"},
    "s3-website": {"s3"},
    "elasticloadbalancing": {"lb", "alb", "elb"},
    "kinesis": {"kinesis"},
    "firehose": {"kinesis"},
    "email-smtp": {"ses"},
    "es": {"opensearch", "elasticsearch"},
}
_COPYABLE = m.Name() | m.Attribute() | m.Subscript()
_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
_TEST_IMPORTS = {"pytest", "unittest"}
US_EAST_1 = "us-east-1"


class _Provider(enum.Enum):
    DEFAULT = "default"
    EXPLICIT = "explicit"
    UNKNOWN = "unknown"


class _Kind(enum.Enum):
    JSON = "json"
    ENDPOINT = "endpoint"
    AZ = "az"


@dataclass(frozen=True)
class _Literal:
    """One region literal found in the code, and what the fix needs to know about it."""

    kind: _Kind
    region: str  # the region the literal names (for an AZ, the AZ's region)
    text: str  # what the message quotes: "us-east-1", "sqs.us-east-1.amazonaws.com", "us-east-1a"
    what: str  # "the JSON \"region\"", "the endpoint", "the service principal", ...
    certain: bool = True  # False: the fix cannot be shown right; report display-only
    why_unsure: str = ""
    az_index: str | None = None  # "0" / ":2" for AZ fixes


class HardcodedRegionLiteral(Rule):
    """A region literal in a JSON document, a service endpoint or an availability zone name.

    Pulumi programs pin a region in more places than `region=`: the `"region"` of CloudWatch
    dashboard widgets in `json.dumps` / `pulumi.Output.json_dumps` bodies (seed 002 §8 ships
    `"region": "us-east-1"`), EventBridge patterns and Step Functions JSON, endpoints and URLs
    (`https://s3.us-east-1.amazonaws.com/...`, `sqs.us-east-1.amazonaws.com`,
    `{account}.dkr.ecr.us-east-1.amazonaws.com/...`, the regional service principal
    `logs.us-east-1.amazonaws.com`, the VPC endpoint service `com.amazonaws.us-east-1.s3`,
    console links), and availability zones (`availability_zone="us-east-1a"`,
    `azs = ["us-east-1a", "us-east-1b"]`). Seed 001 §3/§9/§11 is the same failure class: code
    that assumes us-east-1 while the stack deploys to eu-south-1.

    ## Why is this bad?
    The program deploys wherever its provider points; the literal does not follow. In another
    region a dashboard shows empty graphs (its widgets query the literal's region), an event
    pattern never matches, a key policy names a service principal of another region so CloudWatch
    Logs cannot use the key, a VPC endpoint fails with `InvalidServiceName`, and a subnet in
    `us-east-1a` fails with `InvalidParameterValue` because that zone does not exist in the
    region. When the stack does deploy to the literal's region the code works, but only until the
    first deployment elsewhere; the finding then says so.

    ## Fix
    A JSON `"region"` value or the region part of an endpoint becomes the provider's region at run
    time, as awslogs-region-hardcoded does: `aws.get_region().region` on pulumi_aws 7 (`.name` on
    6 or an unknown major), a plain `str` that `json.dumps` and apply lambdas take as is; in
    string or f-string text the call becomes an f-string replacement field (a plain string becomes
    an f-string with its braces doubled). Inside a resource given `opts=ResourceOptions(provider=p)`
    the invoke asks that provider. An availability zone becomes
    `aws.get_availability_zones(state="available").names[i]`, `i` being the zone's rank among the
    module's distinct zone letters (`a`, `b` -> 0, 1), and a list of the first `n` zones becomes
    `.names[:n]`.

    Display only (no fix): endpoints that name one specific resource with literal text
    (`https://s3.us-east-1.amazonaws.com/shared-artifacts/app.zip`: that bucket may live in the
    literal's region on purpose), bare endpoints of services the module creates no resource of,
    ECR image URIs (the image must be pushed to the region it is pulled from: use the repository's
    `repository_url`), PrivateLink service names `com.amazonaws.vpce.<region>.vpce-svc-...`, and
    any literal in a module with explicit providers whose provider cannot be read from the code,
    or in a resource that sets its own `region=`.

    Left alone: `us-east-1` in modules using CloudFront (certificates, CLOUDFRONT-scope web ACLs,
    Lambda@Edge must live there) and dashboard widgets of global metrics (`AWS/CloudFront`,
    `AWS/Billing`, `AWS/Route53`, ...); per-metric `{"region": ...}` overrides inside `metrics`
    (deliberate cross-region graphs) and event patterns listing several regions;
    `aws.Provider(...)`, `region=` / `region_name=` arguments, boto3 calls, ARNs and
    `os.getenv("AWS_REGION", ...)` fallbacks (region-file-mismatch reports those);
    `"awslogs-region"` (awslogs-region-hardcoded fixes it); test modules (unit-test mocks);
    comments and docstrings; literals compared against (`if region == "us-east-1":`), looked up
    (`amis["us-east-1"]`) or forming region-keyed tables (`{"us-east-1": "ami-..."}`); zones
    excluded in `get_availability_zones(exclude_names=[...])`; modules that do not import Pulumi.

    ## Fix safety
    JSON values and endpoints: safe. In the literal's own region the generated call returns the
    same string and `pulumi up` shows no change; elsewhere the literal was the failure, and the
    change is an in-place update (dashboard body, policy document, service name of an endpoint
    that could not be created). Only code deliberately pointing at another region's resources
    changes meaning: such a line should carry `# iacfix: ignore[hardcoded-region-literal]`.

    Availability zones: unsafe. `get_availability_zones` returns the zones available to the
    account, which may not be the literal's zones in the same order (accounts map zone names
    differently, some zones are closed to new accounts); on an existing stack a subnet, instance
    or volume may move to another zone, which replaces it.

    ## References
    - Seed 002 §8 (dashboard widget `"region": "us-east-1"`), seed 001 §3, §9, §11
    - https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
    - https://docs.aws.amazon.com/general/latest/gr/rande.html (regional endpoints)
    - https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-services.html (regional principals)
    - https://www.pulumi.com/registry/packages/aws/api-docs/getavailabilityzones/
    - https://www.pulumi.com/registry/packages/aws/api-docs/getregion/
    """

    id = "hardcoded-region-literal"
    title = "Use the provider's region and zones instead of region literals in JSON, endpoints and AZs"
    safety = Safety.SAFE
    #: Every region name the rule matches has one of these right before its number.
    evidence = tuple(f"{direction}-".encode() for direction in _DIRECTIONS)

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._active = False
        self._explicit_providers = False
        self._edge = False
        self._services: set[str] = set()
        self._az_ranks: dict[str, int] | None = {}
        self._aws: str | None = None

    # -- module-level facts ------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        nodes = _Collector()
        node.visit(nodes)  # one walk for imports, calls and strings (m.findall walks once each)
        imported = {
            (get_full_name_for_node(name) or "").split(".")[0]
            for imp in nodes.imports
            for name in imported_modules(imp)
        }
        self._active = any(n.startswith("pulumi") for n in imported) and not (
            imported & _TEST_IMPORTS or self.in_test_code
        )
        if not self._active:
            return
        for call in nodes.calls:
            names = self._names(call.func)
            keywords = {_keyword(arg): arg.value for arg in call.args}
            if any(n.split(".")[0].startswith("pulumi") for n in names) and (
                "provider" in keywords or "providers" in keywords
            ):
                self._explicit_providers = True
            if "acm_certificate_arn" in keywords or "lambda_function_associations" in keywords:
                self._edge = True
            for name in names:
                parts = name.split(".")
                if name.startswith("pulumi_aws.") and len(parts) > 2:
                    self._services.add(parts[1])
                    if parts[1] == "cloudfront":
                        self._edge = True
                    scope = keywords.get("scope")
                    if (parts[1] == "wafv2" and isinstance(scope, cst.SimpleString)
                            and scope.evaluated_value == "CLOUDFRONT"):
                        self._edge = True
        if any("edgelambda." in string.value for string in nodes.strings):
            self._edge = True
        self._az_ranks = self._rank_zones(nodes.strings)

    def _rank_zones(self, strings: list[cst.SimpleString]) -> dict[str, int] | None:
        """Zone name -> its rank among the module's distinct zones; None when they span regions."""
        zones = set()
        for string in strings:
            value = _text(string)
            if value and _AZ.fullmatch(value) and self._reportable_position(string):
                zones.add(value)
        if len({_AZ.fullmatch(z)["region"] for z in zones}) > 1:
            return None
        return {zone: rank for rank, zone in enumerate(sorted(zones))}

    # -- dict JSON: {"region": "us-east-1"} ------------------------------------------------

    def leave_DictElement(
        self, original_node: cst.DictElement, updated_node: cst.DictElement
    ) -> cst.DictElement:
        if not self._active:
            return updated_node
        key, value = original_node.key, original_node.value
        if not (isinstance(key, cst.SimpleString) and key.evaluated_value in ("region", "Region")):
            return updated_node
        single = value
        if isinstance(value, cst.List):
            if len(value.elements) != 1:
                return updated_node  # an event pattern matching several regions: deliberate
            single = value.elements[0].value
        region = _text(single) if isinstance(single, cst.SimpleString) else None
        if region is None or not _REGION.fullmatch(region):
            return updated_node
        if not self._json_context(original_node) or not self._reportable_position(original_node):
            return updated_node
        owner = self._parent(original_node)
        if isinstance(owner, cst.Dict) and _mentions_global_namespace(owner):
            return updated_node
        literal = _Literal(_Kind.JSON, region, region, f'"{key.evaluated_value}"')
        replacement = self._decide(original_node, literal)
        if replacement is None:
            return updated_node
        if isinstance(value, cst.List):
            element = updated_node.value.elements[0]  # type: ignore[attr-defined]
            return updated_node.with_changes(
                value=updated_node.value.with_changes(elements=[element.with_changes(value=replacement)])
            )
        return updated_node.with_changes(value=replacement)

    def _json_context(self, element: cst.DictElement) -> bool:
        """Inside json.dumps / Output.json_dumps, or a dict shaped like a widget or pattern;
        not a per-metric override inside `"metrics"`."""
        owner = self._parent(element)
        if isinstance(owner, cst.Dict) and _keys(owner) & _JSON_SHAPED:
            shaped = True
        else:
            shaped = False
        for ancestor in self._ancestors(element):
            if isinstance(ancestor, cst.DictElement) and _key_text(ancestor) == "metrics":
                return False
            if isinstance(ancestor, cst.Call) and self._names(ancestor.func) & _JSON_DUMPS:
                return True
        return shaped

    # -- strings: JSON text, endpoints, zones -------------------------------------------------

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        if not self._active or "b" in original_node.prefix.lower():
            return updated_node
        if not self._reportable_position(original_node):
            return updated_node
        value = _text(original_node)
        if value is not None and _AZ.fullmatch(value):
            return self._zone(original_node, updated_node, value)
        body = original_node.raw_value
        found = self._text_literals(body, principal=self._principal_position(original_node))
        if not found:
            return updated_node
        replacements = [(span, self._decide(original_node, literal)) for span, literal in found]
        replacements = [(span, r) for span, r in replacements if r is not None]
        if not replacements:
            return updated_node
        raw = "r" in original_node.prefix.lower()
        parts = list(fstring_parts(body, replacements, from_plain_string=True, raw=raw))
        new_prefix = original_node.prefix.replace("u", "").replace("U", "") + "f"
        return cst.FormattedString(
            parts=parts,
            start=new_prefix + original_node.quote,
            end=original_node.quote,
            lpar=original_node.lpar,
            rpar=original_node.rpar,
        )

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        if not self._active or not self._reportable_position(original_node):
            return updated_node
        flat, offsets = _flatten(updated_node.parts)
        found = self._text_literals(flat, principal=False)
        if not found:
            return updated_node
        per_part: dict[int, list[tuple[tuple[int, int], cst.BaseExpression]]] = {}
        for (start, end), literal in found:
            index = _part_at(offsets, start, end)
            if index is None:
                continue
            replacement = self._decide(original_node, literal)
            if replacement is not None:
                base = offsets[index][0]
                per_part.setdefault(index, []).append(((start - base, end - base), replacement))
        if not per_part:
            return updated_node
        parts: list[cst.BaseFormattedStringContent] = []
        for index, part in enumerate(updated_node.parts):
            if index in per_part:
                parts.extend(fstring_parts(part.value, per_part[index], from_plain_string=False))  # type: ignore[attr-defined]
            else:
                parts.append(part)
        return updated_node.with_changes(parts=parts)

    def _text_literals(self, text: str, *, principal: bool) -> list[tuple[tuple[int, int], _Literal]]:
        """Region literals in string text (fields as NUL), with the span of their region part."""
        found: list[tuple[tuple[int, int], _Literal]] = []
        global_widget = any(namespace in text for namespace in _GLOBAL_NAMESPACES)
        for match in _JSON_REGION.finditer(text):
            if not global_widget:
                literal = _Literal(_Kind.JSON, match["region"], match["region"], f'"{match["key"]}"')
                found.append((match.span("region"), literal))
        for match in _SERVICE_NAME.finditer(text):
            literal = _Literal(
                _Kind.ENDPOINT, match["region"], match[0].replace("\0", "{...}"),
                "the VPC endpoint service name",
                certain=not match["vpce"],
                why_unsure="it names one PrivateLink endpoint service, which exists in the region "
                "its owner created it in; check where that service lives",
            )
            found.append((match.span("region"), literal))
        for match in _CONSOLE.finditer(text):
            group = "region" if match["region"] else "qregion"
            literal = _Literal(_Kind.ENDPOINT, match[group], match[0].replace("\0", "{...}"),
                               "the console link")
            found.append((match.span(group), literal))
        for match in _ENDPOINT.finditer(text):
            if (literal := self._endpoint(match, text, principal)) is not None:
                found.append((match.span("region"), literal))
        return found

    def _endpoint(self, match: re.Match[str], text: str, principal: bool) -> _Literal | None:
        shown = match[0].replace("\0", "{...}")
        region, service = match["region"], match["service"]
        prefix, path = match["prefix"] or "", (match["path"] or "").rstrip("/")
        if service == "ecr" and prefix.endswith(".dkr."):
            if "\0" not in prefix:
                return None  # a literal registry account: placeholder-account-id's, or on purpose
            return _Literal(
                _Kind.ENDPOINT, region, shown, "the ECR image URI", certain=False,
                why_unsure="the image must exist in the registry of the region that pulls it; use "
                "the repository's repository_url, or push the image to the stack's region and build "
                "the host from aws.get_region()",
            )
        bare = not prefix and not path
        whole = match.span() == (0, len(text))
        if bare and (principal and whole or _PRINCIPAL_BEFORE.search(text[: match.start()])):
            return _Literal(_Kind.ENDPOINT, region, shown, "the regional service principal")
        if bare:
            modules = _ENDPOINT_MODULES.get(service, {service.replace("-", "")})
            if modules & self._services:
                return _Literal(_Kind.ENDPOINT, region, shown, "the endpoint")
            return _Literal(
                _Kind.ENDPOINT, region, shown, "the endpoint", certain=False,
                why_unsure=f"this module creates no {service} resource, so the endpoint may serve "
                "one that lives in that region on purpose; if it is the stack's, build it from "
                "aws.get_region()",
            )
        resource = prefix if prefix else path.lstrip("/").split("/", 1)[0]
        if "\0" in resource:
            return _Literal(_Kind.ENDPOINT, region, shown, "the URL")
        return _Literal(
            _Kind.ENDPOINT, region, shown, "the URL", certain=False,
            why_unsure="it names one resource by literal text, which may live in that region on "
            "purpose; if it is the stack's, build the URL from the resource's outputs",
        )

    def _principal_position(self, node: cst.SimpleString) -> bool:
        """`{"Service": "<here>"}` / `{"Service": [..., "<here>"]}`, `identifiers=[...]`, `principal=`."""
        parent = self._parent(node)
        if isinstance(parent, cst.Element):
            parent = self._parent(self._parent(parent) or parent)
        if isinstance(parent, cst.DictElement) and _key_text(parent) == "Service":
            return True
        return isinstance(parent, cst.Arg) and _keyword(parent) in ("identifiers", "principal")

    # -- availability zones --------------------------------------------------------------------

    def _zone(
        self, original: cst.SimpleString, updated: cst.SimpleString, zone: str
    ) -> cst.BaseExpression:
        element = self._parent(original)
        container = self._parent(element) if isinstance(element, cst.Element) else None
        if isinstance(container, cst.List) and self._zone_slice(container) is not None:
            return updated  # the whole list is reported and rewritten in leave_List
        ranks = self._az_ranks
        literal = _Literal(
            _Kind.AZ, _AZ.fullmatch(zone)["region"], zone, "the availability zone",
            certain=ranks is not None,
            why_unsure="the module names zones of several regions, so which zone each one stands "
            "for cannot be read from the code",
            az_index=str(ranks[zone]) if ranks is not None else None,
        )
        replacement = self._decide(original, literal)
        return replacement if replacement is not None else updated

    def _zone_slice(self, node: cst.List) -> int | None:
        """n when the list is exactly the module's first n zones in order (`.names[:n]`)."""
        zones = [_text(e.value) if isinstance(e, cst.Element) and isinstance(e.value, cst.SimpleString)
                 else None for e in node.elements]
        if not zones or any(z is None or not _AZ.fullmatch(z) for z in zones):
            return None
        if self._az_ranks is None or [self._az_ranks.get(z) for z in zones] != list(range(len(zones))):
            return None
        return len(zones)

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.BaseExpression:
        if not self._active or not self._reportable_position(original_node):
            return updated_node
        count = self._zone_slice(original_node)
        if count is None or not all(self._reportable_position(e.value) for e in original_node.elements):
            return updated_node
        zones = [_text(e.value) for e in original_node.elements]
        literal = _Literal(
            _Kind.AZ, _AZ.fullmatch(zones[0])["region"], ", ".join(f'"{z}"' for z in zones),  # type: ignore[index,arg-type]
            "the availability zones", az_index=f":{count}",
        )
        replacement = self._decide(original_node, literal)
        if replacement is None:
            return updated_node
        return replacement.with_changes(lpar=original_node.lpar, rpar=original_node.rpar)

    # -- deciding, reporting, building the replacement ---------------------------------------

    def _decide(self, node: cst.CSTNode, literal: _Literal) -> cst.BaseExpression | None:
        """Report the literal at `node`; return the expression replacing its region part."""
        if literal.kind is not _Kind.AZ and literal.region == US_EAST_1 and self._edge:
            return None  # CloudFront companions live in us-east-1 by AWS's rule
        resource = self._enclosing_resource(node)
        where = self._where(node, resource)
        if literal.kind is _Kind.JSON:
            subject = f'{literal.what}: "{literal.text}"{where}'
        elif literal.kind is _Kind.AZ and "," in literal.text:
            subject = f"{literal.what} {literal.text}{where}"
        else:
            subject = f'{literal.what} "{literal.text}"{where}'
        verb = "hard-code" if literal.what.endswith("zones") else "hard-codes"
        if resource is not None and (own := _argument(resource, "region")) is not None:
            if _text(own) == literal.region:
                return None  # region="..." on the resource itself: consistent by construction
            self.report(node, f"{subject} {verb} {literal.region} but the resource sets its own "
                        "region=; make them agree by hand.", safety=Safety.DISPLAY_ONLY)
            return None
        consequence = self._consequence(literal)
        if not literal.certain:
            self.report(node, f"{subject} {verb} {literal.region}{consequence}; no automatic fix: "
                        f"{literal.why_unsure}.", safety=Safety.DISPLAY_ONLY)
            return None
        kind, provider = self._provider_of(resource)
        code = self._code(literal, self._aws_alias_preview(), provider is not None or kind is _Provider.UNKNOWN,
                          shown=True)
        if kind is _Provider.UNKNOWN:
            self.report(node, f"{subject} {verb} {literal.region}{consequence}, and this module uses "
                        "explicit providers, so which region applies cannot be read from the code; "
                        f"replace it with {code} naming the right provider.",
                        safety=Safety.DISPLAY_ONLY)
            return None
        safety, caveat = Safety.SAFE, ""
        if literal.kind is _Kind.AZ:
            safety = Safety.UNSAFE
            caveat = " (on a deployed stack the zone may change, which replaces the resource)"
        if not self.report(node, f"{subject} {verb} {literal.region}{consequence}; use {code}{caveat}.",
                           safety=safety):
            return None
        if self._aws is None:
            self._aws = ensure_module_alias(self.context, self.module, "pulumi_aws", "aws")
        invoke_options = self._invoke_options() if provider is not None else None
        template = self._code(literal, self._aws, provider is not None, shown=False)
        return parse_template_expression(
            template,
            **({"invoke_options": invoke_options, "provider": provider.deep_clone()}
               if provider is not None else {}),
        )

    def _consequence(self, literal: _Literal) -> str:
        if self.project.region == literal.region:
            return (f", which works only because the stack deploys to {literal.region} and breaks "
                    "in any other region")
        if self.project.region:
            return f" while the stack deploys to {self.project.region}"
        return ", which breaks when the stack deploys to any other region"

    def _code(self, literal: _Literal, aws: str, with_provider: bool, *, shown: bool) -> str:
        opts = ""
        if with_provider:
            opts = "opts=InvokeOptions(provider=...)" if shown else "opts={invoke_options}(provider={provider})"
        if literal.kind is _Kind.AZ:
            arguments = 'state="available"' + (f", {opts}" if opts else "")
            return f"{aws}.get_availability_zones({arguments}).names[{literal.az_index}]"
        code = region_expression(aws, self.project.aws_major)
        return code.replace("get_region()", f"get_region({opts})") if opts else code

    def _invoke_options(self) -> cst.BaseExpression:
        pulumi = module_alias(self.module, "pulumi")
        if pulumi is None:
            AddImportsVisitor.add_needed_import(self.context, "pulumi", "InvokeOptions")
            return cst.Name("InvokeOptions")
        return cst.parse_expression(f"{pulumi}.InvokeOptions")

    def _aws_alias_preview(self) -> str:
        return self._aws or module_alias(self.module, "pulumi_aws") or "aws"

    def _where(self, node: cst.CSTNode, resource: cst.Call | None) -> str:
        if resource is None:
            return ""
        name = next((q for q in sorted(self._names(resource.func)) if q.startswith("pulumi_aws.")), "")
        short = ".".join(name.split(".")[1:][-2:]) if name.count(".") > 1 else name.split(".")[-1]
        logical = resource.args[0].value if resource.args and resource.args[0].keyword is None else None
        label = f" {_short_code(logical)}" if logical is not None else ""
        argument = next((_keyword(a) for a in resource.args
                         if a.keyword is not None and _contains(a.value, node)), None)
        return f" in {argument + ' of ' if argument else ''}{short}{label}"

    def _provider_of(self, resource: cst.Call | None) -> tuple[_Provider, cst.BaseExpression | None]:
        if resource is not None:
            opts = _argument(resource, "opts")
            if opts is None:
                return _Provider.DEFAULT, None
            if isinstance(opts, cst.Call) and self._names(opts.func) & _RESOURCE_OPTIONS:
                if any(arg.star for arg in opts.args):
                    return self._fallback()
                by_name = {_keyword(arg): arg.value for arg in opts.args}
                if "providers" in by_name:
                    return _Provider.UNKNOWN, None
                provider = by_name.get("provider")
                if provider is None:
                    return _Provider.DEFAULT, None
                if m.matches(provider, _COPYABLE) and not m.findall(provider, m.Call()):
                    return _Provider.EXPLICIT, provider
                return _Provider.UNKNOWN, None
        return self._fallback()

    def _fallback(self) -> tuple[_Provider, None]:
        return (_Provider.UNKNOWN if self._explicit_providers else _Provider.DEFAULT), None

    # -- where a literal may be reported ------------------------------------------------------

    def _reportable_position(self, node: cst.CSTNode) -> bool:
        """Not a docstring, dict key, lookup index, comparison operand, region-keyed table,
        nor inside what other rules own (aws.Provider, region=/region_name=, boto3 calls) or a
        get_availability_zones(...) call."""
        child = node
        for ancestor in self._ancestors(node):
            if isinstance(ancestor, cst.Expr) and isinstance(child, _STRINGS):
                return False  # a docstring or a bare string statement
            if isinstance(ancestor, (cst.Comparison, cst.ComparisonTarget, cst.Index)):
                return False
            if isinstance(ancestor, cst.DictElement) and ancestor.key is child:
                return False
            if isinstance(ancestor, cst.Dict) and _region_keyed(ancestor):
                return False
            if isinstance(ancestor, cst.Arg) and _keyword(ancestor) in _OTHER_RULES_KEYWORDS:
                return False
            if isinstance(ancestor, cst.Call):
                if (m.matches(ancestor.func, m.Attribute(attr=m.Name("get") | m.Name("pop")))
                        and ancestor.args and ancestor.args[0] is child):
                    return False  # a lookup in a table keyed by region or zone
                names = self._names(ancestor.func)
                if names & (_PROVIDERS | _GET_AZS) or any(
                    n.split(".")[0] in ("boto3", "botocore") for n in names
                ):
                    return False
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Module)):
                return True
            child = ancestor
        return True

    # -- tree helpers ---------------------------------------------------------------------------

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        while (node := self._parent(node)) is not None:
            yield node

    def _enclosing_resource(self, node: cst.CSTNode) -> cst.Call | None:
        for ancestor in self._ancestors(node):
            if isinstance(ancestor, cst.Call) and self._is_resource(ancestor):
                return ancestor
        return None

    def _is_resource(self, call: cst.Call) -> bool:
        for name in self._names(call.func):
            last = name.split(".")[-1]
            if (name.startswith("pulumi_aws.") and last[:1].isupper() and not last.endswith("Args")
                    and name not in _PROVIDERS):
                return True
        return False

    def _names(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}


class _Collector(cst.CSTVisitor):
    """Imports, calls and plain strings of a module, in one walk."""

    def __init__(self) -> None:
        super().__init__()
        self.imports: list[cst.Import | cst.ImportFrom] = []
        self.calls: list[cst.Call] = []
        self.strings: list[cst.SimpleString] = []

    def visit_Import(self, node: cst.Import) -> None:
        self.imports.append(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.imports.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.strings.append(node)


# -- module helpers ------------------------------------------------------------------------------


def _text(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower():
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _argument(call: cst.Call, keyword: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if _keyword(a) == keyword), None)


def _key_text(element: cst.DictElement) -> str | None:
    return _text(element.key)


def _keys(node: cst.Dict) -> set[str]:
    return {k for e in node.elements if isinstance(e, cst.DictElement) and (k := _key_text(e))}


def _region_keyed(node: cst.Dict) -> bool:
    """A table keyed by region or zone names: `{"us-east-1": "ami-1", "eu-west-1": "ami-2"}`."""
    keys = [_key_text(e) if isinstance(e, cst.DictElement) else None for e in node.elements]
    return bool(keys) and all(k is not None and (_REGION.fullmatch(k) or _AZ.fullmatch(k)) for k in keys)


def _mentions_global_namespace(node: cst.CSTNode) -> bool:
    return any(
        (text := _text(s)) is not None and text.startswith(_GLOBAL_NAMESPACES)
        for s in m.findall(node, m.SimpleString())
    )


def _contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    return tree is node or bool(m.findall(tree, m.MatchIfTrue(lambda n: n is node)))


def _short_code(node: cst.CSTNode) -> str:
    code = cst.Module(body=()).code_for_node(node)
    return code if len(code) <= 60 else code[:57] + "..."


def _flatten(parts: tuple[cst.BaseFormattedStringContent, ...] | list) -> tuple[str, list[tuple[int, int] | None]]:
    """f-string text with each replacement field as one NUL, and each part's span (None for fields)."""
    flat, offsets, position = [], [], 0
    for part in parts:
        if isinstance(part, cst.FormattedStringText):
            flat.append(part.value)
            offsets.append((position, position + len(part.value)))
            position += len(part.value)
        else:
            flat.append("\0")
            offsets.append(None)
            position += 1
    return "".join(flat), offsets


def _part_at(offsets: list[tuple[int, int] | None], start: int, end: int) -> int | None:
    for index, span in enumerate(offsets):
        if span is not None and span[0] <= start and end <= span[1]:
            return index
    return None


