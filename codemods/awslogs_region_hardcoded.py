"""Rule awslogs-region-hardcoded: the ECS awslogs driver pinned to a literal region."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator

import libcst as cst
import libcst.matchers as m
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node, parse_template_expression
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

from iacfix.codemods._fstrings import fstring_parts, imported_modules
from iacfix.pulumi_names import ensure_module_alias, module_alias, region_expression
from iacfix.results import Safety
from iacfix.rule import Rule

KEY = "awslogs-region"
#: An AWS region name: `us-east-1`, `eu-south-1`, `us-gov-west-1`, `cn-northwest-1`.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_REGION_TEXT = re.compile(_REGION.pattern.encode())
#: `"awslogs-region": "us-east-1"` inside string JSON, quotes optionally backslash-escaped.
_IN_JSON = re.compile(
    r'(?P<q>\\?")awslogs-region(?P=q)\s*:\s*(?P=q)(?P<region>' + _REGION.pattern + r")(?P=q)"
)
_TASK_DEFINITION = {
    "pulumi_aws.ecs.TaskDefinition",
    "pulumi_aws.ecs.task_definition.TaskDefinition",
}
_RESOURCE_OPTIONS = {"pulumi.ResourceOptions", "pulumi.resource.ResourceOptions"}
_COPYABLE = m.Name() | m.Attribute() | m.Subscript()


class _Provider(enum.Enum):
    """Which provider the task definition around a literal deploys through."""

    DEFAULT = "default"  # no explicit provider: `aws.get_region()` asks the right one
    EXPLICIT = "explicit"  # `provider=<expr>` on the task definition: thread it into the invoke
    UNKNOWN = "unknown"  # cannot be read from the code: display only


class AwslogsRegionHardcoded(Rule):
    """A literal region under `"awslogs-region"` in an ECS container definition.

    ECS container definitions in Pulumi programs are JSON built from dict literals (`json.dumps`,
    `pulumi.Output.json_dumps`, inside `Output.all(...).apply(lambda args: ...)`) or written as
    (f-)string JSON. A literal such as `"awslogs-region": "us-east-1"` there pins the log driver to
    one region while the task definition follows the provider's region (seeds 000 §5 and 001 §9).

    ## Why is this bad?
    The `awslogs` driver sends the container's output to the log group in `awslogs-region`. The
    program creates that log group with the provider, in the stack's region; when the stack deploys
    anywhere but the literal's region the group does not exist where the driver looks, and the task
    never starts (`ResourceInitializationError: ... unable to retrieve logs from CloudWatch` in seed
    001, deployed to eu-south-1 with `"us-east-1"` hard-coded). Seed 000 shipped the same literal
    and only worked because the stack happened to deploy to us-east-1.

    ## Fix
    Replace the literal with the region of the provider at run time: `aws.get_region().region` on
    pulumi_aws 7 (`.name` on 6, or when the pinned major is unknown: 6.x's `GetRegionResult` has
    only `name`; 7.x keeps it, deprecated). `aws.get_region()` is a synchronous invoke returning a
    plain result, so the value is a `str` that `json.dumps` and apply lambdas take as is. In string
    or f-string JSON the call becomes an f-string replacement field; a plain string becomes an
    f-string with its braces doubled, so it evaluates to the same text (a later `.format()` still
    sees the same template). `import pulumi_aws as aws` is added when the module only imports
    `from pulumi_aws import ecs`.

    When the enclosing `ecs.TaskDefinition` is given an explicit provider
    (`opts=ResourceOptions(provider=p)`), the invoke goes to that provider:
    `aws.get_region(opts=pulumi.InvokeOptions(provider=p)).region`. When the module uses explicit
    providers and the task definition's provider cannot be read from the code (the container
    definition is built elsewhere, `opts` is a variable, `providers=`), or the task definition sets
    its own `region=`, the finding is display-only: a human must say where the logs belong.

    Left alone: values that are already dynamic (a variable, `region.name`, `config.require(...)`,
    an f-string field), values that do not look like a region (`"${AWS_REGION}"` templates),
    docstrings, comments, and modules that do not import Pulumi (a boto3 script registering a task
    definition has no provider to ask).

    ## Fix safety
    Safe. In the literal's own region the generated call returns the same string, the container
    definitions serialise to identical JSON, and `pulumi up` shows no change. Everywhere else the
    literal was the failure: the task definition gets a new revision (task definition revisions are
    immutable, so this is how every ECS change is rolled out; the log group and its logs are kept),
    and the service's tasks start because the driver finds their log group. The one program the fix
    changes against its author's intent ships logs on purpose to a log group in another region than
    the task's provider; such a line should carry `# iacfix: ignore[awslogs-region-hardcoded]`. A
    provider inherited only through `parent=` from a component given `providers=` is not visible in
    the file; the fix then asks the default provider.

    ## References
    - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
    - https://docs.docker.com/engine/logging/drivers/awslogs/
    - https://www.pulumi.com/registry/packages/aws/api-docs/getregion/
    - https://www.pulumi.com/docs/iac/concepts/resources/providers/
    """

    id = "awslogs-region-hardcoded"
    title = "Use the provider's region for the ECS awslogs driver instead of a literal"
    safety = Safety.SAFE
    evidence = (KEY.encode(),)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """The key, and a region literal somewhere (the value is always a literal)."""
        return super().applies(source, path, project, settings) and bool(_REGION_TEXT.search(source))

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pulumi_module = False
        self._explicit_providers = False
        self._aws: str | None = None

    # -- module-level facts ------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._pulumi_module = any(
            (get_full_name_for_node(name) or "").split(".")[0].startswith("pulumi")
            for imp in m.findall(node, m.Import() | m.ImportFrom())
            for name in imported_modules(imp)
        )
        self._explicit_providers = any(
            self._is_pulumi_call(call)
            and any(_keyword(arg) in ("provider", "providers") for arg in call.args)
            for call in m.findall(node, m.Call())
        )

    # -- dict literals: {"awslogs-region": "us-east-1"} --------------------------------------

    def leave_DictElement(
        self, original_node: cst.DictElement, updated_node: cst.DictElement
    ) -> cst.DictElement:
        if not self._pulumi_module:
            return updated_node
        key, value = original_node.key, original_node.value
        if not (isinstance(key, cst.SimpleString) and key.evaluated_value == KEY):
            return updated_node
        if not isinstance(value, cst.SimpleString) or isinstance(value.evaluated_value, bytes):
            return updated_node
        if not _REGION.fullmatch(value.evaluated_value):
            return updated_node
        region = self._region_for(original_node, value.evaluated_value)
        if region is None:
            return updated_node
        return updated_node.with_changes(value=region)

    # -- string JSON: '... "awslogs-region": "us-east-1" ...' ---------------------------------

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        prefix = original_node.prefix.lower()
        if not self._pulumi_module or "b" in prefix or self._is_docstring(original_node):
            return updated_node
        body = original_node.raw_value
        matches = list(_IN_JSON.finditer(body))
        replacements = [self._region_for(original_node, match["region"]) for match in matches]
        if all(r is None for r in replacements):
            return updated_node
        raw = "r" in prefix
        parts = list(fstring_parts(body, _spans(matches, replacements), from_plain_string=True, raw=raw))
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
        if not self._pulumi_module or self._is_docstring(original_node):
            return updated_node
        parts: list[cst.BaseFormattedStringContent] = []
        changed = False
        for part in updated_node.parts:
            if not isinstance(part, cst.FormattedStringText):
                parts.append(part)
                continue
            matches = list(_IN_JSON.finditer(part.value))
            replacements = [self._region_for(original_node, match["region"]) for match in matches]
            if all(r is None for r in replacements):
                parts.append(part)
                continue
            parts.extend(fstring_parts(part.value, _spans(matches, replacements), from_plain_string=False))
            changed = True
        return updated_node.with_changes(parts=parts) if changed else updated_node

    # -- deciding and building the replacement -----------------------------------------------

    def _region_for(self, node: cst.CSTNode, literal: str) -> cst.BaseExpression | None:
        """Report the literal at `node`; return the expression replacing it, or None."""
        task_definition = self._enclosing_task_definition(node)
        own_region = _region_argument(task_definition) if task_definition is not None else None
        if own_region is not None:
            if isinstance(own_region, cst.SimpleString) and own_region.evaluated_value == literal:
                return None  # region="us-east-1" on the resource itself: consistent by construction
            self.report(
                node,
                f'"{KEY}" is hard-coded to "{literal}" but the task definition sets its own '
                "region=; set the log region to that same value by hand.",
                safety=Safety.DISPLAY_ONLY,
            )
            return None
        kind, provider = self._provider_of(task_definition)
        shown = region_expression(self._aws_alias_preview(), self.project.aws_major)
        with_provider = shown.replace(
            "get_region()", "get_region(opts=InvokeOptions(provider=...))"
        )
        if kind is _Provider.UNKNOWN:
            self.report(
                node,
                f'"{KEY}" is hard-coded to "{literal}" and this module uses explicit providers, so '
                "which region the task deploys to cannot be read from the code; replace it with "
                f"{with_provider} naming the task definition's provider.",
                safety=Safety.DISPLAY_ONLY,
            )
            return None
        if kind is _Provider.EXPLICIT:
            shown = with_provider
        if not self.report(
            node,
            f'"{KEY}" is hard-coded to "{literal}", so the task cannot log (and fails to start) '
            f"when the stack deploys to another region; use the provider's region, {shown}.",
        ):
            return None
        return self._region_call(provider)

    def _region_call(self, provider: cst.BaseExpression | None) -> cst.BaseExpression:
        if self._aws is None:
            self._aws = ensure_module_alias(self.context, self.module, "pulumi_aws", "aws")
        code = region_expression(self._aws, self.project.aws_major)
        if provider is None:
            return cst.parse_expression(code)
        pulumi = module_alias(self.module, "pulumi")
        if pulumi is None:
            AddImportsVisitor.add_needed_import(self.context, "pulumi", "InvokeOptions")
            invoke_options: cst.BaseExpression = cst.Name("InvokeOptions")
        else:
            invoke_options = cst.parse_expression(f"{pulumi}.InvokeOptions")
        return parse_template_expression(
            code.replace("get_region()", "get_region(opts={invoke_options}(provider={provider}))"),
            invoke_options=invoke_options,
            provider=provider.deep_clone(),
        )

    def _aws_alias_preview(self) -> str:
        """The pulumi_aws alias for messages, without scheduling an import."""
        return self._aws or module_alias(self.module, "pulumi_aws") or "aws"

    def _provider_of(
        self, task_definition: cst.Call | None
    ) -> tuple[_Provider, cst.BaseExpression | None]:
        if task_definition is not None:
            opts = next((a.value for a in task_definition.args if _keyword(a) == "opts"), None)
            if opts is None:
                return _Provider.DEFAULT, None
            if isinstance(opts, cst.Call) and self._qualifies(opts.func, _RESOURCE_OPTIONS):
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

    # -- tree helpers ---------------------------------------------------------------------------

    def _ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        while True:
            try:
                node = self.get_metadata(ParentNodeProvider, node)
            except KeyError:
                return
            yield node

    def _enclosing_task_definition(self, node: cst.CSTNode) -> cst.Call | None:
        for ancestor in self._ancestors(node):
            if isinstance(ancestor, cst.Call) and self._qualifies(ancestor.func, _TASK_DEFINITION):
                return ancestor
        return None

    def _is_docstring(self, node: cst.CSTNode) -> bool:
        """A bare string statement (docstring or no-op), possibly implicitly concatenated."""
        for ancestor in self._ancestors(node):
            if isinstance(ancestor, cst.ConcatenatedString):
                continue
            return isinstance(ancestor, cst.Expr)
        return False

    def _qualifies(self, node: cst.CSTNode, names: set[str]) -> bool:
        found = self.get_metadata(QualifiedNameProvider, node, set())
        return any(q.name in names for q in found)

    def _is_pulumi_call(self, call: cst.Call) -> bool:
        found = self.get_metadata(QualifiedNameProvider, call.func, set())
        return any(q.name.split(".")[0].startswith("pulumi") for q in found)


def _region_argument(call: cst.Call) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if _keyword(a) == "region"), None)


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _spans(matches: list[re.Match[str]], replacements: list[cst.BaseExpression | None]):
    """(span of the region, its replacement) for each matched literal that gets one."""
    return [(match.span("region"), new) for match, new in zip(matches, replacements, strict=True) if new is not None]
