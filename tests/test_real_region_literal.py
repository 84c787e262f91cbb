"""hardcoded-region-literal against the real pulumi_aws, under Pulumi's mock runtime.

Each fixture's before and after program runs with the installed pulumi_aws (7.x) and mocks that
answer `aws:index/getRegion:getRegion` with the stack's region, eu-south-1 (or with the region of
the explicit provider the invoke names), and `getAvailabilityZones` with eu-south-1's zones. The
test reads the inputs the engine would receive: the dashboard body (parsed as JSON), the event
pattern, the KMS key policy, the VPC endpoint's service name, the Lambda environment and the
subnets' zones. Before: the literal region (seed 002 §8's "us-east-1"), i.e. graphs of another
region, a zone that does not exist in eu-south-1. After: the provider's region and zones.

The last tests run this rule together with region-file-mismatch and awslogs-region-hardcoded on
the same code and check that no literal is reported twice.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.engine import run as run_engine
from iacfix.registry import rule_by_id
from iacfix.results import Safety

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES_DIR = FIXTURES / "hardcoded-region-literal"
RULE = "hardcoded-region-literal"
NEIGHBOURS = ("region-file-mismatch", "awslogs-region-hardcoded")
STACK_REGION = "eu-south-1"
STACK_ZONES = ["eu-south-1a", "eu-south-1b", "eu-south-1c"]
PROVIDER_REGION = "ap-northeast-3"


class RegionMocks(pulumi.runtime.Mocks):
    """Records resource inputs; answers getRegion / getAvailabilityZones / getCallerIdentity."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, Any]]] = []
        self.provider_regions: dict[str, str] = {}
        self.invokes: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        resource_id = f"{args.name}_id"
        if args.typ == "pulumi:providers:aws":
            self.provider_regions[resource_id] = args.inputs["region"]
        outputs = {"name": args.name, "bucket": args.name, "url": f"https://queue/{args.name}",
                   "dashboardName": args.inputs.get("dashboardName", args.name), **args.inputs,
                   "arn": f"arn:aws:mock:{STACK_REGION}:111111111111:{args.name}"}
        return [resource_id, outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.invokes.append(args.token)
        region = STACK_REGION
        if args.provider:  # "urn::id" of the provider the invoke was sent to
            region = self.provider_regions[args.provider.rsplit("::", 1)[-1]]
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region,
                    "endpoint": f"ec2.{region}.amazonaws.com", "description": "mock"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            assert args.args.get("state") in (None, "available")
            return {"id": region, "names": STACK_ZONES, "zoneIds": ["eus1-az1", "eus1-az2", "eus1-az3"],
                    "groupNames": [region], "region": region}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "111111111111", "arn": "arn:aws:iam::111111111111:user/ci",
                    "id": "111111111111", "userId": "AIDA"}
        raise AssertionError(f"unexpected invoke {args.token}")


def run_program(path: Path, build: Callable[[dict[str, Any]], object] | None) -> tuple[RegionMocks, dict]:
    """Run `path` as a Pulumi program under fresh mocks; `build` instantiates its component and
    may return Outputs to resolve (name -> Output)."""
    mocks = RegionMocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack="test", preview=False)
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        namespace = runpy.run_path(str(path), run_name="__pulumi_program__")
        outputs = build(namespace) if build is not None else None
        if not outputs:
            return None
        names = sorted(outputs)
        return pulumi.Output.all(*[outputs[n] for n in names]).apply(
            lambda values: resolved.update(zip(names, values))
        )

    program()
    return mocks, resolved


def inputs_of(mocks: RegionMocks, typ: str) -> list[dict[str, Any]]:
    found = [inputs for t, _, inputs in mocks.resources if t == typ]
    assert found, f"the program registered no {typ}"
    return found


