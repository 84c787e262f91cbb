"""Real-library proof for `s3-bucket-name-not-unique`: the fixture programs run under Pulumi's
mock runtime with the real pulumi_aws, and the mock records the `bucket` input every
`aws:s3/bucket:Bucket` / `aws:s3/bucketV2:BucketV2` receives.

Before the fix two deployments of the same program (two accounts; for the name that already has
the account id, two regions of one account) ask for the same bucket name, so in real S3 the
second `pulumi up` fails with BucketAlreadyExists. After it the names carry the mock account id
and region, differ between accounts and regions, and are valid S3 names (lowercase, at most 63
characters) even for a long or upper-case environment suffix and the longest region code.
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "s3-bucket-name-not-unique"
BUCKET_TYPES = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
S3_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ACCOUNT_A = "111122223333"
ACCOUNT_B = "444455556666"
REGION = "eu-south-1"
OTHER_REGION = "eu-central-1"
LONGEST_REGION = "us-isof-south-1"

Build = Callable[[dict[str, Any], str], Any]

#: How to instantiate the component each fixture case defines, for an environment suffix.
CASES: dict[str, Build] = {
    "example": lambda ns, env: ns["S3Stack"]("s3", environment_suffix=env, tags={"Team": "api"}),
    "pinned_v6": lambda ns, env: ns["TapStack"]("tap", ns["TapStackArgs"](environment_suffix=env)),
    "from_import": lambda ns, env: ns["TapStack"]("tap"),
    "output_concat": lambda ns, env: ns["ExportsStack"]("exports", environment_suffix=env),
    "output_apply": lambda ns, env: ns["BuildStack"]("build", environment_suffix=env),
    "static_name": lambda ns, env: ns["TapStack"]("tap"),
    "comment_on_line": lambda ns, env: ns["UploadsStack"]("uploads", environment_suffix=env),
    "only_account_id_present": lambda ns, env: ns["BackupStack"]("backup", environment_suffix=env),
    "name_in_variable": lambda ns, env: ns["ReportsStack"]("reports", environment_suffix=env),
}
#: Cases whose bucket name depends on the environment suffix (static_name does not).
ENV_CASES = [case for case in CASES if case != "static_name"]
#: Two deployments whose before names clash: two accounts in one region, except where the name
#: already has the account id and only two regions of one account clash.
CLASHING = {case: ((ACCOUNT_A, REGION), (ACCOUNT_B, REGION)) for case in CASES}
CLASHING["only_account_id_present"] = ((ACCOUNT_A, REGION), (ACCOUNT_A, OTHER_REGION))

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # BucketV2, BucketVersioningV2 on v7
    pytest.mark.filterwarnings("ignore:name is deprecated"),  # pinned_v6's get_region().name on v7
]


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers the two invokes for one account and region; records requested bucket names."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.bucket_names: list[str | None] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.typ in BUCKET_TYPES:
            self.bucket_names.append(args.inputs.get("bucket"))
            name = args.inputs.get("bucket") or f"{args.name}-a1b2c3d"
            outputs.update(bucket=name, arn=f"arn:aws:s3:::{name}")
        return [f"{args.name}_id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/ci",
                "id": self.account,
                "userId": "AIDAEXAMPLE",
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "name": self.region,
                "region": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
                "description": "mock region",
            }
        raise AssertionError(f"unexpected invoke {args.token}")


def bucket_names(
    program: Path,
    build: Build,
    monkeypatch: pytest.MonkeyPatch,
    *,
    account: str,
    env: str = "dev",
    region: str = REGION,
) -> list[str | None]:
    """Run `program` (a fixture file) under mocks for one account; the bucket names it asks for."""
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", env)
    mocks = RecordingMocks(account, region)
    pulumi.runtime.set_mocks(mocks, project="tap", stack="dev", preview=False)

    @pulumi.runtime.test
    def run():
        namespace = runpy.run_path(str(program), run_name=f"fixture_{program.stem}")
        build(namespace, env)

    run()
    assert mocks.bucket_names, f"{program.name} created no bucket"
    return mocks.bucket_names


def before(case: str) -> Path:
    return FIXTURES / f"{case}.before.py"


def after(case: str) -> Path:
    return FIXTURES / f"{case}.after.py"


def assert_valid_unique_name(name: str | None, account: str, region: str) -> None:
    assert isinstance(name, str), name
    assert account in name and name.endswith(region), name
    assert name == name.lower(), name
    assert len(name) <= 63, (len(name), name)
    assert S3_NAME.match(name), name


@pytest.mark.parametrize("case", CASES)
def test_before_two_deployments_ask_for_the_same_bucket_name(case, monkeypatch):
    (account_1, region_1), (account_2, region_2) = CLASHING[case]
    first = bucket_names(before(case), CASES[case], monkeypatch, account=account_1,
                         region=region_1)
    second = bucket_names(before(case), CASES[case], monkeypatch, account=account_2,
                          region=region_2)
    assert first == second, "the before program should ask both places for the same name"


@pytest.mark.parametrize("case", CASES)
def test_after_names_carry_account_and_region_and_never_clash(case, monkeypatch):
    places = [(ACCOUNT_A, REGION), (ACCOUNT_B, REGION), (ACCOUNT_A, OTHER_REGION)]
    runs = [bucket_names(after(case), CASES[case], monkeypatch, account=account, region=region)
            for account, region in places]
    for names, (account, region) in zip(runs, places, strict=True):
        assert len(names) == len(runs[0])
        for name in names:
            assert_valid_unique_name(name, account, region)
    for per_place in zip(*runs, strict=True):
        assert len(set(per_place)) == len(places), per_place


def test_after_keeps_the_original_name_in_front(monkeypatch):
    (name,) = bucket_names(after("example"), CASES["example"], monkeypatch, account=ACCOUNT_A,
                           env="pr1234")
    assert name == f"api-logs-pr1234-{ACCOUNT_A}-{REGION}"
    (name,) = bucket_names(after("static_name"), CASES["static_name"], monkeypatch,
                           account=ACCOUNT_A)
    assert name == f"company-artifacts-{ACCOUNT_A}-{REGION}"
    (name,) = bucket_names(after("output_concat"), CASES["output_concat"], monkeypatch,
                           account=ACCOUNT_A, env="qa")
    assert name == f"tap-orders-qa-exports-{ACCOUNT_A}-{REGION}"


LONG_SUFFIX = "feature-payments-reconciliation-" + "x" * 40 + "-QA"


@pytest.mark.parametrize("case", ENV_CASES)
def test_after_stays_a_valid_name_for_a_long_mixed_case_suffix(case, monkeypatch):
    names_before = bucket_names(before(case), CASES[case], monkeypatch, account=ACCOUNT_A,
                                env=LONG_SUFFIX)
    assert any(len(n or "") > 63 or (n or "") != (n or "").lower() for n in names_before), (
        "the long suffix should break the before program's names, or the case proves nothing"
    )
    for region in (REGION, LONGEST_REGION):
        for name in bucket_names(after(case), CASES[case], monkeypatch, account=ACCOUNT_A,
                                 env=LONG_SUFFIX, region=region):
            assert_valid_unique_name(name, ACCOUNT_A, region)


def test_display_only_prefix_case_is_left_as_it_was():
    assert before("long_bucket_prefix").read_bytes() == after("long_bucket_prefix").read_bytes()
