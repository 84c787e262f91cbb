"""Real-library proof for `hardcoded-db-password` and `secret-in-plain-config`.

The fixture programs (each `before`, and the rule's own output for it, which must equal the
`after` fixture) run under Pulumi's mock runtime with the real pulumi_aws and pulumi_random; the
mock records the inputs every resource receives and gives each `RandomPassword` a result drawn
from the alphabet it was asked for. Before the fix the database receives the literal from the
source (seed 002: "ChangeMe123!TempPassword") or a plain config value; after it, the master
password is the `RandomPassword`'s result (or the config value), marked secret, and within the
characters the service accepts.
"""

from __future__ import annotations

import importlib
import inspect
import json
import random
import string
from pathlib import Path

import pulumi
import pulumi_aws
import pytest

from iacfix.codemods._secret_values import DB_SINKS
from iacfix.codemods.hardcoded_db_password import SPECIAL
from iacfix.engine import fix_source
from iacfix.results import Safety

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
RDS_FORBIDDEN = set('/@" ')  # CreateDBCluster MasterUserPassword: printable ASCII except these
ELASTICACHE_SYMBOLS = set("!&#$^<>-")  # the only symbols an ElastiCache AUTH token may hold


def rule(rule_id: str):
    module = importlib.import_module("iacfix.codemods." + rule_id.replace("-", "_"))
    return next(c for c in vars(module).values() if getattr(c, "id", None) == rule_id)


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource's inputs; a RandomPassword gets a result from its own alphabet."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        self.resources.append((args.typ, args.name, inputs))
        outputs = {**inputs, "arn": f"arn:aws:mock:us-east-1:123456789012:{args.name}",
                   "endpoint": f"{args.name}.cluster-abc.us-east-1.rds.amazonaws.com"}
        if args.typ == RANDOM_PASSWORD:
            special = inputs.get("overrideSpecial", "!@#$%&*()-_=+[]{}<>:?")
            alphabet = string.ascii_letters + string.digits + (special if inputs.get("special") else "")
            draw = random.Random(args.name)
            outputs["result"] = "".join(draw.choice(alphabet) for _ in range(int(inputs["length"])))
        return [f"{args.name}_id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def plain(value):
    """(value, is_secret) of a recorded input."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return value["value"], True
    return value, False


def source(rule_id: str, case: str, version: str) -> bytes:
    before = (FIXTURES / rule_id / f"{case}.before.py").read_bytes()
    if version == "before":
        return before
    result = fix_source(f"{case}.before.py", before, [rule(rule_id)], Safety.UNSAFE)
    assert result.error is None and any(f.fixed for f in result.findings)
    assert result.output == (FIXTURES / rule_id / f"{case}.after.py").read_bytes()
    return result.output


def deploy(code: bytes, entry=None, config: dict | None = None) -> list[tuple[str, str, dict]]:
    """Run the program (and `entry(namespace)`, its component) under mocks; the resources."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack="test", preview=False)
    pulumi.runtime.set_all_config({f"tap:{k}": v for k, v in (config or {}).items()})

    @pulumi.runtime.test
    def program():
        namespace: dict = {"__name__": "tap_program"}
        exec(compile(code, "lib/program.py", "exec"), namespace)
        if entry is not None:
            entry(namespace)
        return pulumi.Output.from_input(None)

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    return mocks.resources


def inputs_of(resources, typ: str) -> dict:
    (found,) = [inputs for t, _, inputs in resources if t == typ]
    return found


def random_results(resources) -> list[tuple[dict, str]]:
    """(inputs, the result the mock gave) of every RandomPassword."""
    found = []
    for typ, name, inputs in resources:
        if typ == RANDOM_PASSWORD:
            special = inputs.get("overrideSpecial", "")
            alphabet = string.ascii_letters + string.digits + special
            draw = random.Random(name)
            found.append((inputs, "".join(draw.choice(alphabet) for _ in range(int(inputs["length"])))))
    return found


CLUSTER = "aws:rds/cluster:Cluster"


def create_database(namespace: dict) -> None:
    namespace["create_database"](
        "test", {"private_subnet_ids": ["subnet-1"], "database_sg_id": "sg-1"}, {"Project": "payment"}
    )


# --- the seed's example ------------------------------------------------------------------------


def test_example_before_sends_the_literal_as_the_master_password() -> None:
    resources = deploy(source("hardcoded-db-password", "example", "before"), create_database)
    password, _ = plain(inputs_of(resources, CLUSTER)["masterPassword"])
    assert password == "ChangeMe123!TempPassword"
    assert not [r for r in resources if r[0] == RANDOM_PASSWORD]


def test_example_after_uses_a_secret_random_password_rds_accepts() -> None:
    resources = deploy(source("hardcoded-db-password", "example", "after"), create_database)
    ((generator, result),) = random_results(resources)
    assert generator["length"] >= 16 and generator["special"] is True
    assert set(generator["overrideSpecial"]) <= set(string.punctuation) - RDS_FORBIDDEN
    (name,) = [n for t, n, _ in resources if t == RANDOM_PASSWORD]
    assert name == "payment-db-password-test"

    password, secret = plain(inputs_of(resources, CLUSTER)["masterPassword"])
    assert password == result and secret, "the cluster gets the generated password, as a secret"
    assert password != "ChangeMe123!TempPassword" and not set(password) & RDS_FORBIDDEN

    secret_string, secret = plain(
        inputs_of(resources, "aws:secretsmanager/secretVersion:SecretVersion")["secretString"])
    assert secret and json.loads(secret_string)["password"] == password


def test_rds_override_special_is_within_what_rds_allows() -> None:
    allowed = set(string.punctuation) - RDS_FORBIDDEN
    for service in ("rds", "docdb", "redshift"):
        assert set(SPECIAL[service]) <= allowed - {"'", "\\"}
    assert set(SPECIAL["elasticache"]) <= ELASTICACHE_SYMBOLS


# --- the variants ------------------------------------------------------------------------------


def test_variable_bound_password_and_its_json_credentials() -> None:
    case = "variable_bound_json"
    before = deploy(source("hardcoded-db-password", case, "before"),
                    lambda ns: ns["TapStack"]("tap"))
    assert plain(inputs_of(before, CLUSTER)["masterPassword"])[0] == "SuperSecret123!"

    after = deploy(source("hardcoded-db-password", case, "after"), lambda ns: ns["TapStack"]("tap"))
    ((_, result),) = random_results(after)
    password, secret = plain(inputs_of(after, CLUSTER)["masterPassword"])
    assert password == result and secret
    document, secret = plain(
        inputs_of(after, "aws:secretsmanager/secretVersion:SecretVersion")["secretString"])
    assert secret and json.loads(document) == {"username": "admin", "password": result,
                                               "engine": "mysql"}


def test_elasticache_auth_token_uses_only_the_allowed_symbols() -> None:
    def cache(ns):
        ns["CacheStack"]("cache", "test", "cache-subnets", "sg-1")

    typ = "aws:elasticache/replicationGroup:ReplicationGroup"
    before = deploy(source("hardcoded-db-password", "elasticache_comment_on_line", "before"), cache)
    assert plain(inputs_of(before, typ)["authToken"])[0] == "RedisAuthToken2024Secure"
    after = deploy(source("hardcoded-db-password", "elasticache_comment_on_line", "after"), cache)
    ((generator, result),) = random_results(after)
    token, secret = plain(inputs_of(after, typ)["authToken"])
    assert token == result and secret and 16 <= len(token) <= 128
    assert set(token) <= set(string.ascii_letters + string.digits) | ELASTICACHE_SYMBOLS


def test_redshift_password_has_the_character_classes_redshift_requires() -> None:
    typ = "aws:redshift/cluster:Cluster"
    code = source("hardcoded-db-password", "redshift_existing_random_import", "after")
    resources = deploy(code)
    generator, result = [g for g in random_results(resources)
                         if g[0].get("overrideSpecial")][0]
    assert generator["minUpper"] == generator["minLower"] == generator["minNumeric"] == 1
    password, secret = plain(inputs_of(resources, typ)["masterPassword"])
    assert password == result and secret and not set(password) & (RDS_FORBIDDEN | {"'", "\\"})


def test_plain_config_reads_become_secret_reads_of_the_same_values() -> None:
    """pulumi_aws marks these inputs secret itself, so the state was encrypted before too; the
    fix is about the stack file, and the values must stay the same (a missing `get` key too)."""
    config = {"docdbPassword": "DocsPass123", "reportingDbPassword": "ReportPass123"}
    case = "config_plain_reads"
    for version in ("before", "after"):
        resources = deploy(source("hardcoded-db-password", case, version),
                           lambda ns: ns["TapStack"]("tap"), config)
        assert plain(inputs_of(resources, "aws:docdb/cluster:Cluster")["masterPassword"]) == (
            "DocsPass123", True)
        assert plain(inputs_of(resources, "aws:rds/instance:Instance")["password"]) == (
            "ReportPass123", True)
        missing = deploy(source("hardcoded-db-password", case, version),
                         lambda ns: ns["TapStack"]("tap"), {"reportingDbPassword": "x"})
        assert "masterPassword" not in inputs_of(missing, "aws:docdb/cluster:Cluster")


def test_hardcoded_fallback_is_dropped_and_a_missing_key_fails_early() -> None:
    case = "config_hardcoded_fallback"
    before = deploy(source("hardcoded-db-password", case, "before"))
    assert plain(inputs_of(before, CLUSTER)["masterPassword"]) == ("FlaskAdmin2024", True)
    after_code = source("hardcoded-db-password", case, "after")
    after = deploy(after_code, config={"db_password": "FromTheStack1"})
    assert plain(inputs_of(after, CLUSTER)["masterPassword"]) == ("FromTheStack1", True)
    with pytest.raises(Exception, match="db_password"):
        deploy(after_code)


# --- secret-in-plain-config --------------------------------------------------------------------


def test_api_key_in_lambda_environment_becomes_secret() -> None:
    config = {"paymentGatewayApiKey": "pk_live_123"}
    typ = "aws:lambda/function:Function"
    for version, expect_secret in (("before", False), ("after", True)):
        resources = deploy(source("secret-in-plain-config", "example", version), config=config)
        environment = inputs_of(resources, typ)["environment"]
        variables, outer_secret = plain(environment)
        variables = variables["variables"]
        value, inner_secret = plain(variables["PAYMENT_GATEWAY_API_KEY"])
        assert value == "pk_live_123"
        assert (outer_secret or inner_secret) == expect_secret


def test_signing_secret_in_secret_string_is_the_same_json_after_the_fix() -> None:
    """`json.dumps` of a dict holding the Output would raise TypeError; the fix's
    `pulumi.Output.json_dumps` gives the same document (pulumi_aws marks `secretString` secret
    itself, so here the fix is about the stack file)."""
    config = {"stripeWebhookSecret": "whsec_123"}
    typ = "aws:secretsmanager/secretVersion:SecretVersion"
    for version in ("before", "after"):
        resources = deploy(source("secret-in-plain-config", "from_import_secret_string", version),
                           lambda ns: ns["TapStack"]("tap"), config)
        document, secret = plain(inputs_of(resources, typ)["secretString"])
        assert json.loads(document) == {"signing_secret": "whsec_123", "mode": "live"} and secret


# --- facts the rules rely on -------------------------------------------------------------------


@pytest.mark.parametrize("cls", sorted(DB_SINKS))
def test_db_sink_arguments_exist_in_pulumi_aws(cls: str) -> None:
    module, _, name = cls.rpartition(".")
    resource = getattr(importlib.import_module(module.replace("pulumi_aws", "pulumi_aws", 1)), name)
    parameters = inspect.signature(resource._internal_init).parameters
    for keyword in DB_SINKS[cls][0]:
        assert keyword in parameters, f"{cls} has no {keyword}"


def test_config_secret_methods_exist() -> None:
    from iacfix.codemods._secret_values import GET_TO_REQUIRE_SECRET, PLAIN_TO_SECRET

    for plain_method, secret_method in {**PLAIN_TO_SECRET, **GET_TO_REQUIRE_SECRET}.items():
        assert hasattr(pulumi.Config, plain_method) and hasattr(pulumi.Config, secret_method)
    assert hasattr(pulumi.Output, "json_dumps") and pulumi_aws


BOTH_RULES_FIXTURES = [
    path for folder in ("hardcoded-db-password", "secret-in-plain-config")
    for path in sorted((FIXTURES / folder).glob("*.py"))
    if path.name.endswith((".before.py", ".flagged.py"))
]


@pytest.mark.parametrize("path", BOTH_RULES_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_two_rules_never_report_the_same_call(path: Path) -> None:
    """No line is reported by both rules, and a config read that reaches a database password is
    only ever `hardcoded-db-password`'s."""
    rules = [rule("hardcoded-db-password"), rule("secret-in-plain-config")]
    result = fix_source(path.name, path.read_bytes(), rules, Safety.UNSAFE)
    lines = {rule_id: {f.line for f in result.findings if f.rule_id == rule_id}
             for rule_id in ("hardcoded-db-password", "secret-in-plain-config")}
    assert not lines["hardcoded-db-password"] & lines["secret-in-plain-config"]
    mine = lines[path.parent.name]
    assert mine, "the fixture's own rule fires"
    if path.parent.name == "hardcoded-db-password":
        assert not lines["secret-in-plain-config"]


RANDOM_AND_LITERAL_FIXTURES = [
    path for folder in ("hardcoded-db-password", "random-for-secrets")
    for path in sorted((FIXTURES / folder).glob("*.before.py"))
]


@pytest.mark.parametrize("path", RANDOM_AND_LITERAL_FIXTURES,
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_random_for_secrets_and_hardcoded_db_password_never_share_a_finding(path: Path) -> None:
    """A password drawn from `random` is random-for-secrets', a literal one is ours."""
    rules = [rule("hardcoded-db-password"), rule("random-for-secrets")]
    result = fix_source(path.name, path.read_bytes(), rules, Safety.UNSAFE)
    fired = {f.rule_id for f in result.findings}
    assert fired == {path.parent.name}, [(f.rule_id, f.line) for f in result.findings]
