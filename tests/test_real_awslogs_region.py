"""awslogs-region-hardcoded against the real pulumi_aws, under Pulumi's mock runtime.

Each fixture's before and after program runs with the installed pulumi_aws (7.x) and mocks that
answer `aws:index/getRegion:getRegion` with the stack's region, eu-south-1 (seed 001 deployed
there), or with the region of the explicit provider the invoke names. The test reads the
`containerDefinitions` input the engine would receive for every `aws:ecs/taskDefinition`, parses
the JSON, and checks every container's `awslogs-region`: before, the literal ("us-east-1" in the
seed) that is not the stack's region, i.e. seed 001's deploy failure; after, valid JSON carrying
the region of the provider the task definition deploys through.
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
from iacfix.registry import rule_by_id
from iacfix.results import Safety

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "awslogs-region-hardcoded"
STACK_REGION = "eu-south-1"
PROVIDER_REGION = "ap-northeast-3"  # the explicit provider's region in the explicit_provider case
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
RULE = "awslogs-region-hardcoded"


class RegionMocks(pulumi.runtime.Mocks):
    """Records resource inputs; answers getRegion with the stack's or the provider's region."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, Any]]] = []
        self.provider_regions: dict[str, str] = {}
        self.region_calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        resource_id = f"{args.name}_id"
        if args.typ == "pulumi:providers:aws":
            self.provider_regions[resource_id] = args.inputs["region"]
        outputs = {
            "name": args.name,  # LogGroup and friends: the physical name when none is given
            "repositoryUrl": f"123456789012.dkr.ecr.{STACK_REGION}.amazonaws.com/{args.name}",
            **args.inputs,
            "arn": f"arn:aws:mock:{STACK_REGION}:123456789012:{args.name}",
        }
        return [resource_id, outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token != "aws:index/getRegion:getRegion":
            raise AssertionError(f"unexpected invoke {args.token}")
        region = STACK_REGION
        if args.provider:  # "urn::id" of the provider the invoke was sent to
            region = self.provider_regions[args.provider.rsplit("::", 1)[-1]]
        self.region_calls.append(region)
        return {
            "name": region,
            "region": region,
            "id": region,
            "endpoint": f"ec2.{region}.amazonaws.com",
            "description": "mock",
        }


def run_program(path: Path, build: Callable[[dict[str, Any]], object] | None) -> RegionMocks:
    """Run `path` as a Pulumi program under fresh mocks; `build` instantiates its component."""
    mocks = RegionMocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack="test", preview=False)

    @pulumi.runtime.test
    def program() -> None:
        namespace = runpy.run_path(str(path), run_name="__pulumi_program__")
        if build is not None:
            build(namespace)

    program()
    return mocks


def awslogs_regions(mocks: RegionMocks) -> list[str]:
    """The awslogs-region of every container of every task definition, from the parsed JSON."""
    regions = []
    definitions = [inputs for typ, _, inputs in mocks.resources if typ == TASK_DEFINITION]
    assert definitions, "the program registered no task definition"
    for inputs in definitions:
        containers = json.loads(inputs["containerDefinitions"])  # raises if not valid JSON
        for container in containers:
            regions.append(container["logConfiguration"]["options"]["awslogs-region"])
    return regions


def tap_stack(namespace: dict[str, Any]) -> object:
    return namespace["TapStack"]("tap")


