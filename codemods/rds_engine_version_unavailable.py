"""Rule `rds-engine-version-unavailable`: an RDS engine version the target region does not offer."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from iacfix.results import Safety
from iacfix.rule import Rule
from iacfix.shipped_data import load_json

#: The version table shipped with the package (see its "source"; refreshed by
#: scripts/refresh_rds_engine_versions.py).
_DATA_PACKAGE = "iacfix.codemods"
_DATA_FILE = "rds_engine_versions.json"

#: Resources whose `engine_version=` must be one the region offers, by qualified class name.
#: Checked against pulumi_aws 7.51: each takes `engine`, `engine_version` and `region`.
_RESOURCES = {
    "pulumi_aws.rds.Cluster": "rds.Cluster",
    "pulumi_aws.rds.cluster.Cluster": "rds.Cluster",
    "pulumi_aws.rds.Instance": "rds.Instance",
    "pulumi_aws.rds.instance.Instance": "rds.Instance",
    "pulumi_aws.rds.GlobalCluster": "rds.GlobalCluster",
    "pulumi_aws.rds.global_cluster.GlobalCluster": "rds.GlobalCluster",
    "pulumi_aws.rds.ClusterInstance": "rds.ClusterInstance",
    "pulumi_aws.rds.cluster_instance.ClusterInstance": "rds.ClusterInstance",
}
_GROUPS = {
    "pulumi_aws.rds.ClusterParameterGroup": "rds.ClusterParameterGroup",
    "pulumi_aws.rds.cluster_parameter_group.ClusterParameterGroup": "rds.ClusterParameterGroup",
    "pulumi_aws.rds.ParameterGroup": "rds.ParameterGroup",
    "pulumi_aws.rds.parameter_group.ParameterGroup": "rds.ParameterGroup",
}
#: (resource, argument) -> the parameter-group class that argument names (pulumi_aws 7.51
#: signatures: Cluster.db_cluster_parameter_group_name / db_instance_parameter_group_name,
#: Instance.parameter_group_name, ClusterInstance.db_parameter_group_name).
_GROUP_ARGUMENTS = {
    ("rds.Cluster", "db_cluster_parameter_group_name"): "rds.ClusterParameterGroup",
    ("rds.Cluster", "db_instance_parameter_group_name"): "rds.ParameterGroup",
    ("rds.Instance", "parameter_group_name"): "rds.ParameterGroup",
    ("rds.ClusterInstance", "db_parameter_group_name"): "rds.ParameterGroup",
}
#: The attributes of a parameter group (or cluster) that are its name (`id` is the name too).
_NAME_ATTRIBUTES = {"name", "id"}
_CLUSTER_ATTRIBUTES = {"id", "cluster_identifier"}
_ENGINE_ENUM = {
    f"pulumi_aws.rds{module}.EngineType.{member}": engine
    for module in ("", "._enums")
    for member, engine in (
        ("AURORA_POSTGRESQL", "aurora-postgresql"),
        ("AURORA_MYSQL", "aurora-mysql"),
        ("POSTGRES", "postgres"),
        ("MYSQL", "mysql"),
    )
}
_MYSQL_FAMILY = {"mysql", "aurora-mysql"}
_PROVIDER = dict.fromkeys(("pulumi_aws.Provider", "pulumi_aws.provider.Provider"), "provider")
_RESOURCE_OPTIONS = dict.fromkeys(("pulumi.ResourceOptions", "pulumi.resource.ResourceOptions"), "opts")
#: A parameter-group family of one of the four engines: `aurora-postgresql14`, `mysql8.0`.
_FAMILY = re.compile(r"(aurora-postgresql|aurora-mysql|postgres|mysql)\d+(\.\d+)?")


@dataclass(frozen=True)
class _Versions:
    """The shipped table: engine -> region -> offered versions (sorted by `_key`)."""

    generated: str
    engines: Mapping[str, Mapping[str, tuple[str, ...]]]


@functools.lru_cache(maxsize=1)
def _table() -> _Versions:
    """The version table, read once per process (immutable)."""
    return load_json(_DATA_PACKAGE, _DATA_FILE, _versions,
                     remedy="reinstall iacfix, or refresh it with scripts/refresh_rds_engine_versions.py")


def _versions(document: dict) -> _Versions:
    engines = {
        engine: MappingProxyType({region: tuple(str(v) for v in versions) for region, versions in by_region.items()})
        for engine, by_region in document["engines"].items()
    }
    return _Versions(str(document.get("generated", "")), MappingProxyType(engines))


def _key(version: str) -> tuple[int, ...]:
    """Numeric order: 15.10 after 15.9, 8.0.mysql_aurora.3.10.0 after 3.09.0."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _major(engine: str, version: str) -> str | None:
    """The major version: `15` of 15.4, `9.6` of 9.6.24, `8.0` of 8.0.35 or
    8.0.mysql_aurora.3.05.2; None when the text is not a version."""
    match = re.match(r"(\d+)(?:\.(\d+))?", version)
    if match is None:
        return None
    first, second = match.group(1), match.group(2)
    if engine in _MYSQL_FAMILY or int(first) < 10:  # mysql 8.0, postgres 9.6: two-part majors
        return f"{int(first)}.{int(second)}" if second is not None else None
    return str(int(first))