def widget_regions(mocks: RegionMocks) -> list[str]:
    regions = []
    for inputs in inputs_of(mocks, "aws:cloudwatch/dashboard:Dashboard"):
        body = json.loads(inputs["dashboardBody"])  # raises if not valid JSON
        regions += [widget["properties"]["region"] for widget in body["widgets"]]
    return regions


# -- the cases: how to run each program and what it says about regions ---------------------------


def example(mocks_and_outputs) -> dict[str, Any]:
    mocks, _ = mocks_and_outputs
    return {"widgets": widget_regions(mocks)}


def inside_output_apply(mocks_and_outputs) -> dict[str, Any]:
    mocks, _ = mocks_and_outputs
    (rule,) = inputs_of(mocks, "aws:cloudwatch/eventRule:EventRule")
    return {"widgets": widget_regions(mocks), "pattern": json.loads(rule["eventPattern"])["region"]}


def endpoints(mocks_and_outputs) -> dict[str, Any]:
    mocks, outputs = mocks_and_outputs
    (endpoint,) = inputs_of(mocks, "aws:ec2/vpcEndpoint:VpcEndpoint")
    (key,) = inputs_of(mocks, "aws:kms/key:Key")
    (function,) = inputs_of(mocks, "aws:lambda/function:Function")
    principal = json.loads(key["policy"])["Statement"][1]["Principal"]["Service"]
    return {
        "service_name": endpoint["serviceName"],
        "principal": principal,
        "sqs": function["environment"]["variables"]["SQS_ENDPOINT"],
        "package_url": outputs["package_url"],
    }


def availability_zones(mocks_and_outputs) -> dict[str, Any]:
    mocks, _ = mocks_and_outputs
    # Sorted: the subnets of a loop register in no fixed order.
    subnets = sorted(i["availabilityZone"] for i in inputs_of(mocks, "aws:ec2/subnet:Subnet"))
    (volume,) = inputs_of(mocks, "aws:ebs/volume:Volume")
    (cluster,) = inputs_of(mocks, "aws:rds/cluster:Cluster")
    return {"subnets": subnets, "volume": volume["availabilityZone"],
            "cluster": cluster["availabilityZones"]}


def pinned_v6(mocks_and_outputs) -> dict[str, Any]:
    mocks, _ = mocks_and_outputs
    return {"widgets": widget_regions(mocks)}


def explicit_provider(mocks_and_outputs) -> dict[str, Any]:
    mocks, _ = mocks_and_outputs
    return {"widgets": widget_regions(mocks)}


def stack_region_matches(mocks_and_outputs) -> dict[str, Any]:
    mocks, _ = mocks_and_outputs
    return {"widgets": widget_regions(mocks)}


def component(class_name: str, *args: Any, outputs: tuple[str, ...] = (), **kwargs: Any):
    def build(namespace: dict[str, Any]):
        instance = namespace[class_name](*args, **kwargs)
        return {name: getattr(instance, name) for name in outputs}
    return build


def log_group_stack(namespace: dict[str, Any]) -> None:
    import pulumi_aws as aws

    namespace["LogsDashboard"]("logs", aws.cloudwatch.LogGroup("ecs", name="/ecs/flask-api"))


