"""Rule `ephemeral-not-destroyable`: in a test or PR stack, turn off what blocks `pulumi destroy`."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from iacfix.codemods import _stateful as st
from iacfix.results import Safety
from iacfix.rule import PROFILES, Rule

EPHEMERAL = "ephemeral"
#: `ResourceOptions` keywords that keep a resource alive through `pulumi destroy`.
_OPTIONS = {
    "protect": "makes `pulumi destroy` refuse to delete the resource",
    "retain_on_delete": "makes `pulumi destroy` leave the resource (and its bill) in the account",
}


class EphemeralNotDestroyable(Rule):
    """Make the resources of a test or PR stack destroyable (profile `ephemeral` only).

    A stack that CI creates for a pull request and tears down afterwards must come apart with one
    `pulumi destroy`. Deletion protection, a required final snapshot, a non-empty bucket or
    repository, `protect=True` and `retain_on_delete=True` each stop that, or leave cost and data
    behind. From seed 000's destroyability checklist ("Destroyability: skip_final_snapshot=True,
    deletion_protection=False", "Non-Destroyable Resources: NOT PRESENT") and seed 003 §4 (RDS
    `multi_az=True` turned off: 20-30+ minutes to provision in a test stack). The rule only runs
    with `profile = "ephemeral"` (`[tool.iacfix]` or `--profile ephemeral`); in the default
    `production` profile these settings are wanted, and `production-data-unprotected` reports the
    opposite mistake.

    ## Why is this bad?
    - `deletion_protection=True` (rds, docdb, neptune clusters, rds instances, global clusters),
      `deletion_protection_enabled=True` (dynamodb, dsql), `enable_deletion_protection=True`
      (lb/alb load balancers), `disable_api_termination=True` (ec2 instances) and
      `deletion_protection="ACTIVE"` (cognito user pools): the provider's delete fails, so
      `pulumi destroy` errors out and the stack cannot be removed.
    - `rds.Cluster`, `rds.Instance`, `docdb.Cluster`, `neptune.Cluster`, `redshift.Cluster` with
      `skip_final_snapshot` False or absent (the provider default is `false`) and no
      `final_snapshot_identifier`: the delete needs a snapshot name it does not have and fails.
    - `s3.Bucket` / `s3.BucketV2` without `force_destroy=True`, `ecr.Repository` without
      `force_delete=True`: deleting a bucket with objects, or a repository with images, fails.
    - `opts=ResourceOptions(protect=True)`: `pulumi destroy` refuses to delete the resource;
      `retain_on_delete=True`: the resource is dropped from the state but keeps running and
      billing, and its fixed names clash with the next PR stack.
    - `rds.Instance(multi_az=True)`: a standby in a second zone doubles the instance cost and
      makes create and delete take 20-30+ minutes, for a stack that lives an hour.

    ## Fix
    Each literal blocking value becomes the destroyable one (`True` -> `False`, `"ACTIVE"` ->
    `"INACTIVE"`, `multi_az=True` -> `False`, `skip_final_snapshot=False` -> `True`,
    `force_destroy=False` -> `True`); a missing `skip_final_snapshot=True` / `force_destroy=True`
    / `force_delete=True` is added just before `opts=`; `protect=True` and `retain_on_delete=True`
    are removed from `ResourceOptions(...)` (and `opts=ResourceOptions()` left empty by that is
    removed). Left alone, because they state intent: values that are not literals
    (`deletion_protection=is_prod`, `protect=environment_suffix == "prod"`, `True if ... else
    False`), anything inside an `if` or conditional expression whose test mentions the
    environment (`if environment_suffix == "prod":`), a database with a
    `final_snapshot_identifier` (the snapshot is wanted), and calls whose arguments are hidden
    (`**kwargs`, `args=ClusterArgs(...)`), where absence cannot be concluded.

    ## Fix safety
    Unsafe: the stack becomes deletable on purpose. `pulumi destroy` then deletes the databases
    without a snapshot and empties the buckets and repositories, so run this profile only on
    stacks whose data is disposable. Turning off `multi_az` on a deployed instance changes it in
    place (a short failover window). `force_destroy` only takes effect after one successful
    `pulumi up` has written it to the state. A deployed resource's protection is lifted only by
    `pulumi up` with the fixed program, before `pulumi destroy`.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/options/protect/
    - https://www.pulumi.com/docs/iac/concepts/options/retainondelete/
    - https://www.pulumi.com/registry/packages/aws/api-docs/rds/cluster/
    - https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucket/
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html
    """

    id = "ephemeral-not-destroyable"
    title = "Make test-stack resources destroyable (ephemeral profile)"
    safety = Safety.UNSAFE
    evidence = (
        b"deletion_protection",  # also enable_deletion_protection, deletion_protection_enabled
        b"disable_api_termination",
        b"Cluster",  # final snapshot defaults (rds, docdb, neptune, redshift)
        b"Instance",
        b"Bucket",
        b"Repository",
        b"protect",
        b"retain_on_delete",
        b"multi_az",
    )

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ParentNodeProvider)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: `ResourceOptions(...)` calls this rule emptied (their `opts=` argument goes too).
        self._emptied: list[cst.Call] = []

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Only in the ephemeral profile (a production stack wants these settings)."""
        return (settings.profile or PROFILES[0]) == EPHEMERAL and super().applies(
            source, path, project, settings)

    def visit_Module(self, node: cst.Module) -> bool:
        return self.profile == EPHEMERAL

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, original_node.func, set())}
        if names & st.RESOURCE_OPTIONS:
            return self._fix_options(original_node, updated_node)
        qualified = st.resource_class(names, self._classes())
        if qualified is None:
            return self._drop_emptied_opts(updated_node)
        if st.under_environment_condition(original_node, st.parent_lookup(self)):
            return self._drop_emptied_opts(updated_node)
        call = self._fix_resource(qualified, original_node, updated_node)
        return self._drop_emptied_opts(call)

    # -- resource arguments ---------------------------------------------------------------

    @staticmethod
    def _classes() -> set[str]:
        return {*st.DELETION_PROTECTION, *st.FINAL_SNAPSHOT, *st.FORCE_DESTROY, *st.MULTI_AZ}

    def _fix_resource(self, qualified: str, original: cst.Call, call: cst.Call) -> cst.Call:
        what = st.describe(original, qualified)
        protection = st.DELETION_PROTECTION.get(qualified)
        if protection is not None:
            call = self._replace_literal(
                original, call, protection.argument, protection.blocking, protection.destroyable,
                f"{what} sets {protection.argument}={protection.blocking}, so `pulumi destroy` of "
                f"this test stack fails; the fix sets it to {protection.destroyable}")
        multi_az = st.MULTI_AZ.get(qualified)
        if multi_az is not None:
            call = self._replace_literal(
                original, call, multi_az, "True", "False",
                f"{what} sets {multi_az}=True, which doubles its cost and makes create and delete "
                "take 20-30+ minutes in a test stack; the fix sets it to False")
        snapshot = st.FINAL_SNAPSHOT.get(qualified)
        if snapshot is not None and st.keyword(original, snapshot[1]) is None:
            skip = snapshot[0]
            reason = (f"and no {snapshot[1]}, so deleting it fails and `pulumi destroy` of this "
                      f"test stack stops; the fix sets {skip}=True")
            call = self._replace_literal(original, call, skip, "False", "True",
                                         f"{what} sets {skip}=False {reason.replace('and', 'and has', 1)}")
            call = self._add_missing(original, call, skip, "True",
                                     f"{what} has no {skip} (the provider default is False) {reason}")
        force = st.FORCE_DESTROY.get(qualified)
        if force is not None:
            contents = "images" if qualified.endswith("Repository") else "objects"
            reason = (f"so `pulumi destroy` of this test stack fails while it holds {contents}; "
                      f"the fix sets {force}=True")
            call = self._replace_literal(original, call, force, "False", "True",
                                         f"{what} sets {force}=False, {reason}")
            call = self._add_missing(original, call, force, "True", f"{what} has no {force}, {reason}")
        return call

    def _replace_literal(self, original: cst.Call, call: cst.Call, argument: str, bad: str,
                         good: str, message: str) -> cst.Call:
        found = st.keyword(original, argument)
        if found is None or st.literal(found[1].value) != bad:
            return call
        index, arg = found
        if not self.report(arg, message):
            return call
        args = list(call.args)
        args[index] = args[index].with_changes(value=cst.parse_expression(good))
        return call.with_changes(args=args)

    def _add_missing(self, original: cst.Call, call: cst.Call, argument: str, value: str,
                     message: str) -> cst.Call:
        if st.keyword(original, argument) is not None or st.hides_arguments(original):
            return call
        if not self.report(original, message):
            return call
        return st.insert_keyword(call, argument, value)

    # -- ResourceOptions ------------------------------------------------------------------

    def _fix_options(self, original: cst.Call, call: cst.Call) -> cst.BaseExpression:
        if st.under_environment_condition(original, st.parent_lookup(self)):
            return call
        drop: list[int] = []
        owner = self._owner(original)
        for index, arg in enumerate(original.args):
            name = arg.keyword.value if arg.keyword is not None else None
            if name in _OPTIONS and st.literal(arg.value) == "True" and self.report(
                    arg, f"{owner} sets {name}=True, which {_OPTIONS[name]} when this test stack "
                    "is torn down; the fix removes it"):
                drop.append(index)
        if not drop:
            return call
        args = list(call.args)
        for index in reversed(drop):
            args = st.remove_arg(args, index)
        fixed = call.with_changes(args=args)
        if not args:
            fixed = fixed.with_changes(whitespace_before_args=cst.SimpleWhitespace(""))
            self._emptied.append(fixed)
        return fixed

    def _owner(self, options: cst.Call) -> str:
        """`The options of dynamodb.Table "checkpoints"` when `options` is a resource's `opts=`."""
        parent = st.parent_lookup(self)
        arg, call = parent(options), None
        if isinstance(arg, cst.Arg) and arg.keyword is not None and arg.keyword.value == "opts":
            call = parent(arg)
        if isinstance(call, cst.Call):
            names = {q.name for q in self.get_metadata(QualifiedNameProvider, call.func, set())}
            canonical = sorted(st.canonical(n) for n in names if n.startswith(st.PULUMI_AWS + "."))
            if canonical:
                return f"The ResourceOptions of {st.describe(call, canonical[0])}"
        return "ResourceOptions"

    def _drop_emptied_opts(self, call: cst.Call) -> cst.Call:
        """Remove `opts=ResourceOptions()` when this rule emptied it."""
        found = st.keyword(call, "opts")
        if found is None or not any(found[1].value is emptied for emptied in self._emptied):
            return call
        self.remove_unused_import_by_node(found[1].value)
        return call.with_changes(args=st.remove_arg(list(call.args), found[0]))
