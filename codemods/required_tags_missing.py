"""Rule `required-tags-missing`: resources (and the tag sets given to stacks and providers) that
lack a tag key the project requires."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import libcst as cst
from iacfix.codemods._aws_resources import canonical, describe, short_class
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from iacfix.results import Safety
from iacfix.rule import Rule

#: Common pulumi_aws resources that take a `tags` mapping (checked against the installed
#: pulumi_aws 7.51: each has a `tags` parameter in `_internal_init`, which
#: tests/test_real_environment_suffix.py asserts). A resource outside this table is still
#: checked when it is given `tags=`.
_TAGGABLE = frozenset({
    "pulumi_aws.acm.Certificate", "pulumi_aws.alb.LoadBalancer", "pulumi_aws.alb.TargetGroup",
    "pulumi_aws.apigateway.RestApi", "pulumi_aws.apigatewayv2.Api",
    "pulumi_aws.cloudfront.Distribution", "pulumi_aws.cloudwatch.LogGroup",
    "pulumi_aws.cloudwatch.MetricAlarm", "pulumi_aws.dynamodb.Table", "pulumi_aws.ec2.Eip",
    "pulumi_aws.ec2.Instance", "pulumi_aws.ec2.InternetGateway", "pulumi_aws.ec2.LaunchTemplate",
    "pulumi_aws.ec2.NatGateway", "pulumi_aws.ec2.RouteTable", "pulumi_aws.ec2.SecurityGroup",
    "pulumi_aws.ec2.Subnet", "pulumi_aws.ec2.Vpc", "pulumi_aws.ec2.VpcEndpoint",
    "pulumi_aws.ecr.Repository", "pulumi_aws.ecs.Cluster", "pulumi_aws.ecs.Service",
    "pulumi_aws.ecs.TaskDefinition", "pulumi_aws.efs.FileSystem",
    "pulumi_aws.elasticache.ReplicationGroup", "pulumi_aws.iam.Policy", "pulumi_aws.iam.Role",
    "pulumi_aws.kinesis.Stream", "pulumi_aws.kms.Key", "pulumi_aws.lambda_.Function",
    "pulumi_aws.lb.LoadBalancer", "pulumi_aws.lb.TargetGroup", "pulumi_aws.rds.Cluster",
    "pulumi_aws.rds.ClusterInstance", "pulumi_aws.rds.Instance", "pulumi_aws.rds.SubnetGroup",
    "pulumi_aws.route53.Zone", "pulumi_aws.s3.Bucket", "pulumi_aws.s3.BucketV2",
    "pulumi_aws.secretsmanager.Secret", "pulumi_aws.sfn.StateMachine", "pulumi_aws.sns.Topic",
    "pulumi_aws.sqs.Queue", "pulumi_aws.ssm.Parameter", "pulumi_aws.wafv2.WebAcl",
})
_PROVIDERS = frozenset({"pulumi_aws.Provider"})
#: Module-level names under which a program declares the tag keys it requires.
_DECLARED = re.compile(r"(?i)^(?:mandatory|required)_tags?(?:_keys)?$")
#: The prefilter's form of `_DECLARED`: such a name being assigned anywhere in the text.
_DECLARED_TEXT = re.compile(rb"(?i)(?<![\w.])(?:mandatory|required)_tags?(?:_keys)?\s*=(?!=)")
_DEPTH = 4
_DEFAULT_TAGS_CONFIG = "aws:defaultTags"


@dataclass(frozen=True)
class _Tagged:
    """A call that carries (or should carry) tags."""

    call: cst.Call
    kind: str  # "resource", "provider", "component"
    qualified: str
    tags: cst.BaseExpression | None  # the tags expression, None when absent


class RequiredTagsMissing(Rule):
    """Report resources whose tags lack a key the project requires.

    Teams require tag keys on every resource (`Environment`, `Project`, `Owner`, `CostCenter`)
    for cost allocation and ownership. From seed 001 §10 ("Missing Required Tags": the stack's
    `default_tags` had `Environment`, `Repository`, `Author` but not the required `Project`) and
    seed 002 §9 ("No Cost Tagging Strategy": no `CostCenter` / `Owner`).

    The required keys come from the option `tags` (`[tool.iacfix.options.required-tags-missing]
    tags = ["Environment", "Project"]`) together with a list the program itself declares at
    module level (`REQUIRED_TAGS = ["Environment", "Owner", "CostCenter"]`, also
    `required_tags`, `MANDATORY_TAGS`, `REQUIRED_TAG_KEYS`: a list, tuple or set of string
    literals). With neither, the rule does nothing.

    Checked, each reported on the line of its call:
    - a pulumi_aws resource's `tags=`: a dict display, `{**common_tags, "Name": ...}`,
      `common | {...}`, `dict(common, Name=...)`, where every spread or name resolves (libcst
      scopes, also `self.<attr>` assigned in the class) to such a mapping in this file; a
      resource of a common taggable type with no `tags=` counts as having none, but only in a
      file that tags some of its resources (a file that tags none relies on provider default
      tags, which the rule may not see);
    - an `aws.Provider` in the file with `default_tags=` (`ProviderDefaultTagsArgs(tags=...)`
      or `{"tags": ...}`): its keys count for every resource created with `provider=` that
      provider, and a provider whose default tags lack a key is reported once, at the provider,
      rather than at each of its resources;
    - the tags a program hands to its own components and factories (`TapStackArgs(tags=
      default_tags)`, `S3Stack(..., tags=tags)`, `create_vpc(suffix, tags=common_tags)`: a call
      of the program's own class or function, not of a pulumi or boto package), the seed 001 and
      002 shapes, where the stack spreads them over every resource.

    Left alone (the keys cannot be known here): tags that come from a parameter, a function call
    or another module; resources whose `provider=` is not an `aws.Provider` created in this
    file; resources without an explicit provider when the stack config sets `aws:defaultTags`.
    A component created in another file may also pass its children a provider with default
    tags; suppress the finding there (`# iacfix: ignore[required-tags-missing]`).

    ## Why is this bad?
    Untagged resources fall out of cost allocation reports, budgets and ownership queries, and
    tag policies (AWS Organizations, SCPs with `aws:RequestTag` conditions) can reject their
    creation outright: `pulumi up` fails with AccessDenied on the first untagged resource.

    ## Fix
    None automatic: the value of each tag (the cost center, the owner) is the author's. The
    finding lists the missing keys; add them where the tags are defined: the shared dict or the
    provider's `default_tags` when the resource uses one, else the resource's `tags=`.

    ## Fix safety
    Display-only: nothing is rewritten. Adding tags later updates resources in place.

    ## References
    - https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
    - https://www.pulumi.com/registry/packages/aws/how-to-guides/default-tags/
    - https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_tag-policies.html
    """

    id = "required-tags-missing"
    title = "Report resources missing a required tag key"
    safety = Safety.DISPLAY_ONLY
    evidence = (b"tags",)
    options: ClassVar[Mapping[str, Any]] = {"tags": []}

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Only where a tag set is required: the `tags` option, or the file declares one."""
        return super().applies(source, path, project, settings) and bool(
            settings.option(cls, "tags") or _DECLARED_TEXT.search(source))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._calls: list[_Tagged] = []
        self._declared: list[str] = []

    # -- collect -----------------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        scope = self.get_metadata(ScopeProvider, node, None)
        if scope is None or scope is not scope.globals:
            return
        for target in node.targets:
            if isinstance(target.target, cst.Name) and _DECLARED.match(target.target.value):
                self._declared += _string_list(node.value) or []

    def visit_Call(self, node: cst.Call) -> None:
        qualified = {canonical(q) for q in self._qualified(node.func)}
        tags = _keyword(node, "tags")
        if qualified & _PROVIDERS:
            self._calls.append(_Tagged(node, "provider", "pulumi_aws.Provider",
                                       self._default_tags(node)))
            return
        resource = next((q for q in sorted(qualified) if _is_resource(q)), None)
        if resource is not None:
            if tags is not None or resource in _TAGGABLE:
                self._calls.append(_Tagged(node, "resource", resource, tags))
            return
        if tags is not None and qualified and not any(q.split(".")[0].startswith(("pulumi", "boto"))
                                                      for q in qualified):
            self._calls.append(_Tagged(node, "component", min(qualified), tags))

    # -- decide ------------------------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        required = list(dict.fromkeys([*self.option("tags"), *self._declared]))
        if not required:
            return updated_node
        providers = self._provider_keys()
        tags_some = any(t.kind == "resource" and t.tags is not None for t in self._calls)
        default_tags_configured = _DEFAULT_TAGS_CONFIG in (self.project.config_keys or ())
        components_told: set[str] = set()
        for tagged in self._calls:
            if tagged.kind == "provider":
                if tagged.tags is None:
                    continue
                keys = self._keys(tagged.tags, _DEPTH)
                if keys is not None:
                    self._check(tagged, required, keys, "its default_tags")
                continue
            if tagged.kind == "component":
                handed = self.module.code_for_node(tagged.tags)
                keys = self._keys(tagged.tags, _DEPTH)
                if keys is not None and handed not in components_told:
                    components_told.add(handed)  # one finding per tag set, where first handed over
                    self._check(tagged, required, keys, "the tags it is given")
                continue
            provider = _provider_argument(tagged.call)
            if provider is not None:
                if not isinstance(provider, cst.Name) or provider.value not in providers:
                    continue  # a provider from elsewhere: its default tags are unknown
                if providers[provider.value]:
                    continue  # its default tags cover it, or the provider itself is reported
            elif default_tags_configured:
                continue
            if tagged.tags is None:
                if tags_some:
                    self._check(tagged, required, set(), "no tags")
                continue
            keys = self._keys(tagged.tags, _DEPTH)
            if keys is not None:
                self._check(tagged, required, keys, "its tags")
        return updated_node

    def _check(self, tagged: _Tagged, required: list[str], keys: set[str], what: str) -> None:
        missing = [key for key in required if key not in keys]
        if not missing:
            return
        listed = ", ".join(f"`{key}`" for key in missing)
        short = {"component": tagged.qualified.rsplit(".", 1)[-1],
                 "provider": "aws.Provider"}.get(tagged.kind, short_class(tagged.qualified))
        label = describe(tagged.call, short)
        them = "it" if len(missing) == 1 else "them"
        if tagged.kind == "provider":
            where = f"add {them} to its default_tags, which every resource created with it gets"
        elif what == "no tags":
            where = f"add `tags=` with {them} (the values are yours to choose)"
        elif isinstance(tagged.tags, (cst.Name, cst.Attribute)):
            where = f"add {them} to `{self.module.code_for_node(tagged.tags)}`"
        elif shared := _spread_names(tagged.tags):
            where = f"add {them} to `{shared[0]}` or to these tags"
        else:
            where = f"add {them} to these tags"
        noun = "key" if len(missing) == 1 else "keys"
        has = "has no tags" if what == "no tags" else f"{what} lack the required tag {noun}"
        if what == "no tags":
            message = f"{label} {has}, so it lacks the required tag {noun} {listed}; {where}."
        else:
            message = f"{label}: {has} {listed}; {where}."
        self.report(tagged.call, message, safety=Safety.DISPLAY_ONLY)

    def _provider_keys(self) -> dict[str, bool]:
        """Provider variables of this file -> whether they set default tags the rule can read."""
        found: dict[str, bool] = {}
        for tagged in self._calls:
            if tagged.kind != "provider":
                continue
            parent = self.get_metadata(ParentNodeProvider, tagged.call, None)
            if not isinstance(parent, cst.Assign):
                continue
            for target in parent.targets:
                if isinstance(target.target, cst.Name):
                    found[target.target.value] = (tagged.tags is not None
                                                  and self._keys(tagged.tags, _DEPTH) is not None)
        return found

    def _default_tags(self, provider: cst.Call) -> cst.BaseExpression | None:
        value = _keyword(provider, "default_tags")
        if value is None:
            return None
        if isinstance(value, cst.Call):
            return _keyword(value, "tags")
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if (isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)
                        and element.key.evaluated_value == "tags"):
                    return element.value
        return None

    # -- which keys a tags expression has --------------------------------------------------------

    def _keys(self, node: cst.BaseExpression, depth: int) -> set[str] | None:
        """The keys of a tags mapping, or None when some of them cannot be known here."""
        if depth < 0:
            return None
        if isinstance(node, cst.Dict):
            keys: set[str] = set()
            for element in node.elements:
                if isinstance(element, cst.StarredDictElement):
                    inner = self._keys(element.value, depth - 1)
                    if inner is None:
                        return None
                    keys |= inner
                elif isinstance(element.key, cst.SimpleString) and isinstance(
                        element.key.evaluated_value, str):
                    keys.add(element.key.evaluated_value)
                else:
                    return None
            return keys
        if isinstance(node, cst.Name):
            if node.value == "None":
                return set()
            values = self._values(node)
            return self._keys(values[0], depth - 1) if len(values) == 1 else None
        if isinstance(node, cst.Attribute):
            values = self._self_values(node)
            return self._keys(values[0], depth - 1) if len(values) == 1 else None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            left, right = self._keys(node.left, depth - 1), self._keys(node.right, depth - 1)
            return None if left is None or right is None else left | right
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
                and node.func.value == "dict" and self._is_builtin(node.func)):
            keys = set()
            for arg in node.args:
                if arg.keyword is not None:
                    keys.add(arg.keyword.value)
                elif arg.star == "":
                    inner = self._keys(arg.value, depth - 1)
                    if inner is None:
                        return None
                    keys |= inner
                else:
                    return None
            return keys
        return None

    # -- lookups ---------------------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _is_builtin(self, name: cst.Name) -> bool:
        scope = self.get_metadata(ScopeProvider, name, None)
        return scope is not None and not any(
            isinstance(a, Assignment) for a in scope[name.value])

    def _values(self, name: cst.Name) -> list[cst.BaseExpression]:
        """The values of the assignments `name` refers to ([] if one is not `name = value`)."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return []
        values = []
        for assignment in scope[name.value]:
            if not isinstance(assignment, Assignment):
                return []
            value = self._assigned_value(assignment.node)
            if value is None:
                return []
            values.append(value)
        return values

    def _assigned_value(self, target: cst.CSTNode) -> cst.BaseExpression | None:
        parent = self.get_metadata(ParentNodeProvider, target, None)
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return parent.value
        if isinstance(parent, cst.AssignTarget) and parent.target is target:
            statement = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign):
                return statement.value
        return None

    def _self_values(self, attribute: cst.Attribute) -> list[cst.BaseExpression]:
        """Values assigned to `self.<attr>` in the methods of the class around `attribute`."""
        if not isinstance(attribute.value, cst.Name):
            return []
        method, klass = None, None
        current: cst.CSTNode | None = attribute
        while current is not None:
            if isinstance(current, cst.FunctionDef):
                method = current
            if isinstance(current, cst.ClassDef):
                klass = current
                break
            current = self.get_metadata(ParentNodeProvider, current, None)
        if (klass is None or method is None or not method.params.params
                or method.params.params[0].name.value != attribute.value.value):
            return []
        values = []
        for statement in klass.body.body:
            if not isinstance(statement, cst.FunctionDef) or not statement.params.params:
                continue
            me = statement.params.params[0].name.value
            for node in _walk(statement.body):
                if isinstance(node, cst.Assign):
                    for target in node.targets:
                        if _is_attr(target.target, me, attribute.attr.value):
                            values.append(node.value)
                elif isinstance(node, cst.AugAssign) and _is_attr(node.target, me,
                                                                  attribute.attr.value):
                    return []  # `self.tags |= ...`: more than one value
        return values


# -- helpers (pure functions on nodes) ----------------------------------------------------------


def _walk(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from _walk(child)


def _is_attr(node: cst.BaseExpression, owner: str, attr: str) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
            and node.value.value == owner and node.attr.value == attr)


def _is_resource(qualified: str) -> bool:
    """`pulumi_aws.<module>.<Class>`, not an `...Args` input type or the provider."""
    parts = qualified.split(".")
    return (len(parts) == 3 and parts[0] == "pulumi_aws" and parts[2][:1].isupper()
            and not parts[2].endswith("Args") and not parts[2].endswith("Result"))


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _provider_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The `provider=` of `opts=ResourceOptions(...)` (or of `opts=pulumi.ResourceOptions(...)`)."""
    opts = _keyword(call, "opts")
    if isinstance(opts, cst.Call):
        return _keyword(opts, "provider")
    return None


def _spread_names(node: cst.BaseExpression) -> list[str]:
    """Names of shared mappings a tags expression builds on (`{**common_tags, ...}`)."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return [f"{node.value.value}.{node.attr.value}"]
    if isinstance(node, cst.Dict):
        return [name for element in node.elements if isinstance(element, cst.StarredDictElement)
                for name in _spread_names(element.value)]
    if isinstance(node, cst.BinaryOperation):
        return _spread_names(node.left) + _spread_names(node.right)
    return []


def _string_list(node: cst.BaseExpression) -> list[str] | None:
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    values = []
    for element in node.elements:
        if not (isinstance(element.value, cst.SimpleString)
                and isinstance(element.value.evaluated_value, str)):
            return None
        values.append(element.value.evaluated_value)
    return values
