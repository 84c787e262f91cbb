"""Hypothesis strategies for Pulumi-shaped Python programs that make iacfix's rules fire.

A generator that never triggers a rule proves nothing about it, so programs are built from two
sources of realistic code:

- statements taken from the fixture files (the before/clean/flagged cases of every rule: code
  that is known to make rules fire, or to look like it does), recombined across files;
- templates of the code the rules are about (resources with literal names, database passwords,
  awslogs options in `json.dumps`, `pulumi.Output.concat`, f-strings, boto3 calls, `random`
  used for tokens...), with drawn names, literals, regions and import styles.

Then the surface is varied the way real files vary: the `pulumi_aws` alias renamed (also to a
unicode identifier), assigned names renamed to unicode identifiers, comments (including
`# iacfix: ignore[...]`) added, tab indentation, CRLF or mixed newlines, a UTF-8 BOM, a PEP 263
latin-1 cookie, no final newline. Every generated program compiles.
"""

from __future__ import annotations

import functools
import keyword
import random as random_module
import sys
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import libcst as cst
from hypothesis import assume
from hypothesis import strategies as st

from iacfix.context import ProjectContext
from iacfix.registry import all_rules
from iacfix.results import Safety
from iacfix.rule import Rule
from iacfix.settings import RuleSettings

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PYTHON_RULES = tuple(rule for rule in all_rules() if issubclass(rule, Rule))
RULE_IDS = tuple(rule.id for rule in PYTHON_RULES)


# --- fixture statements ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pieces:
    """One fixture file cut into statements: `from __future__` imports, other imports, the rest."""

    rule_id: str
    name: str
    future: tuple[str, ...]
    imports: tuple[str, ...]
    body: tuple[str, ...]
    context: tuple[tuple[str, object], ...] = ()  # the case's table in the rule's context.toml


def _cut(rule_id: str, path: Path) -> Pieces | None:
    try:
        module = cst.parse_module(path.read_bytes())
    except cst.ParserSyntaxError:
        return None
    future, imports, body = [], [], []
    for statement in module.body:
        text = cst.Module(body=[statement]).code  # LF newlines, the module's default indent
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
        ):
            is_future = any(isinstance(s, cst.ImportFrom) and isinstance(s.module, cst.Name)
                            and s.module.value == "__future__" for s in statement.body)
            (future if is_future else imports).append(text)
        elif not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                  and isinstance(statement.body[0], cst.Expr)
                  and isinstance(statement.body[0].value, cst.SimpleString)):  # docstrings
            body.append(text)
    if not body:
        return None
    case = path.name.split(".")[0] if path.parent.name == rule_id else path.relative_to(FIXTURES / rule_id).parts[0]
    context_file = FIXTURES / rule_id / "context.toml"
    table = tomllib.loads(context_file.read_text()).get(case, {}) if context_file.is_file() else {}
    return Pieces(rule_id, path.name, tuple(future), tuple(imports), tuple(body), tuple(sorted(table.items())))


@functools.lru_cache(maxsize=1)
def fixture_pieces() -> tuple[Pieces, ...]:
    """Every Python fixture file of every rule (file cases and project trees), cut up."""
    found = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name != "__pycache__"):
        for path in sorted(folder.rglob("*.py")):
            if "after" in path.relative_to(folder).parts or path.name.endswith(".after.py"):
                continue  # fixed code: the before files are the interesting ones
            pieces = _cut(folder.name, path)
            if pieces is not None:
                found.append(pieces)
    return tuple(found)


def pieces_of(rule_id: str) -> tuple[Pieces, ...]:
    return tuple(p for p in fixture_pieces() if p.rule_id == rule_id)


# --- drawn values ------------------------------------------------------------------------------

UNICODE_NAMES = ("données", "café_bucket", "ключ", "名前", "ñandú", "Ωmega", "straße", "πwd", "secret_ä")


def _not_keyword(name: str) -> bool:
    return not keyword.iskeyword(name) and not keyword.issoftkeyword(name) and name.isidentifier()


identifiers = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(_not_keyword),
    st.sampled_from(UNICODE_NAMES),
)
secret_identifiers = st.builds(
    "{}{}".format,
    st.sampled_from(["db_", "api_", "master_", "admin_", "", "app_", "données_"]),
    st.sampled_from(["password", "token", "secret", "api_key", "passwd", "auth_token", "pwd"]),
)
resource_names = st.from_regex(r"[a-z][a-z0-9-]{0,24}", fullmatch=True)
regions = st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-1", "eu-south-1", "us-west-2"])
passwords = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=8, max_size=24),
    st.sampled_from(["ChangeMe123!", "hunter2hunter2", "Pa$$w0rd-with-'quotes'\"", "pässwörd-ünïcode"]),
)
engine_versions = st.sampled_from(["5.7", "8.0.28", "15.4", "13.7", "11.9", "3.04.0"])