# case -> (build, observe, before, after)
CASES: dict[str, tuple[Callable | None, Callable, dict[str, Any], dict[str, Any]]] = {
    "example": (
        component("MonitoringStack", "monitoring", pulumi.Output.from_input("app/alb/123")),
        example, {"widgets": ["us-east-1"]}, {"widgets": [STACK_REGION]},
    ),
    "inside_output_apply": (
        component("PipelineMonitoring", "pipeline"), inside_output_apply,
        {"widgets": ["eu-west-1"], "pattern": ["eu-west-1"]},
        {"widgets": [STACK_REGION], "pattern": [STACK_REGION]},
    ),
    "endpoints": (
        component("DeliveryStack", "delivery", "vpc-1", outputs=("package_url",)), endpoints,
        {"service_name": "com.amazonaws.us-east-1.s3", "principal": "logs.us-east-1.amazonaws.com",
         "sqs": "https://sqs.us-east-1.amazonaws.com",
         "package_url": "https://s3.us-east-1.amazonaws.com/artifacts-dev/releases/app.zip"},
        {"service_name": f"com.amazonaws.{STACK_REGION}.s3",
         "principal": f"logs.{STACK_REGION}.amazonaws.com",
         "sqs": f"https://sqs.{STACK_REGION}.amazonaws.com",
         "package_url": f"https://s3.{STACK_REGION}.amazonaws.com/artifacts-dev/releases/app.zip"},
    ),
    "availability_zones": (
        component("NetworkStack", "network"), availability_zones,
        {"subnets": ["us-east-1a", "us-east-1b"], "volume": "us-east-1c",
         "cluster": ["us-east-1a", "us-east-1b", "us-east-1c"]},
        {"subnets": STACK_ZONES[:2], "volume": STACK_ZONES[2], "cluster": STACK_ZONES},
    ),
    "pinned_v6": (None, pinned_v6, {"widgets": ["ap-southeast-2"]}, {"widgets": [STACK_REGION]}),
    "explicit_provider": (
        component("DrMonitoring", "dr", PROVIDER_REGION), explicit_provider,
        {"widgets": ["us-west-2"]}, {"widgets": [PROVIDER_REGION]},
    ),
    "stack_region_matches": (
        log_group_stack, stack_region_matches, {"widgets": ["us-east-1"]}, {"widgets": [STACK_REGION]},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_before_pins_another_region(case: str, monkeypatch) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "dev")
    build, observe, before, _ = CASES[case]
    seen = observe(run_program(CASES_DIR / f"{case}.before.py", build))
    assert seen == before
    assert STACK_REGION not in json.dumps(seen), "before must disagree with the stack's region"


@pytest.mark.parametrize("case", sorted(CASES))
def test_after_follows_the_provider(case: str, monkeypatch) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "dev")
    build, observe, _, after = CASES[case]
    seen = observe(run_program(CASES_DIR / f"{case}.after.py", build))
    assert seen == after


def test_dashboard_body_text_before_and_after(monkeypatch) -> None:
    """Seed 002 §8 as the brief states it: the body says us-east-1 before, eu-south-1 after."""
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "dev")
    build = CASES["example"][0]
    bodies = {}
    for side in ("before", "after"):
        mocks, _ = run_program(CASES_DIR / f"example.{side}.py", build)
        (inputs,) = inputs_of(mocks, "aws:cloudwatch/dashboard:Dashboard")
        bodies[side] = inputs["dashboardBody"]
    assert "us-east-1" in bodies["before"] and STACK_REGION not in bodies["before"]
    assert STACK_REGION in bodies["after"] and "us-east-1" not in bodies["after"]


def test_zones_come_from_the_invoke(monkeypatch) -> None:
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "dev")
    mocks, _ = run_program(CASES_DIR / "availability_zones.after.py", CASES["availability_zones"][0])
    assert "aws:index/getAvailabilityZones:getAvailabilityZones" in mocks.invokes
    before, _ = run_program(CASES_DIR / "availability_zones.before.py", CASES["availability_zones"][0])
    assert before.invokes == []


def test_after_files_are_what_the_rule_produces() -> None:
    """The programs run above are the rule's own output, not hand-edited copies."""
    for case in CASES:
        before = (CASES_DIR / f"{case}.before.py").read_bytes()
        project = ProjectContext(aws_major=6 if case == "pinned_v6" else 7,
                                 region="us-east-1" if case == "stack_region_matches" else None)
        result = fix_source(f"{case}.before.py", before, [rule_by_id(RULE)], Safety.UNSAFE,
                            project=project)
        assert result.output == (CASES_DIR / f"{case}.after.py").read_bytes(), case


# -- unit checks of situations the fixtures do not show -------------------------------------------

PREAMBLE = "import json\nimport pulumi\nimport pulumi_aws as aws\n"