# case -> (how to instantiate, the literal before, the region after)
CASES: dict[str, tuple[Callable[[dict[str, Any]], object] | None, str, str]] = {
    "example": (tap_stack, "us-east-1", STACK_REGION),
    "from_import": (
        lambda ns: ns["ApiService"]("api", pulumi.Output.from_input("repo/api:1")),
        "eu-central-1",
        STACK_REGION,
    ),
    "json_dumps_dict": (None, "us-east-1", STACK_REGION),
    "pinned_v6": (None, "us-west-2", STACK_REGION),  # `.name`: still works on pulumi_aws 7
    "fstring_json": (tap_stack, "us-east-1", STACK_REGION),
    "plain_string_json": (None, "ap-southeast-2", STACK_REGION),
    "escaped_json_string": (None, "sa-east-1", STACK_REGION),
    "comment_on_line": (tap_stack, "us-east-1", STACK_REGION),
    "explicit_provider": (
        lambda ns: ns["TapStack"]("tap", region=PROVIDER_REGION),
        "us-east-1",
        PROVIDER_REGION,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_before_logs_to_the_wrong_region(case: str) -> None:
    build, literal, stack_region = CASES[case]
    mocks = run_program(FIXTURES / f"{case}.before.py", build)
    regions = awslogs_regions(mocks)
    assert regions and set(regions) == {literal}
    assert literal != stack_region, "before must disagree with the region the task deploys to"
    assert mocks.region_calls == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_after_logs_to_the_provider_region(case: str) -> None:
    build, _, stack_region = CASES[case]
    mocks = run_program(FIXTURES / f"{case}.after.py", build)
    regions = awslogs_regions(mocks)
    assert regions and set(regions) == {stack_region}
    assert mocks.region_calls and set(mocks.region_calls) == {stack_region}


def test_after_files_are_what_the_rule_produces() -> None:
    """The programs run above are the rule's own output, not hand-edited copies."""
    for case in CASES:
        before = (FIXTURES / f"{case}.before.py").read_bytes()
        major = 6 if case == "pinned_v6" else 7
        result = fix_source(f"{case}.before.py", before, [rule_by_id(RULE)],
                            project=ProjectContext(aws_major=major))
        assert result.output == (FIXTURES / f"{case}.after.py").read_bytes(), case


def fix(source: str, major: int | None = 7) -> tuple[str, list]:
    result = fix_source("lib/tap_stack.py", source.encode(), [rule_by_id(RULE)], Safety.SAFE,
                        project=ProjectContext(aws_major=major))
    assert result.error is None
    return result.output.decode(), list(result.findings)


PREAMBLE = "import json\nimport pulumi\nimport pulumi_aws as aws\n"


def evaluate(expression_source: str, region: str = STACK_REGION) -> Any:
    """Evaluate fixed code with a stand-in `aws.get_region()` (no Pulumi runtime needed)."""

    class Result:
        name = region
        def __init__(self, **_: Any) -> None:
            self.region = region

    class Aws:
        get_region = Result

    namespace: dict[str, Any] = {"aws": Aws, "json": json}
    exec(expression_source, namespace)  # noqa: S102 - our own fixed test code
    return namespace["value"]


@pytest.mark.parametrize(
    "literal",
    [
        # braces, a named escape (whose braces must stay single) and an escaped backslash
        '"""{"awslogs-region": "us-east-1", "note": "\\N{EM DASH} {x} \\\\N{y}"}"""',
        'r\'{"awslogs-region": "us-east-1", "path": "C:\\{dir}"}\'',
        'u\'{"awslogs-region": "us-east-1"}\'',
        '"{\\"awslogs-region\\": \\"us-east-1\\"}"',
    ],
)
def test_plain_string_becomes_an_equivalent_fstring(literal: str) -> None:
    before = f"{PREAMBLE}value = {literal}\n"
    after, findings = fix(before)
    assert [f.fixed for f in findings] == [True]
    expected = evaluate(before).replace("us-east-1", STACK_REGION)
    assert evaluate(after) == expected, after


@pytest.mark.parametrize(
    ("source", "safety"),
    [
        # the task definition pins another region with pulumi-aws 7's per-resource region=
        (('aws.ecs.TaskDefinition("t", region="eu-west-3", container_definitions=json.dumps('
          '[{"logConfiguration": {"options": {"awslogs-region": "us-east-1"}}}]))\n'),
         Safety.DISPLAY_ONLY),
        # the provider is built inline: copying it into the invoke would create a second one
        (('aws.ecs.TaskDefinition("t", container_definitions=json.dumps([{"logConfiguration": '
          '{"options": {"awslogs-region": "us-east-1"}}}]), opts=pulumi.ResourceOptions('
          'provider=aws.Provider("p", region="eu-west-1")))\n'), Safety.DISPLAY_ONLY),
        # providers= map: which entry applies is the engine's call
        (('aws.ecs.TaskDefinition("t", container_definitions=json.dumps([{"logConfiguration": '
          '{"options": {"awslogs-region": "us-east-1"}}}]), opts=pulumi.ResourceOptions('
          'providers={"aws": p}))\n'), Safety.DISPLAY_ONLY),
        ('opts = {"awslogs-region": "us-east-1"}\n', Safety.SAFE),
    ],
)
def test_safety_per_situation(source: str, safety: Safety) -> None:
    after, findings = fix(PREAMBLE + source)
    assert [f.safety for f in findings] == [safety]
    if safety is Safety.DISPLAY_ONLY:
        assert after == PREAMBLE + source
        assert "awslogs-region" in findings[0].message


@pytest.mark.parametrize(
    "source",
    [
        'value = {"awslogs-region": "${AWS_REGION}"}\n',  # a template placeholder, not a region
        'value = {"awslogs-region": region}\n',
        'value = {"awslogs-region": f"{region}"}\n',
        '"""{"awslogs-region": "us-east-1"}"""\n',  # a docstring / bare string statement
        'value = b\'{"awslogs-region": "us-east-1"}\'\n',
    ],
)
def test_leaves_alone(source: str) -> None:
    after, findings = fix(PREAMBLE + source)
    assert findings == [] and after == PREAMBLE + source


def test_not_a_pulumi_module() -> None:
    source = 'import boto3\nvalue = {"awslogs-region": "us-east-1"}\n'
    assert fix(source) == (source, [])


def test_unknown_major_uses_name_which_both_majors_have() -> None:
    after, _ = fix(PREAMBLE + 'value = {"awslogs-region": "us-east-1"}\n', major=None)
    assert 'value = {"awslogs-region": aws.get_region().name}' in after
