"""The five seed projects: every documented failure is found, every fixable one is fixed, and the
fixed programs run under Pulumi's mock runtime with the corrected values.

`fixtures/seed-NNN/before/` is the failing program rebuilt from write-up NNN (its own names and
shapes; its pyproject.toml sets what the write-up implies, e.g. the ephemeral profile of a test
stack). `findings.txt` lists, one per line, `path:line rule-id fixed|reported` for what
`iacfix check --unsafe-fixes` reports: the exact list, so that a rule that stops firing (or starts
firing) on a seed is a loud failure. `after/` is the tree `iacfix apply --unsafe-fixes` leaves.

Then `iacfix verify` (iacfix.verify, the same code the command runs) runs each seed's program under
Pulumi's mock runtime before and after `--unsafe-fixes`: the original runs with the documented wrong
values, the fixed one runs, and the resource diff is exactly the intended changes, with a verdict per
fix. One verification per seed, shared by that seed's assertions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from iacfix.cli import app
from typer.testing import CliRunner

from iacfix.config import load as load_config
from iacfix.engine import run
from iacfix.registry import all_rules
from iacfix.results import Safety
from iacfix.verify import Fixes, Program, Verification, diff_lines, run_program, verify
from iacfix.verify_child import ACCOUNT

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


# --- iacfix verify: the programs before and after, under Pulumi's mock runtime --------------------

#: Config set over each seed's stack for its verification (the region the write-up deploys to).
VERIFY_CONFIG = {"seed-000": {"aws:region": "eu-west-1"}}


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    """seed -> its Verification (computed once per test process)."""
    done: dict[str, Verification] = {}

    def get(seed: str) -> Verification:
        if seed not in done:
            root = tmp_path_factory.mktemp("verify") / seed
            shutil.copytree(FIXTURES / seed / "before", root)
            settings = load_config(None, start=root).rule_settings(None)
            rules = all_rules()

            def compute(rule_ids):
                return run([root], [r for r in rules if r.id in rule_ids], Safety.UNSAFE, settings=settings)

            report = run([root], rules, Safety.UNSAFE, settings=settings)
            program = Program.load(root, config=VERIFY_CONFIG.get(seed))
            done[seed] = verify(program, Fixes(report, compute, [r.id for r in rules]), jobs=2)
            assert tree(root) == tree(FIXTURES / seed / "before"), "verify touched the project"
        return done[seed]

    return get


def blocks(verification: Verification) -> set[tuple[str, ...]]:
    """The resource diff as a set of blocks (a resource's line and its property lines), so that
    resources registered concurrently compare whatever their order."""
    found, current = set(), []
    for line in diff_lines(verification.diff):
        if not line.startswith("    ") and current:
            found.add(tuple(current))
            current = []
        current.append(line)
    if current:
        found.add(tuple(current))
    return found


def verdicts(verification: Verification) -> dict[str, str]:
    return {f.rule_id: f.verdict for f in verification.fixes}


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


def ran(verification: Verification):
    assert verification.original.ok, verification.original.error
    assert verification.fixed.ok, verification.fixed.error
    assert not verification.rollbacks and verification.exit_code == 0
    return verification.original, verification.fixed


def test_seed_000_logs_in_the_stack_region_and_the_image_comes_from_config(verified):
    v = verified("seed-000")
    before, after = ran(v)
    assert log_region(before) == "us-east-1" and log_region(after) == "eu-west-1"
    assert blocks(v) == {(
        "~ aws:ecs/taskDefinition:TaskDefinition  ml-api-task-dev  REPLACE",
        ('    containerDefinitions[0].logConfiguration.options.awslogs-region: "us-east-1" \u2192 "eu-west-1"'
        "  (forces replacement)"),
    )}
    assert verdicts(v) == {"awslogs-region-hardcoded": "changes 1 resource (1 replaced)",
                           "placeholder-container-image": "no behaviour change"}
    assert v.verdict == "changes 1 resource (1 replaced)"
    assert container_image(after, "ml-api") == "public.ecr.aws/docker/library/nginx:latest"  # default kept
    image = "342597974367.dkr.ecr.us-east-1.amazonaws.com/ml-api:1.4.2"
    configured = run_program(Program.load(FIXTURES / "seed-000" / "after", config={"containerImage": image}))
    assert configured.ok, configured.error
    assert container_image(configured, "ml-api") == image


def test_seed_001_engine_version_offered_in_eu_south_1_and_logs_there(verified):
    v = verified("seed-001")
    before, after = ran(v)
    assert before.one("aws:rds/cluster:Cluster").inputs["engineVersion"] == "15.4"
    assert after.one("aws:rds/cluster:Cluster").inputs["engineVersion"] == "15.6"
    assert log_region(before) == "us-east-1" and log_region(after) == "eu-south-1"
    password = plain(after.one("aws:rds/cluster:Cluster").inputs["masterPassword"])
    assert len(password) == 32 and not RDS_FORBIDDEN & set(password)
    assert blocks(v) == {
        ("~ aws:rds/cluster:Cluster  flask-api-aurora-dev",
         '    engineVersion: "15.4" \u2192 "15.6"',
         "    masterPassword: [secret] \u2192 [secret]"),
        ("~ aws:ecs/taskDefinition:TaskDefinition  flask-api-task-dev  REPLACE",
         ('    containerDefinitions[0].logConfiguration.options.awslogs-region: "us-east-1" \u2192 "eu-south-1"'
         "  (forces replacement)")),
        ("~ aws:secretsmanager/secretVersion:SecretVersion  flask-api-db-secret-version-dev",
         "    secretString.password: [secret] \u2192 [secret]"),
    }
    assert verdicts(v) == {
        "awslogs-region-hardcoded": "changes 1 resource (1 replaced)",
        "describe-secret-name": "no behaviour change",  # tests/integration: the program never loads it
        "random-for-secrets": "changes 2 resources (0 replaced)",
        "rds-engine-version-unavailable": "changes 1 resource (0 replaced)",
        "vpc-dns-attribute-from-describe-vpcs": "no behaviour change",
    }
    [describe] = [f for f in v.fixes if f.rule_id == "describe-secret-name"]
    assert describe.note == "the program does not load tests/integration/test_tap_stack.py"
    assert len(v.runs) == 5  # original, fixed, and one per fix the program loads


def test_seed_002_password_from_random_password_engine_region_and_config_namespace(verified):
    v = verified("seed-002")
    before, after = ran(v)
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
    assert blocks(v) == {
        ("+ random:index/randomPassword:RandomPassword  payment-db-password-dev",),
        ("~ aws:cloudwatch/dashboard:Dashboard  payment-dashboard-dev",
         '    dashboardBody.widgets[0].properties.region: "us-east-1" \u2192 "eu-west-1"'),
        ("~ aws:secretsmanager/secretVersion:SecretVersion  payment-db-secret-version-dev",
         "    secretString.password: [secret] \u2192 [secret]"),
        ("~ aws:rds/cluster:Cluster  payment-db-cluster-dev",
         '    engineVersion: "15.3" \u2192 "15.6"',
         "    masterPassword: [secret] \u2192 [secret]"),
        ("~ aws:rds/clusterInstance:ClusterInstance  payment-db-instance-dev",
         '    engineVersion: "15.3" \u2192 "15.6"'),
    }
    assert verdicts(v) == {
        "hardcoded-db-password": "changes 3 resources (0 replaced)",
        "hardcoded-region-literal": "changes 1 resource (0 replaced)",
        "missing-provider-requirement": "no behaviour change",
        "placeholder-container-image": "no behaviour change",
        "pulumi-yaml-project-name-mismatch": "no behaviour change",  # the stack sets what the defaults say
        "rds-engine-version-unavailable": "changes 2 resources (0 replaced)",
    }
    [rename] = [f for f in v.fixes if f.rule_id == "pulumi-yaml-project-name-mismatch"]
    assert rename.note.startswith("the project name changes from pulumi-infra to TapStack")
    # Pulumi.yaml named the project pulumi-infra, so the stack's TapStack:* config was never read.
    config = {"TapStack:environmentSuffix": "pr42"}
    before = run_program(Program.load(FIXTURES / "seed-002" / "before", config=config))
    after = run_program(Program.load(FIXTURES / "seed-002" / "after", config=config))
    assert before.one("aws:rds/cluster:Cluster").inputs["clusterIdentifier"] == "payment-db-cluster-dev"
    assert after.one("aws:rds/cluster:Cluster").inputs["clusterIdentifier"] == "payment-db-cluster-pr42"
    assert "pulumi-random" in (FIXTURES / "seed-002" / "after" / "requirements.txt").read_text()


def test_seed_003_image_in_the_deploying_account_and_single_az_test_database(verified):
    v = verified("seed-003")
    before, after = ran(v)
    assert container_image(before, "api").startswith("123456789012.")
    assert container_image(after, "api") == f"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/api:latest"
    assert before.one("aws:rds/instance:Instance").inputs["multiAz"] is True
    assert after.one("aws:rds/instance:Instance").inputs["multiAz"] is False
    assert blocks(v) == {
        ("~ aws:ecs/taskDefinition:TaskDefinition  api-task-dev  REPLACE",
         ('    containerDefinitions[0].image: "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/api:latest" \u2192 '
         f'"{ACCOUNT}.dkr.ecr.ap-southeast-1.amazonaws.com/api:latest"  (forces replacement)')),
        ("~ aws:rds/instance:Instance  payment-mysql-dev", "    multiAz: true \u2192 false"),
    }
    assert verdicts(v) == {"ephemeral-not-destroyable": "changes 1 resource (0 replaced)",
                           "placeholder-account-id": "changes 1 resource (1 replaced)"}


def test_seed_004_bucket_name_carries_account_and_region(verified):
    v = verified("seed-004")
    before, after = ran(v)
    assert before.one("aws:s3/bucketV2:BucketV2").inputs["bucket"] == "api-logs-dev"
    assert after.one("aws:s3/bucketV2:BucketV2").inputs["bucket"] == f"api-logs-dev-{ACCOUNT}-eu-west-1"
    assert blocks(v) == {
        ("~ aws:s3/bucketV2:BucketV2  api-logs-dev  REPLACE",
         f'    bucket: "api-logs-dev" \u2192 "api-logs-dev-{ACCOUNT}-eu-west-1"  (forces replacement)'),
        ("~ aws:dynamodb/table:Table  transactions-dev", "    option delete_before_replace: true \u2192 false"),
        (f'  output api_logs_bucket: "api-logs-dev" \u2192 "api-logs-dev-{ACCOUNT}-eu-west-1"',),
    }
    assert verdicts(v) == {"delete-before-replace-stateful": "changes 1 resource (0 replaced)",
                           "s3-bucket-name-not-unique": "changes 1 resource (1 replaced)"}
    table = after.one("aws:dynamodb/table:Table")
    assert table.delete_before_replace is False and before.one("aws:dynamodb/table:Table").delete_before_replace
