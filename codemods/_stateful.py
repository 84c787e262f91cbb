"""Stateful pulumi_aws resources and the arguments that decide whether they can be destroyed
(shared by `ephemeral-not-destroyable`, `production-data-unprotected` and
`delete-before-replace-stateful`).

Private helper module (no rule class, so the registry ignores it). The tables are keyed by the
canonical qualified class name (`pulumi_aws.rds.Cluster`; `canonical()` folds the defining
submodule `pulumi_aws.rds.cluster.Cluster` into it). Every class and argument name below was
checked against the installed pulumi_aws 7.51 with
`inspect.signature(pulumi_aws.<module>.<Class>._internal_init)`, and every default quoted comes
from the class docstring (the provider schema); `tests/test_real_destroyability.py` re-checks the
names against the installed package so a provider upgrade that renames one fails a test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import ParentNodeProvider

PULUMI_AWS = "pulumi_aws"


@dataclass(frozen=True)
class Protection:
    """A keyword that makes the provider refuse to delete the resource.

    `blocking` is the literal (as Python source) that blocks `pulumi destroy`, `destroyable` the
    literal that lets it through; the provider default is the destroyable one for all of these.
    """

    argument: str
    blocking: str = "True"
    destroyable: str = "False"


#: Deletion protection: with the blocking value the provider's Delete fails, so `pulumi destroy`
#: (and any replacement) stops with an error until the value is changed and applied.
#: Defaults from the pulumi_aws 7.51 docstrings: all `false` / `INACTIVE`.
DELETION_PROTECTION: dict[str, Protection] = {
    "pulumi_aws.rds.Cluster": Protection("deletion_protection"),
    "pulumi_aws.rds.Instance": Protection("deletion_protection"),
    "pulumi_aws.rds.GlobalCluster": Protection("deletion_protection"),
    "pulumi_aws.docdb.Cluster": Protection("deletion_protection"),
    "pulumi_aws.neptune.Cluster": Protection("deletion_protection"),
    "pulumi_aws.dynamodb.Table": Protection("deletion_protection_enabled"),
    "pulumi_aws.dsql.Cluster": Protection("deletion_protection_enabled"),
    "pulumi_aws.cognito.UserPool": Protection("deletion_protection", '"ACTIVE"', '"INACTIVE"'),
    "pulumi_aws.lb.LoadBalancer": Protection("enable_deletion_protection"),
    "pulumi_aws.alb.LoadBalancer": Protection("enable_deletion_protection"),
    "pulumi_aws.ec2.Instance": Protection("disable_api_termination"),
}

#: Resources that take a final snapshot when deleted: (skip argument, snapshot name argument).
#: The skip argument defaults to `false` on every one of them ("Default is `false`" in the 7.51
#: docstrings), and the provider then needs the snapshot name: deleting one with neither
#: `skip_final_snapshot=True` nor `final_snapshot_identifier` fails, which fails `pulumi destroy`.
FINAL_SNAPSHOT: dict[str, tuple[str, str]] = {
    "pulumi_aws.rds.Cluster": ("skip_final_snapshot", "final_snapshot_identifier"),
    "pulumi_aws.rds.Instance": ("skip_final_snapshot", "final_snapshot_identifier"),
    "pulumi_aws.docdb.Cluster": ("skip_final_snapshot", "final_snapshot_identifier"),
    "pulumi_aws.neptune.Cluster": ("skip_final_snapshot", "final_snapshot_identifier"),
    "pulumi_aws.redshift.Cluster": ("skip_final_snapshot", "final_snapshot_identifier"),
}

#: Containers whose delete fails while they hold anything, unless this flag (default `false`)
#: tells the provider to empty them first: a non-empty bucket or repository stops `pulumi destroy`.
FORCE_DESTROY: dict[str, str] = {
    "pulumi_aws.s3.Bucket": "force_destroy",
    "pulumi_aws.s3.BucketV2": "force_destroy",
    "pulumi_aws.ecr.Repository": "force_delete",
}

#: Multi-AZ standby (seed 003 §4: 20-30+ minutes to provision, twice the instance cost).
MULTI_AZ: dict[str, str] = {
    "pulumi_aws.rds.Instance": "multi_az",
}

#: Resources that hold data a delete destroys, with the noun a message uses for that data.
#: Left out on purpose: `rds.ClusterInstance` (the data lives in the cluster volume, an instance
#: is replaceable), `elasticache.Cluster` (mostly memcached, a cache by design), `sqs.Queue` and
#: `ecr.Repository` (transient messages, rebuildable images), `efs`-less compute.
STATEFUL: dict[str, str] = {
    "pulumi_aws.dynamodb.Table": "the table and all its items",
    "pulumi_aws.rds.Cluster": "the cluster and its databases",
    "pulumi_aws.rds.Instance": "the instance and its databases",
    "pulumi_aws.rds.GlobalCluster": "the global database",
    "pulumi_aws.docdb.Cluster": "the cluster and its documents",
    "pulumi_aws.neptune.Cluster": "the cluster and its graph",
    "pulumi_aws.redshift.Cluster": "the cluster and its warehouse data",
    "pulumi_aws.dsql.Cluster": "the cluster and its databases",
    "pulumi_aws.s3.Bucket": "the bucket and its objects",
    "pulumi_aws.s3.BucketV2": "the bucket and its objects",
    "pulumi_aws.efs.FileSystem": "the file system and its files",
    "pulumi_aws.fsx.LustreFileSystem": "the file system and its files",
    "pulumi_aws.fsx.OntapFileSystem": "the file system and its files",
    "pulumi_aws.fsx.OpenZfsFileSystem": "the file system and its files",
    "pulumi_aws.fsx.WindowsFileSystem": "the file system and its files",
    "pulumi_aws.elasticache.ReplicationGroup": "the replication group and its data",
    "pulumi_aws.memorydb.Cluster": "the cluster and its data",
    "pulumi_aws.kinesis.Stream": "the stream and its retained records",
    "pulumi_aws.cognito.UserPool": "the user pool and its users",
}

#: `pulumi.ResourceOptions`, however it is imported.
RESOURCE_OPTIONS = frozenset({"pulumi.ResourceOptions", "pulumi.resource.ResourceOptions"})

#: Words in an `if` test or conditional expression that make the code environment-dependent:
#: a protection set under `if environment_suffix == "prod":` is intent, not a mistake.
_ENVIRONMENT_WORDS = re.compile(r"prod|dev|stag|test|ephemeral|env|sandbox|preview", re.IGNORECASE)


def canonical(qualified: str) -> str:
    """`pulumi_aws.rds.cluster.Cluster` -> `pulumi_aws.rds.Cluster` (the package re-exports
    each class from its defining submodule)."""
    parts = qualified.split(".")
    if len(parts) == 4 and parts[0] == PULUMI_AWS and parts[2][:1].islower() and parts[3][:1].isupper():
        return ".".join((parts[0], parts[1], parts[3]))
    return qualified


def resource_class(names: Iterable[str], table: Iterable[str]) -> str | None:
    """The canonical class among the qualified `names` of a call's callee that is in `table`."""
    wanted = set(table)
    for name in sorted(canonical(n) for n in names):
        if name in wanted:
            return name
    return None


