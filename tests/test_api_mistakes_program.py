"""The provider-aware rules on a whole generated-looking program with twenty API mistakes
(tests/data/api_mistakes): `iacfix check` reports each with the exact resource and keyword (or
name), `apply` fixes every one (each has a confirmed fix), and the fixed program constructs under
Pulumi's mock runtime with the real pulumi_aws, where the original stops at its first mistake.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iacfix.cli import app
from iacfix.verify import Program, run_program

DATA = Path(__file__).resolve().parent / "data" / "api_mistakes"
STACK = "lib/tap_stack.py"

#: (rule, line in lib/tap_stack.py, what the message must name): the twenty mistakes.
EXPECTED = [
    ("pulumi-aws-nonexistent-symbol", 28, ("get_region()", "`.name`", "`.region`")),
    ("pulumi-aws-unknown-kwarg", 38, ("`ec2.InternetGateway`", "`depends_on=`")),
    ("pulumi-aws-unknown-kwarg", 44, ("`ec2.Eip`", "`vpc=`", 'domain="vpc"')),
    ("pulumi-aws-nonexistent-symbol", 45, ("`lb.ApplicationLoadBalancer`", "`lb.LoadBalancer`")),
    ("pulumi-aws-unknown-kwarg", 53, ("`sqs.Queue`", "`visibility_timeout=`", "`visibility_timeout_seconds=`")),
    ("pulumi-aws-unknown-kwarg", 56, ("`dynamodb.Table`", "`table_name=`", "`name=`")),
    ("pulumi-aws-nonexistent-module", 63, ("`pulumi_aws.logs`", "`LogGroup`", "`pulumi_aws.cloudwatch`")),
    ("pulumi-aws-unknown-kwarg", 64, ("`cloudwatch.LogGroup`", "`retention_days=`", "`retention_in_days=`")),
    ("pulumi-aws-unknown-kwarg", 70, ("`iam.Role`", "`assume_role_policy_document=`", "`assume_role_policy=`")),
    ("pulumi-aws-unknown-kwarg", 86, ("`lambda_.Function`", "`memory=`", "`memory_size=`")),
    ("pulumi-aws-unknown-kwarg", 100, ("`cloudwatch.MetricAlarm`", "`alarm_name=`", "`name=`")),
    ("pulumi-aws-nonexistent-module", 125, ("`pulumi_aws.stepfunctions`", "`StateMachine`", "`pulumi_aws.sfn`")),
    ("pulumi-aws-nonexistent-symbol", 137, ("`rds.DbSubnetGroup`", "`rds.SubnetGroup`")),
    ("pulumi-aws-unknown-kwarg", 150, ("`rds.Instance`", "`master_username=`", "`username=`")),
    ("pulumi-aws-unknown-kwarg", 159, ("`elasticache.ReplicationGroup`", "`replication_group_description=`",
                                       "`description=`")),
    ("pulumi-aws-unknown-kwarg", 161, ("`elasticache.ReplicationGroup`", "`number_cache_clusters=`",
                                       "`num_cache_clusters=`")),
    ("pulumi-aws-unknown-kwarg", 171, ("`s3.Bucket`", "`versioning=`", "`BucketVersioning`")),
    ("pulumi-aws-unknown-kwarg", 178, ("`ecr.Repository`", "`encryption_configuration=`",
                                       "`encryption_configurations=[...]`")),
    ("pulumi-aws-unknown-kwarg", 196, ("`codepipeline.Pipeline`", "`artifact_store=`", "`artifact_stores=[...]`")),
    ("pulumi-aws-unknown-kwarg", 234, ("`apigateway.Deployment`", "`stage_name=`", "`Stage`")),
]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".iacfix_cache" not in p.parts}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "tap"
    shutil.copytree(DATA / "before", root)
    monkeypatch.chdir(root)
    return root


def test_twenty_mistakes_each_reported_with_resource_and_keyword(project):
    result = CliRunner().invoke(app, ["check", "--no-cache", "--output-format", "json", "."])
    assert result.exit_code == 1, result.output
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"].startswith("pulumi-aws-")]
    assert len(EXPECTED) == len({(rule, line) for rule, line, _ in EXPECTED}) == 20
    assert sorted((f["rule"], f["path"], f["line"]) for f in findings) == sorted(
        (rule, STACK, line) for rule, line, _ in EXPECTED)
    by_line = {(f["rule"], f["line"]): f for f in findings}
    for rule, line, names in EXPECTED:
        message = by_line[(rule, line)]["message"]
        assert all(name in message for name in names), (line, message)
        assert by_line[(rule, line)]["safety"] in ("safe", "unsafe"), "each mistake has a confirmed fix"


def test_apply_fixes_all_twenty_and_the_fixed_program_constructs(project):
    before = run_program(Program.load(project))
    assert not before.ok and ("AttributeError" in before.error.message or "TypeError" in before.error.message), \
        before.error

    result = CliRunner().invoke(app, ["apply", "--no-cache", "--unsafe-fixes", "--select", "pulumi-aws-", "."])
    assert result.exit_code == 0, result.output  # 0: nothing of the selected rules remains unfixed
    assert "Fixed 20 findings in 1 file; 0 findings remain." in result.output
    assert tree(project) == tree(DATA / "after"), "the fixed project differs from tests/data/api_mistakes/after"

    after = run_program(Program.load(project))
    assert after.ok, after.error
    types = {r.type for r in after.resources}
    assert {"aws:apigateway/stage:Stage", "aws:s3/bucketVersioning:BucketVersioning",
            "aws:sfn/stateMachine:StateMachine", "aws:lb/loadBalancer:LoadBalancer",
            "aws:rds/subnetGroup:SubnetGroup"} <= types
    stage = after.one("aws:apigateway/stage:Stage")
    assert stage.inputs["stageName"] == "dev"
    cache = after.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert (cache.inputs["description"], cache.inputs["numCacheClusters"]) == ("Order sessions (dev)", 2)
    assert after.one("aws:ec2/eip:Eip").inputs["domain"] == "vpc"
    assert after.one("aws:ecr/repository:Repository").inputs["encryptionConfigurations"] == [
        {"encryptionType": "AES256"}]
