"""Real-library proof for `random-for-secrets`: run the fixture programs under Pulumi's mock runtime.

Each program (the `before` fixture, and the rule's own output for it, which must equal the
`after` fixture) is executed with `pulumi.runtime.set_mocks`; the mock records the inputs every
resource receives, so the test sees the very master password / AUTH token / SecureString value
the program hands to pulumi_aws. It shows, before the fix and not after:
- predictability: `random.seed(0)` before the program runs makes its secret reproducible;
- rejection: with `string.punctuation` (or a literal holding `@`, `/`) in the alphabet, some runs
  produce a password the service refuses (RDS: no `/`, `@`, `"`, space; DocumentDB: the same;
  ElastiCache AUTH tokens: only `!&#$^<>-` as symbols), which fails `pulumi up` at random.
After the fix the alphabet is otherwise the same: every character it keeps still occurs.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pulumi
import pytest

from iacfix.engine import fix_source
from iacfix.registry import rule_by_id
from iacfix.results import Safety

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "random-for-secrets"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value

RDS_FORBIDDEN = set('/@" ')  # CreateDBCluster / CreateDBInstance MasterUserPassword
ELASTICACHE_SYMBOLS = set("!&#$^<>-")  # the only symbols an ElastiCache AUTH token may hold


def rds_rejects(password: str) -> bool:
    """AWS's documented MasterUserPassword constraint for RDS and DocumentDB."""
    printable = all(32 <= ord(c) < 127 for c in password)
    return not (8 <= len(password) <= 41 and printable) or bool(set(password) & RDS_FORBIDDEN)


def elasticache_rejects(token: str) -> bool:
    """AWS's documented AUTH token constraint: 16-128 printable characters, limited symbols."""
    allowed = set(string.ascii_letters + string.digits) | ELASTICACHE_SYMBOLS
    return not 16 <= len(token) <= 128 or not set(token) <= allowed


class RecordingMocks(pulumi.runtime.Mocks):
    """Records the inputs of every resource the program registers."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        outputs = {
            **args.inputs,
            "arn": f"arn:aws:mock:us-east-1:123456789012:{args.name}",
            "endpoint": f"{args.name}.cluster-abc.us-east-1.rds.amazonaws.com",
            "address": f"{args.name}.abc.us-east-1.rds.amazonaws.com",
            "primaryEndpointAddress": f"{args.name}.abc.cache.amazonaws.com",
            "name": args.inputs.get("name", args.name),
        }
        return [f"{args.name}_id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def plain(value):
    """The value inside a Pulumi secret marker (resource inputs arrive wrapped)."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return value["value"]
    return value


def fixed_source(case: str) -> bytes:
    """The rule's own output for `<case>.before.py`; it must be the `after` fixture."""
    before = (FIXTURES / f"{case}.before.py").read_bytes()
    result = fix_source(f"{case}.before.py", before, [rule_by_id("random-for-secrets")],
                        Safety.SAFE)
    assert result.error is None and any(f.fixed for f in result.findings)
    assert result.output == (FIXTURES / f"{case}.after.py").read_bytes()
    return result.output


def source(case: str, version: str) -> bytes:
    return (FIXTURES / f"{case}.before.py").read_bytes() if version == "before" else fixed_source(case)


def load(code: bytes, case: str) -> dict:
    namespace: dict = {"__name__": f"tap_stack_{case}"}
    exec(compile(code, f"lib/tap_stack_{case}.py", "exec"), namespace)
    return namespace


#: case -> (constructor arguments after the name, resource type, input holding the secret)
CASES = {
    "example": ((), "aws:rds/cluster:Cluster", "masterPassword"),
    "aliased_import": ((), "aws:elasticache/replicationGroup:ReplicationGroup", "authToken"),
    "from_import": (("arn:aws:iam::123456789012:role/webhook",), "aws:ssm/parameter:Parameter",
                    "value"),
    "secrets_manager_json": (("test",), "aws:rds/cluster:Cluster", "masterPassword"),
    "returned_from_function": (("test",), "aws:rds/instance:Instance", "password"),
    "comment_on_line": ((), "aws:docdb/cluster:Cluster", "masterPassword"),
}
REJECTS = {
    "example": rds_rejects,
    "secrets_manager_json": rds_rejects,
    "returned_from_function": rds_rejects,
    "comment_on_line": rds_rejects,
    "aliased_import": elasticache_rejects,
}


def deploy(namespace: dict, case: str, seed: int | None = None) -> tuple[str, list]:
    """Run the program's TapStack once under mocks; the secret input and all resources."""
    arguments, resource_type, key = CASES[case]
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="tap", stack="test", preview=False)
    if seed is not None:
        random.seed(seed)

    @pulumi.runtime.test
    def program():
        stack = namespace["TapStack"]("test", *arguments)
        return pulumi.Output.from_input(stack.urn)

    program()
    values = [plain(inputs[key]) for typ, _, inputs in mocks.resources if typ == resource_type]
    assert len(values) == 1, mocks.resources
    return values[0], mocks.resources