def _family(engine: str, major: str) -> str:
    """The parameter-group family of an engine major: aurora-postgresql15, mysql8.0."""
    return f"{engine}{major}"


def _describe(versions: list[str]) -> str:
    """`15.6 and 15.8`, or `15.6 to 15.13 (6 versions)` for long lists."""
    if len(versions) <= 3:
        return " and ".join(filter(None, [", ".join(versions[:-1]), versions[-1]]))
    return f"{versions[0]} to {versions[-1]} ({len(versions)} versions)"


class RdsEngineVersionUnavailable(Rule):
    """An RDS `engine_version` the target region does not offer, or a parameter group whose family
    disagrees with the engine's major version.

    `rds.Cluster`, `rds.Instance`, `rds.GlobalCluster` and `rds.ClusterInstance` with a literal
    `engine_version` for aurora-postgresql, aurora-mysql, postgres or mysql (the engine given as a
    literal or as `aws.rds.EngineType.*`) are checked against the versions each region offers, from
    a table shipped with iacfix (`codemods/data/rds_engine_versions.json`). From seed 001 §1
    (`engine_version="15.4"` for Aurora PostgreSQL in eu-south-1: `Cannot find version 15.4 for
    aurora-postgresql`) and seed 002 §1 (`15.3`, the same error).

    ## Why is this bad?
    AWS offers a different, changing set of minor versions in each region and retires old minors.
    `CreateDBCluster` with a version the region does not offer fails with
    `InvalidParameterCombination: Cannot find version 15.4 for aurora-postgresql`, and every
    resource that needs the database endpoint fails with it. A parameter group must belong to the
    engine's major version: a cluster on 15.x with a group of family `aurora-postgresql14` fails
    with `InvalidParameterCombination` too.

    ## Fix
    A version not offered in the region becomes the nearest version of the same major that is:
    the lowest offered version above it (the smallest upgrade), else the highest offered below it.
    The string keeps its quotes and the line its comment. (Seed 001's author moved 15.4 to 15.8 in
    eu-south-1; the rule takes 15.6, the smallest upgrade the seed's list of offered versions
    allows.) When the region offers no version of that major at all, the finding lists the majors
    it does offer and leaves the move to another major to a human. Major-only values (`"15"`,
    `"8.0"`) are valid as they are: AWS picks the major's default minor. An Aurora MySQL version
    written as a MySQL community version (`"8.0.35"` instead of `"8.0.mysql_aurora.3.05.2"`) is
    reported with the offered releases.

    The region is the project's (`--region`, `aws:region`, `lib/AWS_REGION`, `AWS_REGION`), or the
    resource's own literal `region=`. When the resource deploys through an explicit provider
    (`provider=` in its options, or options iacfix cannot read in a module that builds providers),
    or no region is known, the version is only reported when no region in the table offers it, and
    without a fix. A region the table does not cover gets no finding: iacfix cannot judge it.

    When the same file passes a parameter group to the resource by its name
    (`db_cluster_parameter_group_name=group.name`, `db_instance_parameter_group_name=`,
    `parameter_group_name=`, `db_parameter_group_name=` on a `ClusterInstance` of that cluster)
    and the group's literal `family` names another major or engine, the family is set to the
    engine's (`aurora-postgresql15`, `postgres15`, `mysql8.0`, `aurora-mysql8.0`). A group reached
    any other way (a variable from another module, a name string) is left alone.

    The engine is read from a literal, from `aws.rds.EngineType.*`, or from the resource it names
    (`engine=global_cluster.engine`, so a global cluster and its primary move together). Left
    alone: versions read from config or built at run time, engines other than the four, and
    resources whose engine cannot be read from the code.

    ## Fix safety
    Unsafe. On a cluster that is already deployed a new `engine_version` is an in-place engine
    upgrade (a short outage), and a new `family` replaces the parameter group; on a new stack both
    are what make `pulumi up` succeed. The table is a snapshot (see its `generated`
    date and `source`): refresh it with `scripts/refresh_rds_engine_versions.py` when AWS changes
    what a region offers.

    ## References
    - https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/AuroraPostgreSQL.Updates.html
    - https://docs.aws.amazon.com/AmazonRDS/latest/AuroraMySQLReleaseNotes/AuroraMySQL.Updates.html
    - https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBEngineVersions.html
    - https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/rds/cluster/
    """

    id = "rds-engine-version-unavailable"
    title = "Use an RDS engine version the target region offers, with a matching parameter group family"
    safety = Safety.UNSAFE
    evidence = (b"engine_version",)

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._replacements: dict[cst.SimpleString, str] = {}

    # -- analysis: every decision is made on the original tree, before anything changes ----------

    def visit_Module(self, node: cst.Module) -> None:
        calls = _calls(node)
        explicit_providers = any(
            self._kind(call.func, _PROVIDER) is not None
            or (self._is_pulumi(call.func) and any(_keyword(a) in ("provider", "providers") for a in call.args))
            for call in calls
        )
        #: parameter-group family string -> (the family it should be, what says so)
        wanted: dict[cst.SimpleString, set[tuple[str, str]]] = {}
        majors: dict[cst.Call, tuple[str, str]] = {}  # resource call -> (engine, major)
        resources_ = [(call, kind) for call in calls if (kind := self._kind(call.func, _RESOURCES))]
        for call, kind in resources_:
            found = self._check_version(call, kind, explicit_providers)
            if found is not None:
                majors[call] = found
        for call, kind in resources_:
            engine_major = majors.get(call) or self._cluster_major(call, kind, majors)
            if engine_major is None:
                continue
            engine, major = engine_major
            for argument in call.args:
                group_kind = _GROUP_ARGUMENTS.get((kind, _keyword(argument) or ""))
                group = group_kind and self._linked(argument.value, _NAME_ATTRIBUTES)
                if group is None or self._kind(group.func, _GROUPS) != group_kind:
                    continue
                family = _argument(group, "family")
                if isinstance(family, cst.SimpleString) and isinstance(family.evaluated_value, str):
                    wanted.setdefault(family, set()).add(
                        (_family(engine, major), f"{kind}{_logical_name(call)} ({engine} {major})")
                    )
        for family, expectations in wanted.items():
            self._check_family(family, expectations)

    def _check_version(
        self, call: cst.Call, kind: str, explicit_providers: bool
    ) -> tuple[str, str] | None:
        """Report an unavailable version of `call`; return (engine, major) when both are known
        and the major stays (not when the region offers no version of it)."""
        engine = self._engine(call)
        version_node = _argument(call, "engine_version")
        if engine is None or not isinstance(version_node, cst.SimpleString):
            return None
        version = version_node.evaluated_value
        if not isinstance(version, str) or (major := _major(engine, version)) is None:
            return None
        table = _table().engines.get(engine)
        if version == major or table is None:  # major-only: AWS picks the default minor
            return engine, major
        region, why_unknown = self._region(call, explicit_providers)
        subject = f'{kind}{_logical_name(call)}: {engine} engine_version "{version}"'
        if region is None:
            if any(version in versions for versions in table.values()):
                return engine, major
            known = sorted({v for vs in table.values() for v in vs if _major(engine, v) == major}, key=_key)
            choices = (f"one of the {major}.x versions it knows: {_describe(known)}" if known
                       else f"a version by hand (it knows no {major}.x version at all)")
            self.report(
                version_node,
                f"{subject} is not offered in any region iacfix knows and {why_unknown} pick "
                f"{choices}.",
                safety=Safety.DISPLAY_ONLY,
            )
            return engine, major
        offered = table.get(region)
        if offered is None or version in offered:
            return engine, major
        same_major = [v for v in offered if _major(engine, v) == major]
        if not same_major:
            majors = sorted({m for v in offered if (m := _major(engine, v))}, key=_key)
            self.report(
                version_node,
                f"{subject} is not offered in {region}, which offers no {major}.x version at all "
                f"(it offers majors {', '.join(majors)}); moving to another major is a human's "
                "decision (with a matching parameter group family), so pick a version by hand.",
                safety=Safety.DISPLAY_ONLY,
            )
            return None
        if engine == "aurora-mysql" and "mysql_aurora" not in version:
            self.report(
                version_node,
                f"{subject} is a MySQL community version, not an Aurora MySQL release "
                f"({major}.mysql_aurora.N.NN.N), so {region} does not offer it; pick the Aurora "
                f"release by hand from the ones it offers: {_describe(same_major)}.",
                safety=Safety.DISPLAY_ONLY,
            )
            return engine, major
        above = [v for v in same_major if _key(v) >= _key(version)]
        choice = above[0] if above else same_major[-1]
        how = "the smallest upgrade" if above else "the newest it offers"
        if self.report(
            version_node,
            f'{subject} is not offered in {region}; use "{choice}", the nearest {major}.x version '
            f"offered there ({how}).",
        ):
            self._replacements[version_node] = choice
        return engine, major

    def _check_family(self, family: cst.SimpleString, expectations: set[tuple[str, str]]) -> None:
        value = family.evaluated_value
        targets = {expected for expected, _ in expectations}
        if len(targets) != 1 or value in targets or not _FAMILY.fullmatch(str(value)):
            return  # agrees, or two resources want different families: not provable
        expected = targets.pop()
        users = ", ".join(sorted(user for _, user in expectations))
        group = self._enclosing_call(family)
        kind = self._kind(group.func, _GROUPS) if group is not None else "parameter group"
        name = _logical_name(group) if group is not None else ""
        if self.report(
            family,
            f'{kind}{name} has family "{value}" but is the parameter group of {users}; set the '
            f'family to "{expected}".',
        ):
            self._replacements[family] = expected

    # -- rewriting ------------------------------------------------------------------------------

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        new = self._replacements.get(original_node)
        if new is None:
            return updated_node
        quote = original_node.quote
        return updated_node.with_changes(value=f"{original_node.prefix}{quote}{new}{quote}")

    # -- reading the code ----------------------------------------------------------------------

    def _engine(self, call: cst.Call, depth: int = 0) -> str | None:
        value = _argument(call, "engine")
        if isinstance(value, cst.SimpleString):
            engine = value.evaluated_value
            return engine if engine in _table().engines else None
        if isinstance(value, cst.Attribute):
            names = self.get_metadata(QualifiedNameProvider, value, set())
            engine = next((_ENGINE_ENUM[q.name] for q in names if q.name in _ENGINE_ENUM), None)
            if engine is None and depth < 2:  # `engine=global_cluster.engine`: that resource's
                source = self._linked(value, {"engine"})
                if source is not None and self._kind(source.func, _RESOURCES):
                    engine = self._engine(source, depth + 1)
            return engine
        return None

    def _region(self, call: cst.Call, explicit_providers: bool) -> tuple[str | None, str]:
        """The region the resource deploys to, or None and what the human can do about it."""
        unknown = "the stack's region is not known, so set it (--region, aws:region) or"
        unreadable = "it deploys through a provider whose region cannot be read from the code, so"
        own = _argument(call, "region")
        if own is not None:
            value = own.evaluated_value if isinstance(own, cst.SimpleString) else None
            return (value, "") if isinstance(value, str) else (None, "its region= is not a literal, so")
        opts = _argument(call, "opts")
        readable = (isinstance(opts, cst.Call) and self._kind(opts.func, _RESOURCE_OPTIONS) is not None
                    and not any(arg.star for arg in opts.args))
        if readable and any(_keyword(arg) in ("provider", "providers") for arg in opts.args):
            return None, unreadable
        if opts is not None and not readable and explicit_providers:
            return None, unreadable
        return self.project.region, unknown

    def _cluster_major(
        self, call: cst.Call, kind: str, majors: dict[cst.Call, tuple[str, str]]
    ) -> tuple[str, str] | None:
        """A ClusterInstance without its own version has its cluster's: `cluster_identifier=c.id`."""
        if kind != "rds.ClusterInstance":
            return None
        cluster = self._linked(_argument(call, "cluster_identifier"), _CLUSTER_ATTRIBUTES)
        if cluster is None or cluster not in majors:
            return None
        engine = self._engine(call)
        return majors[cluster] if engine in (None, majors[cluster][0]) else None

    def _linked(self, value: cst.BaseExpression | None, attributes: set[str]) -> cst.Call | None:
        """The constructor call `value` names, for `x.name` / `self.x.name` (with `.name` one of
        `attributes`) where `x` is assigned exactly once in this file, from a call."""
        if not (isinstance(value, cst.Attribute) and value.attr.value in attributes):
            return None
        target = value.value
        if isinstance(target, cst.Name):
            return self._single_assignment_of_name(target)
        if (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                and target.value.value == "self"):
            return self._single_assignment_of_self(target)
        return None

    def _single_assignment_of_name(self, name: cst.Name) -> cst.Call | None:
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1:
            return None
        target = getattr(assignments[0], "node", None)
        statement = self._parent(target) if isinstance(target, cst.Name) else None
        if isinstance(statement, cst.AssignTarget):
            statement = self._parent(statement)
        if isinstance(statement, (cst.Assign, cst.AnnAssign)) and isinstance(statement.value, cst.Call):
            return statement.value
        return None

    def _single_assignment_of_self(self, attribute: cst.Attribute) -> cst.Call | None:
        owner = next((a for a in self._ancestors(attribute) if isinstance(a, cst.ClassDef)), None)
        if owner is None:
            return None
        values = []
        for statement in _assignments(owner):
            targets = ([t.target for t in statement.targets] if isinstance(statement, cst.Assign)
                       else [statement.target])
            for target in targets:
                if (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                        and target.value.value == "self" and target.attr.value == attribute.attr.value):
                    values.append(statement.value)
        return values[0] if len(values) == 1 and isinstance(values[0], cst.Call) else None

    def _enclosing_call(self, node: cst.CSTNode) -> cst.Call | None:
        return next((a for a in self._ancestors(node) if isinstance(a, cst.Call)), None)

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        while (node := self._parent(node)) is not None:
            yield node

    def _kind(self, func: cst.BaseExpression, table: Mapping[str, str]) -> str | None:
        names = self.get_metadata(QualifiedNameProvider, func, set())
        return next((table[q.name] for q in names if q.name in table), None)

    def _is_pulumi(self, func: cst.BaseExpression) -> bool:
        names = self.get_metadata(QualifiedNameProvider, func, set())
        return any(q.name.split(".")[0].startswith("pulumi") for q in names)


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Collector(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(Collector())
    return found


def _assignments(node: cst.CSTNode) -> list[cst.Assign | cst.AnnAssign]:
    found: list[cst.Assign | cst.AnnAssign] = []

    class Collector(cst.CSTVisitor):
        def visit_Assign(self, statement: cst.Assign) -> None:
            found.append(statement)

        def visit_AnnAssign(self, statement: cst.AnnAssign) -> None:
            if statement.value is not None:
                found.append(statement)

    node.visit(Collector())
    return found


def _argument(call: cst.Call | None, keyword: str) -> cst.BaseExpression | None:
    if call is None:
        return None
    return next((arg.value for arg in call.args if _keyword(arg) == keyword), None)


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _logical_name(call: cst.Call) -> str:
    """` "flask-api-aurora"` (with a leading space) for a literal or f-string logical name."""
    first = next((a.value for a in call.args if a.keyword is None and not a.star), None)
    first = first if first is not None else _argument(call, "resource_name")
    if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
        return f' "{first.evaluated_value}"'
    if isinstance(first, cst.FormattedString):
        code = cst.Module([]).code_for_node(first)
        return f' "{code[len(first.start):len(code) - len(first.end)]}"'
    return ""