def short_class(qualified: str) -> str:
    """`pulumi_aws.rds.Cluster` -> `rds.Cluster`."""
    return qualified.removeprefix(PULUMI_AWS + ".")


def code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def logical_name(call: cst.Call) -> str | None:
    """The resource's logical name for messages: the literal, or an f-string's template text."""
    for index, arg in enumerate(call.args):
        positional = index == 0 and arg.keyword is None and not arg.star
        if positional or (arg.keyword is not None and arg.keyword.value == "resource_name"):
            value = arg.value
            if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                return value.evaluated_value
            if isinstance(value, cst.FormattedString):
                return code(value)[2:-1] if code(value)[:2] in ('f"', "f'") else None
            return None
    return None


def describe(call: cst.Call, qualified: str) -> str:
    """`rds.Cluster "flask-api-aurora"` (or just the class when the name is not literal)."""
    name = logical_name(call)
    return f'{short_class(qualified)} "{name}"' if name is not None else short_class(qualified)


def keyword(call: cst.Call, name: str) -> tuple[int, cst.Arg] | None:
    for index, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == name:
            return index, arg
    return None


def hides_arguments(call: cst.Call) -> bool:
    """Whether the call may carry arguments the code does not show: `**kwargs`, `*args`, or the
    `(name, args, opts)` form (`args=ClusterArgs(...)` or a second positional argument)."""
    positional = [arg for arg in call.args if arg.keyword is None]
    return (any(arg.star for arg in call.args) or len(positional) > 1
            or keyword(call, "args") is not None)


