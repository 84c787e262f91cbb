"""placeholder-account-id and placeholder-container-image against the real pulumi_aws.

Every fixture's before and after program runs under Pulumi's mock runtime with the installed
pulumi_aws (7.x). The mocks record the inputs of every resource and answer
`aws:index/getCallerIdentity:getCallerIdentity` with the deploying account, 342597974367 (the real
account of seed 003), and `getRegion` with ap-southeast-1.

- placeholder-account-id: before, the inputs the engine receives (the task definition's
  `containerDefinitions` JSON in the seed's example, policies, ARNs) name the placeholder account;
  after, the deploying account and no placeholder.
- placeholder-container-image: before, the image is the sample whatever the stack config says
  (seed 003 had to edit code to deploy its image); after, the configured image is used when the
  config key is set (`pulumi.runtime.set_all_config`, what `pulumi config set` feeds a program),
  and the old value is the default when it is not, so `pulumi up` shows no change.
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ACCOUNT = "342597974367"
REGION = "ap-southeast-1"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
PLACEHOLDERS = ("123456789012", "000000000000", "111122223333", "ACCOUNT_ID", "<account-id>",
                "{account_id}", "XXXXXXXXXXXX")


class Mocks(pulumi.runtime.Mocks):
    """Records resource inputs; answers the two invokes the fixed programs make."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, Any]]] = []
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        return [f"{args.name}_id", {
            "name": args.name,
            "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{args.name}",
            "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{args.name}",
            **args.inputs,
            "arn": f"arn:aws:mock:{REGION}:{ACCOUNT}:{args.name}",
        }]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                    "id": ACCOUNT, "userId": "AIDAEXAMPLE"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION,
                    "endpoint": f"ec2.{REGION}.amazonaws.com", "description": "mock"}
        raise AssertionError(f"unexpected invoke {args.token}")


Build = Callable[[dict[str, Any]], object] | None


def run_program(path: Path, build: Build, config: dict[str, str] | None = None) -> Mocks:
    """Run `path` as a Pulumi program of project "tap" under fresh mocks and stack config."""
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack="test", preview=False)
    pulumi.runtime.set_all_config({f"tap:{key}": value for key, value in (config or {}).items()})

    @pulumi.runtime.test
    def program() -> None:
        namespace = runpy.run_path(str(path), run_name="__pulumi_program__")
        if build is not None:
            build(namespace)

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    return mocks


def all_inputs(mocks: Mocks) -> str:
    """Every input of every resource, as one JSON text to search."""
    assert mocks.resources, "the program registered no resource"
    return json.dumps([inputs for _, _, inputs in mocks.resources], default=str)


def images(mocks: Mocks) -> list[str]:
    """The image of every container of every task definition, from the parsed JSON."""
    found = []
    for typ, _, inputs in mocks.resources:
        if typ == TASK_DEFINITION:
            found += [c["image"] for c in json.loads(inputs["containerDefinitions"])]
    assert found, "the program registered no task definition"
    return found


def component(class_name: str, *args: Any) -> Build:
    def build(namespace: dict[str, Any]) -> object:
        resolved = [arg(namespace) if callable(arg) else arg for arg in args]
        return namespace[class_name]("tap", *resolved)
    return build


def fixed(rule_id: str, case: str, major: int = 7, region: str | None = None) -> bytes:
    before = (FIXTURES / rule_id / f"{case}.before.py").read_bytes()
    result = fix_source(f"{case}.before.py", before, [rule_by_id(rule_id)], Safety.UNSAFE,
                        project=ProjectContext(aws_major=major, region=region))
    assert result.error is None
    return result.output


# -- placeholder-account-id ------------------------------------------------------------------

