"""Real boto3 (botocore + moto) against the fixtures of the two boto3 rules.

- `describe-secret-name`: every `before` fixture fails with botocore's ParamValidationError;
  its `after` runs clean against moto's Secrets Manager, except at the lines where the rule
  reported a display-only finding (which it deliberately did not rewrite).
- `vpc-dns-attribute-from-describe-vpcs`: every `before` fixture raises KeyError (or, for
  `.get()`, fails its assertion) on the real describe_vpcs response; its `after` gets the
  booleans from describe_vpc_attribute, again except at display-only lines.

The fixture modules are run as they are: executed with `runpy` inside `mock_aws()`, with fake
credentials and `AWS_REGION` / `AWS_DEFAULT_REGION` set, and their unittest classes (or their
`main()`) run. The rule tables are also checked against botocore's service models.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
import unittest
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ParamValidationError
from moto import mock_aws

from iacfix.codemods.describe_secret_name import SECRET_ID_OPERATIONS, WRONG_SPELLINGS
from iacfix.codemods.vpc_dns_attribute_from_describe_vpcs import ATTRIBUTES
from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.registry import rule_by_id
from iacfix.results import Safety

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SECRETS = "describe-secret-name"
VPCS = "vpc-dns-attribute-from-describe-vpcs"
REGION = "eu-south-1"
SUFFIX = "dev"
SECRET_NAME = f"flask-api-db-credentials-{SUFFIX}"


# -- the rule tables agree with botocore -----------------------------------------------------


def _model(service: str):
    return botocore.session.get_session().get_service_model(service)


def test_secret_id_operations_match_botocore() -> None:
    model = _model("secretsmanager")
    expected = set()
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        if shape is not None and "SecretId" in shape.members:
            expected.add(xform_name(name))
    assert expected == set(SECRET_ID_OPERATIONS)
    assert "create_secret" not in SECRET_ID_OPERATIONS


def test_wrong_spellings_are_no_parameter_of_those_operations() -> None:
    model = _model("secretsmanager")
    for name in model.operation_names:
        if xform_name(name) in SECRET_ID_OPERATIONS:
            members = set(model.operation_model(name).input_shape.members)
            assert not members & WRONG_SPELLINGS, name


def test_dns_keys_are_describe_vpc_attribute_only() -> None:
    model = _model("ec2")
    vpc_members = set(model.shape_for("Vpc").members)
    operation = model.operation_model("DescribeVpcAttribute")
    assert not vpc_members & set(ATTRIBUTES), "describe_vpcs items now carry a DNS key"
    assert set(ATTRIBUTES.values()) == set(operation.input_shape.members["Attribute"].enum)
    assert set(ATTRIBUTES) <= set(operation.output_shape.members)


# -- the key statements, as in seed 001 ------------------------------------------------------


def test_seed_statements(aws) -> None:
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=SECRET_NAME, SecretString="{}")["ARN"]
    secret = secrets.list_secrets()["SecretList"][0]
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "Name"'):
        secrets.describe_secret(Name=secret["Name"])
    assert secrets.describe_secret(SecretId=secret["Name"])["ARN"] == arn

    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    with pytest.raises(KeyError, match="EnableDnsHostnames"):
        vpc["EnableDnsHostnames"]
    value = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")[
        "EnableDnsHostnames"
    ]["Value"]
    assert value is True


# -- every fixture, before and after ---------------------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "ENVIRONMENT_SUFFIX": SUFFIX,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _secrets_world() -> None:
    key = boto3.client("kms").create_key(Description="tap secrets")["KeyMetadata"]["KeyId"]
    boto3.client("secretsmanager").create_secret(
        Name=SECRET_NAME,
        KmsKeyId=key,
        SecretString='{"username": "flaskadmin", "password": "' + "p" * 32 + '"}',
    )


def _vpc_world(monkeypatch) -> None:
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[
            {
                "ResourceType": "vpc",
                "Tags": [
                    {"Key": "Name", "Value": f"flask-api-vpc-{SUFFIX}"},
                    {"Key": "Environment", "Value": SUFFIX},
                ],
            }
        ],
    )["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    monkeypatch.setenv("VPC_ID", vpc_id)


class _Recorder(unittest.TestResult):
    """Keeps the exception objects (unittest keeps only formatted tracebacks)."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[BaseException] = []

    def addError(self, test, err) -> None:  # noqa: N802 - unittest's API
        super().addError(test, err)
        self.problems.append(err[1].with_traceback(err[2]))

    def addFailure(self, test, err) -> None:  # noqa: N802
        super().addFailure(test, err)
        self.problems.append(err[1].with_traceback(err[2]))

    def addSubTest(self, test, subtest, err) -> None:  # noqa: N802
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.problems.append(err[1].with_traceback(err[2]))


