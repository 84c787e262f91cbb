"""Real-library proof for `missing-environment-suffix`: the fixture programs run under Pulumi's
mock runtime with the real pulumi_aws, for the environment suffix "pr123" (ENVIRONMENT_SUFFIX or
stack config), and the mock records the physical name each resource asks for.

Before the fix some physical name does not contain "pr123", so a second stack (pr124) of the same
program in the same account asks AWS for the same name and fails with "already exists". After it
every physical name ends with "-pr123" (before `.fifo` for a FIFO queue; before the account id
and region for a bucket that has them), and two stacks never share one.

Also here: the rule's table names real arguments of the installed pulumi_aws, and the rule and
`s3-bucket-name-not-unique` together converge on a bucket name with suffix, account and region.
"""

from __future__ import annotations

import inspect
import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from iacfix.codemods.missing_environment_suffix import _PHYSICAL_NAMES
from iacfix.codemods.required_tags_missing import _TAGGABLE

from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.registry import all_rules
from iacfix.results import Safety

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "missing-environment-suffix"
ACCOUNT = "111122223333"
REGION = "eu-south-1"

Build = Callable[[dict[str, Any], str], Any]

#: How to instantiate what each fixture case defines, for a suffix (module-level programs: nothing).
CASES: dict[str, Build] = {
    "example": lambda ns, env: ns["TapStack"]("pulumi-infra", ns["TapStackArgs"](environment_suffix=env)),
    "module_level_getenv": lambda ns, env: None,
    "config_stage_name": lambda ns, env: None,
    "bucket_already_unique_per_account": lambda ns, env: ns["StorageStack"]("storage", env_suffix=env),
}

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _class_of(token: str) -> str:
    """`aws:ecs/cluster:Cluster` -> `pulumi_aws.ecs.Cluster` (`lambda` is `lambda_` in Python)."""
    module, klass = token.split(":", 1)[1].split("/", 1)[0], token.rsplit(":", 1)[1]
    return f"pulumi_aws.{'lambda_' if module == 'lambda' else module}.{klass}"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # "<Class> <logical name>" -> physical name

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ.startswith("aws:"):
            entry = _PHYSICAL_NAMES.get(_class_of(args.typ))
            if entry is not None and _camel(entry[0]) in args.inputs:
                self.names[f"{args.typ} {args.name}"] = args.inputs[_camel(entry[0])]
        return [f"{args.name}_id", {**args.inputs, "arn": f"arn:aws:mock:::{args.name}",
                                    "url": f"https://mock/{args.name}"}]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                    "id": ACCOUNT, "userId": "AIDAEXAMPLE"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}
        raise AssertionError(f"unexpected invoke {args.token}")


def physical_names(program: Path, build: Build, monkeypatch: pytest.MonkeyPatch,
                   env: str) -> dict[str, str]:
    """Run a fixture program as the stack of `env`; the physical names it asks AWS for."""
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", env)
    monkeypatch.chdir(program.parent)  # FileArchive("./lambda") is resolved relative to it
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack=f"TapStack{env}", preview=False)
    pulumi.runtime.set_all_config({"tap:environmentSuffix": env})

    @pulumi.runtime.test
    def run():
        namespace = runpy.run_path(str(program), run_name=f"fixture_{program.stem}")
        build(namespace, env)

    try:
        run()
    finally:
        pulumi.runtime.set_all_config({})
    assert mocks.names, f"{program.name} created no named resource"
    return mocks.names


def _ends_with_suffix(name: str, env: str) -> bool:
    return bool(re.search(rf"[-_]{env}(\.fifo|-{ACCOUNT}-{REGION})?$", name))


@pytest.mark.parametrize("case", CASES)
def test_before_some_physical_name_lacks_the_suffix(case, monkeypatch):
    names = physical_names(FIXTURES / f"{case}.before.py", CASES[case], monkeypatch, "pr123")
    assert [n for n in names.values() if "pr123" not in n], names
    other = physical_names(FIXTURES / f"{case}.before.py", CASES[case], monkeypatch, "pr124")
    assert set(names.values()) & set(other.values()), "two stacks should clash before the fix"


@pytest.mark.parametrize("case", CASES)
def test_after_every_physical_name_ends_with_the_suffix(case, monkeypatch):
    """Every name the fix changed ends with the suffix; names that had it (anywhere, like
    `/payments/pr123/ledger-audit`) are as they were."""
    before = physical_names(FIXTURES / f"{case}.before.py", CASES[case], monkeypatch, "pr123")
    names = physical_names(FIXTURES / f"{case}.after.py", CASES[case], monkeypatch, "pr123")
    assert names.keys() == before.keys()
    for key, name in names.items():
        if "pr123" in before[key]:
            assert name == before[key]
        else:
            assert _ends_with_suffix(name, "pr123"), name
    other = physical_names(FIXTURES / f"{case}.after.py", CASES[case], monkeypatch, "pr124")
    assert not set(names.values()) & set(other.values()), "two stacks still share a name"


def test_example_after_names(monkeypatch):
    names = physical_names(FIXTURES / "example.after.py", CASES["example"], monkeypatch, "pr123")
    assert sorted(names.values()) == [
        "ml-api-cluster-pr123", "ml-api-predictions-pr123", "ml-api-task-role-pr123",
        "ml-api-tg-pr123",
    ]


def test_fifo_queue_keeps_its_fifo_ending(monkeypatch):
    names = physical_names(FIXTURES / "module_level_getenv.after.py",
                           CASES["module_level_getenv"], monkeypatch, "pr123")
    assert "payment-events-pr123.fifo" in names.values()


@pytest.mark.parametrize("resource", sorted(_PHYSICAL_NAMES))
def test_table_names_real_arguments(resource):
    import importlib

    module_name, class_name = resource.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    parameters = inspect.signature(cls._internal_init).parameters
    assert _PHYSICAL_NAMES[resource][0] in parameters
    assert "tags" in parameters or resource.endswith(("iam.Group", "kms.Alias", "Dashboard"))


@pytest.mark.parametrize("resource", sorted(_TAGGABLE))
def test_required_tags_table_names_taggable_resources(resource):
    """The `required-tags-missing` table (it lives here to keep one table test per helper)."""
    import importlib

    module_name, class_name = resource.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    assert "tags" in inspect.signature(cls._internal_init).parameters


BUCKET_PROGRAM = b'''import pulumi
import pulumi_aws as aws

environment_suffix = pulumi.Config().get("environmentSuffix") or "dev"

logs = aws.s3.Bucket("api-logs", bucket="api-logs")
'''


def test_with_s3_bucket_name_not_unique_the_bucket_converges():
    """Both rules in one run: the suffix first, then account id and region; a second run of all
    rules changes nothing and finds nothing fixable."""
    project = ProjectContext(aws_major=7)
    first = fix_source("x.py", BUCKET_PROGRAM, all_rules(), Safety.UNSAFE, project=project)
    assert {f.rule_id for f in first.findings} == {"missing-environment-suffix",
                                                   "s3-bucket-name-not-unique"}
    assert b'bucket=f"api-logs-{environment_suffix}"[:34].lower() + f"-{aws.get_caller_identity' \
           in first.output
    second = fix_source("x.py", first.output, all_rules(), Safety.UNSAFE, project=project)
    assert second.output == first.output
    assert not [f for f in second.findings if f.fixable]