def literal(node: cst.BaseExpression) -> str | None:
    """`True`, `False`, `None` or a plain string literal as source text; None for anything else
    (a name, a comparison, a conditional expression: those show intent and are left alone)."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return node.value
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return '"' + node.evaluated_value + '"'
    return None


def under_environment_condition(node: cst.CSTNode, parent: Callable[[cst.CSTNode], cst.CSTNode | None]) -> bool:
    """Whether `node` sits in a branch of an `if` / conditional expression / `match` whose test
    mentions the environment (`if environment_suffix == "prod":`, `... if is_production else`)."""
    child, current = node, parent(node)
    while current is not None:
        test: cst.CSTNode | None = None
        if isinstance(current, (cst.If, cst.While, cst.IfExp)) and child is not current.test:
            test = current.test
        elif isinstance(current, cst.Match):
            test = current.subject
        if test is not None and _ENVIRONMENT_WORDS.search(code(test)):
            return True
        child, current = current, parent(current)
    return False


def parent_lookup(rule) -> Callable[[cst.CSTNode], cst.CSTNode | None]:
    """A `parent(node)` function over the rule's ParentNodeProvider metadata."""
    def parent(node: cst.CSTNode) -> cst.CSTNode | None:
        return rule.get_metadata(ParentNodeProvider, node, None)
    return parent


def remove_arg(args: list[cst.Arg], index: int) -> list[cst.Arg]:
    """`args` without `args[index]`, keeping the list's comma style: when the last argument goes,
    the one before takes its comma (a trailing comma and the newline before `)` survive, and a
    one-line call gets no stray comma)."""
    result = list(args)
    removed = result.pop(index)
    if index == len(result) and result:
        result[-1] = result[-1].with_changes(comma=removed.comma)
    return result


def insert_keyword(call: cst.Call, name: str, value: str, before: str = "opts") -> cst.Call:
    """`call` with `name=value` added as a keyword argument, just before the `before=` keyword
    when there is one (Pulumi programs put `opts=` last), else at the end. A multi-line call gets
    a line of its own with its neighbours' indentation; comments stay on the lines they were on."""
    args = list(call.args)
    new = cst.Arg(keyword=cst.Name(name), value=cst.parse_expression(value),
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    found = keyword(call, before)
    position = found[0] if found is not None else len(args)
    if not args:
        return call.with_changes(args=[new])
    separator = _separator(args)
    if position == 0:
        args.insert(0, new.with_changes(comma=separator))
        return call.with_changes(args=args)
    previous = args[position - 1]
    if position < len(args):
        # between two arguments: the new one leads to the next line like the others do
        args.insert(position, new.with_changes(comma=separator))
        return call.with_changes(args=args)
    # after the last argument: the new one ends the call the way the last one did
    if isinstance(previous.comma, cst.Comma):
        new = new.with_changes(comma=_without_comment(previous.comma))
        args[position - 1] = previous.with_changes(comma=_with_comment_of(separator, previous.comma))
    else:
        new = new.with_changes(whitespace_after_arg=previous.whitespace_after_arg)
        args[position - 1] = previous.with_changes(
            comma=separator, whitespace_after_arg=cst.SimpleWhitespace(""))
    args.append(new)
    return call.with_changes(args=args)


def _separator(args: list[cst.Arg]) -> cst.Comma:
    """The comma between two arguments of this call (the first one written between two), without
    any comment it carries."""
    for arg in args[:-1]:
        if isinstance(arg.comma, cst.Comma):
            return _without_comment(arg.comma)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _without_comment(comma: cst.Comma) -> cst.Comma:
    after = comma.whitespace_after
    if isinstance(after, cst.ParenthesizedWhitespace):
        return comma.with_changes(whitespace_after=after.with_changes(
            first_line=cst.TrailingWhitespace(), empty_lines=()))
    return comma


def _with_comment_of(layout: cst.Comma, source: cst.Comma) -> cst.Comma:
    """`layout` carrying the end-of-line comment of `source`, if both end a line."""
    after, theirs = layout.whitespace_after, source.whitespace_after
    if isinstance(after, cst.ParenthesizedWhitespace) and isinstance(theirs, cst.ParenthesizedWhitespace):
        return layout.with_changes(whitespace_after=after.with_changes(first_line=theirs.first_line))
    return layout


#: The physical-name argument of stateful resources that pulumi_aws auto-names when it is absent
#: (a random suffix is added to the logical name). When the program sets it explicitly, two
#: resources cannot exist under one name, so the provider replaces the resource delete-first
#: on its own (the Terraform bridge's `nameRequiresDeleteBeforeReplace`), with or without
#: `delete_before_replace`.
PHYSICAL_NAME: dict[str, str] = {
    "pulumi_aws.dynamodb.Table": "name",
    "pulumi_aws.s3.Bucket": "bucket",
    "pulumi_aws.s3.BucketV2": "bucket",
    "pulumi_aws.kinesis.Stream": "name",
    "pulumi_aws.rds.Cluster": "cluster_identifier",
    "pulumi_aws.rds.Instance": "identifier",
}