def _run_fixture(path: Path) -> list[BaseException]:
    """Execute a fixture module and run its unittest classes (or its `main()`)."""
    problems: list[BaseException] = []
    sys.modules.pop("fixture_under_test", None)
    try:
        namespace = runpy.run_path(str(path), run_name="fixture_under_test")
    except Exception as error:  # noqa: BLE001 - a module-level failure is a result too
        return [error]
    cases = [
        value
        for value in namespace.values()
        if isinstance(value, type)
        and issubclass(value, unittest.TestCase)
        and value.__module__ == "fixture_under_test"
    ]
    if cases:
        loader = unittest.defaultTestLoader
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(case) for case in cases)
        result = _Recorder()
        suite.run(result)
        assert result.testsRun or result.problems, f"{path.name}: no test ran"
        assert not result.skipped, f"{path.name}: skipped {result.skipped}"
        problems += result.problems
    else:
        try:
            namespace["main"]()
        except Exception as error:  # noqa: BLE001
            problems.append(error)
    return problems


def _line_in(error: BaseException, path: Path) -> int | None:
    """The innermost line of `path` in the error's traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if frame.filename == str(path)]
    return lines[-1] if lines else None


def _display_only_lines(rule_id: str, path: Path) -> set[int]:
    result = fix_source(path.name, path.read_bytes(), [rule_by_id(rule_id)], Safety.UNSAFE,
                        project=ProjectContext(aws_major=7))
    return {f.line for f in result.findings if f.safety is Safety.DISPLAY_ONLY}


def _cases(rule_id: str) -> list[str]:
    befores = (FIXTURES / rule_id).glob("*.before.py")
    return sorted(path.name.removesuffix(".before.py") for path in befores)


def _assert_broken_before(path: Path, is_the_bug) -> None:
    problems = _run_fixture(path)
    assert problems, f"{path.name} ran clean before the fix"
    assert any(is_the_bug(p) for p in problems), [repr(p) for p in problems]
    for problem in problems:
        assert is_the_bug(problem), f"{path.name}: unrelated failure {problem!r}"


def _assert_fixed_after(rule_id: str, path: Path, is_the_bug) -> None:
    allowed = _display_only_lines(rule_id, path)
    for problem in _run_fixture(path):
        assert is_the_bug(problem) and _line_in(problem, path) in allowed, (
            f"{path.name}: {problem!r} at line {_line_in(problem, path)}, "
            f"display-only lines {sorted(allowed)}\n"
            + "".join(traceback.format_exception(problem))
        )


def _param_validation(problem: BaseException) -> bool:
    return isinstance(problem, ParamValidationError) and "Unknown parameter" in str(problem)


def _missing_dns_key(problem: BaseException) -> bool:
    if isinstance(problem, KeyError):
        return problem.args[0] in ATTRIBUTES
    # `.get("EnableDnsSupport", False)` never raises: the assertion on its default fails.
    return isinstance(problem, AssertionError) and "DNS resolution is off" in str(problem)


@pytest.mark.parametrize("case", _cases(SECRETS))
def test_describe_secret_name_before_fails_after_works(aws, case: str) -> None:
    _secrets_world()
    _assert_broken_before(FIXTURES / SECRETS / f"{case}.before.py", _param_validation)
    _assert_fixed_after(SECRETS, FIXTURES / SECRETS / f"{case}.after.py", _param_validation)


@pytest.mark.parametrize("case", _cases(VPCS))
def test_vpc_dns_attribute_before_fails_after_works(aws, monkeypatch, case: str) -> None:
    _vpc_world(monkeypatch)
    _assert_broken_before(FIXTURES / VPCS / f"{case}.before.py", _missing_dns_key)
    _assert_fixed_after(VPCS, FIXTURES / VPCS / f"{case}.after.py", _missing_dns_key)


def test_after_code_reads_the_real_values(aws, monkeypatch) -> None:
    """The fixed read returns what describe_vpc_attribute says, False as well as True."""
    _vpc_world(monkeypatch)
    ec2 = boto3.client("ec2")
    vpc_id = os.environ["VPC_ID"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": False})
    path = FIXTURES / VPCS / "example.after.py"
    problems = _run_fixture(path)
    assert len(problems) == 1 and isinstance(problems[0], AssertionError), problems
    assert "False is not true" in str(problems[0])
