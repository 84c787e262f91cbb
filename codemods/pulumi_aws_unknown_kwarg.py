"""Rule `pulumi-aws-unknown-kwarg`: a keyword the installed pulumi_aws rejects or deprecates."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from iacfix.codemods._aws_resources import assigned_values, code, logical_name
from iacfix.codemods._provider_api import (
    ProviderImports,
    EVIDENCE,
    aws_symbol,
    close_matches,
    did_you_mean,
    pulumi_reference,
    qualified_names,
    short,
    versions,
)
from iacfix.codemods._provider_index import SUPPORTED_MAJORS, ProviderIndex, accepted_keywords, indexes_for
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: `pulumi.ResourceOptions` fields that generated code passes as resource keywords
#: (tests/test_real_provider_api.py checks each is a ResourceOptions parameter).
RESOURCE_OPTIONS = frozenset({
    "additional_secret_outputs", "aliases", "custom_timeouts", "delete_before_replace", "deleted_with",
    "depends_on", "ignore_changes", "import_", "parent", "protect", "provider", "providers",
    "replace_on_changes", "retain_on_delete", "transformations", "transforms",
})
RESOURCE_OPTIONS_NAMES = frozenset({"pulumi.ResourceOptions", "pulumi.resource.ResourceOptions"})

RENAME, LIST, EIP_DOMAIN, STAGE, S3_SPLIT, COMPANION = "rename", "list", "eip-domain", "stage", "s3-split", "companion"


@dataclass(frozen=True)
class Fix:
    """A confirmed replacement for a keyword of one resource: `kind` says how the value moves."""

    kind: str
    target: str
    safety: Safety = Safety.SAFE
    #: The separate resource a statement-level fix creates, and the suffix of its logical name.
    resource: str = ""
    suffix: str = ""


#: (module, class, keyword) -> the confirmed fix. Each entry is a fixture case and a mock-runtime
#: proof in tests/test_real_provider_api.py; tests/test_provider_index.py checks that the keyword is
#: rejected (or deprecated) and the target accepted by every shipped index it applies to.
RENAMES: dict[tuple[str, str, str], Fix] = {
    ("ec2", "Eip", "vpc"): Fix(EIP_DOMAIN, "domain"),
    ("cloudwatch", "MetricAlarm", "alarm_name"): Fix(RENAME, "name"),
    ("codepipeline", "Pipeline", "artifact_store"): Fix(LIST, "artifact_stores"),
    ("ecr", "Repository", "encryption_configuration"): Fix(LIST, "encryption_configurations"),
    ("elasticache", "ReplicationGroup", "replication_group_description"): Fix(RENAME, "description"),
    ("elasticache", "ReplicationGroup", "number_cache_clusters"): Fix(RENAME, "num_cache_clusters"),
    ("rds", "Instance", "name"): Fix(RENAME, "db_name"),
    ("rds", "Instance", "master_username"): Fix(RENAME, "username"),
    ("rds", "Instance", "master_password"): Fix(RENAME, "password"),
    ("iam", "Role", "assume_role_policy_document"): Fix(RENAME, "assume_role_policy"),
    ("iam", "Role", "role_name"): Fix(RENAME, "name"),
    ("cloudwatch", "LogGroup", "log_group_name"): Fix(RENAME, "name"),
    ("cloudwatch", "LogGroup", "retention_days"): Fix(RENAME, "retention_in_days"),
    ("sqs", "Queue", "queue_name"): Fix(RENAME, "name"),
    ("sqs", "Queue", "visibility_timeout"): Fix(RENAME, "visibility_timeout_seconds"),
    ("sqs", "Queue", "message_retention_period"): Fix(RENAME, "message_retention_seconds"),
    ("sns", "Topic", "topic_name"): Fix(RENAME, "name"),
    ("dynamodb", "Table", "table_name"): Fix(RENAME, "name"),
    ("ecs", "Cluster", "cluster_name"): Fix(RENAME, "name"),
    ("lambda_", "Function", "function_name"): Fix(RENAME, "name"),
    ("lambda_", "Function", "memory"): Fix(RENAME, "memory_size"),
    ("s3", "Bucket", "bucket_name"): Fix(RENAME, "bucket"),
    ("apigateway", "Deployment", "stage_name"): Fix(STAGE, "stage_name", Safety.UNSAFE, "Stage", "-stage"),
    ("s3", "Bucket", "versioning"): Fix(S3_SPLIT, "versioning", Safety.UNSAFE, "BucketVersioning", "-versioning"),
    ("s3", "Bucket", "server_side_encryption_configuration"): Fix(
        S3_SPLIT, "server_side_encryption_configuration", Safety.UNSAFE,
        "BucketServerSideEncryptionConfiguration", "-encryption"),
    ("s3", "Bucket", "lifecycle_rules"): Fix(
        S3_SPLIT, "lifecycle_rules", Safety.UNSAFE, "BucketLifecycleConfiguration", "-lifecycle"),
}
#: Keywords a statement-level fix moves along with the one it is keyed on.
COMPANIONS = {("apigateway", "Deployment", "stage_name"): {"stage_description": "description"}}


@dataclass(frozen=True)
class Problem:
    keyword: str
    message: str
    fix: Fix | None
    arg: cst.Arg

#: Deprecated keywords the rule rewrites (a deprecation with no fix is left to the SDK's warning).
_FIXED_DEPRECATIONS = frozenset({*RENAMES, *((mod, cls, keyword) for (mod, cls, _), companions in COMPANIONS.items()
                                             for keyword in companions)})

class PulumiAwsUnknownKwarg(Rule):
    """A pulumi_aws resource, invoke or `...Args` type called with a keyword the provider rejects.

    Every pulumi_aws constructor takes `**kwargs` in its public signature, so type checkers and
    linters accept any keyword; the SDK only rejects it when `pulumi preview` runs the program.
    Generated code is full of such keywords: CloudFormation and boto3 spellings
    (`alarm_name=`, `queue_name=`, `master_username=` on `rds.Instance`), singular forms of list
    inputs (`artifact_store=`), inputs a provider major removed (`Eip(vpc=True)` and
    `apigateway.Deployment(stage_name=)` in v7, `ReplicationGroup(replication_group_description=)`
    in v6), and resource options passed as resource inputs (`depends_on=[...]`).

    The rule checks each keyword of every call it can resolve to a pulumi_aws resource class,
    `get_*` / `get_*_output` function or `...Args` input type (however pulumi_aws is imported)
    against the provider signature index shipped with iacfix, for the pulumi_aws major the project
    pins (every shipped major, when the project's is unknown: the keyword must then be rejected or
    deprecated by all of them). A keyword the SDK only deprecates is reported when the rule knows
    its replacement (`s3.Bucket`'s inline `versioning=` and `lifecycle_rules=` in v7, `Eip(vpc=)`
    in v6); other deprecations (a GSI's `hash_key=`) are warnings of the SDK, not failures, and are
    left to it.

    ## Why is this bad?

    ```
    TypeError: _internal_init() got an unexpected keyword argument 'alarm_name'
    ```

    The program stops at the first such call during `pulumi preview`; nothing after it is
    registered. A deprecated keyword still works but warns on every run and is removed in a later
    major.

    ## Fix

    Where the right keyword is certain, a table of confirmed renames rewrites the call, each
    checked against the shipped index and proved under Pulumi's mock runtime with the real
    pulumi_aws (the call before raises, the call after constructs):

    - same value, new keyword: `MetricAlarm(alarm_name=)` -> `name=`, `ReplicationGroup(
      replication_group_description=, number_cache_clusters=)` -> `description=`,
      `num_cache_clusters=`, `rds.Instance(name=, master_username=, master_password=)` ->
      `db_name=`, `username=`, `password=`, `iam.Role(assume_role_policy_document=)` ->
      `assume_role_policy=`, `<resource>_name=` -> `name=` on LogGroup, Queue, Topic, Table,
      Cluster, Function, Role (`bucket=` on `s3.Bucket`), `LogGroup(retention_days=)` ->
      `retention_in_days=`, `Queue(visibility_timeout=, message_retention_period=)` -> the
      `_seconds` inputs, `lambda_.Function(memory=)` -> `memory_size=`;
    - one value into a list: `codepipeline.Pipeline(artifact_store=x)` -> `artifact_stores=[x]`,
      `ecr.Repository(encryption_configuration=x)` -> `encryption_configurations=[x]`;
    - `ec2.Eip(vpc=True)` -> `domain="vpc"`;
    - resource options given as keywords (`depends_on=`, `provider=`, `parent=`, `protect=`,
      `ignore_changes=`, ...) move into `opts=pulumi.ResourceOptions(...)`, merged into an existing
      `ResourceOptions(...)` call, or combined with an `opts` variable through
      `ResourceOptions.merge(opts, ...)`;
    - `apigateway.Deployment(stage_name=, stage_description=)` (v7 removed both) -> a separate
      `apigateway.Stage` for the deployment (UNSAFE);
    - `s3.Bucket(versioning=...)` and `server_side_encryption_configuration=...` (deprecated in v7)
      -> separate `s3.BucketVersioning` / `s3.BucketServerSideEncryptionConfiguration` resources
      for the bucket (UNSAFE);
    - `s3.Bucket(lifecycle_rules=[...])` (deprecated in v7) -> a separate
      `s3.BucketLifecycleConfiguration` for the bucket (UNSAFE), each rule written as the old one
      was (`...Args(...)` calls or dicts): `id` kept, `enabled=True/False` -> `status="Enabled"` /
      `"Disabled"`, `prefix` and `tags` -> a `filter` selecting the same objects (a prefix, one
      `tag`, an `and_` of prefix and tags; an empty filter, every object, when neither was set),
      `noncurrent_version_expiration` / `noncurrent_version_transitions` `days` ->
      `noncurrent_days`, `abort_incomplete_multipart_upload_days=N` ->
      `abort_incomplete_multipart_upload=...(days_after_initiation=N)`, `expiration` and
      `transitions` as they were. Only a list literal of literal rules is moved: a variable, a
      comprehension, a `**` splat, a key the table does not map, a rule with no `id` (the new
      resource requires one and the deployed rule's was generated), `enabled=` not a literal
      True/False, `tags` not a dict literal, or a bucket with its own `region=` or provider is
      reported with the reason and left as written.

    A split keeps the comments on the lines of the moved keyword (and above it) with the new
    resource, and those below it with the argument that follows.

    Every other unknown keyword is reported with suggestions: close matches among the resource's
    real keywords (difflib) and the resources of the same module that take that keyword (the
    setting often lives on a separate resource, such as `block_public_acls=` on
    `s3.BucketPublicAccessBlock`). No fix is offered when the target keyword is already passed,
    when the value cannot be moved as written (`Eip(vpc=flag)`, a positional `opts`), or when a
    statement-level fix has no variable holding the resource to attach the new one to.

    ## Fix safety

    Renames are safe: the call before the fix raises at `pulumi preview`, so nothing was
    deployed from it, and after the fix it passes the same value to the input the author meant.
    Moving an input to a separate resource (API Gateway stages, S3 bucket versioning, encryption
    and lifecycle rules) is unsafe: on a deployed stack the old resource's state still holds the
    setting and the new resource takes it over on the next `pulumi up` (review the preview; the
    stage is recreated under the new resource, and the lifecycle configuration is written whole,
    replacing the rules the bucket had).

    ## References

    - https://www.pulumi.com/registry/packages/aws/how-to-guides/7-0-migration/
    - https://www.pulumi.com/docs/iac/concepts/options/
    - https://www.pulumi.com/registry/packages/aws/api-docs/
    """

    id = "pulumi-aws-unknown-kwarg"
    title = "Replace keywords pulumi_aws rejects with the input it takes"
    safety = Safety.SAFE
    evidence = EVIDENCE

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Some keyword given to a pulumi_aws callable is not one the index says it takes (by
        module where the text shows it, else whatever module has that name)."""
        if not super().applies(source, path, project, settings):
            return False
        majors = SUPPORTED_MAJORS if project.aws_major is None else (project.aws_major,)
        accepted = accepted_keywords(majors, _FIXED_DEPRECATIONS)
        text = prefilter.text_of(source)
        imports = ProviderImports.of(text)
        for argument in prefilter.keyword_arguments(text, None):
            symbol = imports.symbol(argument.dotted)
            if symbol is None:
                continue
            module, name = symbol
            fine = accepted.by_name.get(name) if module is None else accepted.by_symbol.get((module, name))
            if fine is not None and argument.keyword not in fine:
                return True
        return False

    def visit_Module(self, node: cst.Module) -> None:
        self.indexes: tuple[ProviderIndex, ...] = indexes_for(self.project.aws_major)
        #: Original call -> (assignment target source, statement-level fixes the rule may make).
        self.assigned: dict[cst.Call, str] = {}
        self.splits: dict[cst.Call, list[Problem]] = {}
        #: (original call, keyword) -> why a statement-level fix declines to move the value.
        self.declined: dict[tuple[cst.Call, str], str] = {}
        #: Original `s3.Bucket(...)` call -> its `lifecycle_rules=` rules, read for the new resource.
        self.lifecycles: dict[cst.Call, _List] = {}
        self.tree = node

    # -- where the calls are ------------------------------------------------------------------

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if len(node.body) == 1 and isinstance(node.body[0], cst.Assign) and len(node.body[0].targets) == 1:
            statement = node.body[0]
            target = statement.targets[0].target
            if isinstance(statement.value, cst.Call) and isinstance(target, (cst.Name, cst.Attribute)):
                self.assigned[statement.value] = code(target)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not self.indexes:
            return updated_node
        symbol = aws_symbol(self, original_node.func)
        if symbol is None:
            return updated_node
        problems = self._problems(original_node, *symbol)
        if not problems:
            return updated_node
        fixes: list[Problem] = []
        for problem in problems:
            safety = problem.fix.safety if problem.fix is not None else Safety.DISPLAY_ONLY
            if self.report(problem.arg, problem.message, safety=safety) and problem.fix is not None:
                fixes.append(problem)
        splits = [p for p in fixes if p.fix.kind in (STAGE, S3_SPLIT)]
        if splits:
            self.splits[original_node] = splits
        return self._rewrite(original_node, updated_node,
                             [p for p in fixes if p.fix.kind not in (STAGE, S3_SPLIT, COMPANION)])

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if len(original_node.body) != 1 or not isinstance(original_node.body[0], cst.Assign):
            return updated_node
        call = original_node.body[0].value
        problems = self.splits.get(call)  # type: ignore[call-overload]
        if not problems:
            return updated_node
        target = self.assigned[call]  # type: ignore[index]
        new_call = updated_node.body[0].value
        statements = []
        for problem in problems:
            new_call, statement = self._split(call, new_call, target, problem)  # type: ignore[arg-type]
            statements.append(statement)
        updated = updated_node.with_changes(body=[updated_node.body[0].with_changes(value=new_call)])
        return cst.FlattenSentinel([updated, *statements])

    # -- what is wrong ------------------------------------------------------------------------

    def _problems(self, call: cst.Call, module: str, name: str) -> list[Problem]:
        kinds = [index.callable(module, name) for index in self.indexes]
        if any(k is None for k in kinds):
            return []  # not a callable every applicable major knows (pulumi-aws-nonexistent-symbol)
        kind = kinds[0][0]  # type: ignore[index]
        entries = [k[1] for k in kinds]  # type: ignore[index]
        present = {arg.keyword.value for arg in call.args if arg.keyword is not None}
        problems = []
        for arg in call.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            rejected = [i for i, e in zip(self.indexes, entries) if keyword not in e["kw"]]
            deprecated = [(i, e["dep_kw"][keyword]) for i, e in zip(self.indexes, entries)
                          if keyword in e.get("dep_kw", {})]
            if len(rejected) + len(deprecated) < len(self.indexes):
                continue  # some applicable major takes it without complaint
            fix = self._confirmed(call, module, name, keyword, kind, present)
            if not rejected and fix is None and (module, name, keyword) not in RENAMES:
                continue  # deprecated only, with no known replacement: a warning, not a failure
            problems.append(Problem(keyword, self._message(module, name, kind, keyword, rejected, deprecated,
                                                           entries, fix, self.declined.get((call, keyword))),
                                    fix, arg))
        return problems

    def _confirmed(self, call, module, name, keyword, kind, present) -> Fix | None:
        if kind == "resource" and keyword in RESOURCE_OPTIONS:
            return self._options_fix(call, keyword)
        for (mod, cls, main), companions in COMPANIONS.items():
            if (mod, cls) == (module, name) and keyword in companions:
                fix = self._confirmed(call, module, name, main, kind, present) if main in present else None
                return Fix(COMPANION, main, fix.safety, fix.resource) if fix is not None else None
        fix = RENAMES.get((module, name, keyword))
        if fix is None:
            return None
        if fix.kind in (RENAME, LIST, EIP_DOMAIN) and fix.target in present:
            return None
        for index in self.indexes:
            entry = index.resource(module, name)
            if fix.kind in (RENAME, LIST, EIP_DOMAIN) and fix.target not in entry["kw"]:
                return None
            if fix.resource and index.resource(module, fix.resource) is None:
                return None
        if fix.kind == EIP_DOMAIN and not _is_true(_arg(call, keyword)):
            return None
        if fix.kind in (STAGE, S3_SPLIT) and not self._splittable(call, module, name, keyword, fix):
            return None
        return fix

    def _splittable(self, call: cst.Call, module: str, name: str, keyword: str, fix: Fix) -> bool:
        if keyword == "lifecycle_rules":
            try:
                self.lifecycles[call] = self._lifecycle_rules(call)
            except _Decline as decline:
                self.declined[(call, keyword)] = str(decline)
                return False
            return True
        if call not in self.assigned or logical_name(call) is None and not _first_positional(call):
            return False
        if any(arg.star for arg in call.args):
            return False
        value = _arg(call, keyword).value
        if fix.kind == STAGE:
            return _arg(call, "rest_api") is not None and not any(
                _arg(call, k) is not None for k in ("canary_settings",))
        if keyword == "versioning":
            fields = _fields(value)
            return fields is not None and set(fields) <= {"enabled", "mfa_delete"} and all(
                _is_true(v) or _is_false(v) for v in fields.values()) and "enabled" in fields
        fields = _fields(value)
        return fields is not None and set(fields) == {"rule"}

    def _message(self, module, name, kind, keyword, rejected, deprecated, entries, fix, declined=None) -> str:
        what = {"resource": "resource", "function": "invoke", "type": "input type"}[kind]
        parts = []
        if rejected:
            parts.append(f"{versions(tuple(rejected))} has no keyword `{keyword}=`")
        for index, message in deprecated:
            parts.append(f"`{keyword}=` is deprecated in pulumi_aws {index.version} ({message.rstrip('.')})")
        head = f"{what} `{short(module, name)}`: " + "; ".join(parts)
        if fix is not None:
            return f"{head}; the fix {self._describe(fix, keyword)}."
        known = RENAMES.get((module, name, keyword))
        if declined is not None and known is not None:
            return (f"{head}; not moved to a separate `{short(module, known.resource)}` resource: {declined} "
                    "(fix by hand).")
        suggestions = [known.target] if known is not None else close_matches(
            keyword, [k for e in entries for k in e["kw"] if k != "opts"])
        hint = did_you_mean(suggestions, "`{}=`")
        if kind == "resource":
            siblings = self._siblings(module, name, keyword)
            if siblings:
                hint = (hint + " " if hint else "") + "the setting lives on " + " or ".join(
                    f"`{short(module, s)}`" for s in siblings)
            if keyword in RESOURCE_OPTIONS:
                hint = (hint + "; " if hint else "") + f"pass it as `opts=pulumi.ResourceOptions({keyword}=...)`"
        return head + (f"; {hint}" if hint else "") + " (no confirmed replacement; fix by hand)."

    def _siblings(self, module: str, name: str, keyword: str) -> list[str]:
        found = set.intersection(*(set(index.resources_with_keyword(module, keyword)) for index in self.indexes))
        found.discard(name)
        ranked = sorted(found, key=lambda s: (not s.startswith(name), len(s), s))
        return ranked[:3]

    @staticmethod
    def _describe(fix: Fix, keyword: str) -> str:
        if fix.kind == RENAME:
            return f"renames it to `{fix.target}=`"
        if fix.kind == LIST:
            return f"passes the value as a one-element list, `{fix.target}=[...]`"
        if fix.kind == EIP_DOMAIN:
            return 'replaces it with `domain="vpc"`'
        if fix.kind == "options":
            return f"moves it into `opts=pulumi.ResourceOptions({keyword}=...)`"
        if fix.kind == COMPANION:
            return f"moves it with `{fix.target}=` to the separate `{fix.resource}` resource"
        return f"moves it to a separate `{fix.resource}` resource"

    # -- rewriting ----------------------------------------------------------------------------

    def _rewrite(self, original: cst.Call, updated: cst.Call, problems: list[Problem]) -> cst.Call:
        if not problems:
            return updated
        args = list(updated.args)
        by_keyword = {p.keyword: p for p in problems}
        moved_options: list[cst.Arg] = []
        kept: list[cst.Arg] = []
        options_slot = None
        original_opts = _arg(original, "opts")
        existing_is_call = original_opts is not None and self._is_options_call(original_opts.value)
        for arg in args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            problem = by_keyword.get(keyword) if keyword is not None else None
            if problem is None:
                kept.append(arg)
            elif problem.fix.kind == "options":
                moved_options.append(arg)
                if options_slot is None:
                    options_slot = len(kept)
                    kept.append(arg)  # placeholder, replaced below
            elif problem.fix.kind == RENAME:
                kept.append(arg.with_changes(keyword=cst.Name(problem.fix.target)))
            elif problem.fix.kind == LIST:
                kept.append(arg.with_changes(keyword=cst.Name(problem.fix.target),
                                             value=cst.List([cst.Element(arg.value)])))
            elif problem.fix.kind == EIP_DOMAIN:
                kept.append(arg.with_changes(keyword=cst.Name(problem.fix.target),
                                             value=cst.SimpleString('"vpc"')))
        last_keyword = args[-1].keyword.value if args[-1].keyword is not None else None
        if moved_options:
            kept = self._move_options(kept, options_slot, moved_options, existing_is_call)
        return updated.with_changes(args=_keep_last_comma(args, kept, last_keyword))

    def _options_fix(self, call: cst.Call, keyword: str) -> Fix | None:
        opts = _arg(call, "opts")
        if len([a for a in call.args if a.keyword is None and not a.star]) > 2 or any(a.star for a in call.args):
            return None
        if opts is not None and self._is_options_call(opts.value) and _arg(opts.value, keyword) is not None:
            return None
        return Fix("options", keyword)

    def _is_options_call(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and bool(qualified_names(self, node.func) & RESOURCE_OPTIONS_NAMES)

    def _move_options(self, kept: list[cst.Arg], slot: int, moved: list[cst.Arg],
                      existing_is_call: bool) -> list[cst.Arg]:
        new_args = [cst.Arg(value=a.value, keyword=a.keyword,
                            equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                  whitespace_after=cst.SimpleWhitespace("")))
                    for a in moved]
        for i, arg in enumerate(new_args[:-1]):
            new_args[i] = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        existing = next((i for i, a in enumerate(kept) if a.keyword is not None and a.keyword.value == "opts"
                         and i != slot), None)
        options = cst.parse_expression(self._options_name(self.tree))
        if existing is None:
            value = cst.Call(func=options, args=new_args)
            kept[slot] = kept[slot].with_changes(keyword=cst.Name("opts"), value=value)
            return kept
        current = kept[existing].value
        if existing_is_call and isinstance(current, cst.Call):
            inner = list(current.args)
            if inner:
                inner[-1] = inner[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            value = current.with_changes(args=[*inner, *new_args])
        else:
            value = cst.Call(
                func=cst.Attribute(value=options, attr=cst.Name("merge")),
                args=[cst.Arg(current, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                      cst.Arg(cst.Call(func=options, args=new_args))])
        kept[existing] = kept[existing].with_changes(value=value)
        del kept[slot]
        return kept

    def _options_name(self, module: cst.Module) -> str:
        """How this file can name `pulumi.ResourceOptions` (adding `import pulumi` if it cannot)."""
        return pulumi_reference(self, module, "ResourceOptions")

    def _split(self, original: cst.Call, call: cst.Call, target: str, problem: Problem):
        """Remove the keyword (and its companions) from `call`; the statement creating the
        separate resource that takes its value over."""
        fix = problem.fix
        symbol = aws_symbol(self, original.func)
        module, name = symbol  # type: ignore[misc]
        companions = COMPANIONS.get((module, name, problem.keyword), {})
        removed = {problem.keyword, *companions}
        values = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        call, moved = _without(call, removed)
        # Written at column 0: libcst indents the continuation lines of a parenthesized call by
        # the block the statement lands in.
        indent, inner = "", "    "
        reference = code(self._sibling(original.func, module, fix.resource))
        name_code = code(_suffixed(_name_argument(call), fix.suffix))
        lines = [f"{_variable(target, fix.suffix)} = {reference}(", f"{inner}{name_code},"]
        value = values[problem.keyword]
        notes = [f"{inner}{comment}" for comment in moved]  # the comments about the moved keyword
        if fix.kind == STAGE:
            lines += [f"{inner}rest_api={code(values['rest_api'])},", f"{inner}deployment={target}.id,", *notes,
                      f"{inner}stage_name={code(value)},"]
            for old, new in companions.items():
                if old in values:
                    lines.append(f"{inner}{new}={code(values[old])},")
        elif problem.keyword == "versioning":
            fields = _fields(value)
            configuration = code(self._sibling(original.func, module, "BucketVersioningVersioningConfigurationArgs"))
            status = '"Enabled"' if _is_true(fields["enabled"]) else '"Disabled"'
            lines += [f"{inner}bucket={target}.id,", *notes, f"{inner}versioning_configuration={configuration}(",
                      f"{inner}    status={status},"]
            if "mfa_delete" in fields:
                mfa = '"Enabled"' if _is_true(fields["mfa_delete"]) else '"Disabled"'
                lines.append(f"{inner}    mfa_delete={mfa},")
            lines.append(f"{inner}),")
        elif problem.keyword == "lifecycle_rules":
            rules = self.lifecycles[original]
            lines += [f"{inner}bucket={target}.id,", *notes, *self._render_list("rules=", rules, inner, original.func)]
        else:
            rule = _fields(value)["rule"]
            lines += [f"{inner}bucket={target}.id,", *notes, f"{inner}rules=[{code(rule)}],"]
        parent = self._parent_option(original)
        if parent is not None:
            lines.append(f"{inner}opts={parent},")
        lines.append(f"{indent})")
        statement = cst.parse_statement("\n".join(lines) + "\n")
        return call, statement.with_changes(leading_lines=[])

    # -- s3.Bucket(lifecycle_rules=[...]) -> s3.BucketLifecycleConfiguration ---------------------

    def _lifecycle_rules(self, call: cst.Call) -> _List:
        """The rules of `call`'s `lifecycle_rules=` as inputs of `s3.BucketLifecycleConfiguration`;
        `_Decline` when any part is not a literal shape with a certain mapping."""
        if call not in self.assigned:
            raise _Decline("the bucket is not assigned to a variable the new resource can refer to")
        if _arg(call, "resource_name") is None and _first_positional(call) is None:
            raise _Decline("the bucket's logical name is not given")
        if any(a.star for a in call.args):
            raise _Decline("the bucket's arguments include a `*`/`**` splat")
        reason = self._provider_reason(call)
        if reason is not None:
            raise _Decline(reason)
        value = _arg(call, "lifecycle_rules").value  # type: ignore[union-attr]
        rules = self._list(value, "`lifecycle_rules=`")
        found = _List([self._lifecycle_rule(node, f"rule {n}", notes)
                       for n, (node, notes) in enumerate(rules.items, 1)], rules.end)
        written = cst.parse_expression("\n".join(["f(", *self._render_list("rules=", found, "", None), ")"]))
        if len(_comments(written)) != len(_comments(value)):
            raise _Decline("the fix cannot keep every comment inside `lifecycle_rules=` in its place")
        return found

    def _provider_reason(self, call: cst.Call) -> str | None:
        """Why the new resource might not land where the bucket is (its region or provider)."""
        if _arg(call, "region") is not None:
            return "the bucket sets `region=`, which the new resource would not get"
        opts = _arg(call, "opts")
        if opts is None:
            return None
        if self._is_options_call(opts.value):
            options = [opts.value]
        else:
            options = assigned_values(self, opts.value) if isinstance(opts.value, cst.Name) else []
            if not options or not all(self._is_options_call(o) for o in options):
                return "the bucket's `opts=` cannot be read (it may name a provider the new resource would not get)"
        for option in options:
            if any(a.star or a.keyword is None for a in option.args):  # type: ignore[attr-defined]
                return "the bucket's `opts=` cannot be read (it may name a provider the new resource would not get)"
            if _arg(option, "provider") is not None or _arg(option, "providers") is not None:  # type: ignore[arg-type]
                return "the bucket's `opts=` names a provider, which the new resource would not get"
        return None

    def _lifecycle_rule(self, node: cst.BaseExpression, what: str, notes: list[str]) -> _Object:
        fields, func, quote, end = self._object(node, what, _OLD_RULE)
        for key in fields:
            if key not in _RULE_KEYS:
                raise _Decline(f"{what} has `{key}`, which the fix does not map")
        if "id" not in fields:
            raise _Decline(f"{what} has no `id`, which `s3.BucketLifecycleConfiguration` requires; the deployed "
                           "rule's id was generated by the provider, so give the rule one")
        enabled = fields.get("enabled")
        if enabled is None or not (_is_true(enabled[0]) or _is_false(enabled[0])):
            raise _Decline(f"`enabled` of {what} is not a literal True or False")
        out: list[_Field] = []
        for key, (value, comments) in fields.items():
            if key == "id":
                out.append(_Field("id", code(value), comments))
            elif key == "enabled":
                out.append(_Field("status", '"Enabled"' if _is_true(value) else '"Disabled"', comments))
                if "prefix" not in fields and "tags" not in fields:
                    # the old rule applied to every object; an empty filter says so explicitly
                    out.append(_Field("filter", _Object(_FILTER, func, quote, [])))
            elif key in ("prefix", "tags"):
                existing = next((f for f in out if f.key == "filter"), None)
                if existing is not None:
                    existing.comments.extend(comments)
                else:
                    out.append(_Field("filter", self._filter(fields, func, quote, what), comments))
            elif key == "abort_incomplete_multipart_upload_days":
                out.append(_Field("abort_incomplete_multipart_upload", _Object(
                    _ABORT, func, quote, [_Field("days_after_initiation", code(value))]), comments))
            elif key in _LIFECYCLE_LISTS:
                items = self._list(value, f"`{key}` of {what}")
                out.append(_Field(key, _List([self._nested(item, _LIFECYCLE[key], f"`{key}` of {what}", item_notes)
                                              for item, item_notes in items.items], items.end), comments))
            else:
                out.append(_Field(key, self._nested(value, _LIFECYCLE[key], f"`{key}` of {what}"), comments))
        return _Object(_NEW_RULE, func, quote, out, notes, end, _OLD_RULE)

    def _filter(self, fields, func, quote: str, what: str) -> _Object:
        """The old rule's `prefix` and `tags` as a filter selecting the same objects: a prefix, one
        tag, or an `and_` of the prefix and tags (or of two or more tags)."""
        prefix = fields["prefix"][0] if "prefix" in fields else None
        if "tags" not in fields:
            return _Object(_FILTER, func, quote, [_Field("prefix", code(prefix))])
        tags = fields["tags"][0]
        if not (isinstance(tags, cst.Dict) and tags.elements
                and all(isinstance(e, cst.DictElement) for e in tags.elements)):
            raise _Decline(f"`tags` of {what} is not a dict literal with at least one tag")
        if prefix is None and len(tags.elements) == 1:
            [tag] = tags.elements
            return _Object(_FILTER, func, quote, [_Field("tag", _Object(_TAG, func, quote, [
                _Field("key", code(tag.key), _comments(tags)), _Field("value", code(tag.value))]))])
        both = ([_Field("prefix", code(prefix))] if prefix is not None else []) + [_Field("tags", code(tags))]
        return _Object(_FILTER, func, quote, [_Field("and_", _Object(_AND, func, quote, both))])

    def _nested(self, node: cst.BaseExpression, shape: _Shape, what: str, notes: list[str] | None = None) -> _Object:
        fields, func, quote, end = self._object(node, what, shape.old)
        for key in fields:
            if key not in shape.fields:
                raise _Decline(f"{what} has `{key}`, which the fix does not map")
        for key in sorted(shape.required - set(fields)):
            raise _Decline(f"{what} has no `{key}`, which `s3.{shape.new}` requires")
        return _Object(shape.new, func, quote, [_Field(shape.fields[k], code(v), c) for k, (v, c) in fields.items()],
                       notes or [], end, shape.old)

    def _object(self, node: cst.BaseExpression, what: str, old: str):
        """The fields of an old `s3.<old>(...)` call or dict literal (with the comments above and
        on each), how it is written (the call's function, or None and the quote of a dict's keys)
        and the comments after its last field."""
        if isinstance(node, cst.Call):
            if aws_symbol(self, node.func) != ("s3", old):
                raise _Decline(f"{what} is not a `s3.{old}(...)` call or a dict literal")
            if any(a.keyword is None for a in node.args):
                raise _Decline(f"{what} has a positional or `**` argument")
            keys = [a.keyword.value for a in node.args]  # type: ignore[union-attr]
            values = [a.value for a in node.args]
            notes, end = _item_comments(node.whitespace_before_args, node.args, None)
            func, quote = node.func, '"'
        elif isinstance(node, cst.Dict):
            if not all(isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                       and isinstance(e.key.evaluated_value, str) for e in node.elements):
                raise _Decline(f"{what} has a `**` splat or a key that is not a string literal")
            keys = [e.key.evaluated_value for e in node.elements]  # type: ignore[union-attr]
            values = [e.value for e in node.elements]  # type: ignore[union-attr]
            notes, end = _item_comments(node.lbrace.whitespace_after, node.elements, node.rbrace.whitespace_before)
            func = None
            quote = node.elements[0].key.quote if node.elements else '"'  # type: ignore[union-attr]
        else:
            raise _Decline(f"{what} is {_describe_node(node)}, not a `s3.{old}(...)` call or a dict literal")
        if len(set(keys)) != len(keys):
            raise _Decline(f"{what} repeats a key")
        return {k: (v, n) for k, v, n in zip(keys, values, notes)}, func, quote, end

    def _list(self, node: cst.BaseExpression, what: str) -> _List:
        """The elements of a list literal with their comments (not yet mapped)."""
        if not isinstance(node, cst.List):
            raise _Decline(f"{what} is {_describe_node(node)}, not a list literal")
        if not node.elements:
            raise _Decline(f"{what} is an empty list")
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            raise _Decline(f"{what} has a `*` element")
        notes, end = _item_comments(node.lbracket.whitespace_after, node.elements, node.rbracket.whitespace_before)
        return _List([(e.value, n) for e, n in zip(node.elements, notes)], end)

    def _render_list(self, head: str, value: _List, indent: str, bucket) -> list[str]:
        lines = [f"{indent}{head}["]
        for item in value.items:
            lines += [f"{indent}    {c}" for c in item.comments]
            lines += self._render(item, "", indent + "    ", bucket)
        lines += [f"{indent}    {c}" for c in value.end]
        return lines + [f"{indent}],"]

    def _render(self, obj: _Object, head: str, indent: str, bucket: cst.BaseExpression | None) -> list[str]:
        """`head` and the object, one field a line, each line ending in a comma. New classes are
        named the way the bucket's class is (`bucket`, its call's function; None to only see
        the text, with no imports scheduled)."""
        if obj.func is None:
            opening, closing = "{", "}"
        elif bucket is None:
            opening, closing = obj.cls + "(", ")"
        else:
            opening, closing = code(self._sibling(bucket, "s3", obj.cls)) + "(", ")"
            if obj.old and isinstance(obj.func, cst.Name):  # `from pulumi_aws.s3 import <old>`, maybe `as` name
                RemoveImportsVisitor.remove_unused_import(
                    self.context, "pulumi_aws.s3", obj.old, None if obj.func.value == obj.old else obj.func.value)
        if not obj.fields and not obj.end:
            return [f"{indent}{head}{opening}{closing},"]
        lines = [f"{indent}{head}{opening}"]
        for entry in obj.fields:
            lines += [f"{indent}    {c}" for c in entry.comments]
            key = f"{obj.quote}{entry.key}{obj.quote}: " if obj.func is None else f"{entry.key}="
            if isinstance(entry.value, str):
                lines.append(f"{indent}    {key}{entry.value},")
            elif isinstance(entry.value, _Object):
                lines += self._render(entry.value, key, indent + "    ", bucket)
            else:
                lines += self._render_list(key, entry.value, indent + "    ", bucket)
        lines += [f"{indent}    {c}" for c in obj.end]
        return lines + [f"{indent}{closing},"]

    def _parent_option(self, call: cst.Call) -> str | None:
        """`ResourceOptions(parent=x)` for the new resource when the old one is parented to `x`."""
        opts = _arg(call, "opts")
        if opts is not None and isinstance(opts.value, cst.Name):
            # a variable every binding of which is a ResourceOptions(...): its parent, whatever it is
            values = assigned_values(self, opts.value)
            if values and all(self._is_options_call(value) for value in values):
                return f"{self._options_name(self.tree)}(parent={code(opts.value)}.parent)"
            return None
        if opts is None or not self._is_options_call(opts.value):
            return None
        parent = _arg(opts.value, "parent")  # type: ignore[arg-type]
        if parent is None:
            return None
        return f"{code(opts.value.func)}(parent={code(parent.value)})"  # type: ignore[attr-defined]

    def _sibling(self, func: cst.BaseExpression, module: str, name: str) -> cst.BaseExpression:
        """`aws.s3.Bucket` -> `aws.s3.<name>`; a bare imported class gets `<name>` imported too."""
        if isinstance(func, cst.Attribute):
            return func.with_changes(attr=cst.Name(name))
        AddImportsVisitor.add_needed_import(self.context, f"pulumi_aws.{module}" if module else "pulumi_aws", name)
        return cst.Name(name)


class _Decline(Exception):
    """Why a value cannot be moved to the separate resource as written (the finding says it)."""


@dataclass
class _Field:
    key: str
    value: str | _Object | _List  # source code, a nested input object, or a list of them
    comments: list[str] = field(default_factory=list)  # the lines above it


@dataclass
class _Object:
    """An input object of the new resource, written as the old one was: an `...Args(...)` call
    (`func` is the old call's function) or a dict literal (`func` is None)."""

    cls: str
    func: cst.BaseExpression | None
    quote: str
    fields: list[_Field]
    comments: list[str] = field(default_factory=list)  # the lines above it, as a list element
    end: list[str] = field(default_factory=list)  # after its last field
    old: str = ""  # the old Args class it replaces (its import goes when nothing else uses it)


@dataclass
class _List:
    items: list
    end: list[str]


@dataclass(frozen=True)
class _Shape:
    """How a nested input of an old inline lifecycle rule maps: old and new `...Args` class of
    `pulumi_aws.s3`, old field -> new field, and the old fields the new class requires."""

    old: str
    new: str
    fields: dict[str, str]
    required: frozenset[str] = frozenset()


#: `s3.Bucket(lifecycle_rules=[...])` -> `s3.BucketLifecycleConfiguration(rules=[...])`: the old
#: rule type, its keys, and the new types (tests/test_real_provider_api.py checks each name
#: against pulumi_aws and the mapped values under the mock runtime).
_OLD_RULE, _NEW_RULE = "BucketLifecycleRuleArgs", "BucketLifecycleConfigurationRuleArgs"
_FILTER, _AND, _TAG = ("BucketLifecycleConfigurationRuleFilterArgs", "BucketLifecycleConfigurationRuleFilterAndArgs",
                       "BucketLifecycleConfigurationRuleFilterTagArgs")
_ABORT = "BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs"
_LIFECYCLE = {
    "expiration": _Shape("BucketLifecycleRuleExpirationArgs", "BucketLifecycleConfigurationRuleExpirationArgs",
                         {"date": "date", "days": "days",
                          "expired_object_delete_marker": "expired_object_delete_marker"}),
    "transitions": _Shape("BucketLifecycleRuleTransitionArgs", "BucketLifecycleConfigurationRuleTransitionArgs",
                          {"date": "date", "days": "days", "storage_class": "storage_class"},
                          frozenset({"storage_class"})),
    "noncurrent_version_expiration": _Shape(
        "BucketLifecycleRuleNoncurrentVersionExpirationArgs",
        "BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs",
        {"days": "noncurrent_days"}, frozenset({"days"})),
    "noncurrent_version_transitions": _Shape(
        "BucketLifecycleRuleNoncurrentVersionTransitionArgs",
        "BucketLifecycleConfigurationRuleNoncurrentVersionTransitionArgs",
        {"days": "noncurrent_days", "storage_class": "storage_class"}, frozenset({"days", "storage_class"})),
}
_LIFECYCLE_LISTS = frozenset({"transitions", "noncurrent_version_transitions"})
_RULE_KEYS = frozenset({"id", "enabled", "prefix", "tags", "abort_incomplete_multipart_upload_days", *_LIFECYCLE})


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.found.append(node.value)


def _comments(node: cst.CSTNode | None) -> list[str]:
    if node is None:
        return []
    collector = _CommentCollector()
    node.visit(collector)
    return collector.found


def _item_comments(opening, items, closing) -> tuple[list[list[str]], list[str]]:
    """The comments of each item of a bracketed sequence outside its value (on the lines above
    it and at the end of its last line) and those after the last item; `opening` / `closing` are
    the whitespace after the opening and before the closing bracket."""
    carry = _comments(opening)
    found = []
    for item in items:
        own = carry + _comments(item.with_changes(value=cst.Name("_"), comma=cst.MaybeSentinel.DEFAULT))
        carry = []
        if isinstance(item.comma, cst.Comma):
            own += _comments(item.comma.whitespace_before)
            after = item.comma.whitespace_after
            if isinstance(after, cst.ParenthesizedWhitespace):
                own += _comments(after.first_line)
                carry = [line.comment.value for line in after.empty_lines if line.comment is not None]
        found.append(own)
    if found and isinstance(closing, cst.ParenthesizedWhitespace):
        # a list or dict keeps the end of the last item's line in the closing bracket's whitespace
        found[-1] += _comments(closing.first_line)
        closing = closing.with_changes(first_line=cst.TrailingWhitespace())
    return found, carry + _comments(closing)


def _describe_node(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return "a variable"
    if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
        return "a comprehension"
    if isinstance(node, cst.Call):
        return "a function call"
    return "an expression"


def _without(call: cst.Call, removed: set[str]) -> tuple[cst.Call, list[str]]:
    """`call` without the keyword arguments `removed`, and the comments about them: on the lines
    above each and at the end of its line (those below it stay, with the argument they are above)."""
    args = list(call.args)
    kept: list[cst.Arg] = []
    moved: list[str] = []
    merged_last = False
    for position, arg in enumerate(args):
        if arg.keyword is None or arg.keyword.value not in removed:
            kept.append(arg)
            continue
        before = kept[-1].comma.whitespace_after if kept and isinstance(kept[-1].comma, cst.Comma) else None
        if isinstance(arg.comma, cst.Comma):
            after = arg.comma.whitespace_after
        else:  # the last argument, with no comma: the line break before `)` follows it
            after = arg.whitespace_after_arg if position == len(args) - 1 else None
        if isinstance(before, cst.ParenthesizedWhitespace) and isinstance(after, cst.ParenthesizedWhitespace):
            moved += [line.comment.value for line in before.empty_lines if line.comment is not None]
            if isinstance(arg.comma, cst.Comma):
                moved += _comments(arg.comma.whitespace_before)
            moved += _comments(after.first_line)
            merged = after.with_changes(first_line=before.first_line)
            if isinstance(arg.comma, cst.Comma):
                kept[-1] = kept[-1].with_changes(comma=kept[-1].comma.with_changes(  # type: ignore[union-attr]
                    whitespace_after=merged))
            else:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=merged)
            merged_last = position == len(args) - 1
    if not merged_last:
        last = args[-1].keyword.value if args[-1].keyword is not None else None
        kept = _keep_last_comma(args, kept, last)
    return call.with_changes(args=kept), moved


def _keep_last_comma(before: list[cst.Arg], after: list[cst.Arg], last_keyword: str | None) -> list[cst.Arg]:
    """When the last argument went, the new last one takes its comma (and the line break before
    the closing parenthesis that the comma's whitespace holds)."""
    if after and after[-1] is not before[-1] and (
            after[-1].keyword is None or after[-1].keyword.value != last_keyword):
        after[-1] = after[-1].with_changes(comma=before[-1].comma)
    return after


def _arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)


def _first_positional(call: cst.Call) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is None and not a.star), None)


def _name_argument(call: cst.Call) -> cst.BaseExpression:
    arg = _arg(call, "resource_name") or _first_positional(call)
    return arg.value  # type: ignore[union-attr]


def _is_true(node) -> bool:
    value = node.value if isinstance(node, cst.Arg) else node
    return isinstance(value, cst.Name) and value.value == "True"


def _is_false(node) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _fields(node: cst.BaseExpression) -> dict[str, cst.BaseExpression] | None:
    """The fields of an inline `XArgs(k=v)` call or a `{"k": v}` dict, or None when hidden."""
    if isinstance(node, cst.Call):
        if any(a.keyword is None for a in node.args):
            return None
        return {a.keyword.value: a.value for a in node.args}  # type: ignore[union-attr]
    if isinstance(node, cst.Dict):
        found = {}
        for element in node.elements:
            if not (isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)):
                return None
            found[element.key.evaluated_value] = element.value
        return found
    return None


def _suffixed(name: cst.BaseExpression, suffix: str) -> cst.BaseExpression:
    """The logical name of the new resource: the old one with `suffix` appended."""
    if isinstance(name, cst.SimpleString) and name.prefix == "":
        quote = name.quote
        return name.with_changes(value=name.value[: -len(quote)] + suffix + quote)
    if isinstance(name, cst.FormattedString):
        return name.with_changes(parts=[*name.parts, cst.FormattedStringText(suffix)])
    return cst.FormattedString(parts=[cst.FormattedStringExpression(name), cst.FormattedStringText(suffix)])


def _variable(target: str, suffix: str) -> str:
    return target + suffix.replace("-", "_")
