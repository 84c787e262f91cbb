"""Real-library proof of the provider-aware rules' confirmed fixes: every fix case of
`pulumi-aws-unknown-kwarg` and `pulumi-aws-nonexistent-symbol` / `-module` runs under Pulumi's mock
runtime with the real pulumi_aws installed by the test extra (the release the v7 index is built
from).

Before the fix the program fails the way `pulumi preview` would (TypeError for a keyword the
constructor does not take or for an Output in `json.dumps`, AttributeError for a name the SDK does
not have) or, where the fix only replaces something deprecated, makes the SDK warn; after the fix it
constructs every resource with no such warning, and the values arrive at the inputs the fix meant.

Cases whose context pins pulumi_aws 6 cannot run against the installed 7 and are skipped here; the
keywords they rely on are checked against the shipped v6 index in tests/test_provider_index.py.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import inspect
import json
import runpy
import sys
import warnings
from pathlib import Path

import pulumi
import pytest

from iacfix.codemods import pulumi_aws_unknown_kwarg as unknown_kwarg
from iacfix.codemods.pulumi_aws_unknown_kwarg import RESOURCE_OPTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RULES = ("pulumi-aws-unknown-kwarg", "pulumi-aws-nonexistent-symbol", "pulumi-aws-nonexistent-module",
         "output-in-json-dumps")
INSTALLED_MAJOR = int(importlib.metadata.version("pulumi-aws").split(".")[0])


def fix_cases() -> list[tuple[str, str]]:
    cases = []
    for rule in RULES:
        folder = FIXTURES / rule
        context_file = folder / "context.toml"
        context = tomllib.loads(context_file.read_text()) if context_file.exists() else {}
        for before in sorted(folder.glob("*.before.py")):
            name = before.name.removesuffix(".before.py")
            if context.get(name, {}).get("aws-major", 7) == INSTALLED_MAJOR:
                cases.append((rule, name))
    return cases


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.invokes: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        outputs = {"name": args.name, **args.inputs, "arn": f"arn:aws:mock:::{args.name}",
                   "url": f"https://sqs.mock/{args.name}"}
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.invokes.append(args.token)
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "eu-west-1", "region": "eu-west-1", "id": "eu-west-1"}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/ci", "userId": "AID"}
        return {}


def run_program(path: Path) -> tuple[Mocks, list[warnings.WarningMessage]]:
    """Run a fixture file under the mock runtime; the resources it registered and the
    deprecation warnings pulumi_aws gave while the program ran.

    pulumi_aws imports its sub-packages lazily, and a deprecated class warns in its class body,
    that is when its sub-package is imported, whether or not the program uses it; so the program
    runs once to import what it touches, then again with warnings recorded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # the second run reports it
            _run(path, Mocks())
    mocks = Mocks()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run(path, mocks)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning) or "deprecated" in str(w.message)]
    return mocks, deprecations


def _run(path: Path, mocks: Mocks) -> None:
    pulumi.runtime.set_mocks(mocks, project="tap", stack="dev", preview=False)
    pulumi.runtime.set_all_config({"tap:dbPassword": "mock-password-0123"}, ["tap:dbPassword"])

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(path), run_name=f"fixture_{path.stem.replace('.', '_')}")

    program()


#: Cases whose before form only uses deprecated inputs: passed as resource keywords they go
#: straight to `_internal_init`, which does not warn (the engine does, at preview); the SDK declares
#: the deprecation in the `...Args` class, whose constructor warns. (module, Args class, keyword,
#: what the warning says).
DEPRECATED_INPUTS = {
    "s3_inline_settings": [("s3", "BucketArgs", "versioning", "versioning is deprecated"),
                           ("s3", "BucketArgs", "server_side_encryption_configuration",
                            "server_side_encryption_configuration is deprecated")],
    "lifecycle_rules_tap_stack": [("s3", "BucketArgs", "versioning", "versioning is deprecated"),
                                  ("s3", "BucketArgs", "lifecycle_rules", "lifecycle_rule is deprecated")],
    "lifecycle_rules_lib_module": [("s3", "BucketArgs", "lifecycle_rules", "lifecycle_rule is deprecated")],
}