def literal(value: str) -> str:
    """A Python string literal for `value` (repr escapes quotes, backslashes and newlines)."""
    return repr(value)


# --- templates ---------------------------------------------------------------------------------

#: `$p` is how pulumi_aws submodules are reached (`aws.`, `pulumi_aws.`, or "" after
#: `from pulumi_aws import s3, ...`); `$name`, `$name2` resource names, `$id` an identifier,
#: `$secret_id` a secret-named identifier, `$pw` a password literal, `$region`, `$version`.
TEMPLATES = (
    'bucket_$id = ${p}s3.Bucket("$name", bucket="$name")\n',
    '${p}s3.BucketV2("$name", bucket=f"$name-{environment_suffix}")\n',
    '$id = ${p}rds.Cluster(\n    "$name",\n    engine="aurora-postgresql",\n    engine_version="$version",\n'
    '    master_username="admin",\n    master_password=$pw,\n    skip_final_snapshot=True,\n)\n',
    '${p}rds.Instance("$name", engine="mysql", engine_version="$version", instance_class="db.t3.micro",\n'
    '    password=pulumi.Output.secret($pw), deletion_protection=True, multi_az=True)  # db\n',
    '$secret_id = $pw\n${p}rds.Instance("$name2", password=$secret_id, engine="postgres")\n',
    'db_credentials = {"username": "admin", "password": $pw}\n',
    '${p}elasticache.ReplicationGroup("$name", description="cache", auth_token=$pw,\n'
    '    transit_encryption_enabled=True)\n',
    'task_$id = ${p}ecs.TaskDefinition(\n    "$name",\n    family="$name",\n    container_definitions=json.dumps([{\n'
    '        "name": "app",\n        "image": "nginx:latest",\n        "logConfiguration": {\n'
    '            "logDriver": "awslogs",\n            "options": {"awslogs-region": "$region", '
    '"awslogs-group": "/ecs/$name"},\n        },\n    }]),\n)\n',
    '$secret_id = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(16))\n',
    '$secret_id = "".join(random.choices(string.ascii_letters, k=32))\n',
    'secrets_client = boto3.client("secretsmanager", region_name="$region")\n'
    'secrets_client.describe_secret(Name="$name")\n',
    'ec2_client = boto3.client("ec2")\nvpcs = ec2_client.describe_vpcs()["Vpcs"]\n'
    'dns = vpcs[0]["EnableDnsSupport"]\n',
    'arn_$id = pulumi.Output.concat("arn:aws:s3:::", bucket.id, "/*")\n',
    'label_$id = f"$name-{environment_suffix}"  # f-string\n',
    'config = pulumi.Config()\n$secret_id = config.get("$secret_id")\n',
    'cfg = pulumi.Config()\napi_token = cfg.require("apiToken")\n',
    '${p}ec2.SecurityGroup(\n    "$name",\n    ingress=[{"protocol": "-1", "from_port": 0, "to_port": 0,\n'
    '              "cidr_blocks": ["0.0.0.0/0"]}],\n)\n',
    '${p}ec2.Subnet("$name", vpc_id=vpc.id, cidr_block="10.0.1.0/24", availability_zone="${region}a")\n'
    '${p}ec2.Subnet("$name2", vpc_id=vpc.id, cidr_block="10.0.1.0/25", availability_zone="${region}b")\n',
    'role_arn = "arn:aws:iam::123456789012:role/$name"\n',
    '${p}ecs.TaskDefinition("$name", container_definitions=json.dumps([{"name": "a", '
    '"image": "your-image:latest"}]))\n',
    'endpoint = "https://s3.$region.amazonaws.com/$name"\n',
    'provider = ${p}Provider("$name", region="$region")\n',
    'pulumi.export("$name", $id)\n',
    '${p}lb.Listener("$name", load_balancer_arn=lb.arn, port=80, protocol="HTTP",\n'
    '    default_actions=[{"type": "forward", "target_group_arn": tg.arn}])\n',
    '${p}ec2.Vpc("$name", cidr_block="10.0.0.0/16", enable_dns_hostnames=True)\n',
    'web_sg = ${p}ec2.SecurityGroup("$name", ingress=[${p}ec2.SecurityGroupIngressArgs(\n'
    '    protocol="tcp", from_port=80, to_port=80, cidr_blocks=["0.0.0.0/0"])])\n'
    'alb = ${p}lb.LoadBalancer("$name2", load_balancer_type="application", security_groups=[web_sg.id])\n'
    '${p}lb.Listener("$name", load_balancer_arn=alb.arn, port=$port, protocol="HTTP",\n'
    '    default_actions=[${p}lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)])\n',
    '${p}ec2.NatGateway(f"nat-{i}", subnet_id=subnet.id)\n',
    '${p}rds.Cluster("$name", engine="aurora-mysql", delete_before_replace=True)\n',
    '${p}s3.Bucket("$name", force_destroy=False, opts=pulumi.ResourceOptions(protect=True))\n',
    'domain = "example.com"\n${p}acm.Certificate("$name", domain_name="app.example.com", validation_method="DNS")\n',
    '$id = 1  # iacfix: ignore\n',
    'données_$id = ${p}s3.Bucket("données-$name")\n',
    'class ${cls}(pulumi.ComponentResource):\n    def __init__(self, name, environment_suffix, opts=None):\n'
    '        super().__init__("tap:index:${cls}", name, None, opts)\n'
    '        self.bucket = ${p}s3.Bucket(\n            "$name",\n            bucket="$name",\n'
    '            opts=pulumi.ResourceOptions(parent=self),\n        )\n'
    '        self.db = ${p}rds.Instance("$name2", password=$pw, engine="postgres",\n'
    '            opts=pulumi.ResourceOptions(parent=self))\n',
)