def passwords(case: str, version: str, runs: int) -> list[str]:
    namespace = load(source(case, version), case)
    return [deploy(namespace, case)[0] for _ in range(runs)]


# --- predictability ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_seeding_random_reproduces_the_secret_before_the_fix(case: str) -> None:
    namespace = load(source(case, "before"), case)
    first, _ = deploy(namespace, case, seed=0)
    second, _ = deploy(namespace, case, seed=0)
    assert first == second, "random.seed(0) reproduces the secret: anyone can regenerate it"
    third, _ = deploy(namespace, case, seed=1)
    assert third != first


@pytest.mark.parametrize("case", sorted(CASES))
def test_seeding_random_does_not_reproduce_the_secret_after_the_fix(case: str) -> None:
    namespace = load(source(case, "after"), case)
    first, _ = deploy(namespace, case, seed=0)
    second, _ = deploy(namespace, case, seed=0)
    assert first != second, "the secret must come from the OS CSPRNG, not the seeded PRNG"
    assert len(first) == len(second) == len(deploy(load(source(case, "before"), case), case)[0])


# --- service constraints -----------------------------------------------------------------------


def test_example_before_the_fix_rds_rejects_some_master_passwords() -> None:
    """Seed 001: `string.punctuation` in the alphabet; RDS refuses `/`, `@`, `"`."""
    namespace = load(source("example", "before"), "example")
    generated = [deploy(namespace, "example", seed=seed)[0] for seed in range(60)]
    rejected = [p for p in generated if rds_rejects(p)]
    assert len(rejected) > 20, "about two runs in three must fail CreateDBCluster"


def test_example_after_the_fix_rds_accepts_200_master_passwords_from_the_same_alphabet() -> None:
    generated = passwords("example", "after", 200)
    assert not [p for p in generated if rds_rejects(p)]
    assert {len(p) for p in generated} == {32}
    expected = set(string.ascii_letters + string.digits + string.punctuation) - RDS_FORBIDDEN
    assert set("".join(generated)) == expected, "only the characters RDS rejects were dropped"


def test_example_secret_version_holds_the_master_password() -> None:
    namespace = load(source("example", "after"), "example")
    password, resources = deploy(namespace, "example")
    (secret_string,) = [
        plain(inputs["secretString"]) for typ, _, inputs in resources
        if typ == "aws:secretsmanager/secretVersion:SecretVersion"
    ]
    assert json.loads(secret_string)["password"] == password


@pytest.mark.parametrize("case", sorted(REJECTS))
def test_service_rejects_a_secret_before_the_fix_and_none_after(case: str) -> None:
    rejects = REJECTS[case]
    before = load(source(case, "before"), case)
    assert any(rejects(deploy(before, case, seed=seed)[0]) for seed in range(100)), (
        "the unfixed alphabet produces secrets the service refuses"
    )
    after = passwords(case, "after", 100)
    assert not [p for p in after if rejects(p)]


def test_generate_password_called_directly() -> None:
    """`returned_from_function`: the helper itself, without Pulumi, over many calls."""
    before = load(source("returned_from_function", "before"), "before")["generate_password"]
    random.seed(7)
    first = before()
    random.seed(7)
    assert before() == first
    assert any("@" in before() for _ in range(200))

    after = load(source("returned_from_function", "after"), "after")["generate_password"]
    generated = []
    for _ in range(1000):
        random.seed(7)
        generated.append(after(30))
    assert len(set(generated)) == len(generated)
    assert not [p for p in generated if rds_rejects(p)]
    assert all(any(c.isdigit() for c in p) and set(p) & set("!#$%^&*") for p in generated)
    assert set("".join(generated)) == set(string.ascii_letters + string.digits + "!#$%^&*")


# --- the name test and rewrites that fixtures do not show -------------------------------------


@pytest.mark.parametrize("name", [
    "db_password", "api_token", "secret_key", "auth_token", "master_password", "secret_string",
    "MasterUserPassword", "SecretString", "apiKey", "master_password_wo", "redis_auth_token",
    "webhook_signing_secret", "DB_PASSWORD", "credentials", "private_key", "db_creds",
    "generate_password", "password2",
])
def test_secret_names(name: str) -> None:
    from iacfix.codemods.random_for_secrets import is_secret_name

    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "token_count", "keyboard", "monkey", "sort_key", "key_name", "hash_key", "range_key", "key",
    "secret_arn", "secret_name", "secret_id", "password_length", "kms_key_id", "tokenizer",
    "bypass", "manage_master_user_password", "is_secret", "num_tokens", "secretsmanager",
    "password_policy", "auth_token_update_strategy",
])
def test_look_alike_names(name: str) -> None:
    from iacfix.codemods.random_for_secrets import is_secret_name

    assert not is_secret_name(name)