@pytest.mark.parametrize(("rule", "case"), fix_cases(), ids=lambda v: v)
def test_before_fails_or_warns_and_after_constructs(rule: str, case: str) -> None:
    folder = FIXTURES / rule
    try:
        _, before_warnings = run_program(folder / f"{case}.before.py")
    except (TypeError, AttributeError) as error:
        failure, before_warnings = error, []
    else:
        failure = None
    for module, args_class, keyword, warning in DEPRECATED_INPUTS.get(case, []):
        cls = getattr(importlib.import_module(f"pulumi_aws.{module}"), args_class)
        with pytest.warns(DeprecationWarning, match=warning):
            cls(**{keyword: {}})
        before_warnings.append(keyword)
    assert failure is not None or before_warnings, "the before form neither fails nor warns"

    mocks, after_warnings = run_program(folder / f"{case}.after.py")
    assert not after_warnings, [str(w.message) for w in after_warnings]
    assert mocks.resources or mocks.invokes, "the fixed program registered nothing and called nothing"


def resources_of(case: str, rule: str = "pulumi-aws-unknown-kwarg") -> dict[str, dict]:
    mocks, _ = run_program(FIXTURES / rule / f"{case}.after.py")
    return {args.typ.rsplit(":", 1)[1] + ":" + args.name: args.inputs for args in mocks.resources}


def test_renamed_values_arrive_at_the_meant_inputs() -> None:
    found = resources_of("cloudformation_spellings")
    queue = next(v for k, v in found.items() if k.startswith("Queue:"))
    assert (queue["name"], queue["visibilityTimeoutSeconds"], queue["messageRetentionSeconds"]) == (
        "jobs-dev", 120, 86400)
    database = next(v for k, v in found.items() if k.startswith("Instance:"))
    assert (database["dbName"], database["username"]) == ("orders", "orders_admin")
    logs = next(v for k, v in found.items() if k.startswith("LogGroup:"))
    assert (logs["name"], logs["retentionInDays"]) == ("/app/api-dev", 30)
    assert next(v for k, v in found.items() if k.startswith("Function:"))["memorySize"] == 256


