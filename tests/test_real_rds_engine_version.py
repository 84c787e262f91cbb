"""rds-engine-version-unavailable against the real pulumi_aws, under Pulumi's mock runtime.

Each fixture's before and after program runs with the installed pulumi_aws (7.x) and
pulumi_random; the mocks record the inputs the engine would send for every RDS resource. The
test reads the `engineVersion` of every cluster, instance and global cluster and checks it
against the version table the rule ships (codemods/data/rds_engine_versions.json) for the case's
region: before, a version the region does not offer (seed 001: "15.4" in eu-south-1, the cause of
`Cannot find version 15.4 for aurora-postgresql`); after, one it offers, of the same major. For
the parameter-group case it checks that every group a cluster or cluster instance really uses (the
resolved `dbClusterParameterGroupName` / `dbParameterGroupName` input) has the family of that
resource's engine major: before it does not (`aurora-postgresql14` on a 15.x cluster), after it does.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import tomllib

from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.registry import rule_by_id
from iacfix.results import Safety

ROOT = Path(__file__).resolve().parent.parent
RULE = "rds-engine-version-unavailable"
FIXTURES = ROOT / "fixtures" / RULE
TABLE = json.loads((ROOT / "codemods" / "data" / "rds_engine_versions.json").read_text())["engines"]
REGIONS = tomllib.loads((FIXTURES / "context.toml").read_text())
VERSIONED = {
    "aws:rds/cluster:Cluster",
    "aws:rds/instance:Instance",
    "aws:rds/globalCluster:GlobalCluster",
    "aws:rds/clusterInstance:ClusterInstance",
}
CONFIG = {
    "tap:private_subnet_ids": json.dumps(["subnet-0a1", "subnet-0b2"]),
    "tap:db_subnet_group": "orders-db-subnets",
}


class RdsMocks(pulumi.runtime.Mocks):
    """Records every resource's inputs; outputs echo them (a cluster's `engine_version` output
    is what it was given), with a physical `name` for parameter groups and subnet groups."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        outputs = {
            "name": args.inputs.get("name", f"{args.name}-physical"),
            "result": "mock-password-0123456789abcdef",
            "endpoint": f"{args.name}.cluster-mock.rds.amazonaws.com",
            "address": f"{args.name}.mock.rds.amazonaws.com",
            **args.inputs,
            "arn": f"arn:aws:rds:eu-south-1:123456789012:{args.name}",
        }
        return [f"{args.name}_id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        raise AssertionError(f"unexpected invoke {args.token}")


def run_program(path: Path, build: Callable[[dict[str, Any]], object] | None) -> RdsMocks:
    mocks = RdsMocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack="test", preview=False)
    pulumi.runtime.set_all_config(CONFIG)

    @pulumi.runtime.test
    def program() -> None:
        namespace = runpy.run_path(str(path), run_name="__pulumi_program__")
        if build is not None:
            build(namespace)

    program()
    return mocks


def subnet_group(_: dict[str, Any]) -> Any:
    import pulumi_aws as aws

    return aws.rds.SubnetGroup("analytics-subnets", subnet_ids=["subnet-0a1", "subnet-0b2"])


# case -> how to instantiate the program's component or function (None: module-level program)
BUILD: dict[str, Callable[[dict[str, Any]], object] | None] = {
    "example": lambda ns: ns["TapStack"]("tap", ns["TapStackArgs"]("test")),
    "database_module_from_import": lambda ns: ns["create_database"](
        "test", ["subnet-0a1", "subnet-0b2"], pulumi.Output.from_input("sg-0123"), {"Team": "payments"}
    ),
    "postgres_instance": lambda ns: ns["ReportingDatabase"]("reporting", "test", "reporting-subnets"),
    "aurora_mysql": None,
    "engine_type_enum": lambda ns: ns["analytics_cluster"]("test", subnet_group(ns)),
    "comment_on_line": lambda ns: ns["BillingDatabase"]("billing", "test"),
    "newer_than_region_offers": lambda ns: ns["TapStack"]("tap", "test"),
    "global_cluster": None,
    "parameter_group_family": lambda ns: ns["TapStack"]("tap", "test"),
}
VERSION_CASES = sorted(case for case in BUILD if case != "parameter_group_family")


def major(engine: str, version: str) -> str:
    parts = version.split(".")
    return ".".join(parts[:2]) if engine.endswith("mysql") else parts[0]


def engine_versions(mocks: RdsMocks) -> list[tuple[str, str, str]]:
    """(resource name, engine, engineVersion) of every versioned RDS resource that has both."""
    found = [
        (name, inputs["engine"], inputs["engineVersion"])
        for typ, name, inputs in mocks.resources
        if typ in VERSIONED and inputs.get("engine") and inputs.get("engineVersion")
    ]
    assert found, "the program registered no RDS resource with an engine version"
    return found


