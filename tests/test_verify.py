"""`iacfix verify`, `apply --verify` and `pr --verify`: the program run under Pulumi's mock runtime
before and after the fixes, in isolation, with bad fixes rolled back.

- Rollback: a deliberately bad test-only rule (`drop-vpc-id`, tests/support_rules.py) deletes a
  keyword pulumi_aws needs in one file and a harmless one in another, beside a real fix
  (s3-bucket-name-not-unique). Verify catches it as `breaks the run`, rolls back exactly that
  (rule, file), and keeps every other fix; `apply --verify` writes only the survivors, and
  `pr --verify` proposes only them, with the verify summary in the body.
- Isolation: hostile programs (writes outside, sys.exit, os._exit, a hang, boto3 calling AWS, a
  missing package, a missing config key, signalling the caller, starting a process) are each
  stopped or reported, and the caller is unharmed.
- The diff itself (replacement marks, secrets, JSON inside strings) is tested on hand-made runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path

import pytest
from gitrepo import git, isolated_git, new_repo, snapshot  # noqa: F401 - isolated_git is autouse
from iacfix.cli import app
from iacfix.codemods.s3_bucket_name_not_unique import S3BucketNameNotUnique
from support_rules import DropVpcId
from typer.testing import CliRunner

from iacfix import cli, pr_body
from iacfix.engine import run
from iacfix.errors import UsageError
from iacfix.results import Safety
from iacfix.verify import (
    Fixes,
    Program,
    ProgramRun,
    Resource,
    diff_lines,
    diff_runs,
    replacement_table,
    run_program,
    verdict,
    verify,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RULES = (S3BucketNameNotUnique, DropVpcId)


def write_project(root: Path, files: dict[str, str], name: str = "verifyme", stack: str | None = "dev",
                  config: str = "  aws:region: eu-west-1\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    if stack:
        (root / f"Pulumi.{stack}.yaml").write_text(f"config:\n{config}")
    for name_, text in files.items():
        (root / name_).parent.mkdir(parents=True, exist_ok=True)
        (root / name_).write_text(textwrap.dedent(text))
    return root


# -- rollback ---------------------------------------------------------------------------------

ROLLBACK_PROJECT = {
    "__main__.py": """\
        import pulumi
        from lib import network, storage, tags

        pulumi.export("subnet", network.subnet.id)
        """,
    "lib/__init__.py": "",
    "lib/network.py": """\
        import pulumi_aws as aws

        vpc = aws.ec2.Vpc("main", cidr_block="10.0.0.0/16")
        subnet = aws.ec2.Subnet("a", vpc_id=vpc.id, cidr_block="10.0.1.0/24")
        """,
    "lib/storage.py": """\
        import pulumi_aws as aws

        logs = aws.s3.BucketV2("logs", bucket="app-logs")
        """,
    "lib/tags.py": """\
        def describe(**values):
            return dict(values)

        tags = describe(vpc_id="vpc-123", team="payments")
        """,
    "tests/test_unused.py": "VPC = dict(vpc_id='vpc-1')\n",
}


@pytest.fixture(scope="module")
def rollback_project(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("rollback") / "app", ROLLBACK_PROJECT)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def rolled_back(rollback_project):
    before = tree(rollback_project)

    def compute(rule_ids):
        return run([rollback_project], [r for r in RULES if r.id in rule_ids], Safety.UNSAFE)

    report = run([rollback_project], RULES, Safety.UNSAFE)
    verification = verify(Program.load(rollback_project), Fixes(report, compute, [r.id for r in RULES]))
    assert tree(rollback_project) == before, "verify wrote into the user's tree"
    return verification


def test_a_fix_that_breaks_the_run_is_rolled_back_and_every_other_fix_kept(rolled_back, rollback_project):
    v = rolled_back
    assert v.original.ok, v.original.error
    [rollback] = v.rollbacks
    assert (rollback.rule_id, rollback.path) == ("drop-vpc-id", "lib/network.py")
    assert rollback.error.kind == "exception"
    assert re.fullmatch(r"TypeError: Missing required property 'vpc_id' \(lib/network\.py:4\)", rollback.error.message)
    kept = {(rule, path.relative_to(rollback_project).as_posix()) for rule, path in v.kept}
    assert kept == {("s3-bucket-name-not-unique", "lib/storage.py"), ("drop-vpc-id", "lib/tags.py"),
                    ("drop-vpc-id", "tests/test_unused.py")}
    assert v.fixed.ok, v.fixed.error
    by_rule = {f.rule_id: f for f in v.fixes}
    assert by_rule["drop-vpc-id"].verdict == "breaks the run"
    assert by_rule["drop-vpc-id"].note.startswith("rolled back in lib/network.py: TypeError: Missing required")
    assert by_rule["drop-vpc-id"].note.endswith("its fixes in lib/tags.py, tests/test_unused.py are kept")
    assert by_rule["s3-bucket-name-not-unique"].verdict == "changes 1 resource (1 replaced)"
    assert diff_lines(v.diff) == [
        "~ aws:s3/bucketV2:BucketV2  logs  REPLACE",
        '    bucket: "app-logs" \u2192 "app-logs-342597974367-eu-west-1"  (forces replacement)',
    ]
    assert v.verdict == "changes 1 resource (1 replaced)" and v.exit_code == 1
    labels = [r.label for r in v.runs]
    assert labels[:2] == ["original", "fixed"] and any(label.startswith("bisect") for label in labels)
    assert [r.ok for r in v.runs][:2] == [True, False]


def test_apply_verify_writes_only_the_fixes_that_survived(tmp_path, rollback_project, monkeypatch):
    root = tmp_path / "app"
    shutil.copytree(rollback_project, root)
    monkeypatch.setattr(cli, "select_ids", lambda *args, **kwargs: tuple(rule.id for rule in RULES))
    monkeypatch.setattr(cli, "all_rules", lambda: RULES)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["apply", "--unsafe-fixes", "--verify", "--no-cache", "."],
                                catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the rolled-back finding remains
    assert "rolled back drop-vpc-id in lib/network.py: it breaks the run: TypeError: Missing required property" \
        in result.stderr
    assert (root / "lib/network.py").read_bytes() == (rollback_project / "lib/network.py").read_bytes()
    assert 'bucket=f"app-logs-' in (root / "lib/storage.py").read_text()
    assert "vpc_id" not in (root / "lib/tags.py").read_text()
    assert re.search(r"^lib/network\.py:4:\d+: drop-vpc-id vpc_id passed$", result.stdout, re.MULTILINE), result.stdout


def test_pr_verify_proposes_the_surviving_fixes_with_the_verify_summary(tmp_path, rollback_project, monkeypatch):
    work = new_repo(tmp_path / "work", rollback_project)
    monkeypatch.setattr(cli, "select_ids", lambda *args, **kwargs: tuple(rule.id for rule in RULES))
    monkeypatch.setattr(cli, "all_rules", lambda: RULES)
    monkeypatch.setattr(pr_body, "rule_by_id", lambda rule_id: {r.id: r for r in RULES}[rule_id])
    monkeypatch.chdir(work)
    before = snapshot(work)
    result = CliRunner().invoke(app, ["pr", "--repo", "acme/infra", "--dry-run", "--verify", "--unsafe-fixes"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert snapshot(work) == before
    body = result.stdout[result.stdout.index("title:"):]
    assert "## Verify" in body and "under Pulumi's mock runtime before and after these fixes: **changes 1 resource " \
        "(1 replaced)**" in body
    assert ("- **Rolled back** `drop-vpc-id` in `lib/network.py`: it breaks the run (TypeError: Missing required "
            "property 'vpc_id' (lib/network.py:4)); that fix is not in this pull request.") in body
    assert "| `s3-bucket-name-not-unique` | changes 1 resource (1 replaced) |" in body
    assert '~ aws:s3/bucketV2:BucketV2  logs  REPLACE' in body
    commit = re.search(r"would push branch \S+: commit ([0-9a-f]{8})", result.stdout)[1]
    changed = git("show", "--name-only", "--format=", commit, cwd=work).split()
    assert changed == ["lib/storage.py", "lib/tags.py", "tests/test_unused.py"]


# -- the verify command -----------------------------------------------------------------------


def test_verify_shows_a_fix_that_makes_the_program_run(tmp_path, monkeypatch):
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "pulumi-yaml-main-mismatch" / "example" / "before", root)
    monkeypatch.chdir(root)
    before = tree(root)
    result = CliRunner().invoke(app, ["verify", "--select", "pulumi-yaml-main-mismatch"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert tree(root) == before, "verify must not write"
    lines = result.stdout.splitlines()
    assert any(re.fullmatch(r"\s+original\s+failed: the entry point app\.py that Pulumi\.yaml names does not exist: "
                            r"Pulumi has nothing to run\s+\d+\.\d s", line) for line in lines), result.stdout
    assert any(re.fullmatch(r"\s+fixed\s+ran: 2 resources\s+\d+\.\d s", line) for line in lines), result.stdout
    assert any(re.fullmatch(r"\s+pulumi-yaml-main-mismatch\s+fixes the run\s+Pulumi\.yaml", line) for line in lines)
    assert re.search(r"^verdict: fixes the run \(2 runs, \d+\.\d s\)$", result.stdout, re.MULTILINE)
    data = json.loads(CliRunner().invoke(app, ["verify", "--select", "pulumi-yaml-main-mismatch", "--output-format",
                                               "json"], catch_exceptions=False).stdout)
    assert data["verdict"] == "fixes the run" and data["exit_code"] == 0
    assert data["original"]["error"]["kind"] == "project" and data["fixed"]["ok"] is True
    assert [f["verdict"] for f in data["fixes"]] == ["fixes the run"]


def test_verify_exit_1_when_the_program_fails_even_with_the_fixes_and_2_without_a_project(tmp_path, monkeypatch):
    root = write_project(tmp_path / "p", {"__main__.py": "raise ValueError('always')\n"})
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["verify"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "failed: ValueError: always (__main__.py:1)" in result.stdout
    assert "verdict: nothing to fix" in result.stdout
    monkeypatch.chdir(tmp_path)
    missing = CliRunner().invoke(app, ["verify", "nowhere"], catch_exceptions=False)
    assert missing.exit_code == 2 and "no Pulumi.yaml" in missing.stderr
    bad = CliRunner().invoke(app, ["verify", str(root), "--env", "NOEQUALS"], catch_exceptions=False)
    assert bad.exit_code == 2 and "--env NOEQUALS: expected NAME=VALUE" in bad.stderr


def test_check_diff_and_apply_never_run_the_program(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    root = write_project(tmp_path / "p", {"__main__.py": f"open({str(marker)!r}, 'w').write('ran')\n"
                                                          "import random\npassword = random.choice('ab')\n"})
    monkeypatch.chdir(root)
    for command in (["check"], ["diff"], ["apply"], ["apply", "--diff"]):
        CliRunner().invoke(app, [*command, "--no-cache", "."], catch_exceptions=False)
    assert not marker.exists()


# -- isolation --------------------------------------------------------------------------------


def run_code(tmp_path: Path, code: str, **options) -> ProgramRun:
    root = write_project(tmp_path / "program", {"__main__.py": code})
    return run_program(Program.load(root, **options))


def test_a_write_outside_the_project_is_blocked_and_reported(tmp_path):
    outside = tmp_path / "outside.txt"
    result = run_code(tmp_path, f"open({str(outside)!r}, 'w').write('harm')\n")
    assert not outside.exists()
    assert result.error.kind == "write"
    assert result.error.message == (
        f"verify blocks writes outside the project's temporary copy: {outside} (__main__.py:1)")
    caught = run_code(tmp_path / "again", f"""\
        import os, shutil
        for attempt in (lambda: open({str(outside)!r}, "a"), lambda: os.remove({str(tmp_path / 'program')!r}),
                        lambda: shutil.rmtree({str(tmp_path)!r})):
            try:
                attempt()
            except PermissionError:
                pass
        open("inside.txt", "w").write("fine")  # the copy is the program's to write
        """)
    assert caught.ok, caught.error
    assert not outside.exists() and (tmp_path / "program" / "__main__.py").exists()
    assert f"the program wrote outside its directory ({outside}); verify blocked it" in caught.notes()


def test_sys_exit_and_os_exit_are_reported_and_the_caller_goes_on(tmp_path):
    exited = run_code(tmp_path / "a", "import sys\nsys.exit(3)\n")
    assert (exited.ok, exited.error.kind, exited.error.message) == (False, "exit", "the program called sys.exit(3)")
    hard = run_code(tmp_path / "b", "import os\nos._exit(7)\n")
    assert (hard.ok, hard.error.kind, hard.error.message) == (False, "exit", "the program called os._exit(7)")


def test_a_hanging_program_is_stopped_at_the_timeout_with_everything_it_started(tmp_path):
    started = time.monotonic()
    result = run_code(tmp_path, """\
        import signal, threading, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        threading.Thread(target=lambda: time.sleep(3600)).start()
        while True:
            time.sleep(0.05)
        """, timeout=2)
    assert time.monotonic() - started < 15
    assert result.error.kind == "timeout"
    assert result.error.message == ("the program did not finish within 2 s; verify stopped it (and every process "
                                    "it started)")


def test_boto3_calling_aws_at_import_time_is_blocked_and_named(tmp_path):
    result = run_code(tmp_path, "import boto3\nACCOUNT = boto3.client('sts').get_caller_identity()['Account']\n")
    assert result.error.kind == "network"
    assert result.error.message == ("the program called the network (boto3 \u2192 sts.eu-west-1.amazonaws.com:443); "
                                    "verify blocks the network (__main__.py:2)")
    assert "the program called the network (boto3 \u2192 sts.eu-west-1.amazonaws.com:443); verify blocks the network" \
        in result.notes()


def test_a_missing_package_is_named_with_the_interpreter(tmp_path):
    result = run_code(tmp_path, "import pulumi\nimport pulumi_nonexistent_provider as p\n")
    assert result.error.kind == "missing-package"
    assert result.error.message == (f"the program needs pulumi_nonexistent_provider, which {sys.executable} lacks; "
                                    "install it there or pass --python with the project's interpreter")


def test_an_interpreter_without_pulumi_is_reported_as_such(tmp_path):
    bare = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if bare is None or subprocess.run([bare, "-I", "-c", "import pulumi"], capture_output=True,
                                      check=False).returncode == 0:
        pytest.skip("no interpreter without pulumi on this machine")
    result = run_code(tmp_path, "import pulumi\n", python=bare)
    assert result.error.kind == "missing-package"
    assert result.error.message.startswith(f"the program needs pulumi, which {bare} lacks")
    with pytest.raises(UsageError, match="--python /nonexistent/python: cannot run it"):
        run_code(tmp_path / "x", "pass\n", python="/nonexistent/python")


def test_a_missing_config_key_is_named(tmp_path):
    result = run_code(tmp_path, "import pulumi\npulumi.Config().require_secret('dbPassword')\n")
    assert result.error.kind == "config"
    assert result.error.message == ("missing required config value verifyme:dbPassword: the stack dev does not set "
                                    "it (__main__.py:2)")
    given = run_code(tmp_path / "set",
                     "import pulumi\npulumi.export('pw', pulumi.Config().require_secret('dbPassword'))\n",
                     config={"dbPassword": "s3cret"})
    assert given.ok and given.outputs == {"pw": {"secret": "s3cret"}}


def test_the_program_cannot_signal_the_caller_or_start_processes(tmp_path):
    marker = tmp_path / "touched"
    killed = run_code(tmp_path / "a", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")
    assert killed.error.kind == "signal" and os.getpid()  # still here
    spawned = run_code(tmp_path / "b", f"import subprocess\nsubprocess.run(['touch', {str(marker)!r}])\n")
    assert spawned.error.kind == "process" and not marker.exists()
    assert spawned.error.message.startswith(f"verify does not let the program start processes (touch {marker})")


def test_environment_variables_and_files_the_program_reads_are_reported(tmp_path):
    secret_file = tmp_path / "policy.json"
    secret_file.write_text("{}")
    code = (f"import os, pulumi\npulumi.export('suffix', os.environ.get('ENV_SUFFIX', 'dev'))\n"
            f"open({str(secret_file)!r}).read()\n")
    result = run_code(tmp_path / "a", code)
    assert result.ok and result.outputs == {"suffix": "dev"}
    assert result.notes() == [
        f"the program read {secret_file}, outside its directory (from __main__.py)",
        "the program read unset environment variable ENV_SUFFIX (pass --env NAME=VALUE to set them)",
    ]
    given = run_code(tmp_path / "b", code, env={"ENV_SUFFIX": "pr7"})
    assert given.outputs == {"suffix": "pr7"} and given.env_read == {"ENV_SUFFIX": True}
    home = run_code(tmp_path / "c", "import os, pathlib, pulumi\npulumi.export('h', str(pathlib.Path.home()))\n")
    assert home.outputs["h"] != os.environ.get("HOME") and "iacfix-verify-" in home.outputs["h"]


# -- the diff ---------------------------------------------------------------------------------


def resource(type_: str, name: str, **inputs) -> Resource:
    return Resource(key=f"{type_}::{name}", type=type_, name=name, inputs=inputs)


def test_the_diff_marks_replacement_masks_secrets_and_reads_json_inside_strings():
    before = ProgramRun("original", True, 0.1, resources=(
        resource("aws:s3/bucketV2:BucketV2", "logs", bucket="logs", tags={"a": "1"}),
        resource("aws:rds/cluster:Cluster", "db", engineVersion="15.4", masterPassword={"secret": "one"}),
        resource("aws:ecs/taskDefinition:TaskDefinition", "task",
                 containerDefinitions=json.dumps([{"image": "a", "cpu": 1}])),
        resource("aws:sqs/queue:Queue", "gone"),
    ))
    after = ProgramRun("fixed", True, 0.1, resources=(
        resource("aws:s3/bucketV2:BucketV2", "logs", bucket="logs-1", tags={"a": "2"}),
        resource("aws:rds/cluster:Cluster", "db", engineVersion="15.6", masterPassword={"secret": "two"}),
        resource("aws:ecs/taskDefinition:TaskDefinition", "task",
                 containerDefinitions=json.dumps([{"image": "b", "cpu": 1}])),
        resource("random:index/randomPassword:RandomPassword", "pw", length=32),
    ))
    diff = diff_runs(before, after)
    assert diff_lines(diff) == [
        "+ random:index/randomPassword:RandomPassword  pw",
        "- aws:sqs/queue:Queue  gone",
        "~ aws:s3/bucketV2:BucketV2  logs  REPLACE",
        '    bucket: "logs" \u2192 "logs-1"  (forces replacement)',
        '    tags.a: "1" \u2192 "2"',
        "~ aws:rds/cluster:Cluster  db",
        '    engineVersion: "15.4" \u2192 "15.6"',
        "    masterPassword: [secret] \u2192 [secret]",
        "~ aws:ecs/taskDefinition:TaskDefinition  task  REPLACE",
        '    containerDefinitions[0].image: "a" \u2192 "b"  (forces replacement)',
    ]
    assert (diff.count, diff.replaced) == (5, 2)
    assert verdict(before, after, diff) == "changes 5 resources (2 replaced)"
    assert verdict(before, before, diff_runs(before, before)) == "no behaviour change"
    failed = ProgramRun("fixed", False, 0.1)
    assert verdict(before, failed, None) == "breaks the run" and verdict(failed, before, None) == "fixes the run"


def test_the_replacement_table_is_data_with_its_source():
    data = json.loads((resources.files("iacfix") / "data" / "replacement.json").read_text(encoding="utf-8"))
    assert "ForceNew" in data["curated"]["source"]
    table = replacement_table()
    assert {"bucket"} <= set(table["aws:s3/bucketV2:BucketV2"])
    assert {"clusterIdentifier", "engine"} <= set(table["aws:rds/cluster:Cluster"])
    assert "engineVersion" not in table["aws:rds/cluster:Cluster"]  # an in-place upgrade


def test_the_derived_part_of_the_table_comes_from_the_provider_docs(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    try:
        import replacement_from_docstrings as script
    finally:
        sys.path.pop(0)
    (tmp_path / "thing.py").write_text(textwrap.dedent('''\
        class ThingArgs:
            """:param pulumi.Input[str] ignored_here: Changing this forces a new resource to be created."""
        @pulumi.type_token("aws:demo/thing:Thing")
        class Thing(pulumi.CustomResource):
            """
            :param pulumi.Input[str] vault_name: Name of the vault. Changing this forces a new resource to be created.
            :param pulumi.Input[str] storage_type: (Forces new for Multi-AZ DB clusters) The storage type.
            :param pulumi.Input[str] kms_key: Changing this value to an empty string forces replacement.
            :param pulumi.Input[str] display_name: A name to show.
            """
        '''))
    assert script.derive(tmp_path) == {"aws:demo/thing:Thing": ["vaultName"]}
    derived = json.loads((resources.files("iacfix") / "data" / "replacement.json").read_text())["derived"]
    assert derived["source"].startswith("derived by scripts/replacement_from_docstrings.py from the argument docs")
    assert derived["types"]["aws:rds/cluster:Cluster"] == ["availabilityZones"]