def test_list_inputs_and_eip_domain() -> None:
    found = resources_of("list_inputs_from_import")
    pipeline = next(v for k, v in found.items() if k.startswith("Pipeline:"))
    assert [store["type"] for store in pipeline["artifactStores"]] == ["S3"]
    repository = next(v for k, v in found.items() if k.startswith("Repository:"))
    assert repository["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert next(v for k, v in resources_of("eip_vpc").items() if k.startswith("Eip:"))["domain"] == "vpc"


def test_stage_and_bucket_settings_move_to_separate_resources() -> None:
    found = resources_of("api_deployment_stage")
    stage = next(v for k, v in found.items() if k.startswith("Stage:"))
    assert (stage["stageName"], stage["description"]) == ("dev", "Stage of the health API")
    deployment = next(v for k, v in found.items() if k.startswith("Deployment:"))
    assert "stageName" not in deployment

    found = resources_of("s3_inline_settings")
    versioning = next(v for k, v in found.items() if k.startswith("BucketVersioning:"))
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    encryption = next(v for k, v in found.items() if k.startswith("BucketServerSideEncryptionConfiguration:"))
    assert encryption["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    bucket = next(v for k, v in found.items() if k.startswith("Bucket:"))
    assert "versioning" not in bucket and "serverSideEncryptionConfiguration" not in bucket


def lifecycle_inputs(case: str, state: str) -> dict[str, list[dict]]:
    """Bucket name -> the lifecycle rules the program registered for it: the bucket's inline
    `lifecycleRules`, or the `rules` of the BucketLifecycleConfiguration whose `bucket` is its id."""
    mocks, _ = run_program(FIXTURES / "pulumi-aws-unknown-kwarg" / f"{case}.{state}.py")
    buckets = {f"{r.name}-id": r for r in mocks.resources if r.typ == "aws:s3/bucket:Bucket"}
    found = {r.name: r.inputs["lifecycleRules"] for r in buckets.values() if "lifecycleRules" in r.inputs}
    for r in mocks.resources:
        if r.typ == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
            assert r.inputs["bucket"] in buckets, r.inputs["bucket"]
            assert r.name == buckets[r.inputs["bucket"]].name + "-lifecycle"
            found[buckets[r.inputs["bucket"]].name] = r.inputs["rules"]
    return found


def as_configuration_rule(old: dict) -> dict:
    """What an inline `lifecycleRules` entry (as registered) means in BucketLifecycleConfiguration
    terms, written out independently of the rule's table."""
    new = {"id": old["id"], "status": "Enabled" if old["enabled"] else "Disabled"}
    prefix, tags = old.get("prefix"), old.get("tags")
    if tags and prefix is None and len(tags) == 1:
        [(key, value)] = tags.items()
        new["filter"] = {"tag": {"key": key, "value": value}}
    elif tags:
        new["filter"] = {"and": {**({"prefix": prefix} if prefix is not None else {}), "tags": tags}}
    else:
        new["filter"] = {"prefix": prefix} if prefix is not None else {}
    for same in ("expiration", "transitions"):
        if same in old:
            new[same] = old[same]
    if "noncurrentVersionExpiration" in old:
        new["noncurrentVersionExpiration"] = {"noncurrentDays": old["noncurrentVersionExpiration"]["days"]}
    if "noncurrentVersionTransitions" in old:
        new["noncurrentVersionTransitions"] = [{"noncurrentDays": t["days"], "storageClass": t["storageClass"]}
                                               for t in old["noncurrentVersionTransitions"]]
    if "abortIncompleteMultipartUploadDays" in old:
        new["abortIncompleteMultipartUpload"] = {"daysAfterInitiation": old["abortIncompleteMultipartUploadDays"]}
    return new


@pytest.mark.parametrize("case", ["lifecycle_rules_tap_stack", "lifecycle_rules_lib_module"])
def test_lifecycle_rules_move_to_a_bucket_lifecycle_configuration(case: str) -> None:
    """Before: the bucket registers the deprecated inline `lifecycleRules`. After: the bucket has
    none, and a BucketLifecycleConfiguration for it registers the same rules in the new shape."""
    before, after = lifecycle_inputs(case, "before"), lifecycle_inputs(case, "after")
    mocks, _ = run_program(FIXTURES / "pulumi-aws-unknown-kwarg" / f"{case}.after.py")
    assert not [r for r in mocks.resources if r.typ == "aws:s3/bucket:Bucket" and "lifecycleRules" in r.inputs]
    assert before.keys() == after.keys() and before
    for bucket, rules in before.items():
        assert after[bucket] == [as_configuration_rule(rule) for rule in rules], bucket


def test_lifecycle_rules_values_arrive_at_the_meant_inputs() -> None:
    rules = {rule["id"]: rule for rules in lifecycle_inputs("lifecycle_rules_tap_stack", "after").values()
             for rule in rules}
    archive = rules["archive-access-logs"]
    assert (archive["status"], archive["filter"], archive["expiration"]) == (
        "Enabled", {"prefix": "access/"}, {"days": 365})
    assert archive["transitions"] == [{"days": 30, "storageClass": "STANDARD_IA"},
                                      {"days": 90, "storageClass": "GLACIER"}]
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules["abort-incomplete-uploads"]["filter"] == {}
    versions = rules["noncurrent-versions"]
    assert versions["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert versions["noncurrentVersionTransitions"] == [{"noncurrentDays": 30, "storageClass": "GLACIER"}]
    assert rules["temporary-exports"]["filter"] == {"and": {"prefix": "exports/", "tags": {"Retention": "temporary"}}}
    assert (rules["scratch-objects"]["status"], rules["scratch-objects"]["filter"]) == (
        "Disabled", {"tag": {"key": "Scratch", "value": "true"}})


def test_lifecycle_table_names_real_classes_and_fields() -> None:
    """Every class and field the lifecycle split reads or writes is one pulumi_aws.s3 has, and the
    new types' required fields are ones the split always writes."""
    s3 = importlib.import_module("pulumi_aws.s3")

    def fields(name: str) -> dict[str, inspect.Parameter]:
        cls = getattr(s3, name)
        init = cls._internal_init if issubclass(cls, pulumi.CustomResource) else cls.__init__
        parameters = inspect.signature(init).parameters.items()
        return {k: v for k, v in parameters if k not in ("self", "__self__", "__props__")}

    def required(name: str) -> set[str]:
        return {k for k, v in fields(name).items() if v.default is inspect.Parameter.empty}

    assert {"bucket", "rules"} <= set(fields(unknown_kwarg.RENAMES["s3", "Bucket", "lifecycle_rules"].resource))
    assert set(unknown_kwarg._RULE_KEYS) == set(fields(unknown_kwarg._OLD_RULE))
    written = {"id", "status", "filter", "expiration", "transitions", "noncurrent_version_expiration",
               "noncurrent_version_transitions", "abort_incomplete_multipart_upload"}
    assert written <= set(fields(unknown_kwarg._NEW_RULE)) and required(unknown_kwarg._NEW_RULE) <= {"id", "status"}
    assert {"prefix", "tag", "and_"} <= set(fields(unknown_kwarg._FILTER))
    assert {"prefix", "tags"} <= set(fields(unknown_kwarg._AND))
    assert set(fields(unknown_kwarg._TAG)) == required(unknown_kwarg._TAG) == {"key", "value"}
    assert set(fields(unknown_kwarg._ABORT)) == {"days_after_initiation"}
    for key, shape in unknown_kwarg._LIFECYCLE.items():
        assert set(shape.fields) == set(fields(shape.old)), key
        assert set(shape.fields.values()) <= set(fields(shape.new)), key
        assert required(shape.new) <= {shape.fields[k] for k in shape.required}, key


def test_resource_options_the_rule_moves_are_resource_options_parameters() -> None:
    parameters = set(inspect.signature(pulumi.ResourceOptions.__init__).parameters)
    assert RESOURCE_OPTIONS <= parameters, RESOURCE_OPTIONS - parameters


def test_outputs_in_json_documents_resolve_after_the_fix():
    with pytest.raises(TypeError, match="not JSON serializable"):
        run_program(FIXTURES / "output-in-json-dumps" / "example.before.py")
    found = resources_of("example", "output-in-json-dumps")
    policy = json.loads(next(v for k, v in found.items() if k.startswith("RolePolicy:"))["policy"])
    assert policy["Statement"][0]["Resource"] == ["arn:aws:mock:::reports-dev", "arn:aws:mock:::reports-dev/*"]
    queue = next(v for k, v in resources_of("from_pulumi_import_output", "output-in-json-dumps").items()
                 if k == "Queue:orders")
    assert json.loads(queue["redrivePolicy"]) == {"deadLetterTargetArn": "arn:aws:mock:::orders-dlq",
                                                  "maxReceiveCount": 5}


def test_fstrings_of_outputs_carry_the_values_after_the_fix():
    def variables(state: str) -> dict:
        mocks, _ = run_program(FIXTURES / "output-in-fstring" / f"resource_inputs.{state}.py")
        [function] = [r for r in mocks.resources if r.typ == "aws:lambda/function:Function"]
        return function.inputs["environment"]["variables"]

    before = variables("before")
    assert all(value.startswith("Calling __str__ on an Output[T] is not supported") or
               "Calling __str__" in value for value in before.values())
    assert variables("after") == {"QUEUE": "https://sqs.mock/jobs", "TABLE": "table=      jobs"}