def check(source: str, *, path: str = "lib/tap_stack.py", region: str | None = None):
    result = fix_source(path, (PREAMBLE + source).encode(), [rule_by_id(RULE)], Safety.UNSAFE,
                        project=ProjectContext(aws_major=7, region=region))
    assert result.error is None, result.error
    return result.output.decode()[len(PREAMBLE):], list(result.findings)


@pytest.mark.parametrize(
    "source",
    [
        'aws.Provider("p", region="us-east-1")\n',  # region-file-mismatch's
        'aws.s3.Bucket("b", region="eu-west-1")\n',  # region-file-mismatch's
        'import boto3\nboto3.client("s3", endpoint_url="https://s3.us-east-1.amazonaws.com")\n',
        'x = {"awslogs-region": "us-east-1"}\n',  # awslogs-region-hardcoded's
        'arn = "arn:aws:sns:us-east-1:111111111111:alerts"\n',  # region-file-mismatch's
        'import os\nregion = os.getenv("AWS_REGION", "us-east-1")\n',
        'if aws.get_region().region in ("us-east-1", "us-west-2"):\n    pass\n',
        'amis = {"us-east-1": "ami-1"}\n',
        'tags = {"region": "us-east-1"}\n',  # not JSON, not a widget: a tag is just a label
        'image = "111111111111.dkr.ecr.us-east-1.amazonaws.com/api:1"\n',  # a literal registry
        'pattern = json.dumps({"source": ["aws.ec2"], "region": ["us-east-1", "us-west-2"]})\n',
        '"""Deploys to us-east-1a and sqs.us-east-1.amazonaws.com."""\n',
        'azs = aws.get_availability_zones(exclude_names=["us-east-1e"]).names\n',
    ],
)
def test_leaves_alone(source: str) -> None:
    assert check(source) == (source, [])


def test_test_modules_are_left_alone() -> None:
    source = 'zone = "us-east-1a"\n'
    assert check(source, path="tests/unit/test_network.py") == (source, [])
    assert check("import unittest\n" + source) == ("import unittest\n" + source, [])


def test_fragile_message_when_the_stack_region_is_the_literal() -> None:
    _, findings = check('body = json.dumps({"region": "us-east-1", "metrics": []})\n', region="us-east-1")
    assert "works only because the stack deploys to us-east-1" in findings[0].message
    assert findings[0].safety is Safety.SAFE
    _, findings = check('zone = "us-east-1a"\n', region="us-east-1")
    assert "works only because" in findings[0].message and findings[0].safety is Safety.UNSAFE


def test_zone_fix_is_unsafe_and_withheld_at_the_safe_threshold() -> None:
    source = PREAMBLE + 'aws.ec2.Subnet("s", vpc_id="v", cidr_block="10.0.0.0/24", availability_zone="us-east-1b")\n'
    result = fix_source("lib/net.py", source.encode(), [rule_by_id(RULE)], Safety.SAFE,
                        project=ProjectContext(aws_major=7))
    assert result.output.decode() == source
    assert [(f.safety, f.fixed) for f in result.findings] == [(Safety.UNSAFE, False)]


def test_several_regions_of_zones_are_display_only() -> None:
    _, findings = check('a = "us-east-1a"\nb = "eu-west-1a"\n')
    assert [f.safety for f in findings] == [Safety.DISPLAY_ONLY] * 2


def test_plain_string_with_braces_stays_equivalent() -> None:
    after, _ = check('body = \'{"widgets": [{"properties": {"region": "us-east-1", "q": "{x}"}}]}\'\n')
    namespace: dict[str, Any] = {}

    class Region:
        region = STACK_REGION

    class Aws:
        @staticmethod
        def get_region():
            return Region

    exec(after, {"aws": Aws}, namespace)  # noqa: S102 - our own fixed test code
    assert json.loads(namespace["body"])["widgets"][0]["properties"] == {"region": STACK_REGION, "q": "{x}"}


