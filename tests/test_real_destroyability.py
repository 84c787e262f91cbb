"""Real-library proof for `delete-before-replace-stateful` and `ephemeral-not-destroyable`.

The fixture programs run under Pulumi's mock runtime with the real pulumi_aws. Resource options
are not part of `MockResourceArgs` (the mock sees type, name and inputs only), so the test hands
`set_mocks` its own `MockMonitor` subclass (the `monitor=` parameter) whose `RegisterResource`
records the engine's `RegisterResourceRequest` before the stock mock handles it: the exact
`deleteBeforeReplace`, `protect`, `retainOnDelete` and `ignoreChanges` fields, and the inputs
(camelCase, as the provider receives them), that `pulumi up` would send to the engine.

- delete-before-replace-stateful: before, the transactions table (seed 004) and the other
  stateful resources are registered with deleteBeforeReplace; after, they are not, and every
  other option (parent, depends_on, ignore_changes) is still sent.
- ephemeral-not-destroyable: before, each program registers something `pulumi destroy` cannot
  delete under the provider's documented rules (deletion protection on; no final snapshot name
  while skip_final_snapshot defaults to false; a bucket or repository that is not emptied;
  protect / retain_on_delete); after, the same resources register with none of them, e.g. the
  Aurora cluster with deletionProtection False and skipFinalSnapshot True.

The provider's rules themselves (what blocks a delete, the defaults) are read from the installed
pulumi_aws 7.51: `test_tables_match_the_installed_provider` checks every class and argument name
in `codemods/_stateful.py` with `inspect.signature` and the defaults quoted from its docstrings.
"""

from __future__ import annotations

import inspect
import re
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from iacfix.codemods import _stateful as st

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DBR = FIXTURES / "delete-before-replace-stateful"
EPHEMERAL = FIXTURES / "ephemeral-not-destroyable"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Registration:
    typ: str
    name: str
    inputs: dict[str, Any]
    delete_before_replace: bool
    protect: bool
    retain_on_delete: bool
    ignore_changes: list[str]
    parent: str
    dependencies: list[str]


@dataclass
class Recorder:
    registrations: list[Registration] = field(default_factory=list)

    def named(self, typ: str, name: str) -> Registration:
        found = [r for r in self.registrations if r.typ == typ and r.name == name]
        assert len(found) == 1, (typ, name, [(r.typ, r.name) for r in self.registrations])
        return found[0]

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations if r.typ == typ]


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, recording each registration request's options first."""

    def __init__(self, mocks: pulumi.runtime.Mocks, recorder: Recorder) -> None:
        super().__init__(mocks)
        self.recorder = recorder

    def RegisterResource(self, request):
        response = super().RegisterResource(request)  # also sets up the event loop it needs
        if request.type != "pulumi:pulumi:Stack":
            self.recorder.registrations.append(Registration(
                typ=request.type,
                name=request.name,
                inputs=rpc.deserialize_properties(request.object),
                delete_before_replace=request.deleteBeforeReplace,
                protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                ignore_changes=list(request.ignoreChanges),
                parent=request.parent,
                dependencies=list(request.dependencies),
            ))
        return response


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {**args.inputs, "arn": f"arn:aws:mock:eu-west-1:111122223333:{args.name}"}
        if args.typ == "aws:rds/cluster:Cluster":
            outputs.setdefault("engine", args.inputs.get("engine"))
            outputs["endpoint"] = f"{args.name}.cluster-abc.eu-west-1.rds.amazonaws.com"
        return [f"{args.name}_id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "111122223333", "arn": "arn:aws:iam::111122223333:user/ci",
                    "id": "111122223333", "userId": "AIDAEXAMPLE"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "eu-west-1", "region": "eu-west-1", "id": "eu-west-1"}
        raise AssertionError(f"unexpected invoke {args.token}")


Build = Callable[[dict[str, Any]], Any]