def rewrite(code: str, path: str = "lib/tap_stack.py") -> tuple[str, list[str]]:
    result = fix_source(path, code.encode(), [rule_by_id("random-for-secrets")], Safety.SAFE)
    assert result.error is None
    return result.output.decode(), [f.message for f in result.findings]


def test_randint_randrange_getrandbits_and_system_random() -> None:
    output, messages = rewrite(
        "import random\n"
        "pin_secret = str(random.randint(0, 9999))\n"
        "otp = random.randint(100000, 999999) * 1\n"
        "nonce = random.getrandbits(128)\n"
        "salt = random.randrange(lo, hi)\n"
        "api_key = random.SystemRandom().choice(alphabet)\n"
        "session_token = ''.join(random.sample(alphabet, 20))\n"
        "jitter = random.uniform(0, 1)\n"
    )
    assert output == (
        "import random\n"
        "import secrets\n"
        "\n"
        "pin_secret = str(secrets.randbelow(10000))\n"
        "otp = (100000 + secrets.randbelow(900000)) * 1\n"
        "nonce = secrets.randbits(128)\n"
        "salt = lo + secrets.randbelow(hi - lo)\n"
        "api_key = secrets.choice(alphabet)\n"
        "session_token = ''.join(secrets.SystemRandom().sample(alphabet, 20))\n"
        "jitter = random.uniform(0, 1)\n"
    )
    assert len(messages) == 6
    namespace = {"alphabet": string.ascii_letters, "lo": 5, "hi": 9}
    exec(output, namespace)
    assert 0 <= int(namespace["pin_secret"]) <= 9999 and 100000 <= namespace["otp"] <= 999999
    assert 5 <= namespace["salt"] < 9


def test_secrets_name_taken_uses_an_alias() -> None:
    output, _ = rewrite(
        "import random\n"
        "from pulumi_aws import secretsmanager as secrets\n"
        "db_password = random.choice('abc')\n"
    )
    assert "import secrets as stdlib_secrets\n" in output
    assert "db_password = stdlib_secrets.choice('abc')\n" in output


def test_suppression_comment_keeps_the_draw_and_the_alphabet() -> None:
    code = (
        "import random\n"
        "import string\n"
        "import pulumi_aws as aws\n"
        "chars = string.punctuation\n"
        "pw = random.choice(chars)  # iacfix: ignore[random-for-secrets]\n"
        "aws.rds.Cluster('db', master_password=pw)\n"
    )
    assert rewrite(code) == (code, [])


def test_test_files_are_left_alone() -> None:
    code = "import random\ndb_password = random.choice('abc')\n"
    for path in ("tests/unit/test_stack.py", "test_stack.py", "stack_test.py", "conftest.py"):
        assert rewrite(code, path) == (code, [])
    assert rewrite(code)[1]


def test_random_suffix_in_a_secret_resource_name_is_not_the_secret() -> None:
    output, messages = rewrite(
        "import random\n"
        "import pulumi_aws as aws\n"
        "db_secret = aws.secretsmanager.Secret(f'db-secret-{random.randint(1000, 9999)}')\n"
        "api_key = aws.apigateway.ApiKey('key', name=f'key-{random.randint(1, 9)}',\n"
        "                                 value=''.join(random.choices(alphabet, k=30)))\n"
    )
    assert output.count("random.randint") == 2
    assert "value=''.join(secrets.choice(alphabet) for _ in range(30))" in output
    assert messages == [
        "the `value` of `ApiKey` is generated with the predictable `random` module: draw it "
        "from `secrets`, a CSPRNG, instead"
    ]


def test_from_string_import_punctuation_becomes_a_literal() -> None:
    output, _ = rewrite(
        '"""Doc."""\n'
        "\n"
        "from string import ascii_letters, punctuation\n"
        "from random import choice as pick\n"
        "\n"
        "import pulumi_aws as aws\n"
        "\n"
        "pw = ''.join(pick(ascii_letters + punctuation) for _ in range(30))\n"
        "aws.rds.Cluster('db', master_password=pw)\n"
    )
    assert output == (
        '"""Doc."""\n'
        "\n"
        "from string import ascii_letters\n"
        "\n"
        "import pulumi_aws as aws\n"
        "import secrets\n"
        "\n"
        "pw = ''.join(\n"
        "    secrets.choice(ascii_letters + \"!#$%&'()*+,-.:;<=>?[\\\\]^_`{|}~\") for _ in range(30)\n"
        ")\n"
        "aws.rds.Cluster('db', master_password=pw)\n"
    )
