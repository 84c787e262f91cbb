"""Rule `missing-waf`: a public ALB or CloudFront distribution that no web ACL protects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from iacfix.codemods._aws_resources import (
    canonical,
    describe,
    has_opaque_arguments,
    is_none_or_empty,
    literal_bool,
    literal_str,
    resource_arguments,
)
from libcst.metadata import PositionProvider, QualifiedNameProvider

from iacfix import prefilter
from iacfix.project import ProjectRule
from iacfix.results import Safety

#: Class -> its Args class; names checked against pulumi_aws 7.51 (`lb` and `alb` are two
#: modules with the same LoadBalancer, `internal` / `load_balancer_type` / `web_acl_id` as below).
_LOAD_BALANCERS = {
    "pulumi_aws.lb.LoadBalancer": "pulumi_aws.lb.LoadBalancerArgs",
    "pulumi_aws.alb.LoadBalancer": "pulumi_aws.alb.LoadBalancerArgs",
}
_DISTRIBUTION = "pulumi_aws.cloudfront.Distribution"
_DISTRIBUTION_ARGS = "pulumi_aws.cloudfront.DistributionArgs"
#: Resources that attach a web ACL to a regional resource (WAFv2, and WAF Classic regional).
_ASSOCIATIONS = frozenset({"pulumi_aws.wafv2.WebAclAssociation", "pulumi_aws.wafregional.WebAclAssociation"})
_PREFILTER = re.compile(rb"LoadBalancer|Distribution|WebAclAssociation")
_ASSOCIATION_CALL = re.compile(r"\b(?:wafv2|wafregional)\.WebAclAssociation\s*\(")
#: Directory names whose files are tests, not deployed code.
_TEST_DIRECTORIES = frozenset({"tests", "test"})


@dataclass(frozen=True)
class _Unprotected:
    path: Path
    line: int
    column: int
    kind: str  # "alb" or "distribution"
    what: str  # `lb.LoadBalancer "ml-api-alb-{suffix}"`


class MissingWaf(ProjectRule):
    """An internet-facing application load balancer with no WAF web ACL associated anywhere in the
    project, or a CloudFront distribution without `web_acl_id`.

    Seed 000 §4: the task asked for AWS WAF in front of the API; the program created a public
    ALB and a CloudFront distribution and no web ACL. Reported:

    - `lb.LoadBalancer` / `alb.LoadBalancer` with `internal` absent or `False` and
      `load_balancer_type` absent or `"application"`, when no `wafv2.WebAclAssociation` (or WAF
      Classic `wafregional.WebAclAssociation`) exists in any Python file of the project: the
      association is usually written in another module (`lib/waf.py`) with the ALB's ARN passed
      in, so the whole project is read, and any association counts for every ALB (the ARN it is
      given cannot be followed across modules; a project with two public ALBs and one association
      is not reported);
    - `cloudfront.Distribution` without `web_acl_id` (or with `None`/`""`): CloudFront takes its
      web ACL only through that argument (a `WebAclAssociation` cannot target a distribution).

    Left alone: internal load balancers, network and gateway load balancers (WAF cannot attach to
    them), an `internal=` or `load_balancer_type=` that is not a literal (read from config: the
    rule cannot tell), calls whose arguments are hidden (`**kwargs`, an `args=` variable), and
    files under `tests/` (they do not deploy).

    ## Why is this bad?
    Nothing filters requests before they reach the service: no managed rule sets against common
    exploits (SQL injection, known bad inputs), no rate limiting, no IP reputation lists. The
    stack deploys, so the gap is only found in a security review or an incident.

    ## Fix
    None automatic: the rules, the scope and the rate limits are the owner's choice. For an ALB,
    create an `aws.wafv2.WebAcl` with `scope="REGIONAL"` (e.g. with the `AWSManagedRulesCommonRuleSet`
    managed rule group) and an `aws.wafv2.WebAclAssociation(resource_arn=alb.arn,
    web_acl_arn=web_acl.arn)`. For a distribution, create the web ACL with `scope="CLOUDFRONT"`
    through a us-east-1 provider and pass its `arn` as `web_acl_id`.

    ## Fix safety
    Display only: a web ACL blocks traffic by design, and which traffic to block needs a human.

    ## References
    - Seed 000 §4 (WAF not implemented)
    - https://docs.aws.amazon.com/waf/latest/developerguide/waf-chapter.html
    - https://docs.aws.amazon.com/waf/latest/developerguide/cloudfront-features.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/wafv2/webaclassociation/
    - https://www.pulumi.com/registry/packages/aws/api-docs/cloudfront/distribution/#web_acl_id_python
    """

    id = "missing-waf"
    title = "Report public load balancers and CloudFront distributions with no WAF web ACL"
    safety = Safety.DISPLAY_ONLY

    def check(self) -> None:
        unprotected: list[_Unprotected] = []
        associated = False
        candidates = []
        for path in self.project.own_python_files():
            if _is_test_file(self.project.root, path):
                continue
            data = self.project.read(path)
            if data and _PREFILTER.search(data):
                candidates.append((path, data))
        if any(_ASSOCIATION_CALL.search(prefilter.code_only(prefilter.text_of(data))) for _, data in candidates):
            # An association exists, so only distributions can be reported: parse only their files.
            associated = True
            candidates = [(path, data) for path, data in candidates if b"Distribution" in data]
        for path, _ in candidates:
            wrapper = self.project.python_tree(path)
            if wrapper is None:
                continue  # the Python rules report files that do not parse
            collector = _Collector(path)
            wrapper.visit(collector)
            unprotected += collector.unprotected
            associated |= collector.associated
        for found in unprotected:
            if found.kind == "alb" and not associated:
                self.report(
                    found.path, found.line, found.column,
                    f"{found.what} is internet-facing and no wafv2.WebAclAssociation exists anywhere in "
                    "the project, so nothing filters requests before they reach its targets; create an "
                    'aws.wafv2.WebAcl (scope="REGIONAL", e.g. with AWSManagedRulesCommonRuleSet) and an '
                    "aws.wafv2.WebAclAssociation(resource_arn=<the ALB>.arn, web_acl_arn=<the web ACL>.arn).",
                )
            elif found.kind == "distribution":
                self.report(
                    found.path, found.line, found.column,
                    f"{found.what} has no web_acl_id, so nothing filters requests at the edge; create an "
                    'aws.wafv2.WebAcl with scope="CLOUDFRONT" (through a us-east-1 provider) and pass '
                    "its arn as web_acl_id.",
                )


def _is_test_file(root: Path, path: Path) -> bool:
    try:
        parts = path.resolve().relative_to(root.resolve()).parts
    except ValueError:
        parts = path.parts
    return bool(_TEST_DIRECTORIES & set(parts[:-1])) or parts[-1].startswith("test_")


class _Collector(cst.CSTVisitor):
    """Public ALBs and WAF-less distributions of one module, and whether it associates a web ACL."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.unprotected: list[_Unprotected] = []
        self.associated = False

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def visit_Call(self, node: cst.Call) -> None:
        classes = {canonical(q) for q in self._qualified(node.func)}
        if classes & _ASSOCIATIONS:
            self.associated = True
            return
        for load_balancer, args_class in _LOAD_BALANCERS.items():
            if load_balancer in classes:
                given = resource_arguments(node, frozenset({args_class}), self._qualified)
                if given is not None and _public_application(given):
                    self._add(node, "alb", describe(node, load_balancer.split(".", 1)[1]))
                return
        if _DISTRIBUTION in classes and not has_opaque_arguments(node):
            given = resource_arguments(node, frozenset({_DISTRIBUTION_ARGS}), self._qualified)
            if given is None:
                return
            acl = given.get("web_acl_id")
            if acl is None or is_none_or_empty(acl.value) or literal_str(acl.value) == "":
                self._add(node, "distribution", describe(node, "cloudfront.Distribution"))

    def _add(self, node: cst.Call, kind: str, what: str) -> None:
        position = self.get_metadata(PositionProvider, node)
        self.unprotected.append(_Unprotected(self.path, position.start.line, position.start.column + 1, kind, what))


def _public_application(given: dict[str, cst.Arg]) -> bool:
    """`internal` absent/False and `load_balancer_type` absent/"application" (literals only)."""
    internal = given.get("internal")
    if internal is not None and literal_bool(internal.value) is not False:
        return False
    kind = given.get("load_balancer_type")
    return kind is None or literal_str(kind.value) == "application"