@pytest.mark.parametrize("case", VERSION_CASES)
def test_before_asks_for_a_version_the_region_does_not_offer(case: str) -> None:
    region = REGIONS[case]["region"]
    versions = engine_versions(run_program(FIXTURES / f"{case}.before.py", BUILD[case]))
    assert any(version not in TABLE[engine][region] for _, engine, version in versions), versions


@pytest.mark.parametrize("case", VERSION_CASES)
def test_after_asks_for_an_offered_version_of_the_same_major(case: str) -> None:
    region = REGIONS[case]["region"]
    before = engine_versions(run_program(FIXTURES / f"{case}.before.py", BUILD[case]))
    after = engine_versions(run_program(FIXTURES / f"{case}.after.py", BUILD[case]))
    assert [(name, engine) for name, engine, _ in after] == [(name, engine) for name, engine, _ in before]
    for (name, engine, old), (_, _, new) in zip(before, after, strict=True):
        assert new in TABLE[engine][region], f"{name}: {new} is not offered in {region}"
        assert major(engine, new) == major(engine, old), f"{name}: {old} -> {new} changes the major"


def test_seed_001_example_records_the_versions_the_cluster_is_created_with() -> None:
    """Seed 001: the Flask API's Aurora cluster asked eu-south-1 for 15.4, which it does not offer."""
    offered = TABLE["aurora-postgresql"]["eu-south-1"]

    def cluster_version(path: Path) -> str:
        mocks = run_program(path, BUILD["example"])
        (version,) = [i["engineVersion"] for t, _, i in mocks.resources if t == "aws:rds/cluster:Cluster"]
        return version

    before = cluster_version(FIXTURES / "example.before.py")
    after = cluster_version(FIXTURES / "example.after.py")
    assert before == "15.4" and before not in offered
    # the smallest upgrade eu-south-1 offers; seed 001's author chose 15.8, also offered
    assert after == "15.6" and after in offered and "15.8" in offered
    def key(version: str) -> tuple[int, ...]:
        return tuple(map(int, version.split(".")))
    assert min((v for v in offered if v.startswith("15.") and key(v) >= key(before)), key=key) == after


def parameter_groups_in_use(mocks: RdsMocks) -> list[tuple[str, str, str]]:
    """(user, engine major its version implies, family of the group it names) for every cluster
    or cluster instance that names a parameter group by its resolved physical name."""
    groups = {
        f"{name}-physical": inputs["family"]
        for typ, name, inputs in mocks.resources
        if typ in ("aws:rds/clusterParameterGroup:ClusterParameterGroup", "aws:rds/parameterGroup:ParameterGroup")
    }
    clusters = {f"{name}_id": inputs for typ, name, inputs in mocks.resources if typ == "aws:rds/cluster:Cluster"}
    used = []
    for typ, name, inputs in mocks.resources:
        if typ == "aws:rds/cluster:Cluster":
            version, group = inputs["engineVersion"], inputs.get("dbClusterParameterGroupName")
        elif typ == "aws:rds/clusterInstance:ClusterInstance":
            cluster = clusters[inputs["clusterIdentifier"]]
            version, group = cluster["engineVersion"], inputs.get("dbParameterGroupName")
        else:
            continue
        if group is not None:
            used.append((name, f"{inputs['engine']}{major(inputs['engine'], version)}", groups[group]))
    assert len(used) == 2, used
    return used


def test_before_parameter_groups_do_not_match_the_engine_major() -> None:
    used = parameter_groups_in_use(run_program(FIXTURES / "parameter_group_family.before.py",
                                               BUILD["parameter_group_family"]))
    assert all(family != wanted for _, wanted, family in used), used
    assert {family for _, _, family in used} == {"aurora-postgresql14"}


def test_after_parameter_groups_match_the_engine_major() -> None:
    used = parameter_groups_in_use(run_program(FIXTURES / "parameter_group_family.after.py",
                                               BUILD["parameter_group_family"]))
    assert all(family == wanted for _, wanted, family in used), used
    assert {family for _, _, family in used} == {"aurora-postgresql15"}


@pytest.mark.parametrize("case", sorted(BUILD))
def test_after_files_are_what_the_rule_produces(case: str) -> None:
    """The programs run above are the rule's own output, not hand-edited copies."""
    before = (FIXTURES / f"{case}.before.py").read_bytes()
    result = fix_source(f"{case}.before.py", before, [rule_by_id(RULE)], Safety.UNSAFE,
                        project=ProjectContext(region=REGIONS[case]["region"], aws_major=7))
    assert result.output == (FIXTURES / f"{case}.after.py").read_bytes()



# -- situations the fixtures do not show ------------------------------------------------------------

PREAMBLE = "import pulumi\nimport pulumi_aws as aws\n"
CLUSTER = 'aws.rds.Cluster("db", engine="aurora-postgresql", engine_version="{version}"{extra})\n'