ACCOUNT_RULE = "placeholder-account-id"
ACCOUNT_CASES: dict[str, Build] = {
    "example": component("TapStack"),
    "aliased_import": component("QueueStack", "dev"),
    "inside_output_apply": component("StorageStack", "dev"),
    "output_concat": None,
    "fstring_and_template": None,
    "stack_region": component("TapStack"),
    "pinned_v6": component("TapStack"),  # `.name` of get_region(): still there in pulumi_aws 7
    "comment_on_line": lambda ns: ns["IngestStack"](
        "tap",
        ns["aws"].lambda_.Function("handler", role="r", runtime="python3.12",
                                   handler="app.handler", code=pulumi.StringAsset("x")),
        ns["aws"].s3.Bucket("uploads"),
    ),
}


def test_example_task_definition_pulls_from_the_placeholder_account_before() -> None:
    mocks = run_program(FIXTURES / ACCOUNT_RULE / "example.before.py", ACCOUNT_CASES["example"])
    assert images(mocks) == ["123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/api:latest"]


def test_example_task_definition_pulls_from_the_deploying_account_after() -> None:
    mocks = run_program(FIXTURES / ACCOUNT_RULE / "example.after.py", ACCOUNT_CASES["example"])
    assert images(mocks) == [f"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/api:latest"]
    assert "aws:index/getCallerIdentity:getCallerIdentity" in mocks.calls


@pytest.mark.parametrize("case", sorted(ACCOUNT_CASES))
def test_placeholder_accounts_before_and_the_deploying_account_after(case: str) -> None:
    build = ACCOUNT_CASES[case]
    before = all_inputs(run_program(FIXTURES / ACCOUNT_RULE / f"{case}.before.py", build))
    after = all_inputs(run_program(FIXTURES / ACCOUNT_RULE / f"{case}.after.py", build))
    assert any(p in before for p in PLACEHOLDERS)
    assert not any(p in after for p in PLACEHOLDERS), after
    assert after.count(ACCOUNT) > before.count(ACCOUNT)


def test_a_format_template_still_formats_after_the_fix() -> None:
    """A plain string that is also a `%` template keeps its `%s`, and its braces their value."""
    mocks = run_program(FIXTURES / ACCOUNT_RULE / "fstring_and_template.after.py", None)
    targets = [i for t, _, i in mocks.resources if t == "aws:cloudwatch/eventTarget:EventTarget"]
    template = targets[0]["inputTransformer"]["inputTemplate"]
    assert template == ('{"order": <order>, "from": '
                        f'"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders"}}')


# -- placeholder-container-image ---------------------------------------------------------------

IMAGE_RULE = "placeholder-container-image"
REAL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/api-synth101000876:pr6148"  # seed 003


@pytest.mark.parametrize(
    ("case", "build", "config", "placeholders"),
    [
        ("example", component("TapStack"), {"containerImage": REAL},
         ["public.ecr.aws/docker/library/nginx:latest"]),
        ("from_import_output_all", component("Compute", "dev", REGION),
         {"containerImage": REAL}, ["nginx:latest"]),
        ("comment_on_line", None, {"containerImage": REAL}, ["nginx:latest"]),
        ("several_containers", None,
         {"paymentApiImage": REAL, "paymentWorkerImage": REAL + "-worker"},
         ["nginx", "amazon/amazon-ecs-sample", "public.ecr.aws/xray/aws-xray-daemon:3.3.13"]),
    ],
)
def test_configured_image_is_deployed_after_and_the_default_is_unchanged(
    case: str, build: Build, config: dict[str, str], placeholders: list[str]
) -> None:
    folder = FIXTURES / IMAGE_RULE
    # before: the sample runs whatever the stack config says
    assert images(run_program(folder / f"{case}.before.py", build, config)) == placeholders
    # after, no config: the same images, so `pulumi up` shows no change
    assert images(run_program(folder / f"{case}.after.py", build)) == placeholders
    # after, with config: the configured images, the rest untouched
    deployed = images(run_program(folder / f"{case}.after.py", build, config))
    assert deployed != placeholders
    if case == "several_containers":
        assert deployed == [REAL, REAL + "-worker", placeholders[2]]
    else:
        assert deployed == [REAL]