# -- no literal is reported by two region rules -------------------------------------------------


def write_project(root: Path, files: dict[str, bytes]) -> None:
    (root / "lib").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: tap\nruntime: python\nmain: tap.py\n")
    (root / "Pulumi.dev.yaml").write_text(f"config:\n  aws:region: {STACK_REGION}\n")
    (root / "tap.py").write_text("import pulumi\n")
    for name, data in files.items():
        (root / "lib" / name).write_bytes(data)


def reported_lines(report, rule_ids) -> dict[tuple[str, int], set[str]]:
    found: dict[tuple[str, int], set[str]] = {}
    for finding in report.findings:
        if finding.rule_id in rule_ids:
            found.setdefault((Path(finding.path).name, finding.line), set()).add(finding.rule_id)
    return found


@pytest.mark.parametrize("folder", [RULE, *NEIGHBOURS])
def test_no_literal_is_reported_by_two_region_rules(folder: str, tmp_path, monkeypatch) -> None:
    """The Python fixtures (before, flagged, clean) of each of the three region rules, in a project
    deployed to eu-south-1 and run with all three: each line is reported by at most one of them."""
    files = {
        "_".join(path.relative_to(FIXTURES / folder).parts): path.read_bytes()
        for path in sorted((FIXTURES / folder).rglob("*.py"))
        if not (path.name.endswith(".after.py") or "after" in path.parts)
    }
    root = tmp_path / "project"
    write_project(root, files)
    monkeypatch.chdir(tmp_path)
    rules = [rule_by_id(RULE), *(rule_by_id(n) for n in NEIGHBOURS)]
    report = run_engine([root], rules, None)
    lines = reported_lines(report, {RULE, *NEIGHBOURS})
    twice = {where: ids for where, ids in lines.items() if len(ids) > 1}
    assert not twice, twice
    assert any(folder in ids for ids in lines.values()), "the folder's own rule must fire"


def test_seed_001_literals_each_have_one_owner(tmp_path, monkeypatch) -> None:
    """One module with every kind of literal: each is reported once, by its owner."""
    program = PREAMBLE + (
        'import boto3\n'
        'provider = aws.Provider("use1", region="us-east-1")\n'                       # 5: see below
        'client = boto3.client("logs", region_name="us-east-1")\n'                   # 6: mismatch
        'topic = "arn:aws:sns:us-east-1:111111111111:alerts"\n'                      # 7: mismatch
        'aws.ecs.TaskDefinition("t", family="t", container_definitions=json.dumps([{"name": "a", '
        '"logConfiguration": {"options": {"awslogs-region": "us-east-1"}}}]))\n'     # 8: awslogs
        'aws.cloudwatch.Dashboard("d", dashboard_body=json.dumps({"widgets": [{"type": "metric", '
        '"properties": {"metrics": [], "region": "us-east-1"}}]}))\n'                # 9: this rule
        'aws.ec2.Subnet("s", vpc_id="v", cidr_block="10.0.0.0/24", availability_zone="us-east-1a")\n'  # 10
    )
    root = tmp_path / "project"
    write_project(root, {"tap_stack.py": program.encode()})
    monkeypatch.chdir(tmp_path)
    report = run_engine([root], [rule_by_id(RULE), *(rule_by_id(n) for n in NEIGHBOURS)], None)
    lines = reported_lines(report, {RULE, *NEIGHBOURS})
    # Line 5: beside resources on the default provider, region-file-mismatch takes a provider
    # pinned to a region as a deliberate second region; this rule never reads aws.Provider.
    assert lines == {
        ("tap_stack.py", 6): {"region-file-mismatch"},
        ("tap_stack.py", 7): {"region-file-mismatch"},
        ("tap_stack.py", 8): {"awslogs-region-hardcoded"},
        ("tap_stack.py", 9): {RULE},
        ("tap_stack.py", 10): {RULE},
    }