def check(source: str, region: str | None = "eu-south-1", threshold: Safety = Safety.UNSAFE):
    result = fix_source("lib/db.py", source.encode(), [rule_by_id(RULE)], threshold,
                        project=ProjectContext(region=region, aws_major=7))
    assert result.error is None
    return result.output.decode(), list(result.findings)


@pytest.mark.parametrize(
    ("body", "region", "safety", "fixed_body"),
    [
        # the resource's own region= wins over the stack's: 16.4 is offered in us-east-1
        (CLUSTER.format(version="16.4", extra=', region="us-east-1"'), "eu-south-1", None, None),
        (CLUSTER.format(version="16.4", extra=', region="eu-south-1"'), None, Safety.UNSAFE,
         CLUSTER.format(version="16.3", extra=', region="eu-south-1"')),
        # an explicit provider: its region is unknown, so only "offered nowhere" is reported
        (CLUSTER.format(version="16.4", extra=", opts=pulumi.ResourceOptions(provider=p)"), "eu-south-1",
         None, None),
        (CLUSTER.format(version="15.3", extra=", opts=pulumi.ResourceOptions(provider=p)"), "eu-south-1",
         Safety.DISPLAY_ONLY, None),
        # opts passed in from elsewhere in a module that builds providers: same
        ("p = aws.Provider('milan', region='eu-south-1')\ndef make(opts):\n    return "
         + CLUSTER.format(version="15.3", extra=", opts=opts"), "us-east-1", Safety.DISPLAY_ONLY, None),
        # a region the table does not cover: no judgement
        (CLUSTER.format(version="15.4", extra=""), "af-south-1", None, None),
        # a major-only version whose major the region lacks is still left to AWS
        (CLUSTER.format(version="17", extra=""), "eu-south-1", None, None),
        # MySQL: 8.0.28 is retired; the smallest offered upgrade is 8.0.32, and the group follows
        (('g = aws.rds.ParameterGroup("g", family="mysql5.7")\n'
         'aws.rds.Instance("db", engine="mysql", engine_version="8.0.28", parameter_group_name=g.name)\n'),
         "eu-south-1", Safety.UNSAFE,
         ('g = aws.rds.ParameterGroup("g", family="mysql8.0")\n'
         'aws.rds.Instance("db", engine="mysql", engine_version="8.0.32", parameter_group_name=g.name)\n')),
    ],
)
def test_situations(body: str, region: str | None, safety: Safety | None, fixed_body: str | None) -> None:
    after, findings = check(PREAMBLE + body, region)
    assert {f.safety for f in findings} == ({safety} if safety else set()), [f.message for f in findings]
    assert after == PREAMBLE + (fixed_body or body)


def test_other_import_spellings() -> None:
    after, findings = check("import pulumi_aws.rds as r\nr.Instance('db', engine='postgres', engine_version='15.2')\n")
    assert after.endswith("engine_version='15.7')\n") and len(findings) == 1
    after, _ = check("from pulumi_aws.rds import Cluster, EngineType\n"
                     "Cluster('db', engine=EngineType.AURORA_MYSQL, engine_version='5.7.mysql_aurora.2.07.2')\n")
    assert after.endswith("engine_version='5.7.mysql_aurora.2.11.2')\n")


def test_safe_threshold_and_suppression_do_not_rewrite() -> None:
    source = PREAMBLE + CLUSTER.format(version="15.4", extra="")
    after, findings = check(source, threshold=Safety.SAFE)
    assert after == source and [(f.safety, f.fixed) for f in findings] == [(Safety.UNSAFE, False)]
    suppressed = source.rstrip("\n") + "  # iacfix: ignore[rds-engine-version-unavailable]\n"
    assert check(suppressed) == (suppressed, [])


@pytest.mark.parametrize(
    "groups",
    [
        # one group, two clusters on different majors: which family is right is not provable
        ('g = aws.rds.ClusterParameterGroup("g", family="aurora-postgresql14")\n'
        'aws.rds.Cluster("a", engine="aurora-postgresql", engine_version="15.8", db_cluster_parameter_group_name=g.name)\n'  # noqa: E501
        'aws.rds.Cluster("b", engine="aurora-postgresql", engine_version="14.18", db_cluster_parameter_group_name=g.name)\n'),  # noqa: E501
        # the name is bound twice: the link is not provable
        ('g = aws.rds.ClusterParameterGroup("g", family="aurora-postgresql14")\ng = other_group\n'
        'aws.rds.Cluster("a", engine="aurora-postgresql", engine_version="15.8", db_cluster_parameter_group_name=g.name)\n'),  # noqa: E501
        # a group named by a string, not by the resource
        ('g = aws.rds.ClusterParameterGroup("g", name="pg14", family="aurora-postgresql14")\n'
        'aws.rds.Cluster("a", engine="aurora-postgresql", engine_version="15.8", db_cluster_parameter_group_name="pg14")\n'),  # noqa: E501
    ],
)
def test_family_left_alone_when_the_link_is_not_provable(groups: str) -> None:
    assert check(PREAMBLE + groups) == (PREAMBLE + groups, [])