def run(program: Path, build: Build, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Run the fixture `program` under the mocks and return what was registered."""
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", "pr42")
    recorder = Recorder()
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack="pr42", preview=False,
                             monitor=RecordingMonitor(mocks, recorder))
    pulumi.runtime.set_all_config({"tap:environmentSuffix": "pr42", "tap:db_password": "mock-pw",
                                   "tap:dbPassword": "mock-pw"}, ["tap:db_password", "tap:dbPassword"])

    @pulumi.runtime.test
    def program_run():
        namespace = runpy.run_path(str(program), run_name=f"fixture_{program.stem}")
        build(namespace)

    program_run()
    assert recorder.registrations, f"{program.name} registered nothing"
    return recorder


# -- delete-before-replace-stateful ----------------------------------------------------------

DBR_CASES: dict[str, tuple[Build, list[tuple[str, str]]]] = {
    # case -> (how to instantiate it, the stateful resources registered with deleteBeforeReplace)
    "example": (
        lambda ns: ns["DynamoDBStack"]("dynamodb", environment_suffix="pr42", read_capacity=5,
                                       write_capacity=5, enable_pitr=True, tags={"Team": "pay"}),
        [("aws:dynamodb/table:Table", "transactions-pr42")],
    ),
    "only_option": (lambda ns: None, [("aws:rds/cluster:Cluster", "orders-aurora-pr42")]),
    "multiline_options_comment": (
        lambda ns: ns["StorageStack"]("storage", "pr42", "vpc-1", ["subnet-a", "subnet-b"], {}),
        [("aws:efs/fileSystem:FileSystem", "shared-data-pr42")],
    ),
    "aliased_imports": (
        lambda ns: ns["EventsStack"]("events", kms_key_id="alias/aws/kinesis", tags={}),
        [("aws:kinesis/stream:Stream", "payment-events-pr42"),
         ("aws:s3/bucket:Bucket", "payment-events-archive-pr42")],
    ),
}


@pytest.mark.parametrize("case", DBR_CASES)
def test_before_registers_stateful_resources_delete_before_replace(case, monkeypatch):
    build, stateful = DBR_CASES[case]
    recorder = run(DBR / f"{case}.before.py", build, monkeypatch)
    for typ, name in stateful:
        assert recorder.named(typ, name).delete_before_replace, (typ, name)


@pytest.mark.parametrize("case", DBR_CASES)
def test_after_registers_them_create_before_delete_and_keeps_other_options(case, monkeypatch):
    build, stateful = DBR_CASES[case]
    before = run(DBR / f"{case}.before.py", build, monkeypatch)
    after = run(DBR / f"{case}.after.py", build, monkeypatch)
    for typ, name in stateful:
        old, new = before.named(typ, name), after.named(typ, name)
        assert not new.delete_before_replace, (typ, name)
        assert (new.parent, new.ignore_changes, new.dependencies, new.protect) == (
            old.parent, old.ignore_changes, old.dependencies, old.protect)
        assert new.inputs == old.inputs
    # resources that hold no data keep their delete_before_replace
    changed = {(r.typ, r.name) for r in before.registrations if r.delete_before_replace} - set(stateful)
    for typ, name in changed:
        assert after.named(typ, name).delete_before_replace, (typ, name)


def test_keyword_on_resource_fails_before_and_registers_create_before_delete_after(monkeypatch):
    """`delete_before_replace=True` passed to the table itself is a TypeError of the provider;
    removing it leaves a table replaced create-first, and the queue's option in `opts` alone."""
    with pytest.raises(Exception, match="delete_before_replace"):
        run(DBR / "keyword_on_resource.before.py", lambda ns: None, monkeypatch)
    after = run(DBR / "keyword_on_resource.after.py", lambda ns: None, monkeypatch)
    assert not after.named("aws:dynamodb/table:Table", "sessions-pr42").delete_before_replace
    assert after.named("aws:sqs/queue:Queue", "sessions-dlq-pr42").delete_before_replace


def test_after_keeps_the_parent_and_depends_on_of_the_multiline_options(monkeypatch):
    build, _ = DBR_CASES["multiline_options_comment"]
    after = run(DBR / "multiline_options_comment.after.py", build, monkeypatch)
    fs = after.named("aws:efs/fileSystem:FileSystem", "shared-data-pr42")
    assert fs.parent.endswith("StorageStack::storage")
    assert any(dep.endswith("efs-mount-sg-pr42") for dep in fs.dependencies)
    archive = run(DBR / "aliased_imports.after.py", DBR_CASES["aliased_imports"][0], monkeypatch)
    assert archive.named("aws:s3/bucket:Bucket", "payment-events-archive-pr42").ignore_changes == ["tags"]


# -- ephemeral-not-destroyable ---------------------------------------------------------------

#: Resource type token -> the provider-level facts used below, from the pulumi_aws 7.51 schema
#: (see test_tables_match_the_installed_provider): camelCase input names as the provider sees them.
DELETION_PROTECTION = {
    "aws:rds/cluster:Cluster": "deletionProtection",
    "aws:rds/instance:Instance": "deletionProtection",
    "aws:dynamodb/table:Table": "deletionProtectionEnabled",
    "aws:lb/loadBalancer:LoadBalancer": "enableDeletionProtection",
}
FINAL_SNAPSHOT = {"aws:rds/cluster:Cluster", "aws:rds/instance:Instance"}
EMPTIED = {"aws:s3/bucket:Bucket": "forceDestroy", "aws:ecr/repository:Repository": "forceDelete"}


def destroy_blockers(registration: Registration) -> list[str]:
    """Why `pulumi destroy` would fail on (or leave behind) this resource, per the provider docs:
    deletion protection makes the delete fail; skip_final_snapshot defaults to false and then the
    delete needs a final_snapshot_identifier; a bucket / repository with contents is only deleted
    with force_destroy / force_delete; protect stops the engine; retain_on_delete leaves it."""
    inputs, typ, found = registration.inputs, registration.typ, []
    if inputs.get(DELETION_PROTECTION.get(typ, "-")) is True:
        found.append("deletion protection")
    if typ in FINAL_SNAPSHOT and not inputs.get("skipFinalSnapshot", False) \
            and not inputs.get("finalSnapshotIdentifier"):
        found.append("final snapshot without a name")
    if typ in EMPTIED and inputs.get(EMPTIED[typ]) is not True:
        found.append("not emptied on delete")
    if registration.protect:
        found.append("protect")
    if registration.retain_on_delete:
        found.append("retain_on_delete")
    return found


EPHEMERAL_CASES: dict[str, Build] = {
    "example": lambda ns: ns["DataStack"]("data", "pr42", "vpc-1", ["subnet-a", "subnet-b"],
                                          ["subnet-c", "subnet-d"], "sg-db", "sg-alb"),
    "multi_az_mysql": lambda ns: ns["DatabaseStack"]("db", ["subnet-a", "subnet-b"], "sg-db",
                                                     "arn:aws:kms:eu-west-1:111122223333:key/1"),
    "resource_options_protect": lambda ns: ns["DynamoDBStack"]("dynamodb", "pr42", {"Team": "pay"}),
    "buckets_and_repository": lambda ns: ns["ArtifactsStack"]("artifacts", {"Team": "api"}),
}


@pytest.mark.parametrize("case", EPHEMERAL_CASES)
def test_before_program_cannot_be_destroyed(case, monkeypatch):
    recorder = run(EPHEMERAL / f"{case}.before.py", EPHEMERAL_CASES[case], monkeypatch)
    assert any(destroy_blockers(r) for r in recorder.registrations)


@pytest.mark.parametrize("case", EPHEMERAL_CASES)
def test_after_program_is_destroyable(case, monkeypatch):
    before = run(EPHEMERAL / f"{case}.before.py", EPHEMERAL_CASES[case], monkeypatch)
    after = run(EPHEMERAL / f"{case}.after.py", EPHEMERAL_CASES[case], monkeypatch)
    assert {(r.typ, r.name) for r in after.registrations} == {(r.typ, r.name) for r in before.registrations}
    assert {(r.typ, r.name): destroy_blockers(r) for r in after.registrations if destroy_blockers(r)} == {}


def test_after_aurora_cluster_has_no_deletion_protection_and_skips_the_final_snapshot(monkeypatch):
    before = run(EPHEMERAL / "example.before.py", EPHEMERAL_CASES["example"], monkeypatch)
    after = run(EPHEMERAL / "example.after.py", EPHEMERAL_CASES["example"], monkeypatch)
    old = before.named("aws:rds/cluster:Cluster", "ml-api-aurora-pr42").inputs
    new = after.named("aws:rds/cluster:Cluster", "ml-api-aurora-pr42").inputs
    assert old["deletionProtection"] is True and "skipFinalSnapshot" not in old
    assert new["deletionProtection"] is False and new["skipFinalSnapshot"] is True
    assert {k: v for k, v in new.items() if k not in ("deletionProtection", "skipFinalSnapshot")} == \
        {k: v for k, v in old.items() if k != "deletionProtection"}
    alb = after.named("aws:lb/loadBalancer:LoadBalancer", "ml-api-alb-pr42").inputs
    assert alb["enableDeletionProtection"] is False


def test_after_mysql_instance_is_single_az(monkeypatch):
    before = run(EPHEMERAL / "multi_az_mysql.before.py", EPHEMERAL_CASES["multi_az_mysql"], monkeypatch)
    after = run(EPHEMERAL / "multi_az_mysql.after.py", EPHEMERAL_CASES["multi_az_mysql"], monkeypatch)
    assert before.named("aws:rds/instance:Instance", "payment-db-pr42").inputs["multiAz"] is True
    assert after.named("aws:rds/instance:Instance", "payment-db-pr42").inputs["multiAz"] is False


def test_after_tables_are_unprotected_and_not_retained(monkeypatch):
    build = EPHEMERAL_CASES["resource_options_protect"]
    before = run(EPHEMERAL / "resource_options_protect.before.py", build, monkeypatch)
    after = run(EPHEMERAL / "resource_options_protect.after.py", build, monkeypatch)
    table, checkpoints = "transactions-pr42", "checkpoints-pr42"
    assert before.named("aws:dynamodb/table:Table", table).protect
    assert before.named("aws:dynamodb/table:Table", checkpoints).retain_on_delete
    assert not after.named("aws:dynamodb/table:Table", table).protect
    assert not after.named("aws:dynamodb/table:Table", checkpoints).retain_on_delete
    # the parent option survives the removal of protect
    assert after.named("aws:dynamodb/table:Table", table).parent.endswith("DynamoDBStack::dynamodb")


# -- the tables in codemods/_stateful.py against the installed provider ----------------------

def _parameters(qualified: str) -> set[str]:
    _, module, name = qualified.split(".")
    cls = getattr(getattr(pulumi_aws, module), name)
    return set(inspect.signature(cls._internal_init).parameters)


def test_tables_match_the_installed_provider():
    checked = 0
    for qualified, protection in st.DELETION_PROTECTION.items():
        assert protection.argument in _parameters(qualified), (qualified, protection.argument)
        checked += 1
    for qualified, (skip, name) in st.FINAL_SNAPSHOT.items():
        assert {skip, name} <= _parameters(qualified), qualified
        checked += 1
    for mapping in (st.FORCE_DESTROY, st.MULTI_AZ, st.PHYSICAL_NAME):
        for qualified, argument in mapping.items():
            assert argument in _parameters(qualified), (qualified, argument)
            checked += 1
    for qualified in st.STATEFUL:
        assert _parameters(qualified), qualified
    assert checked > 20


@pytest.mark.parametrize("qualified", sorted(st.FINAL_SNAPSHOT))
def test_skip_final_snapshot_defaults_to_false(qualified):
    """The ephemeral rule adds skip_final_snapshot=True when it is absent: the provider default
    must be false (a snapshot is required, so the delete needs its name)."""
    _, module, cls = qualified.split(".")
    source = inspect.getsource(getattr(getattr(pulumi_aws, module), cls))
    docs = re.findall(r":param [^:\n]* skip_final_snapshot: (.*)", source)
    assert docs and all("Default is `false`" in d or "Default is false" in d for d in docs), docs
