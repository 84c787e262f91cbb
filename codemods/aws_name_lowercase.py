"""Rule `aws-name-lowercase`: literal physical names AWS requires in lowercase or within a length."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

from iacfix.codemods._provider_api import aws_symbol, call_of
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule


@dataclass(frozen=True)
class NameRule:
    what: str
    limit: int
    lowercase: bool


#: (module, class, keyword) -> the constraint AWS (and the Terraform provider's validation, which
#: pulumi_aws runs at `pulumi preview`) puts on the physical name.
NAMES: dict[tuple[str, str, str], NameRule] = {
    ("s3", "Bucket", "bucket"): NameRule("S3 bucket names", 63, True),
    ("s3", "BucketV2", "bucket"): NameRule("S3 bucket names", 63, True),
    ("elasticache", "ReplicationGroup", "replication_group_id"): NameRule("ElastiCache replication group ids", 40,
                                                                         True),
    ("elasticache", "Cluster", "cluster_id"): NameRule("ElastiCache cluster ids", 50, True),
    ("rds", "Instance", "identifier"): NameRule("RDS instance identifiers", 63, True),
    ("rds", "Cluster", "cluster_identifier"): NameRule("RDS cluster identifiers", 63, True),
    ("rds", "ClusterInstance", "identifier"): NameRule("RDS instance identifiers", 63, True),
    ("lb", "LoadBalancer", "name"): NameRule("load balancer names", 32, False),
    ("lb", "TargetGroup", "name"): NameRule("target group names", 32, False),
    ("alb", "LoadBalancer", "name"): NameRule("load balancer names", 32, False),
    ("alb", "TargetGroup", "name"): NameRule("target group names", 32, False),
}

#: The prefilter: the classes (by their last name, or an alias) and keywords of `NAMES`, the
#: shortest limit, and an f-string's placeholders (left out of its literal text).
_CLASSES = frozenset(name for _, name, _ in NAMES)
_KEYWORDS = frozenset(keyword for _, _, keyword in NAMES)
_CLASS_ALIAS = re.compile(rf"\b(?:{prefilter.alternatives(_CLASSES)})\s+as\s+(\w+)")
_SHORTEST = min(rule.limit for rule in NAMES.values())
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class AwsNameLowercase(Rule):
    """A literal physical name that AWS rejects: uppercase in an S3 bucket, ElastiCache or RDS name,
    or longer than the service allows (S3 63, ElastiCache replication groups 40, clusters 50, RDS
    63, load balancers and target groups 32).

    The rule checks the name keyword of those pulumi_aws resources (`bucket=`,
    `replication_group_id=`, `cluster_id=`, `identifier=`, `cluster_identifier=`, `name=`) when it
    is a string literal or an f-string, looking at the literal text only: what a replacement field
    holds is known at run time, not here.

    ## Why is this bad?

    The provider validates the name at `pulumi preview` (`only lowercase alphanumeric characters
    and hyphens allowed in "replication_group_id"`, `"name" cannot be longer than 32 characters`),
    or AWS rejects it at `pulumi up` (`InvalidBucketName`), and nothing of the stack after it is
    created. Generated code writes names like `f"Orders-Cache-{suffix}"` or
    `f"payment-processing-internal-alb-{environment_suffix}"`, which breaks as soon as the suffix
    is added.

    ## Fix

    Uppercase letters in the literal text are lowercased: `"Orders-Cache"` -> `"orders-cache"`,
    `f"Orders-{suffix}"` -> `f"orders-{suffix}"` (replacement fields are untouched). A fully literal
    name over the limit is cut to it, without a trailing hyphen. An f-string whose literal text
    alone exceeds the limit is reported without a fix: which part to shorten needs a human. Text
    with backslash escapes is reported, not rewritten.

    ## Fix safety

    Lowercasing is safe: the name was rejected, so no resource exists under it. Truncation is unsafe:
    two names that differ only after the cut now collide, and a human may prefer another short name.

    ## References

    - https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    - https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.Create.html
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints
    - https://docs.aws.amazon.com/elasticloadbalancing/latest/application/create-application-load-balancer.html
    """

    id = "aws-name-lowercase"
    title = "Lowercase (and shorten) literal physical names AWS would reject"
    safety = Safety.SAFE
    evidence = (b"pulumi_aws",)

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A name keyword of one of the classes is a string whose literal text has an uppercase
        letter or is longer than the shortest limit."""
        if not super().applies(source, path, project, settings):
            return False
        text = prefilter.text_of(source)
        classes = _CLASSES | set(_CLASS_ALIAS.findall(text))
        for argument in prefilter.keyword_arguments(text, _KEYWORDS):
            if argument.callee not in classes or not prefilter.is_string(argument.value):
                continue
            literal = prefilter.string_value(argument.value)
            if literal is None:  # an f-string (or strings joined with an expression): its text
                literal = _PLACEHOLDER.sub("", argument.value.replace("{{", "").replace("}}", ""))
            if literal != literal.lower() or len(literal) > _SHORTEST:
                return True
        return False


    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        call = call_of(self, original_node)
        if original_node.keyword is None or call is None:
            return updated_node
        symbol = aws_symbol(self, call.func)
        constraint = NAMES.get((*symbol, original_node.keyword.value)) if symbol else None  # type: ignore[arg-type]
        value = original_node.value
        if constraint is None or not isinstance(value, (cst.SimpleString, cst.FormattedString)):
            return updated_node
        if "b" in value.prefix.lower():
            return updated_node
        text = _literal_text(value)
        upper = constraint.lowercase and text != text.lower()
        long = len(text) > constraint.limit
        if not upper and not long:
            return updated_node
        where = f"`{original_node.keyword.value}=` of `{'.'.join(symbol)}`"  # type: ignore[arg-type]
        problems = []
        if upper:
            problems.append(f"{constraint.what} must be lowercase")
        if long:
            shown = "its literal text is" if isinstance(value, cst.FormattedString) else "it is"
            problems.append(f"{constraint.what} are at most {constraint.limit} characters and {shown} {len(text)}")
        head = f"{where}: " + "; ".join(problems)
        escaped = "\\" in _source_text(value)
        if escaped or (long and isinstance(value, cst.FormattedString)):
            why = "the text has escapes" if escaped else "which part to shorten needs a human"
            self.report(value, f"{head} (no fix: {why}).", safety=Safety.DISPLAY_ONLY)
            return updated_node
        safety = Safety.UNSAFE if long else Safety.SAFE
        fix = "lowercases" if not long else ("lowercases and cuts" if upper else "cuts")
        if not self.report(value, f"{head}; the fix {fix} it.", safety=safety):
            return updated_node
        return updated_node.with_changes(value=_rewrite(value, constraint.lowercase, constraint.limit))


def _source_text(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.SimpleString):
        return node.value[len(node.prefix) + len(node.quote): -len(node.quote)]
    return "".join(p.value for p in node.parts if isinstance(p, cst.FormattedStringText))  # type: ignore[attr-defined]


def _literal_text(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.SimpleString):
        return str(node.evaluated_value)
    return _source_text(node).replace("{{", "{").replace("}}", "}")


def _rewrite(node: cst.BaseExpression, lowercase: bool, limit: int) -> cst.BaseExpression:
    if isinstance(node, cst.SimpleString):
        text = _source_text(node)
        text = text.lower() if lowercase else text
        if len(text) > limit:
            text = text[:limit].rstrip("-")
        return node.with_changes(value=f"{node.prefix}{node.quote}{text}{node.quote}")
    parts = [p.with_changes(value=p.value.lower()) if isinstance(p, cst.FormattedStringText) and lowercase else p
             for p in node.parts]  # type: ignore[attr-defined]
    return node.with_changes(parts=parts)