def test_lambda_image_uri_from_config() -> None:
    folder = FIXTURES / IMAGE_RULE
    build = component("Processing", "arn:aws:iam::342597974367:role/processor")

    def image_uri(path: Path, config: dict[str, str] | None) -> str:
        mocks = run_program(path, build, config)
        return next(i["imageUri"] for t, _, i in mocks.resources
                    if t == "aws:lambda/function:Function")

    config = {"documentProcessorImageUri": REAL}
    assert image_uri(folder / "lambda_image_uri.before.py", config) == "<your-image-uri>"
    assert image_uri(folder / "lambda_image_uri.after.py", None) == "<your-image-uri>"
    assert image_uri(folder / "lambda_image_uri.after.py", config) == REAL


@pytest.mark.parametrize(
    ("rule_id", "cases"),
    [
        (ACCOUNT_RULE, [(c, 6 if c == "pinned_v6" else 7,
                         REGION if c in ("stack_region", "pinned_v6") else None)
                        for c in ACCOUNT_CASES]),
        (IMAGE_RULE, [(c, 7, None) for c in ("example", "from_import_output_all",
                                             "comment_on_line", "several_containers",
                                             "lambda_image_uri")]),
    ],
)
def test_after_files_are_what_the_rules_produce(rule_id: str, cases: list) -> None:
    """The programs run above are the rules' own output, not hand-edited copies."""
    for case, major, region in cases:
        expected = (FIXTURES / rule_id / f"{case}.after.py").read_bytes()
        assert fixed(rule_id, case, major, region) == expected, case


# -- unit checks of the matching -------------------------------------------------------------

PREAMBLE = "import json\nimport pulumi\nimport pulumi_aws as aws\n"


def check(rule_id: str, source: str, path: str = "lib/tap_stack.py",
          threshold: Safety = Safety.UNSAFE) -> tuple[str, list]:
    result = fix_source(path, source.encode(), [rule_by_id(rule_id)], threshold,
                        project=ProjectContext(aws_major=7))
    assert result.error is None
    return result.output.decode(), list(result.findings)


@pytest.mark.parametrize("path", ["tests/unit/test_tap_stack.py", "lib/test_stack.py",
                                  "tests/integration/helpers.py", "conftest.py"])
def test_account_ids_in_test_code_are_left_alone(path: str) -> None:
    source = PREAMBLE + 'ARN = "arn:aws:iam::123456789012:role/x"\n'
    assert check(ACCOUNT_RULE, source, path) == (source, [])


@pytest.mark.parametrize(
    "value",
    [
        '"arn:aws:iam::127311923021:root"',  # the real ELB account of us-east-1
        '"arn:aws:iam::aws:policy/AdministratorAccess"',
        '"000000000000"',  # not in an ARN, a registry host or a principal
        'b"arn:aws:iam::123456789012:root"',
        '"arn:aws:iam::{account_id}:role/x".format(account_id=a)',
        'f"arn:aws:iam::{{account_id}}:role/x"',
        '"342597974367.dkr.ecr.us-east-1.amazonaws.com/api:1.0"',
    ],
)
def test_account_look_alikes(value: str) -> None:
    source = PREAMBLE + f"value = {value}\n"
    assert check(ACCOUNT_RULE, source) == (source, [])


def test_account_not_a_pulumi_module() -> None:
    source = 'import boto3\nARN = "arn:aws:iam::123456789012:role/x"\n'
    assert check(ACCOUNT_RULE, source) == (source, [])


def test_region_only_providers_keep_the_fix_safe() -> None:
    source = PREAMBLE + (
        'east = aws.Provider("east", region="us-east-1")\n'
        'aws.sns.Topic("t", kms_master_key_id="arn:aws:kms:us-east-1:123456789012:alias/k",'
        " opts=pulumi.ResourceOptions(provider=east))\n"
    )
    after, findings = check(ACCOUNT_RULE, source)
    assert [f.safety for f in findings] == [Safety.SAFE]
    assert "{aws.get_caller_identity().account_id}" in after


