"""Rule `delete-before-replace-stateful`: no `delete_before_replace=True` on resources holding data."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ParentNodeProvider, PositionProvider, QualifiedNameProvider

from iacfix.codemods import _stateful as st
from iacfix.results import Safety
from iacfix.rule import Rule

_OPTION = "delete_before_replace"


class DeleteBeforeReplaceStateful(Rule):
    """Remove `delete_before_replace=True` from the options of a resource that holds data.

    `opts=ResourceOptions(delete_before_replace=True)` on a DynamoDB table, an RDS / DocumentDB /
    Neptune / Redshift cluster or instance, an S3 bucket, an EFS or FSx file system, an ElastiCache
    replication group, a MemoryDB cluster or a Kinesis stream makes every change that forces a
    replacement delete the old resource, with its data, before the new one exists. From seed 004
    §7 ("DynamoDB Tables Use delete_before_replace Strategy": the `transactions` table, "if table
    properties change, Pulumi will DELETE the table (losing all data) before creating a new
    one"), fixed by removing the option.

    ## Why is this bad?
    Pulumi's default replacement creates the new resource first and deletes the old one only
    when the create has succeeded. `delete_before_replace=True` reverses that: the table is gone
    for the whole create (an outage), and if the create fails (an invalid new setting, a quota,
    an engine version the region does not offer) the stack is left with no table and no data at
    all. The option is meant for resources that cannot exist twice, not for data stores.

    ## Fix
    The keyword is removed from `ResourceOptions(...)`, keeping the other options and the
    formatting (`ResourceOptions(parent=self, delete_before_replace=True)` ->
    `ResourceOptions(parent=self)`); an `opts=ResourceOptions()` left empty is removed. Generated
    code also passes it to the resource itself (`dynamodb.Table(..., delete_before_replace=True)`,
    a `TypeError` of the provider): that keyword is removed too. Left
    alone: non-literal values (`delete_before_replace=is_dev`), options inside an `if` /
    conditional expression whose test mentions the environment, options built elsewhere
    (`opts=opts`, `ResourceOptions.merge(...)`), and resources that hold no data (queues,
    images, caches, compute), where delete-first is a legitimate way to free a unique name.

    A replacement still replaces: the new resource starts empty and the old one is deleted after
    it, so the data is only kept by deletion protection (`deletion_protection=True`,
    `deletion_protection_enabled=True`, which make the old resource's delete fail and leave it in
    place) or `protect=True`. When the program sets the physical name (`name=`, `bucket=`,
    `identifier=`, `cluster_identifier=`), the provider replaces delete-first anyway, because two
    resources cannot share the name; the message then says that protection is needed as well
    (except in the `ephemeral` profile, where test data is disposable).

    ## Fix safety
    Unsafe: future replacements of the resource change order. A replacement that worked
    delete-first can fail create-first when some other unique attribute (not the name) clashes,
    and then both resources exist until the conflict is resolved. Nothing is replaced by the fix
    itself.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/options/deletebeforereplace/
    - https://www.pulumi.com/docs/iac/concepts/resources/names/#autonaming
    - https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection
    """

    id = "delete-before-replace-stateful"
    title = "Remove delete_before_replace=True from resources that hold data"
    safety = Safety.UNSAFE
    evidence = (b"delete_before_replace",)

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ParentNodeProvider)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, original_node.func, set())}
        qualified = st.resource_class(names, st.STATEFUL)
        if qualified is None:
            return updated_node
        direct = st.keyword(original_node, _OPTION)
        if direct is not None:  # written as a resource argument (a TypeError too): the option goes
            return self._remove(updated_node, direct, qualified, original_node)
        found = st.keyword(original_node, "opts")
        if found is None:
            return updated_node
        index, opts_arg = found
        options = opts_arg.value
        if not (isinstance(options, cst.Call) and self._is_resource_options(options)):
            return updated_node
        option = st.keyword(options, _OPTION)
        if option is None or not self._reported(option[1], qualified, original_node):
            return updated_node
        new_options = updated_node.args[index].value
        assert isinstance(new_options, cst.Call)
        remaining = st.remove_arg(list(new_options.args), option[0])
        args = list(updated_node.args)
        if remaining:
            args[index] = args[index].with_changes(value=new_options.with_changes(args=remaining))
        else:
            self.remove_unused_import_by_node(new_options)
            args = st.remove_arg(args, index)
        return updated_node.with_changes(args=args)

    def _remove(self, updated_node: cst.Call, option: tuple[int, cst.Arg], qualified: str,
                original_node: cst.Call) -> cst.Call:
        """`delete_before_replace=True` passed to the resource itself rather than in `opts`."""
        if not self._reported(option[1], qualified, original_node):
            return updated_node
        return updated_node.with_changes(args=st.remove_arg(list(updated_node.args), option[0]))

    def _reported(self, option: cst.Arg, qualified: str, call: cst.Call) -> bool:
        """Whether `option` is a literal True outside an environment condition, and was reported
        with its fix allowed."""
        if st.literal(option.value) != "True" or st.under_environment_condition(option, st.parent_lookup(self)):
            return False
        return self.report(option, self._message(qualified, call, self.profile))

    def _is_resource_options(self, call: cst.Call) -> bool:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, call.func, set())}
        return bool(names & st.RESOURCE_OPTIONS)

    @staticmethod
    def _message(qualified: str, call: cst.Call, profile: str) -> str:
        noun = st.STATEFUL[qualified]
        message = (f"{st.describe(call, qualified)} has delete_before_replace=True, so a change "
                   f"that forces a replacement deletes {noun} before the new one exists (an "
                   "outage, and nothing left if the create fails); the fix removes the option")
        name = st.PHYSICAL_NAME.get(qualified)
        if name is not None and st.keyword(call, name) is not None and profile != "ephemeral":
            protection = st.DELETION_PROTECTION.get(qualified)
            guard = (f"{protection.argument}={protection.blocking} or protect=True"
                     if protection is not None else "protect=True")
            message += (f", but with an explicit {name}= the provider still replaces it "
                        f"delete-first, so also set {guard}")
        return message
