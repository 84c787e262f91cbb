"""Rule `pulumi-aws-unknown-kwarg`: a keyword the installed pulumi_aws rejects or deprecates."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
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
    its replacement (`s3.Bucket`'s inline `versioning=` in v7, `Eip(vpc=)` in v6); other
    deprecations (`lifecycle_rules=`, a GSI's `hash_key=`) are warnings of the SDK, not failures,
    and are left to it.

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
      for the bucket (UNSAFE).

    Every other unknown keyword is reported with suggestions: close matches among the resource's
    real keywords (difflib) and the resources of the same module that take that keyword (the
    setting often lives on a separate resource, such as `block_public_acls=` on
    `s3.BucketPublicAccessBlock`). No fix is offered when the target keyword is already passed,
    when the value cannot be moved as written (`Eip(vpc=flag)`, a positional `opts`), or when a
    statement-level fix has no variable holding the resource to attach the new one to.

    ## Fix safety

    Renames are safe: the call before the fix raises at `pulumi preview`, so nothing was
    deployed from it, and after the fix it passes the same value to the input the author meant.
    Moving an input to a separate resource (API Gateway stages, S3 bucket versioning and
    encryption) is unsafe: on a deployed stack the old resource's state still holds the setting
    and the new resource takes it over on the next `pulumi up` (review the preview; the stage is
    recreated under the new resource).

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
                                                           entries, fix), fix, arg))
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

    def _message(self, module, name, kind, keyword, rejected, deprecated, entries, fix) -> str:
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
        args = [a for a in call.args if a.keyword is None or a.keyword.value not in removed]
        last = call.args[-1].keyword.value if call.args[-1].keyword is not None else None
        call = call.with_changes(args=_keep_last_comma(list(call.args), args, last))
        # Written at column 0: libcst indents the continuation lines of a parenthesized call by
        # the block the statement lands in.
        indent, inner = "", "    "
        reference = code(self._sibling(original.func, module, fix.resource))
        name_code = code(_suffixed(_name_argument(call), fix.suffix))
        lines = [f"{_variable(target, fix.suffix)} = {reference}(", f"{inner}{name_code},"]
        value = values[problem.keyword]
        if fix.kind == STAGE:
            lines += [f"{inner}rest_api={code(values['rest_api'])},", f"{inner}deployment={target}.id,",
                      f"{inner}stage_name={code(value)},"]
            for old, new in companions.items():
                if old in values:
                    lines.append(f"{inner}{new}={code(values[old])},")
        elif problem.keyword == "versioning":
            fields = _fields(value)
            configuration = code(self._sibling(original.func, module, "BucketVersioningVersioningConfigurationArgs"))
            status = '"Enabled"' if _is_true(fields["enabled"]) else '"Disabled"'
            lines += [f"{inner}bucket={target}.id,", f"{inner}versioning_configuration={configuration}(",
                      f"{inner}    status={status},"]
            if "mfa_delete" in fields:
                mfa = '"Enabled"' if _is_true(fields["mfa_delete"]) else '"Disabled"'
                lines.append(f"{inner}    mfa_delete={mfa},")
            lines.append(f"{inner}),")
        else:
            rule = _fields(value)["rule"]
            lines += [f"{inner}bucket={target}.id,", f"{inner}rules=[{code(rule)}],"]
        parent = self._parent_option(original)
        if parent is not None:
            lines.append(f"{inner}opts={parent},")
        lines.append(f"{indent})")
        statement = cst.parse_statement("\n".join(lines) + "\n")
        return call, statement.with_changes(leading_lines=[])

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
