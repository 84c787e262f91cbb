"""The five seed projects: every documented failure is found, every fixable one is fixed, and the
fixed programs run under Pulumi's mock runtime with the corrected values.

`fixtures/seed-NNN/before/` is the failing program rebuilt from write-up NNN (its own names and
shapes; its pyproject.toml sets what the write-up implies, e.g. the ephemeral profile of a test
stack). `findings.txt` lists, one per line, `path:line rule-id fixed|reported` for what
`iacfix check --unsafe-fixes` reports: the exact list, so that a rule that stops firing (or starts
firing) on a seed is a loud failure. `after/` is the tree `iacfix apply --unsafe-fixes` leaves.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pulumi_program import ACCOUNT, run_project
from typer.testing import CliRunner

from iacfix.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEEDS = sorted(p.name for p in FIXTURES.glob("seed-*") if p.is_dir())
RDS_FORBIDDEN = set('/@" ')


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not {"__pycache__", ".iacfix_cache"} & set(p.parts)}


def expected_findings(seed: str) -> list[str]:
    lines = (FIXTURES / seed / "findings.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def reported(root: Path) -> list[str]:
    result = invoke("check", "--unsafe-fixes", "--output-format", "json", str(root))
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    return [f"{Path(f['path']).relative_to(root).as_posix() if Path(f['path']).is_absolute() else f['path']}:"
            f"{f['line']} {f['rule']} {'fixed' if f['fixed'] else 'reported'}" for f in findings]


@pytest.fixture
def project(request, tmp_path, monkeypatch) -> Path:
    root = tmp_path / request.param
    shutil.copytree(FIXTURES / request.param / "before", root)
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("project", SEEDS, indirect=True)
def test_check_reports_exactly_the_documented_failures(project):
    assert reported(Path(".")) == expected_findings(project.name)


@pytest.mark.parametrize("project", SEEDS, indirect=True)
def test_apply_unsafe_fixes_fixes_every_fixable_failure(project):
    result = invoke("apply", "--unsafe-fixes", ".")
    assert result.exit_code in (0, 1), result.output
    assert tree(project) == tree(FIXTURES / project.name / "after"), "the fixed seed differs from after/"
    again = invoke("check", "--unsafe-fixes", "--output-format", "json", ".")
    remaining = json.loads(again.stdout)["findings"]
    assert not [f for f in remaining if f["fixed"]], "a second run still has fixes to make"
    assert len(remaining) == sum(line.endswith(" reported") for line in expected_findings(project.name))


# --- the fixed programs, run under Pulumi's mock runtime with the real pulumi_aws ---------------


def run_seed(seed: str, state: str, **kwargs):
    run = run_project(FIXTURES / seed / state, **kwargs)
    assert run.ok, run.error
    return run


def plain(value):
    return value["secret"] if isinstance(value, dict) and set(value) == {"secret"} else value


def containers(task_definition) -> list[dict]:
    return json.loads(plain(task_definition.inputs["containerDefinitions"]))


def container_image(run, family_prefix: str) -> str:
    [task] = [t for t in run.of_type("aws:ecs/taskDefinition:TaskDefinition")
              if t.inputs["family"].startswith(family_prefix)]
    return containers(task)[0]["image"]


def log_region(run) -> str:
    [task] = run.of_type("aws:ecs/taskDefinition:TaskDefinition")
    return containers(task)[0]["logConfiguration"]["options"]["awslogs-region"]


def test_seed_000_logs_in_the_stack_region_and_the_image_comes_from_config():
    other_region = {"aws:region": "eu-west-1"}
    before = run_seed("seed-000", "before", config=other_region)
    after = run_seed("seed-000", "after", config=other_region)
    assert log_region(before) == "us-east-1" and log_region(after) == "eu-west-1"
    image = "342597974367.dkr.ecr.us-east-1.amazonaws.com/ml-api:1.4.2"
    configured = run_seed("seed-000", "after", config={"TapStack:containerImage": image})
    assert container_image(after, "ml-api") == "public.ecr.aws/docker/library/nginx:latest"  # default kept
    assert container_image(configured, "ml-api") == image


def test_seed_001_engine_version_offered_in_eu_south_1_and_logs_there():
    before, after = run_seed("seed-001", "before"), run_seed("seed-001", "after")
    assert before.one("aws:rds/cluster:Cluster").inputs["engineVersion"] == "15.4"
    assert after.one("aws:rds/cluster:Cluster").inputs["engineVersion"] == "15.6"
    assert log_region(before) == "us-east-1" and log_region(after) == "eu-south-1"
    password = plain(after.one("aws:rds/cluster:Cluster").inputs["masterPassword"])
    assert len(password) == 32 and not RDS_FORBIDDEN & set(password)


def test_seed_002_password_from_random_password_engine_region_and_config_namespace():
    config = {"TapStack:environmentSuffix": "pr42"}
    before, after = run_seed("seed-002", "before", config=config), run_seed("seed-002", "after", config=config)
    cluster_before, cluster_after = (r.one("aws:rds/cluster:Cluster") for r in (before, after))
    assert cluster_before.inputs["engineVersion"] == "15.3" and cluster_after.inputs["engineVersion"] == "15.6"
    assert plain(cluster_before.inputs["masterPassword"]) == "ChangeMe123!TempPassword"
    assert not before.of_type("random:index/randomPassword:RandomPassword")
    generated = after.one("random:index/randomPassword:RandomPassword")
    assert generated.inputs["length"] >= 16 and not RDS_FORBIDDEN & set(generated.inputs["overrideSpecial"])
    assert cluster_after.inputs["masterPassword"] == {"secret": "Mock-Random-Password-0123456789abcdef"[:32]}
    [dashboard_before], [dashboard_after] = (r.of_type("aws:cloudwatch/dashboard:Dashboard") for r in (before, after))
    assert '"region": "us-east-1"' in dashboard_before.inputs["dashboardBody"]
    assert '"region": "eu-west-1"' in dashboard_after.inputs["dashboardBody"]
    # Pulumi.yaml named the project pulumi-infra, so the stack's TapStack:* config was never read.
    assert cluster_before.inputs["clusterIdentifier"] == "payment-db-cluster-dev"
    assert cluster_after.inputs["clusterIdentifier"] == "payment-db-cluster-pr42"
    assert "pulumi-random" in (FIXTURES / "seed-002" / "after" / "requirements.txt").read_text()


def test_seed_003_image_in_the_deploying_account_and_single_az_test_database():
    before, after = run_seed("seed-003", "before"), run_seed("seed-003", "after")
    assert container_image(before, "api").startswith("123456789012.")
    assert container_image(after, "api") == f"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/api:latest"
    assert before.one("aws:rds/instance:Instance").inputs["multiAz"] is True
    assert after.one("aws:rds/instance:Instance").inputs["multiAz"] is False


def test_seed_004_bucket_name_carries_account_and_region():
    before, after = run_seed("seed-004", "before"), run_seed("seed-004", "after")
    assert before.one("aws:s3/bucketV2:BucketV2").inputs["bucket"] == "api-logs-dev"
    assert after.one("aws:s3/bucketV2:BucketV2").inputs["bucket"] == f"api-logs-dev-{ACCOUNT}-eu-west-1"