def test_principal_list_and_account_argument() -> None:
    source = PREAMBLE + (
        'p = {"AWS": ["111111111111", "arn:aws:iam::aws:policy/x"]}\n'
        'aws.lambda_.Permission("p", action="lambda:InvokeFunction", function="f",'
        ' principal="s3.amazonaws.com", source_account="YOUR_ACCOUNT_ID")\n'
    )
    after, findings = check(ACCOUNT_RULE, source)
    assert len(findings) == 2
    assert 'p = {"AWS": [aws.get_caller_identity().account_id, "arn:aws:iam::aws:policy/x"]}' in after
    assert "source_account=aws.get_caller_identity().account_id)" in after


@pytest.mark.parametrize(
    "image",
    [
        '"nginx:1.27"', '"public.ecr.aws/nginx/nginx:stable"',
        '"nginx@sha256:0f4c2d8e3b9a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"',
        "repo.repository_url", 'config.get("containerImage") or "nginx:latest"',
        'f"{repo_url}:latest"',  # the program's own repository: its tag is its business
        'pulumi.Output.concat(repo.repository_url, ":latest")',
    ],
)
def test_image_look_alikes(image: str) -> None:
    source = PREAMBLE + (
        'repo = aws.ecr.Repository("r")\nrepo_url = "x"\nconfig = pulumi.Config()\n'
        f'json.dumps([{{"name": "api", "image": {image}, "essential": True}}])\n'
    )
    assert check(IMAGE_RULE, source) == (source, [])


def test_image_fix_needs_unsafe_fixes_and_floating_tag_is_report_only() -> None:
    source = PREAMBLE + (
        'json.dumps([{"name": "api", "image": "httpd", "essential": True},\n'
        '            {"name": "agent", "image": "acme/agent:latest", "essential": False}])\n'
    )
    after, findings = check(IMAGE_RULE, source, threshold=Safety.SAFE)
    assert after == source
    assert [(f.safety, f.fixed) for f in findings] == [(Safety.UNSAFE, False),
                                                      (Safety.DISPLAY_ONLY, False)]
    after, findings = check(IMAGE_RULE, source)
    assert '"image": pulumi.Config().get("containerImage") or "httpd"' in after
    assert '"image": "acme/agent:latest"' in after
    assert "pin a version tag or a digest" in findings[1].message


def test_config_assigned_after_the_use_is_not_reused() -> None:
    source = PREAMBLE + (
        'json.dumps([{"name": "api", "image": "nginx", "essential": True}])\n'
        "config = pulumi.Config()\n"
    )
    after, _ = check(IMAGE_RULE, source)
    assert '"image": pulumi.Config().get("containerImage") or "nginx"' in after


def test_keys_already_read_are_not_reused() -> None:
    source = PREAMBLE + (
        'config = pulumi.Config()\nother = config.get("containerImage")\n'
        'json.dumps([{"name": "api", "image": "nginx:latest", "essential": True}])\n'
    )
    after, _ = check(IMAGE_RULE, source)
    assert '"image": config.get("containerImage2") or "nginx:latest"' in after


def test_app_runner_image_identifier() -> None:
    source = PREAMBLE + (
        "aws.apprunner.ServiceSourceConfigurationImageRepositoryArgs(\n"
        '    image_identifier="public.ecr.aws/aws-containers/hello-app-runner:latest",\n'
        '    image_repository_type="ECR_PUBLIC",\n)\n'
    )
    after, findings = check(IMAGE_RULE, source)
    assert len(findings) == 1
    assert ('image_identifier=pulumi.Config().get("appRunnerImage") or '
            '"public.ecr.aws/aws-containers/hello-app-runner:latest"') in after
