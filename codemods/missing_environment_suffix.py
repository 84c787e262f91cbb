"""Rule `missing-environment-suffix`: physical resource names get the program's environment suffix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from iacfix.codemods._aws_resources import canonical, describe, short_class
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    CodePosition,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: Resource class -> (argument holding the physical name, AWS's length limit or None).
#: Only names AWS keeps unique per account and region (IAM: per account; S3: globally), where a
#: second stack of the same program fails with "already exists". Argument names checked against
#: the installed pulumi_aws 7.51 (`inspect.signature(pulumi_aws.<mod>.<Class>._internal_init)`;
#: tests/test_real_environment_suffix.py asserts every entry); limits from each service's API
#: reference (CreateLoadBalancer, CreateTargetGroup, CreateDBInstance, CreateFunction, ...).
_PHYSICAL_NAMES: dict[str, tuple[str, int | None]] = {
    "pulumi_aws.alb.LoadBalancer": ("name", 32),
    "pulumi_aws.alb.TargetGroup": ("name", 32),
    "pulumi_aws.athena.Workgroup": ("name", 128),
    "pulumi_aws.autoscaling.Group": ("name", 255),
    "pulumi_aws.backup.Vault": ("name", 50),
    "pulumi_aws.cloudwatch.Dashboard": ("dashboard_name", 255),
    "pulumi_aws.cloudwatch.EventBus": ("name", 256),
    "pulumi_aws.cloudwatch.EventRule": ("name", 64),
    "pulumi_aws.cloudwatch.LogGroup": ("name", 512),
    "pulumi_aws.cloudwatch.MetricAlarm": ("name", 255),
    "pulumi_aws.codebuild.Project": ("name", 255),
    "pulumi_aws.codepipeline.Pipeline": ("name", 100),
    "pulumi_aws.dynamodb.Table": ("name", 255),
    "pulumi_aws.ecr.Repository": ("name", 256),
    "pulumi_aws.ecs.CapacityProvider": ("name", 255),
    "pulumi_aws.ecs.Cluster": ("name", 255),
    "pulumi_aws.elasticache.Cluster": ("cluster_id", 50),
    "pulumi_aws.elasticache.ReplicationGroup": ("replication_group_id", 40),
    "pulumi_aws.elasticache.SubnetGroup": ("name", 255),
    "pulumi_aws.glue.CatalogDatabase": ("name", 255),
    "pulumi_aws.iam.Group": ("name", 128),
    "pulumi_aws.iam.InstanceProfile": ("name", 128),
    "pulumi_aws.iam.Policy": ("name", 128),
    "pulumi_aws.iam.Role": ("name", 64),
    "pulumi_aws.iam.User": ("name", 64),
    "pulumi_aws.kinesis.FirehoseDeliveryStream": ("name", 64),
    "pulumi_aws.kinesis.Stream": ("name", 128),
    "pulumi_aws.kms.Alias": ("name", 256),
    "pulumi_aws.lambda_.Function": ("name", 64),
    "pulumi_aws.lb.LoadBalancer": ("name", 32),
    "pulumi_aws.lb.TargetGroup": ("name", 32),
    "pulumi_aws.msk.Cluster": ("cluster_name", 64),
    "pulumi_aws.opensearch.Domain": ("domain_name", 28),
    "pulumi_aws.rds.Cluster": ("cluster_identifier", 63),
    "pulumi_aws.rds.ClusterInstance": ("identifier", 63),
    "pulumi_aws.rds.ClusterParameterGroup": ("name", 255),
    "pulumi_aws.rds.Instance": ("identifier", 63),
    "pulumi_aws.rds.ParameterGroup": ("name", 255),
    "pulumi_aws.rds.SubnetGroup": ("name", 255),
    "pulumi_aws.s3.Bucket": ("bucket", 63),
    "pulumi_aws.s3.BucketV2": ("bucket", 63),
    "pulumi_aws.secretsmanager.Secret": ("name", 512),
    "pulumi_aws.sfn.StateMachine": ("name", 80),
    "pulumi_aws.sns.Topic": ("name", 256),
    "pulumi_aws.sqs.Queue": ("name", 80),
    "pulumi_aws.ssm.Parameter": ("name", 2048),
    "pulumi_aws.wafv2.WebAcl": ("name", 128),
}
_BUCKETS = frozenset({"pulumi_aws.s3.Bucket", "pulumi_aws.s3.BucketV2"})
#: FIFO queues and topics must end in `.fifo`; the suffix goes before it.
_FIFO = frozenset({"pulumi_aws.sqs.Queue", "pulumi_aws.sns.Topic"})

#: Names that hold the environment suffix by convention (the seeds' `environment_suffix`,
#: `ENVIRONMENT_SUFFIX = os.getenv(...)`, `env_suffix`). Another name counts when its value reads
#: one of `_SUFFIX_KEYS` (`stage = config.get("environmentSuffix")`, `sfx = args.env_suffix`).
_SUFFIX_ORDER = ("environment_suffix", "ENVIRONMENT_SUFFIX", "environmentSuffix", "env_suffix",
                 "ENV_SUFFIX", "envSuffix")
_SUFFIX_NAMES = frozenset(_SUFFIX_ORDER)
_SUFFIX_KEYS = _SUFFIX_NAMES
#: Characters assumed for the suffix when checking a length limit ("pr" + a 6-digit PR number).
_ASSUMED_SUFFIX = 8
#: s3-bucket-name-not-unique appends `-<account_id>-<region>` (1 + 12 + 1 + 15) to bucket names
#: that have neither and keeps the rest within 34 characters; the suffix must fit in that part.
_S3_UNIQUE_PART = 63 - 1 - 12 - 1 - 15
_ACCOUNT_LEN, _REGION_LEN = 12, 15
_OUTPUT_FACTORIES = frozenset({
    "pulumi.Output.concat", "pulumi.Output.format", "pulumi.Output.all", "pulumi.Output.from_input",
    "pulumi.Output.json_dumps", "pulumi.output.Output.concat", "pulumi.output.Output.format",
    "pulumi.output.Output.all",
})
#: Calls whose value differs per stack as the suffix does (`f"api-{pulumi.get_stack()}"`).
_PER_STACK_CALLS = frozenset({"pulumi.get_stack", "pulumi.runtime.get_stack"})
#: Calls whose result is a plain configuration string (not the suffix).
_CONFIG_READS = frozenset({"get", "require", "getenv", "get_secret", "require_secret"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_DEPTH = 3
#: The prefilter: a suffix binding needs one of the names, a finding a physical-name argument.
_SUFFIX_TEXT = re.compile("|".join(_SUFFIX_ORDER).encode())
_NAME_ARGUMENTS = frozenset(argument for argument, _ in _PHYSICAL_NAMES.values())
_CLASS_NAMES = frozenset(qualified.rsplit(".", 1)[1] for qualified in _PHYSICAL_NAMES)
_CLASS_ALIAS = re.compile(rf"\b(?:{prefilter.alternatives(_CLASS_NAMES)})\s+as\s+(\w+)")
_SUFFIX_PLACEHOLDER = re.compile(rf"\{{[^{{}}]*(?<!\w)(?:{prefilter.alternatives(_SUFFIX_ORDER)})(?!\w)")


@dataclass(frozen=True)
class _Suffix:
    """The environment suffix visible at a call: the code that reads it."""

    code: str


class MissingEnvironmentSuffix(Rule):
    """Append the program's environment suffix to physical resource names that lack it.

    A program that reads an environment suffix (`environment_suffix = config.get(
    "environmentSuffix") or "dev"`, `os.getenv("ENVIRONMENT_SUFFIX", "dev")`, a parameter
    `environment_suffix` / `env_suffix`, `self.environment_suffix = args.environment_suffix` in
    a `TapStack`, or another name holding such a read: `stage = config.get("environmentSuffix")`)
    deploys one stack per environment, pull request or CI run into the same
    account. A physical name without the suffix (`ecs.Cluster(name="ml-api-cluster")`) is the
    same in every one of those stacks. From seed 000's checklist ("environmentSuffix Usage: all
    named resources include suffix"; "Missing environmentSuffix" is its first common failure) and
    the `<name>-{environment_suffix}` names of seeds 001-004.

    ## Why is this bad?
    AWS keeps these names unique per account and region (IAM names per account, S3 bucket names
    globally). The first stack creates `ml-api-cluster`; the next one (`pr124`, `staging`) fails
    with "already exists", or worse, two stacks fight over one resource. The logical name (the
    first argument) does not matter: Pulumi keeps it per stack and auto-names resources that have
    no explicit physical name.

    ## Fix
    The suffix the call can see is appended with a `-` (a `_` when the name uses `_` and no
    `-`): `name="ml-api-cluster"` becomes `name=f"ml-api-cluster-{self.environment_suffix}"`, an
    f-string keeps its shape and gets `-{environment_suffix}` at the end. The suffix is the
    nearest binding visible at the call (libcst scopes): a local or parameter of the enclosing
    function, then `self.<suffix>` assigned in the class, then a module-level name; a local
    assigned after the call does not count. A FIFO queue or topic keeps `.fifo` last. An S3
    bucket name that already has the account id and region gets the suffix before them
    (`ml-api-assets-{suffix}-{account}-{region}`, the seed 004 shape); one that has neither
    gets the suffix and is then made unique by `s3-bucket-name-not-unique`, which runs after
    this rule and appends `-<account_id>-<region>`.

    Names that already mention the suffix anywhere (also through a variable, `self.<attr>`, or
    `pulumi.get_stack()`) are left alone, as are names passed in from elsewhere (a parameter,
    a helper's return value: the caller may add the suffix), `name_prefix=`/`bucket_prefix=`
    (AWS makes those unique), tags, and names of resources scoped by another resource (ECS
    services, security groups). Reported without a fix: a name built as an `Output` (add the
    suffix inside it), a name that could exceed the service's length limit with an 8-character
    suffix (ALB and target groups 32, RDS identifiers 63; a bucket name without account id and
    region 34, the room `s3-bucket-name-not-unique` leaves), and a literal name that the file
    also spells out elsewhere (an ARN, `awslogs-group`): renaming one but not the other would
    break the reference.

    ## Fix safety
    Unsafe: renaming a deployed resource makes Pulumi replace it (a new cluster, table, bucket
    or queue; the data of the old one is not carried over) and anything outside this file that
    uses the old literal name (other modules, dashboards, scripts) must follow. Apply it before
    the first deployment of each environment, or migrate.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/resources/names/
    - https://www.pulumi.com/docs/iac/concepts/stacks/
    - https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    - https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    """

    id = "missing-environment-suffix"
    title = "Append the environment suffix to physical resource names"
    safety = Safety.UNSAFE
    evidence = (b"_suffix", b"_SUFFIX", b"Suffix")

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A suffix name occurs, and a physical-name argument of a call to one of the classes
        (by its last name, or an alias it is imported as) is a string (an f-string whose
        placeholders do not name the suffix) or an Output: the values `_fix` can act on."""
        if not _SUFFIX_TEXT.search(source):
            return False
        text = prefilter.text_of(source)
        classes = _CLASS_NAMES | set(_CLASS_ALIAS.findall(text))
        for argument in prefilter.keyword_arguments(text, _NAME_ARGUMENTS):
            if argument.callee not in classes:
                continue
            value = argument.value
            if "Output" in value or ".apply" in value:
                return True
            if prefilter.is_string(value) and not _SUFFIX_PLACEHOLDER.search(
                    value.replace("{{", "").replace("}}", "")):
                return True
        return False

    # -- entry point -----------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        qualified = {canonical(q) for q in self._qualified(original_node.func)}
        resource = next((q for q in sorted(qualified) if q in _PHYSICAL_NAMES), None)
        if resource is None:
            return updated_node
        argument, limit = _PHYSICAL_NAMES[resource]
        index = next((i for i, a in enumerate(original_node.args)
                      if a.keyword is not None and a.keyword.value == argument), None)
        if index is None:
            return updated_node
        suffix = self._visible_suffix(original_node)
        if suffix is None:
            return updated_node
        arg = original_node.args[index]
        new_value = self._fix(original_node, resource, arg, limit, suffix)
        if new_value is None:
            return updated_node
        args = list(updated_node.args)
        args[index] = args[index].with_changes(value=new_value)
        return updated_node.with_changes(args=args)

    # -- the fix ---------------------------------------------------------------------------------

    def _fix(self, call: cst.Call, resource: str, arg: cst.Arg, limit: int | None,
             suffix: _Suffix) -> cst.BaseExpression | None:
        value = arg.value
        if self._mentions_suffix(value, _DEPTH):
            return None
        what = f"{describe(call, short_class(resource))}: `{arg.keyword.value}="
        clash = ("so every stack of this program in one account and region gets the same "
                 "physical name")
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            text = value.evaluated_value
            if not isinstance(text, str):
                return None
            parts: list[cst.BaseFormattedStringContent] = [
                cst.FormattedStringText(text.replace("{", "{{").replace("}", "}}"))]
            known = len(text)
            shown = self.module.code_for_node(value)
        elif isinstance(value, cst.FormattedString):
            if not self._fstring_is_plain(value):
                return None  # a placeholder passed in from elsewhere may already carry it
            parts = list(value.parts)
            known = _known_length(parts)
            shown = self.module.code_for_node(value)
            text = None
        else:
            if self._is_output(value):
                self.report(arg, f"{what}{_short(self.module.code_for_node(value))}` is an "
                                 f"Output without the environment suffix, {clash}; "
                                 f"add `{suffix.code}` inside the Output by hand.",
                            safety=Safety.DISPLAY_ONLY)
            return None

        bucket = resource in _BUCKETS
        place = _account_region_index(parts) if bucket else None
        separator = _separator(parts)
        if bucket and place is None:
            room, why = _S3_UNIQUE_PART, (f"{_S3_UNIQUE_PART} characters (the room left once "
                                          "s3-bucket-name-not-unique appends the account id and "
                                          "region)")
        else:
            room, why = limit, f"{limit} characters"
            if bucket:
                known += _placeholder_lengths(parts)
        if room is not None and known + len(separator) + _ASSUMED_SUFFIX > room:
            self.report(arg, f"{what}{shown}` has no environment suffix, {clash}, but with a "
                             f"suffix of {_ASSUMED_SUFFIX} characters it would exceed {why}; "
                             f"shorten it and add `{suffix.code}` by hand.",
                        safety=Safety.DISPLAY_ONLY)
            return None
        if (line := self._other_use(text, value)) is not None:
            self.report(arg, f"{what}{shown}` has no environment suffix, {clash}, and the same "
                             f"name is spelled out again on line {line}; add `{suffix.code}` to "
                             "both by hand so they keep matching.",
                        safety=Safety.DISPLAY_ONLY)
            return None
        fifo = resource in _FIFO and _ends_fifo(parts)
        where = (" before the account id and region" if place is not None
                 else " before `.fifo`" if fifo
                 else "")
        then = ("; s3-bucket-name-not-unique then appends the account id and region"
                if bucket and place is None else "")
        if not self.report(arg, f"{what}{shown}` has no environment suffix, {clash}; the fix "
                                f"adds `{separator}{{{suffix.code}}}`{where} (renaming replaces a "
                                f"deployed resource){then}."):
            return None
        new_parts = _with_suffix(parts, suffix.code, separator, place, fifo=fifo)
        if isinstance(value, cst.FormattedString):
            return value.with_changes(parts=new_parts)
        quote = value.quote if isinstance(value, cst.SimpleString) else '"'
        if quote not in ('"', "'") or not isinstance(value, cst.SimpleString):
            quote = '"'
        prefix = value.prefix.lower().replace("u", "") if isinstance(value, cst.SimpleString) else ""
        if "r" in prefix:  # keep a raw literal raw
            return cst.FormattedString(parts=new_parts, start=f"rf{quote}", end=quote)
        if "\\" in (text or "") or quote in (text or ""):
            return None  # not worth re-escaping by hand; such names are not valid anyway
        return cst.FormattedString(parts=new_parts, start=f"f{quote}", end=quote)

    def _other_use(self, text: str | None, value: cst.BaseExpression) -> int | None:
        """The line of another string literal that spells out the same physical name (or ends
        an ARN or path with it), leaving out logical names and tag values. For an f-string name
        (`text` None): the line of another f-string with the same code, so that a name that
        `s3-bucket-name-not-unique` turned into an f-string is judged as it was as a literal."""
        module = self.module
        rule = self
        code = module.code_for_node(value) if text is None else None

        class Finder(cst.CSTVisitor):
            line: int | None = None

            def visit_Arg(self, node: cst.Arg) -> bool:
                return node.keyword is None or node.keyword.value != "tags"

            def visit_FormattedString(self, node: cst.FormattedString) -> None:
                if (self.line is None and code is not None and node is not value
                        and not rule._is_logical_name(node) and module.code_for_node(node) == code):
                    self.line = rule.position(node).start.line

            def visit_SimpleString(self, node: cst.SimpleString) -> None:
                if self.line is not None or text is None or node is value or rule._is_logical_name(node):
                    return
                other = node.evaluated_value
                if isinstance(other, str) and _spells(other, text):
                    self.line = rule.position(node).start.line

            def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
                if self.line is None and text is not None and _spells(node.value, text, inside=True):
                    self.line = rule.position(node).start.line

        finder = Finder()
        module.visit(finder)
        return finder.line

    def _is_logical_name(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if not isinstance(parent, cst.Arg) or parent.keyword is not None:
            return False
        call = self.get_metadata(ParentNodeProvider, parent, None)
        return isinstance(call, cst.Call) and call.args[0] is parent

    # -- which suffix the call sees ----------------------------------------------------------

    def _visible_suffix(self, call: cst.Call) -> _Suffix | None:
        scope = self.get_metadata(ScopeProvider, call, None)
        if scope is None:
            return None
        call_start = self.position(call).start
        self_attribute = self._self_suffix(call)
        for current in _scope_chain(scope):
            if current is current.globals and self_attribute is not None:
                return _Suffix(self_attribute)
            for assignment in sorted(current.assignments, key=_preference):
                if not isinstance(assignment, Assignment) or not self._is_suffix_binding(assignment):
                    continue
                if (current is scope and not isinstance(assignment.node, cst.Param)
                        and _after(self.position(assignment.node).start, call_start)):
                    continue  # assigned after the call
                return _Suffix(assignment.name)
        return _Suffix(self_attribute) if self_attribute is not None else None

    def _is_suffix_binding(self, assignment: Assignment) -> bool:
        if assignment.name in _SUFFIX_NAMES:
            return True
        value = self._assigned_value(assignment)
        return value is not None and _is_suffix_read(value)

    def _self_suffix(self, call: cst.Call) -> str | None:
        """`self.environment_suffix` when the call is in a method of a class that assigns it."""
        function, klass = self._method_and_class(call)
        if function is None or klass is None or not function.params.params:
            return None
        me = function.params.params[0].name.value
        call_start = self.position(call).start
        for target, value, method in _self_assignments(klass):
            if not (target.attr.value in _SUFFIX_NAMES or _is_suffix_read(value)):
                continue
            if method is function and _after(self.position(target).start, call_start):
                continue  # assigned after the call
            return f"{me}.{target.attr.value}"
        return None

    def _method_and_class(self, node: cst.CSTNode) -> tuple[cst.FunctionDef | None,
                                                             cst.ClassDef | None]:
        """The method `node` is in (the function directly in a class body) and its class."""
        function: cst.FunctionDef | None = None
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.get_metadata(ParentNodeProvider, current, None)
            if isinstance(current, cst.FunctionDef):
                function = current
            if isinstance(current, cst.ClassDef):
                return (function if any(s is function for s in current.body.body)
                        else None), current
            current = parent
        return None, None

    # -- what a name already holds ---------------------------------------------------------------

    def _mentions_suffix(self, node: cst.CSTNode, depth: int) -> bool:
        """Whether the suffix (or a per-stack value) is anywhere in `node`, also through a
        variable or `self.<attr>` assigned in the file."""
        for child in _walk(node):
            if isinstance(child, cst.Name):
                if child.value in _SUFFIX_NAMES:
                    return True
                if depth > 0 and any(self._mentions_suffix(v, depth - 1) or _reads_suffix_key(v)
                                     for v in self._values_of(child)):
                    return True
                if self._is_suffix_name(child):
                    return True
            elif isinstance(child, cst.Attribute):
                if child.attr.value in _SUFFIX_NAMES:
                    return True
                if depth > 0 and any(self._mentions_suffix(v, depth - 1) or _reads_suffix_key(v)
                                     for v in self._self_values(child)):
                    return True
            elif isinstance(child, cst.Call) and self._qualified(child.func) & _PER_STACK_CALLS:
                return True
        return False

    def _is_suffix_name(self, name: cst.Name) -> bool:
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return False
        return any(isinstance(a, Assignment) and self._is_suffix_binding(a)
                   for a in scope[name.value])

    def _fstring_is_plain(self, value: cst.FormattedString) -> bool:
        """Whether every placeholder is known not to be passed in from elsewhere: a local or
        module variable, a config or environment read, a literal. A parameter or an attribute
        the file does not assign may already carry the suffix, so the name is left alone."""
        for part in value.parts:
            if isinstance(part, cst.FormattedStringExpression) and not self._is_plain(
                    part.expression, _DEPTH):
                return False
        return True

    def _is_plain(self, node: cst.BaseExpression, depth: int) -> bool:
        if isinstance(node, (cst.SimpleString, cst.Integer, cst.FormattedString,
                             cst.ConcatenatedString)) or _kinds(node):
            return True  # a literal, or the account id / region
        if isinstance(node, cst.Name):
            scope = self.get_metadata(ScopeProvider, node, None)
            assignments = list(scope[node.value]) if scope is not None else []
            if not assignments or depth <= 0:
                return False
            for assignment in assignments:
                if not isinstance(assignment, Assignment) or isinstance(assignment.node, cst.Param):
                    return False
                value = self._assigned_value(assignment)
                if value is None or not self._is_plain(value, depth - 1):
                    return False
            return True
        if isinstance(node, cst.Attribute):
            values = self._self_values(node)
            if values:
                return depth > 0 and all(self._is_plain(v, depth - 1) for v in values)
            return not self._is_method_owner(node.value) and self._is_plain(node.value, depth)
        if isinstance(node, cst.Call):
            if any(q.startswith("pulumi_aws.") for q in self._qualified(node.func)):
                return True  # an invoke (`aws.get_caller_identity()`)
            return isinstance(node.func, cst.Attribute) and node.func.attr.value in _CONFIG_READS
        if isinstance(node, cst.BooleanOperation):
            return self._is_plain(node.left, depth) and self._is_plain(node.right, depth)
        return False

    def _is_method_owner(self, node: cst.BaseExpression) -> bool:
        """Whether `node` is the `self` of the method it is in."""
        if not isinstance(node, cst.Name):
            return False
        method, _ = self._method_and_class(node)
        return bool(method and method.params.params
                    and method.params.params[0].name.value == node.value)

    def _is_output(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return False
        if self._qualified(node.func) & _OUTPUT_FACTORIES:
            return True
        return isinstance(node.func, cst.Attribute) and node.func.attr.value == "apply"

    # -- lookups ---------------------------------------------------------------------------------

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _values_of(self, name: cst.Name) -> list[cst.BaseExpression]:
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return []
        values = []
        for assignment in scope[name.value]:
            if isinstance(assignment, Assignment):
                value = self._assigned_value(assignment)
                if value is not None:
                    values.append(value)
        return values

    def _assigned_value(self, assignment: Assignment) -> cst.BaseExpression | None:
        """The value of `name = value` / `name: T = value` (None for parameters, imports, loops)."""
        target = assignment.node
        parent = self.get_metadata(ParentNodeProvider, target, None)
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return parent.value
        if isinstance(parent, cst.AssignTarget) and parent.target is target:
            statement = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign):
                return statement.value
        return None

    def _self_values(self, attribute: cst.Attribute) -> list[cst.BaseExpression]:
        """Values assigned to `self.<attr>` in the class around `attribute` (for `self.<attr>`)."""
        if not isinstance(attribute.value, cst.Name):
            return []
        method, klass = self._method_and_class(attribute)
        if (method is None or klass is None or not method.params.params
                or method.params.params[0].name.value != attribute.value.value):
            return []
        return [value for target, value, _ in _self_assignments(klass)
                if target.attr.value == attribute.attr.value]


# -- helpers (pure functions on nodes) ----------------------------------------------------------


def _preference(assignment: BaseAssignment) -> tuple[int, str]:
    """Conventional suffix names first, `environment_suffix` before `env_suffix`."""
    order = _SUFFIX_ORDER.index(assignment.name) if assignment.name in _SUFFIX_ORDER else 99
    return order, assignment.name


def _after(position: CodePosition, other: CodePosition) -> bool:
    return (position.line, position.column) > (other.line, other.column)


def _scope_chain(scope: Scope) -> Iterator[Scope]:
    """`scope` and the scopes a name lookup in it goes through (class scopes are skipped)."""
    from libcst.metadata import BuiltinScope, ClassScope

    first = True
    while True:
        if isinstance(scope, BuiltinScope):
            return
        if first or not isinstance(scope, ClassScope):
            yield scope
        first = False
        if scope.parent is scope:
            return
        scope = scope.parent


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _self_assignments(klass: cst.ClassDef) -> Iterator[tuple[cst.Attribute, cst.BaseExpression,
                                                               cst.FunctionDef]]:
    """`(target, value, method)` for each `<first-param>.<attr> = value` in the class's methods."""
    for statement in klass.body.body:
        if not isinstance(statement, cst.FunctionDef) or not statement.params.params:
            continue
        me = statement.params.params[0].name.value
        for node in _walk(statement.body):
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    if _is_attribute_of(target.target, me):
                        yield target.target, node.value, statement
            elif (isinstance(node, cst.AnnAssign) and node.value is not None
                  and _is_attribute_of(node.target, me)):
                yield node.target, node.value, statement


def _is_attribute_of(node: cst.BaseExpression, owner: str) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
            and node.value.value == owner)


def _is_suffix_read(value: cst.BaseExpression) -> bool:
    """Whether `value` is the suffix itself: `config.get("environmentSuffix") or "dev"`,
    `os.environ["ENVIRONMENT_SUFFIX"]`, `args.environment_suffix`, `env_suffix.lower()` (not a
    dict or f-string that merely contains it)."""
    if isinstance(value, cst.BooleanOperation):
        return _is_suffix_read(value.left) or _is_suffix_read(value.right)
    if isinstance(value, cst.Name):
        return value.value in _SUFFIX_NAMES
    if isinstance(value, cst.Attribute):
        return value.attr.value in _SUFFIX_NAMES
    if isinstance(value, cst.Subscript):
        return any(isinstance(e.slice, cst.Index) and isinstance(e.slice.value, cst.SimpleString)
                   and e.slice.value.evaluated_value in _SUFFIX_KEYS for e in value.slice)
    if isinstance(value, cst.Call):
        if isinstance(value.func, cst.Attribute) and _is_suffix_read(value.func.value):
            return True  # `.lower()`, `.strip()`
        return any(isinstance(a.value, cst.SimpleString) and a.value.evaluated_value in _SUFFIX_KEYS
                   for a in value.args)
    return False


def _reads_suffix_key(value: cst.CSTNode) -> bool:
    """Whether `value` reads the suffix: `config.get("environmentSuffix")`,
    `os.getenv("ENVIRONMENT_SUFFIX")`, `args.environment_suffix`."""
    for node in _walk(value):
        if isinstance(node, cst.SimpleString) and node.evaluated_value in _SUFFIX_KEYS:
            return True
        if isinstance(node, cst.Attribute) and node.attr.value in _SUFFIX_NAMES:
            return True
    return False


def _known_length(parts: list[cst.BaseFormattedStringContent]) -> int:
    return sum(len(p.value.replace("{{", "{").replace("}}", "}")) for p in parts
               if isinstance(p, cst.FormattedStringText))


def _kinds(expression: cst.BaseExpression) -> set[str]:
    """`account` / `region` when a placeholder reads one (`caller.account_id`, `region.name`)."""
    words: list[str] = []
    node: cst.BaseExpression = expression
    while True:
        if isinstance(node, cst.Name):
            words.append(node.value)
            break
        if isinstance(node, cst.Attribute):
            words.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            break
    tokens = {t.lower() for w in words for t in _WORD.findall(w)}
    kinds = set()
    if "account" in tokens or {"caller", "identity"} <= tokens:
        kinds.add("account")
    if "region" in tokens:
        kinds.add("region")
    return kinds


def _account_region_index(parts: list[cst.BaseFormattedStringContent]) -> int | None:
    """Index of the first placeholder holding the account id or region, after a `-`."""
    for index, part in enumerate(parts):
        if isinstance(part, cst.FormattedStringExpression) and _kinds(part.expression):
            before = parts[index - 1] if index else None
            if isinstance(before, cst.FormattedStringText) and before.value.endswith("-"):
                return index
            return None
    return None


def _placeholder_lengths(parts: list[cst.BaseFormattedStringContent]) -> int:
    total = 0
    for part in parts:
        if isinstance(part, cst.FormattedStringExpression):
            kinds = _kinds(part.expression)
            total += _ACCOUNT_LEN if "account" in kinds else _REGION_LEN if "region" in kinds else 0
    return total


def _separator(parts: list[cst.BaseFormattedStringContent]) -> str:
    text = "".join(p.value for p in parts if isinstance(p, cst.FormattedStringText))
    return "_" if "_" in text and "-" not in text else "-"


def _with_suffix(parts: list[cst.BaseFormattedStringContent], code: str, separator: str,
                 place: int | None, *, fifo: bool) -> list[cst.BaseFormattedStringContent]:
    suffix = cst.FormattedStringExpression(cst.parse_expression(code))
    if place is not None:  # `...-{suffix}-{account}-{region}`
        return [*parts[:place], suffix, cst.FormattedStringText(separator), *parts[place:]]
    parts = list(parts)
    tail = ""
    last = parts[-1]
    if fifo and isinstance(last, cst.FormattedStringText):
        parts[-1] = last.with_changes(value=last.value[: -len(".fifo")])
        tail = ".fifo"
        if not parts[-1].value:
            parts.pop()
    last = parts[-1] if parts else None
    if isinstance(last, cst.FormattedStringText):
        parts[-1] = last.with_changes(value=last.value + separator)
    else:
        parts.append(cst.FormattedStringText(separator))
    parts.append(suffix)
    if tail:
        parts.append(cst.FormattedStringText(tail))
    return parts


def _short(code: str, limit: int = 60) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


def _ends_fifo(parts: list[cst.BaseFormattedStringContent]) -> bool:
    return bool(parts) and isinstance(parts[-1], cst.FormattedStringText) and parts[
        -1].value.endswith(".fifo")


def _spells(other: str, name: str, *, inside: bool = False) -> bool:
    """Whether a string spells out the physical name `name`: equal to it, or containing it as a
    whole word (`arn:aws:sqs:...:orders`, `"awslogs-group": "/ecs/ml-api"` in JSON text)."""
    if not inside and other == name:
        return True
    # A whole word of the text: not inside a longer name (`orders` in `orders-dlq` does not count).
    return bool(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", other)) and other != name
