"""Rule `production-data-unprotected`: report production data stores set up to be deleted."""

from __future__ import annotations


import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from iacfix.codemods import _stateful as st
from iacfix.results import Safety
from iacfix.rule import Rule

PRODUCTION = "production"
#: Buckets are reported only for an explicit `force_destroy=True`, never for its absence.
_BUCKETS = frozenset({"pulumi_aws.s3.Bucket", "pulumi_aws.s3.BucketV2"})


class ProductionDataUnprotected(Rule):
    """Report stateful production resources explicitly set up to lose their data on delete.

    Only when the project declares `profile = "production"` (see below), a database, table or
    bucket whose code explicitly turns its protection off (`skip_final_snapshot=True`, `deletion_protection=False`,
    `deletion_protection_enabled=False`, `force_destroy=True` on a bucket) loses its data to one
    `pulumi destroy`, one mistaken stack selection, or one change that forces a replacement. From
    seed 004 §12 ("Missing Resource Deletion Protection for Production": "No resources have
    deletion protection enabled, even for production environment"; fixed with
    `protect=(environment_suffix == "prod")`), the production side of seed 000's destroyability
    checklist, whose test-stack settings are exactly these.

    ## Why is this bad?
    `skip_final_snapshot=True` deletes an RDS, DocumentDB, Neptune or Redshift cluster with no
    snapshot to restore from; `deletion_protection=False` (the provider default, here written out)
    lets the provider delete it at all; `force_destroy=True` makes the provider delete every
    object (locked ones included) before deleting the bucket. Together they turn a replacement
    triggered by an innocent-looking change (an engine, a name, a subnet group) into data loss.

    ## Fix
    None automatic: whether a stack is production is the author's call. Set
    `deletion_protection=True` and `skip_final_snapshot=False` with a `final_snapshot_identifier`,
    drop `force_destroy=True`, or guard them with the environment
    (`deletion_protection=environment_suffix == "prod"`, `opts=ResourceOptions(protect=is_prod)`).
    For test and PR stacks, set `profile = "ephemeral"` in `[tool.iacfix]` (or pass
    `--profile ephemeral`): this rule is then off, and `ephemeral-not-destroyable` checks the
    opposite. Besides explicit settings, a database or table with no deletion protection at all
    (the argument absent and no `protect=` in its options) is reported, as seed 004 §12 asks;
    values that are not literals, and
    resources inside an `if` / conditional expression whose test mentions the environment, show
    intent and are left alone. Stateful here means: rds clusters, instances and global clusters,
    docdb, neptune, redshift and dsql clusters, dynamodb tables, cognito user pools, s3 buckets.
    `efs.FileSystem` has no deletion-protection argument to check (its `protection` block is
    about replication), so it is not reported.

    Opt-in by declaring the profile: the rule runs only with `profile = "production"` written in
    `[tool.iacfix]` (or `--profile production`). Without a profile iacfix still fixes nothing that
    would make a stack less safe, but it does not assume the stack holds production data: test-stack
    programs, which set exactly these values on purpose, are far more common than production ones,
    and reporting every one of them would drown the real findings.

    ## Fix safety
    Display only: the right setting depends on whether the stack holds data anyone needs.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/options/protect/
    - https://www.pulumi.com/registry/packages/aws/api-docs/rds/cluster/
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html
    - https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection
    """

    id = "production-data-unprotected"
    title = "Report production databases and buckets set up to be deleted with their data"
    safety = Safety.DISPLAY_ONLY
    #: The settings, and the modules of the databases whose protection may be missing altogether.
    evidence = (b"skip_final_snapshot", b"deletion_protection", b"force_destroy", b"dynamodb", b"rds",
                b"docdb", b"neptune", b"redshift", b"dsql", b"cognito")

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Only when `profile = "production"` is declared."""
        return settings.profile == PRODUCTION and super().applies(source, path, project, settings)

    def visit_Module(self, node: cst.Module) -> bool:
        return self.settings.profile == PRODUCTION  # declared, not the default

    def visit_Call(self, node: cst.Call) -> None:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, node.func, set())}
        qualified = st.resource_class(names, st.STATEFUL)
        if qualified is None:
            return
        unsafe = self._unsafe_settings(qualified, node) or self._missing_protection(qualified, node)
        if not unsafe or st.under_environment_condition(node, st.parent_lookup(self)):
            return
        self.report(node, self._message(qualified, node, unsafe))

    @staticmethod
    def _unsafe_settings(qualified: str, call: cst.Call) -> list[str]:
        """The explicit settings of `call` that leave its data unprotected, as written."""
        found = []
        protection = st.DELETION_PROTECTION.get(qualified)
        if protection is not None:
            arg = st.keyword(call, protection.argument)
            if arg is not None and st.literal(arg[1].value) == protection.destroyable:
                found.append(f"{protection.argument}={protection.destroyable}")
        snapshot = st.FINAL_SNAPSHOT.get(qualified)
        if snapshot is not None:
            arg = st.keyword(call, snapshot[0])
            if arg is not None and st.literal(arg[1].value) == "True":
                found.append(f"{snapshot[0]}=True")
        if qualified in _BUCKETS:
            arg = st.keyword(call, st.FORCE_DESTROY[qualified])
            if arg is not None and st.literal(arg[1].value) == "True":
                found.append(f"{st.FORCE_DESTROY[qualified]}=True")
        return found

    @staticmethod
    def _missing_protection(qualified: str, call: cst.Call) -> list[str]:
        """`["no <argument>"]` for a database whose call has neither its deletion-protection
        argument nor `protect=` in an inline `ResourceOptions(...)`; buckets are left out."""
        protection = st.DELETION_PROTECTION.get(qualified)
        if protection is None or qualified in _BUCKETS or st.hides_arguments(call):
            return []
        if st.keyword(call, protection.argument) is not None:
            return []
        opts = st.keyword(call, "opts")
        if opts is not None and (not isinstance(opts[1].value, cst.Call)
                                 or any(a.keyword and a.keyword.value == "protect" for a in opts[1].value.args)):
            return []  # protect= given, or options built elsewhere
        return [f"no {protection.argument}"]

    @staticmethod
    def _message(qualified: str, call: cst.Call, unsafe: list[str]) -> str:
        noun = st.STATEFUL[qualified]
        settings = " and ".join(unsafe)
        advice = []
        if any(s.startswith("skip_final_snapshot") for s in unsafe):
            consequence = f"a delete or replacement destroys {noun} with no final snapshot"
            advice.append("set a final_snapshot_identifier instead of skip_final_snapshot=True")
        elif any(s.startswith("force_destroy") for s in unsafe):
            consequence = f"a delete or replacement empties and deletes {noun}"
            advice.append("drop force_destroy=True")
        else:
            consequence = f"nothing stops a delete or replacement of {noun}"
        protection = st.DELETION_PROTECTION.get(qualified)
        if protection is not None and any(protection.argument in s for s in unsafe):
            advice.insert(0, f"set {protection.argument}={protection.blocking}")
        verb = "has" if settings.startswith("no ") else "sets"
        return (f"{st.describe(call, qualified)} {verb} {settings} in the production profile, so "
                f"{consequence}; {' and '.join(advice)}, guard it with the environment, or "
                "run test stacks with profile = \"ephemeral\"")