IMPORT_STYLES = (
    ("import pulumi_aws as $alias\n", "$alias."),
    ("import pulumi_aws\n", "pulumi_aws."),
    ("from pulumi_aws import acm, ec2, ecs, elasticache, lb, rds, s3, Provider\n", ""),
)
COMMON_IMPORTS = "import json\nimport random\nimport string\n\nimport boto3\nimport pulumi\n"


@st.composite
def snippet(draw) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    return Template(template).safe_substitute(
        id=draw(identifiers), secret_id=draw(secret_identifiers), name=draw(resource_names),
        name2=draw(resource_names), pw=literal(draw(passwords)), region=draw(regions),
        version=draw(engine_versions), port=draw(st.sampled_from(["80", "8080", "443"])),
        cls=draw(st.sampled_from(["TapStack", "Données", "Stack"])),
    )


# --- surface variations ------------------------------------------------------------------------


class _Rename(cst.CSTTransformer):
    """Rename a variable everywhere it is a variable: not attribute names, not keywords."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__()
        self.old, self.new = old, new
        self.keep: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.keep.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.keep.add(id(node.keyword))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        for name in _names_in(node.name):
            self.keep.add(id(name))

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if original.value == self.old and id(original) not in self.keep:
            return updated.with_changes(value=self.new)
        return updated


def _names_in(node: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, cst.Attribute):
        return [*_names_in(node.value), node.attr]
    return []


COMMENTS = ("# note", "# TODO: café ☕", "# iacfix: ignore", "# -*- not a cookie -*-", "#", "# 名前")


class _Comments(cst.CSTTransformer):
    """Add end-of-line and own-line comments to some statements."""

    def __init__(self, rng: random_module.Random) -> None:
        super().__init__()
        self.rng = rng

    def _comment(self) -> cst.Comment:
        if self.rng.random() < 0.2:
            return cst.Comment(f"# iacfix: ignore[{self.rng.choice(RULE_IDS)}]")
        return cst.Comment(self.rng.choice(COMMENTS))

    def leave_SimpleStatementLine(self, original, updated):
        if self.rng.random() < 0.25 and updated.trailing_whitespace.comment is None:
            updated = updated.with_changes(trailing_whitespace=updated.trailing_whitespace.with_changes(
                whitespace=cst.SimpleWhitespace("  "), comment=self._comment()))
        if self.rng.random() < 0.15:
            updated = updated.with_changes(leading_lines=[
                *updated.leading_lines, cst.EmptyLine(comment=self._comment())])
        return updated


@dataclass(frozen=True)
class Program:
    """A generated program and the context it is fixed in."""

    source: bytes
    path: str
    threshold: Safety
    project: ProjectContext
    settings: RuleSettings
    origin: tuple[str, ...] = field(default=(), compare=False)  # fixture files used, for reports

    def __repr__(self) -> str:  # hypothesis prints this for a failing example: make it replayable
        return (f"Program(source={self.source!r}, path={self.path!r}, threshold={self.threshold}, "
                f"project={self.project!r}, settings={self.settings!r}, origin={self.origin!r})")


def _select(draw, items: tuple[str, ...], at_least_one: bool) -> list[str]:
    if not items:
        return []
    keep = draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items)))
    chosen = [item for item, k in zip(items, keep) if k]
    if at_least_one and not chosen:
        chosen = [items[draw(st.integers(0, len(items) - 1))]]
    return chosen


@st.composite
def pulumi_programs(draw, rule_id: str | None = None) -> Program:
    """A Pulumi-shaped program: fixture statements (of `rule_id`'s fixtures, mostly, when given)
    plus template snippets, with varied imports, names, comments, indentation, newlines and
    encoding; and a context to fix it in (threshold, profile, region, pulumi_aws major).
    Without `rule_id`, half the programs are still built around one drawn rule's case, so that
    every rule's code meets every other rule's."""
    if rule_id is None and draw(st.booleans()):
        rule_id = draw(st.sampled_from([r for r in RULE_IDS if pieces_of(r)]))
    own = pieces_of(rule_id) if rule_id else ()
    pool = fixture_pieces()
    files = []
    if own:
        files.append(draw(st.sampled_from(own)))
    files += draw(st.lists(st.sampled_from(pool), min_size=0 if own else 1, max_size=1 if own else 2))
    future: list[str] = []
    imports: list[str] = []
    body: list[str] = []
    for position, pieces in enumerate(files):
        future += pieces.future
        imports += pieces.imports
        whole = position == 0 and own and draw(st.booleans())  # the rule's own case, whole, half the time
        body += list(pieces.body) if whole else _select(draw, pieces.body, at_least_one=True)
    snippets = draw(st.lists(snippet(), max_size=4))
    if snippets:
        alias = draw(st.one_of(st.just("aws"), identifiers))
        style, prefix = draw(st.sampled_from(IMPORT_STYLES))
        imports = [COMMON_IMPORTS, Template(style).substitute(alias=alias), *imports]
        snippets = [Template(s).safe_substitute(p=Template(prefix).substitute(alias=alias)) for s in snippets]
        if draw(st.booleans()):  # inside a function, as stack code often is
            snippets = ["def create(environment_suffix, vpc, bucket, subnet, lb, tg, i):\n"
                        + "".join("    " + line + "\n" if line else "\n"
                                  for s in snippets for line in s.splitlines()) + "    return None\n"]
        for s in snippets:
            body.insert(draw(st.integers(0, len(body))), s)
    code = "".join(dict.fromkeys(future)) + "".join(dict.fromkeys(imports)) + "\n" + "\n".join(body)
    try:
        module = cst.parse_module(code)
    except cst.ParserSyntaxError:
        assume(False)
    rng = draw(st.randoms(use_true_random=False))
    # Surface variations, each on or off.
    if draw(st.booleans()) and "import pulumi_aws as aws" in code:
        module = module.visit(_Rename("aws", draw(identifiers)))
    assigned = sorted({t.target.value for s in module.body if isinstance(s, cst.SimpleStatementLine)
                       for a in s.body if isinstance(a, cst.Assign) for t in a.targets
                       if isinstance(t.target, cst.Name)})
    if assigned and draw(st.booleans()):
        old = draw(st.sampled_from(assigned))
        module = module.visit(_Rename(old, draw(st.sampled_from(UNICODE_NAMES)) + "_" + old))
    if draw(st.booleans()):
        module = module.visit(_Comments(rng))
    if draw(st.integers(0, 4)) == 0:
        module = module.with_changes(default_indent="\t")
    text = module.code
    newline = draw(st.sampled_from(["lf", "lf", "crlf", "mixed"]))
    if newline == "crlf":
        text = text.replace("\n", "\r\n")
    elif newline == "mixed":
        lines = text.split("\n")
        text = "".join(line + ("\r\n" if rng.random() < 0.5 else "\n") for line in lines[:-1]) + lines[-1]
    if draw(st.integers(0, 5)) == 0:
        text = text.rstrip("\r\n")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1"]))
    if encoding == "latin-1":
        try:
            source = ("# -*- coding: latin-1 -*-\n# Café\n" + text).encode("latin-1")
        except UnicodeEncodeError:
            source = text.encode("utf-8")
    else:
        source = text.encode(encoding)
    try:
        compile(source, "<generated>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        assume(False)
    project = ProjectContext(
        region=draw(st.one_of(st.none(), regions)), aws_major=draw(st.sampled_from([None, 6, 7])),
        name=draw(st.sampled_from([None, "tap"])),
        config_keys=draw(st.sampled_from([None, frozenset(), frozenset({"tap:environmentSuffix", "aws:region"})])),
    )
    rule_settings = RuleSettings(profile=draw(st.sampled_from([None, "production", "ephemeral"])))
    if own and draw(st.integers(0, 3)):  # mostly in the context the rule's own case declares
        table = dict(files[0].context)
        project = ProjectContext(region=table.get("region"), aws_major=table.get("aws-major", 7),
                                 name=project.name or "tap", config_keys=frozenset(table.get("config-keys", ()))
                                 if project.config_keys is None else project.config_keys)
        rule_settings = RuleSettings(profile=table.get("profile"), options={rule_id: table.get("options", {})})
    return Program(
        source=source,
        path=draw(st.sampled_from(["lib/tap_stack.py", "tap.py", "lib/données.py", "tests/test_stack.py"])),
        threshold=draw(st.sampled_from([Safety.SAFE, Safety.UNSAFE])),
        project=project,
        settings=rule_settings,
        origin=tuple(f"{p.rule_id}/{p.name}" for p in files),
    )
