"""The `random-for-secrets` rule: secrets drawn from `random` are drawn from `secrets`."""

from __future__ import annotations

import ast
import re
import string as string_module
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.helpers import parse_template_expression
from libcst.metadata import (
    Assignment,
    ImportAssignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from iacfix.results import Safety
from iacfix.rule import FileContext, Rule

# --- the name test -----------------------------------------------------------------------------

_SECRET_NOUNS = frozenset({
    "password", "passwd", "passphrase", "pass", "pwd", "pw", "secret", "token", "credential",
    "cred", "creds", "apikey", "salt", "nonce", "otp",
})
_KEY_QUALIFIERS = frozenset({
    "api", "secret", "private", "access", "signing", "encryption", "auth", "master", "session",
    "hmac", "client", "app", "shared", "jwt", "webhook", "license", "admin", "crypto", "cipher",
})
_VALUE_SUFFIXES = frozenset({
    "string", "str", "value", "val", "text", "txt", "data", "bytes", "hex", "b64", "base64",
    "raw", "plain", "plaintext", "wo", "material",
})
_NOT_A_VALUE = frozenset({
    "is", "has", "use", "uses", "enable", "enabled", "should", "manage", "num", "n", "count",
    "max", "min", "len", "length", "total", "require", "requires",
})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _words(identifier: str) -> list[str]:
    words: list[str] = []
    for chunk in re.split(r"[^0-9A-Za-z]+", identifier):
        words += [w.lower() for w in _WORD.findall(chunk) if not w.isdigit()]
    return words


def is_secret_name(identifier: str) -> bool:
    """Whether `identifier` names a secret value (see the module docstring for the test)."""
    words = _words(identifier)
    if not words or words[0] in _NOT_A_VALUE:
        return False
    while len(words) > 1 and words[-1] in _VALUE_SUFFIXES:
        words.pop()
    head = words[-1]
    if head in _SECRET_NOUNS or (head.endswith("s") and head[:-1] in _SECRET_NOUNS):
        return True
    return head in ("key", "keys") and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


# --- what the services accept ------------------------------------------------------------------

_WHITESPACE = frozenset(string_module.whitespace)
_RDS_FORBIDDEN = frozenset('/@"') | _WHITESPACE
_REDSHIFT_FORBIDDEN = _RDS_FORBIDDEN | frozenset("'\\")
_ELASTICACHE_FORBIDDEN = frozenset(string_module.punctuation) - frozenset("!&#$^<>-") | _WHITESPACE
_SERVICE_RULES = (
    ("pulumi_aws.rds.Cluster", "master_password", _RDS_FORBIDDEN,
     "RDS rejects them in a master password"),
    ("pulumi_aws.rds.Instance", "password", _RDS_FORBIDDEN,
     "RDS rejects them in a master password"),
    ("pulumi_aws.docdb.Cluster", "master_password", _RDS_FORBIDDEN,
     "DocumentDB rejects them in a master password"),
    ("pulumi_aws.redshift.Cluster", "master_password", _REDSHIFT_FORBIDDEN,
     "Redshift rejects them in a master password"),
    ("pulumi_aws.redshiftserverless.Namespace", "admin_user_password", _REDSHIFT_FORBIDDEN,
     "Redshift rejects them in an admin password"),
    ("pulumi_aws.elasticache.ReplicationGroup", "auth_token", _ELASTICACHE_FORBIDDEN,
     "ElastiCache rejects them in an AUTH token"),
)
#: (resource, keyword) -> (characters the service rejects in the value, why, for messages);
#: the write-only `<keyword>_wo` variants have the same rules.
_PASSWORD_RULES: Mapping[tuple[str, str], tuple[frozenset[str], str]] = MappingProxyType({
    (resource, keyword + suffix): (forbidden, why)
    for resource, keyword, forbidden, why in _SERVICE_RULES
    for suffix in ("", "_wo")
})

_OUTPUT_SECRET = frozenset({"pulumi.Output.secret", "pulumi.output.Output.secret"})
_SECURE_STRING = "pulumi_aws.ssm.ParameterType.SECURE_STRING"
#: Resource inputs that hold a secret although their name does not say so.
_SECRET_INPUTS = frozenset({("pulumi_aws.apigateway.ApiKey", "value")})
#: `random` functions that are not draws (never reported).
_NOT_DRAWS = frozenset({"seed", "getstate", "setstate", "Random", "SystemRandom"})
_GENERATORS = frozenset({"random.SystemRandom", "random.Random"})
_TEST_HOOKS = frozenset({
    "setUp", "tearDown", "setUpClass", "tearDownClass", "setUpModule", "tearDownModule",
    "asyncSetUp", "asyncTearDown",
})
_PUNCTUATION = string_module.punctuation
_PRINTABLE_LETTERS = string_module.ascii_letters + string_module.digits


def _describe(chars: set[str]) -> str:
    """`/`, `@` and `"` -- the characters removed, for a message (counted when many)."""
    if len(chars) > 6:
        return f"{len(chars)} characters"
    names = [f"`{c}`" for c in sorted(chars - _WHITESPACE)]
    if " " in chars:
        names.append("space")
    if chars & (_WHITESPACE - {" "}):
        names.append("other whitespace")
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class _Sink:
    """An expression whose value becomes a secret."""

    expr: cst.BaseExpression
    label: str
    direct: bool
    forbidden: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    #: what the secret finally is, for messages about values that flow into it
    root: str = ""


@dataclass
class _CallPlan:
    method: str
    label: str
    direct: bool
    forbidden: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    #: alphabet leaf -> characters to remove from it
    leaves: dict[cst.CSTNode, frozenset[str]] = field(default_factory=dict)
    note: str = ""


class _Collector(cst.CSTVisitor):
    """One pass over the original tree: random draws, direct sinks, and test regions."""

    def __init__(self, rule: RandomForSecrets) -> None:
        self.rule = rule
        self.sinks: list[_Sink] = []
        self.draws: dict[cst.Call, str] = {}
        self.functions: list[cst.FunctionDef] = []
        self.test_depth = 0

    # test regions
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)
        if self.rule.is_test_function(node):
            self.test_depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()
        if self.rule.is_test_function(original_node):
            self.test_depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.rule.is_test_class(node):
            self.test_depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        if self.rule.is_test_class(original_node):
            self.test_depth -= 1

    def _sink(self, expr: cst.BaseExpression | None, label: str,
              rule: tuple[frozenset[str], str] | None = None) -> None:
        if expr is None or self.test_depth:
            return
        forbidden, services = frozenset(), frozenset()
        if rule is not None:
            forbidden, services = rule[0], frozenset({rule[1]})
        self.sinks.append(_Sink(expr, label, True, forbidden, services, label))

    # draws and keyword sinks
    def visit_Call(self, node: cst.Call) -> None:
        method = self.rule.draw_method(node)
        if method is not None and not self.test_depth:
            self.draws[node] = method
        callee = self.rule.qualified_name(node.func)
        if callee in _OUTPUT_SECRET and node.args and node.args[0].keyword is None:
            self._sink(node.args[0].value, "the `pulumi.Output.secret` value")
        secure_string = False
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in ("type", "Type"):
                value = arg.value
                secure_string = (
                    isinstance(value, cst.SimpleString) and value.evaluated_value == "SecureString"
                ) or self.rule.qualified_name(value) == _SECURE_STRING
        for arg in node.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if is_secret_name(keyword):
                self._sink(arg.value, f"the `{keyword}` argument",
                           _PASSWORD_RULES.get((_normalise(callee), keyword)))
            elif secure_string and keyword in ("value", "Value"):
                self._sink(arg.value, "the SecureString parameter value")
            elif (_normalise(callee), keyword) in _SECRET_INPUTS:
                self._sink(arg.value, f"the `{keyword}` of `{callee.rpartition('.')[2]}`")

    # named sinks
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            name = _target_name(target.target)
            if name and is_secret_name(name):
                self._sink(node.value, f"`{name}`")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = _target_name(node.target)
        if name and is_secret_name(name):
            self._sink(node.value, f"`{name}`")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        name = _target_name(node.target)
        if name and is_secret_name(name):
            self._sink(node.value, f"`{name}`")

    def visit_Param(self, node: cst.Param) -> None:
        if node.default is not None and is_secret_name(node.name.value):
            self._sink(node.default, f"`{node.name.value}`")

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = node.key
        if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
            if is_secret_name(key.evaluated_value):
                self._sink(node.value, f'the "{key.evaluated_value}" entry')

    def visit_Return(self, node: cst.Return) -> None:
        if self.functions and is_secret_name(self.functions[-1].name.value):
            self._sink(node.value, f"the return value of `{self.functions[-1].name.value}()`")


def _normalise(name: str | None) -> str:
    """`pulumi_aws.rds.cluster.Cluster` -> `pulumi_aws.rds.Cluster`."""
    if not name:
        return ""
    parts = name.split(".")
    if len(parts) == 4 and parts[0] == "pulumi_aws":
        return ".".join((parts[0], parts[1], parts[3]))
    return name


def _target_name(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            value = index.value.evaluated_value
            return value if isinstance(value, str) else None
    return None


class _Walk(cst.CSTVisitor):
    """Names read and calls made by an expression (attribute names and keywords excluded).

    With a rule, the arguments of resource and class constructors are not entered: in
    `db_secret = aws.secretsmanager.Secret(f"db-{random.randint(1, 99)}")` the random suffix is
    part of a resource name, not of the secret (a secret-named keyword is a sink of its own)."""

    def __init__(self, rule: RandomForSecrets | None = None) -> None:
        self.rule = rule
        self.names: list[cst.Name] = []
        self.calls: list[cst.Call] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        self.calls.append(node)
        return self.rule is None or not self.rule.is_constructor(node)


def _walk(expr: cst.CSTNode, rule: RandomForSecrets | None = None) -> _Walk:
    walker = _Walk(rule)
    expr.visit(walker)
    return walker


class _Returns(cst.CSTVisitor):
    def __init__(self) -> None:
        self.values: list[cst.BaseExpression] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.values.append(node.value)


# --- the rule ----------------------------------------------------------------------------------


class RandomForSecrets(Rule):
    """Generate passwords, tokens and keys with `secrets`, not the predictable `random` module.

    Finds values drawn from `random` that end up as secrets: a variable, attribute, dictionary key
    or keyword argument named like a password, token, secret, credential or API/secret/private key;
    the `master_password` of an RDS cluster; a Secrets Manager `secret_string`, also inside
    `json.dumps({...})`; the `value` of a `SecureString` SSM parameter; the argument of
    `pulumi.Output.secret(...)`; the return value of a function named like `generate_password`.
    Simple data flow inside the module is followed: `pw = "".join(random.choices(...))` later
    passed as `master_password=pw` makes `pw` a secret although its name is neutral, and so does a
    helper whose return value is passed. From seed 001 (section 8, "Insecure Password
    Generation", and section 7 of its second review); seed 002's `import pulumi_random as random`
    is a look-alike and is left alone.

    How a name is judged (its last word decides, as the head of an English compound does): split
    on `_`, `-` and camelCase; drop trailing value words (`string`, `value`, `text`, `hex`, `b64`,
    `wo`, ...); the name is secret when the last remaining word is a secret noun (`password`,
    `passwd`, `passphrase`, `pass`, `pwd`, `pw`, `secret`, `token`, `credential`, `creds`,
    `apikey`, `salt`, `nonce`, `otp`, or a plural), or `key` after `api`, `secret`, `private`,
    `access`, `signing`, `encryption`, `auth`, `master`, `session`, `hmac`, `client`, `app`,
    `shared`, `jwt`, `webhook`, `license`, `admin`, `crypto` or `cipher`. So `db_password`,
    `api_token`, `secret_key`, `auth_token`, `MasterUserPassword`, `secret_string` and
    `master_password_wo` are secrets; `token_count`, `keyboard`, `monkey`, `sort_key`, `hash_key`,
    `key_name`, `secret_arn`, `password_length` and flags such as `manage_master_user_password`
    (first word `is`, `has`, `use`, `enable`, `manage`, `num`, `max`, `min`, ...) are not.

    Left alone: `random` for jitter, back-off, sampling or shuffling values that do not flow into a
    secret; test code (files under a `test`/`tests` directory, `test_*.py`, `*_test.py`,
    `conftest.py`; `test*`/`setUp*` functions, `Test*`/`*TestCase` classes and pytest fixtures
    anywhere); `random.SystemRandom` outside a secret; `pulumi_random` imported as `random`.

    ## Why is this bad?
    `random` is a Mersenne Twister, documented as "completely unsuitable for cryptographic
    purposes": anyone who knows or guesses the seed (`random.seed(0)` in a helper, a restored
    process state) reproduces every password the program makes, and enough observed outputs give
    away the whole state. `secrets` draws from the operating system's CSPRNG. Separately, RDS and
    DocumentDB refuse a master password holding `/`, `@`, `"` or a space (Redshift also `'` and
    `\\`; ElastiCache AUTH tokens allow only `!&#$^<>-` as symbols), so an alphabet built from
    `string.punctuation` makes `pulumi up` fail on some runs and not others.

    ## Fix
    `"".join(random.choices(alphabet, k=32))` becomes
    `"".join(secrets.choice(alphabet) for _ in range(32))` (broken over three lines when it gets
    too long); `random.choice` becomes `secrets.choice`, `random.getrandbits` `secrets.randbits`,
    `random.randint(a, b)` and `random.randrange(a, b)` `a + secrets.randbelow(...)` (folded when
    the bounds are literals); draws with no `secrets` function (`sample`, `shuffle`, `random()`,
    `uniform`, ...) use `secrets.SystemRandom()`. `import secrets` is added (as `stdlib_secrets`
    when the module binds `secrets` to something else) and `random` imports that became unused are
    removed. When the value becomes the password of an RDS, DocumentDB or Redshift resource or an
    ElastiCache AUTH token and its alphabet (string literals, `string.punctuation`,
    `string.printable`, also through a variable) holds characters the service refuses, they are
    removed from the alphabet and the finding says which.

    ## Fix safety
    Safe: the value is still random, with the same alphabet and length, now from a CSPRNG. Such a
    value is generated anew on every run either way, so no resource changes that would not have
    changed; the characters dropped from an alphabet are ones the service refuses. A password that
    stays the same between runs needs `pulumi_random.RandomPassword` or a Secrets Manager managed
    password instead; that is a different change.

    ## References
    - https://docs.python.org/3/library/random.html (the warning at the top)
    - https://docs.python.org/3/library/secrets.html
    - https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html
    - https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
    - https://cwe.mitre.org/data/definitions/338.html (CWE-338), Bandit B311
    """

    id = "random-for-secrets"
    title = "Generate passwords, tokens and keys with `secrets`, not `random`"
    safety = Safety.SAFE
    checks_test_code = False
    evidence = (b"random",)
    METADATA_DEPENDENCIES = (
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    def __init__(self, context: CodemodContext, file: FileContext | None = None) -> None:
        super().__init__(context, file)
        self._plans: dict[cst.Call, _CallPlan] = {}
        self._edits: dict[cst.CSTNode, cst.BaseExpression] = {}
        self._collapse: dict[cst.BinaryOperation, str] = {}
        self._secrets = "secrets"
        self._vanishing: set[cst.SimpleStatementLine] = set()
        #: `punctuation` names (from `from string import punctuation`) replaced by a literal
        self._replaced_imports: set[cst.Name] = set()
        self._lines: list[str] = []

    # metadata helpers
    def qualified_name(self, node: cst.CSTNode) -> str | None:
        names = self.get_metadata(QualifiedNameProvider, node, set())
        return next(iter(names)).name if len(names) == 1 else None

    def _imported_names(self, node: cst.CSTNode) -> set[str]:
        return {
            q.name for q in self.get_metadata(QualifiedNameProvider, node, set())
            if q.source is QualifiedNameSource.IMPORT
        }

    def draw_method(self, call: cst.Call) -> str | None:
        """The `random` method `call` draws with (`random.choice(...)`, `choice(...)` after
        `from random import choice`, `random.SystemRandom().choice(...)`), else None."""
        func = call.func
        for name in self._imported_names(func):
            module, _, method = name.rpartition(".")
            if module == "random" and method not in _NOT_DRAWS:
                return method
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            if self._imported_names(func.value.func) & _GENERATORS:
                method = func.attr.value
                return None if method in _NOT_DRAWS else method
        return None

    def is_constructor(self, call: cst.Call) -> bool:
        """A Pulumi resource or other class being instantiated (`aws.rds.Cluster(...)`,
        `ResourceOptions(...)`): its arguments are not the value it makes."""
        for name in self._imported_names(call.func) | self._local_names(call.func):
            last = name.rpartition(".")[2]
            if name.startswith("pulumi_") or last[:1].isupper():
                return True
        return False

    def _local_names(self, node: cst.CSTNode) -> set[str]:
        return {
            q.name for q in self.get_metadata(QualifiedNameProvider, node, set())
            if q.source is QualifiedNameSource.LOCAL
        }

    def is_test_function(self, node: cst.FunctionDef) -> bool:
        name = node.name.value
        if name.startswith("test") or name in _TEST_HOOKS:
            return True
        for decorator in node.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if self._imported_names(target) & {"pytest.fixture"}:
                return True
        return False

    def is_test_class(self, node: cst.ClassDef) -> bool:
        if node.name.value.startswith("Test"):
            return True
        for base in node.bases:
            value = base.value
            if isinstance(value, cst.Attribute):
                value = value.attr
            if isinstance(value, cst.Name) and value.value.endswith("TestCase"):
                return True
        return False

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def _definitions(self, name: cst.Name) -> list[tuple[cst.BaseExpression, str]]:
        """Expressions whose value `name` may hold: right-hand sides of its assignments, the
        return values when it names a function. Each with a description for messages."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return []
        found: list[tuple[cst.BaseExpression, str]] = []
        for assignment in scope[name.value]:
            if not isinstance(assignment, Assignment) or isinstance(assignment, ImportAssignment):
                continue
            node = assignment.node
            if isinstance(node, cst.FunctionDef):
                returns = _Returns()
                node.body.visit(returns)
                label = f"the return value of `{name.value}()`"
                found += [(value, label) for value in returns.values]
                continue
            value = self._assigned_value(node)
            if value is not None:
                found.append((value, f"`{name.value}`"))
        return found

    def _assigned_value(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        parent = self._parent(node)
        if isinstance(parent, cst.AssignTarget) and parent.target is node:
            statement = self._parent(parent)
            return statement.value if isinstance(statement, cst.Assign) else None
        if isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
            return parent.value if parent.target is node else None
        return None

    def _single_definition(self, name: cst.Name) -> cst.BaseExpression | None:
        """The one value `name` is bound to (an assignment, or a parameter's default)."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
            return None
        node = assignments[0].node
        if isinstance(node, cst.Param):
            return node.default
        return self._assigned_value(node)

    # analysis
    def visit_Module(self, node: cst.Module) -> bool:
        if self.in_test_code:
            return False
        collector = _Collector(self)
        node.visit(collector)
        if not collector.draws:
            return False
        plans = self._trace(collector)
        if not plans:
            return False
        self._secrets = self._secrets_name(node)
        accepted_leaves: dict[cst.CSTNode, frozenset[str]] = {}
        bindings: set[cst.Name] = set()
        for call, plan in sorted(plans.items(), key=lambda item: self._position(item[0])):
            if not self.report(call, self._message(plan)):
                continue
            self._plans[call] = plan
            for leaf, chars in plan.leaves.items():
                accepted_leaves[leaf] = accepted_leaves.get(leaf, frozenset()) | chars
            base = _base_name(call.func)
            if base is not None:
                bindings.add(base)
        if not self._plans:
            return False
        for leaf, chars in accepted_leaves.items():
            self._plan_leaf(leaf, chars)
        if self._secrets == "secrets":
            self.add_needed_import("secrets")
        else:
            self.add_needed_import("secrets", asname=self._secrets)
        self._lines = node.code.splitlines()
        removals = set()
        for base in bindings:
            removals |= self._import_removals(base, "random")
        for name in self._replaced_imports:
            removals |= self._import_removals(name, "string")
        for removal in sorted(removals, key=str):
            self.remove_unused_import(*removal)
        self._vanishing = self._vanishing_imports(node)
        return True

    def _vanishing_imports(self, module: cst.Module) -> set[cst.SimpleStatementLine]:
        """Top-level import lines that lose every name they bind once the planned draws are
        rewritten: RemoveImportsVisitor drops them with their leading blank lines and comments,
        which `leave_Module` hands on to the next statement."""
        rewritten = {_base_name(call.func) for call in self._plans} | self._replaced_imports
        vanishing = set()
        for statement in module.body:
            if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
                continue
            small = statement.body[0]
            if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(
                small.names, cst.ImportStar
            ):
                continue
            if not statement.leading_lines:
                continue
            if all(self._only_used_by(alias, rewritten) for alias in small.names):
                vanishing.add(statement)
        return vanishing

    def _only_used_by(self, alias: cst.ImportAlias, rewritten: set) -> bool:
        scope = self.get_metadata(ScopeProvider, alias, None)
        if scope is None:
            return False
        bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
        assignments = [
            a for a in scope.assignments[bound]
            if isinstance(a, ImportAssignment) and a.node is self._parent(alias)
        ]
        return bool(assignments) and all(
            access.node in rewritten for a in assignments for access in a.references
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._vanishing:
            return updated_node
        body = list(updated_node.body)
        for index, statement in enumerate(original_node.body[:-1]):
            if statement not in self._vanishing:
                continue
            moved = list(body[index].leading_lines)
            following = body[index + 1]
            blank_only = all(line.comment is None for line in moved)
            if blank_only and any(line.comment is None for line in following.leading_lines):
                continue
            body[index] = body[index].with_changes(leading_lines=[])
            body[index + 1] = following.with_changes(
                leading_lines=[*moved, *following.leading_lines]
            )
        return updated_node.with_changes(body=body)

    def _position(self, node: cst.CSTNode) -> tuple[int, int]:
        position = self.position(node)
        return position.start.line, position.start.column

    def _trace(self, collector: _Collector) -> dict[cst.Call, _CallPlan]:
        """Follow sinks backwards through names and helper functions; plan every draw reached."""
        best: dict[cst.BaseExpression, _Sink] = {}
        queue = list(collector.sinks)
        while queue:
            sink = queue.pop(0)
            known = best.get(sink.expr)
            if known is not None:
                if sink.forbidden <= known.forbidden and (known.direct or not sink.direct):
                    continue
                keep = known if known.direct or not sink.direct else sink
                merged = _Sink(
                    sink.expr,
                    keep.label,
                    keep.direct,
                    known.forbidden | sink.forbidden,
                    known.services | sink.services,
                    keep.root,
                )
            else:
                merged = sink
            best[sink.expr] = merged
            for name in _walk(sink.expr, self).names:
                for value, label in self._definitions(name):
                    if self._inside_test(value):
                        continue
                    queue.append(_Sink(value, f"{label} (used as {merged.root})", False,
                                       merged.forbidden, merged.services, merged.root))

        plans: dict[cst.Call, _CallPlan] = {}
        for sink in best.values():
            for call in _walk(sink.expr, self).calls:
                method = collector.draws.get(call)
                if method is None:
                    continue
                plan = plans.get(call)
                if plan is None:
                    plans[call] = _CallPlan(method, sink.label, sink.direct, sink.forbidden,
                                            sink.services)
                    continue
                if sink.direct and not plan.direct:
                    plan.label, plan.direct = sink.label, True
                plan.forbidden |= sink.forbidden
                plan.services |= sink.services

        # `random.shuffle(password_chars)`: an in-place draw on a secret.
        tainted = set(best)
        for call, method in collector.draws.items():
            if call in plans or method != "shuffle" or not call.args:
                continue
            target = call.args[0].value
            if not isinstance(target, cst.Name):
                continue
            if is_secret_name(target.value) or any(
                value in tainted for value, _ in self._definitions(target)
            ):
                plans[call] = _CallPlan(method, f"`{target.value}`", True)

        for call, plan in plans.items():
            if plan.forbidden:
                self._plan_alphabet(call, plan)
        return plans

    def _inside_test(self, node: cst.CSTNode) -> bool:
        current = self._parent(node)
        while current is not None:
            if isinstance(current, cst.FunctionDef) and self.is_test_function(current):
                return True
            if isinstance(current, cst.ClassDef) and self.is_test_class(current):
                return True
            current = self._parent(current)
        return False

    # alphabets
    def _population(self, call: cst.Call, method: str) -> cst.BaseExpression | None:
        if method not in ("choice", "choices", "sample"):
            return None
        for arg in call.args:
            if arg.keyword is None and not arg.star:
                return arg.value
            if arg.keyword is not None and arg.keyword.value in ("population", "seq"):
                return arg.value
        return None

    def _plan_alphabet(self, call: cst.Call, plan: _CallPlan) -> None:
        alphabet = self._population(call, plan.method)
        if alphabet is None:
            return
        value = self._evaluate(alphabet, {})
        if value is None:
            return
        present = set(value) & plan.forbidden
        if not present:
            return
        leaves = list(self._leaves(alphabet))
        overrides = {}
        for leaf in leaves:
            cleaned = self._cleaned_value(leaf, plan.forbidden)
            if cleaned is not None:
                overrides[leaf] = cleaned
        why = "; ".join(sorted(plan.services))
        result = self._evaluate(alphabet, overrides)
        if result is None or set(result) & plan.forbidden or not result:
            plan.note = (f"; its alphabet also contains {_describe(present)} ({why}): remove "
                         "them by hand")
            return
        plan.leaves = {leaf: plan.forbidden for leaf in overrides}
        why = why.replace("them", "it") if len(present) == 1 else why
        plan.note = f" (the fix also drops {_describe(present)} from the alphabet: {why})"

    def _evaluate(self, expr: cst.CSTNode, overrides: dict, depth: int = 0) -> str | None:
        """The string an alphabet expression evaluates to, when it can be known statically."""
        if depth > 20:
            return None
        if expr in overrides:
            return overrides[expr]
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            return value if isinstance(value, str) else None
        if isinstance(expr, cst.ConcatenatedString):
            left = self._evaluate(expr.left, overrides, depth + 1)
            right = self._evaluate(expr.right, overrides, depth + 1)
            return None if left is None or right is None else left + right
        if isinstance(expr, (cst.Attribute, cst.Name)):
            for name in self._imported_names(expr):
                module, _, attribute = name.rpartition(".")
                if module == "string" and isinstance(getattr(string_module, attribute, None), str):
                    return getattr(string_module, attribute)
        if isinstance(expr, cst.Name):
            value = self._single_definition(expr)
            return None if value is None else self._evaluate(value, overrides, depth + 1)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            left = self._evaluate(expr.left, overrides, depth + 1)
            right = self._evaluate(expr.right, overrides, depth + 1)
            return None if left is None or right is None else left + right
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "replace"
            and len(expr.args) == 2
            and all(isinstance(a.value, cst.SimpleString) and a.keyword is None for a in expr.args)
        ):
            receiver = self._evaluate(expr.func.value, overrides, depth + 1)
            old, new = (a.value.evaluated_value for a in expr.args)
            if receiver is None or not isinstance(old, str) or not isinstance(new, str):
                return None
            return receiver.replace(old, new)
        return None

    def _leaves(self, expr: cst.CSTNode, depth: int = 0) -> Iterator[cst.CSTNode]:
        """The string literals and `string.*` constants an alphabet is built from."""
        if depth > 20:
            return
        if isinstance(expr, cst.SimpleString):
            yield expr
        elif isinstance(expr, cst.ConcatenatedString):
            yield from self._leaves(expr.left, depth + 1)
            yield from self._leaves(expr.right, depth + 1)
        elif isinstance(expr, cst.Attribute) and self._imported_names(expr) & {
            "string.punctuation", "string.printable",
        }:
            yield expr
        elif isinstance(expr, cst.Name) and "string.punctuation" in self._imported_names(expr):
            yield expr  # `from string import punctuation`
        elif isinstance(expr, cst.Name):
            value = self._single_definition(expr)
            if value is not None:
                yield from self._leaves(value, depth + 1)
        elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            yield from self._leaves(expr.left, depth + 1)
            yield from self._leaves(expr.right, depth + 1)
        elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            yield from self._leaves(expr.func.value, depth + 1)

    def _cleaned_value(self, leaf: cst.CSTNode, forbidden: frozenset[str]) -> str | None:
        """What `leaf` evaluates to once cleaned, or None when it needs (or allows) no edit."""
        if isinstance(leaf, cst.SimpleString):
            value = leaf.evaluated_value
            if not isinstance(value, str) or not set(value) & forbidden:
                return None
            return value if _strip_literal(leaf, forbidden) is None else _without(value, forbidden)
        punctuation = _without(_PUNCTUATION, forbidden)
        if isinstance(leaf, cst.Attribute) and leaf.attr.value == "printable":
            return _PRINTABLE_LETTERS + punctuation
        return punctuation

    def _plan_leaf(self, leaf: cst.CSTNode, forbidden: frozenset[str]) -> None:
        """Schedule the edit that removes `forbidden` from one alphabet leaf."""
        if isinstance(leaf, cst.SimpleString):
            stripped = _strip_literal(leaf, forbidden)
            if stripped is None:
                return
            parent = self._parent(leaf)
            if (
                stripped.evaluated_value == ""
                and isinstance(parent, cst.BinaryOperation)
                and isinstance(parent.operator, cst.Add)
            ):
                self._collapse[parent] = "right" if parent.left is leaf else "left"
            self._edits[leaf] = stripped
            return
        literal = _double_quoted(_without(_PUNCTUATION, forbidden))
        if isinstance(leaf, cst.Name) or leaf.attr.value == "punctuation":
            self._edits[leaf] = cst.SimpleString(literal, lpar=leaf.lpar, rpar=leaf.rpar)
            if isinstance(leaf, cst.Name):
                self._replaced_imports.add(leaf)
            return
        module = cst.Module([]).code_for_node(leaf.value)
        replacement = parse_template_expression(
            f"{module}.ascii_letters + {module}.digits + {literal}"
        )
        parent = self._parent(leaf)
        bare_ok = isinstance(parent, (cst.Arg, cst.Assign, cst.AnnAssign)) or (
            isinstance(parent, cst.BinaryOperation) and isinstance(parent.operator, cst.Add)
        )
        if not bare_ok or leaf.lpar:
            replacement = replacement.with_changes(
                lpar=leaf.lpar or [cst.LeftParen()], rpar=leaf.rpar or [cst.RightParen()]
            )
        self._edits[leaf] = replacement

    # messages
    def _message(self, plan: _CallPlan) -> str:
        if plan.method == "shuffle":
            return (f"{plan.label} is shuffled with the predictable `random` module: shuffle it "
                    "with `secrets.SystemRandom()`, a CSPRNG, instead")
        return (f"{plan.label} is generated with the predictable `random` module: draw it from "
                f"`secrets`, a CSPRNG, instead{plan.note}")

    # names and imports
    def _secrets_name(self, module: cst.Module) -> str:
        """`secrets`, its existing alias, or `stdlib_secrets` when `secrets` is taken."""
        class Bindings(cst.CSTVisitor):
            def __init__(self, rule: RandomForSecrets) -> None:
                self.rule = rule
                self.alias: str | None = None
                self.clash = False

            def visit_Name(self, node: cst.Name) -> None:
                scope = self.rule.get_metadata(ScopeProvider, node, None)
                if scope is None or "secrets" not in scope.assignments:
                    return
                for assignment in scope.assignments["secrets"]:
                    if not _imports_stdlib_secrets(assignment):
                        self.clash = True

            def visit_Import(self, node: cst.Import) -> None:
                for alias in node.names:
                    if alias.evaluated_name == "secrets" and alias.asname is not None:
                        self.alias = alias.evaluated_alias

        bindings = Bindings(self)
        module.visit(bindings)
        if bindings.alias:
            return bindings.alias
        return "stdlib_secrets" if bindings.clash else "secrets"

    def _import_removals(
        self, base: cst.Name, package: str
    ) -> set[tuple[str, str | None, str | None]]:
        """The imports from `package` binding `base`, as arguments of `remove_unused_import`."""
        removals: set[tuple[str, str | None, str | None]] = set()
        scope = self.get_metadata(ScopeProvider, base, None)
        if scope is None or base.value not in scope:
            return removals
        for assignment in scope[base.value]:
            if not isinstance(assignment, ImportAssignment):
                continue
            statement = assignment.node
            if isinstance(statement, cst.Import):
                for alias in statement.names:
                    bound = alias.evaluated_alias or package
                    if alias.evaluated_name == package and bound == base.value:
                        removals.add((package, None, alias.evaluated_alias))
            elif isinstance(statement, cst.ImportFrom) and not statement.relative:
                module = statement.module
                if module is None or cst.Module([]).code_for_node(module) != package:
                    continue
                if isinstance(statement.names, cst.ImportStar):
                    continue
                for alias in statement.names:
                    if (alias.evaluated_alias or alias.evaluated_name) == base.value:
                        removals.add((package, alias.evaluated_name, alias.evaluated_alias))
        return removals

    # rewriting
    def leave_SimpleString(self, original_node: cst.SimpleString,
                           updated_node: cst.SimpleString) -> cst.BaseExpression:
        return self._edits.get(original_node, updated_node)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self._edits.get(original_node, updated_node)

    def leave_Attribute(self, original_node: cst.Attribute,
                        updated_node: cst.Attribute) -> cst.BaseExpression:
        return self._edits.get(original_node, updated_node)

    def leave_BinaryOperation(self, original_node: cst.BinaryOperation,
                              updated_node: cst.BinaryOperation) -> cst.BaseExpression:
        side = self._collapse.get(original_node)
        if side is None:
            return updated_node
        kept = updated_node.left if side == "left" else updated_node.right
        if updated_node.lpar:
            kept = kept.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        return kept

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        plan = self._plans.get(original_node)
        if plan is not None:
            return self._rewrite(original_node, updated_node, plan.method)
        return self._wrapped(original_node, updated_node)

    def _wrapped(self, original: cst.Call, call: cst.Call) -> cst.Call:
        """`"".join(<generator>)` broken over three lines, as black would, when the fix pushed
        the line past 88 characters, or made an already long line clearly longer (a line that
        was long and grows by a character or two is the project's style, not ours to change)."""
        if not self._lines or len(call.args) != 1 or not isinstance(
            call.args[0].value, cst.GeneratorExp
        ):
            return call
        code = cst.Module([]).code_for_node
        before, after = code(original), code(call)
        if before == after or "\n" in before or "\n" in after:
            return call
        line = self._lines[self.position(original).start.line - 1]
        old, new = len(line), len(line) - len(before) + len(after)
        if new <= 88 or (old > 88 and new - old <= 8):
            return call
        indent = line[: len(line) - len(line.lstrip())]
        if indent.strip(" ") or len(indent) % 4:
            return call  # tabs, or a continuation line aligned under an opening bracket

        def newline(then: str) -> cst.ParenthesizedWhitespace:
            return cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(),
                empty_lines=[],
                indent=False,
                last_line=cst.SimpleWhitespace(then),
            )

        return call.with_changes(
            whitespace_before_args=newline(indent + "    "),
            args=[call.args[0].with_changes(whitespace_after_arg=newline(indent))],
        )

    def _attr(self, *names: str) -> cst.BaseExpression:
        return cst.parse_expression(".".join((self._secrets, *names)))

    def _rewrite(self, original: cst.Call, call: cst.Call, method: str) -> cst.BaseExpression:
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        simple = len(positional) == len(call.args)
        if method == "choice":
            return call.with_changes(func=self._attr("choice"))
        if method == "getrandbits" and simple and len(positional) == 1:
            return call.with_changes(func=self._attr("randbits"))
        if method == "randbytes" and simple and len(positional) == 1:
            return call.with_changes(func=self._attr("token_bytes"))
        if method == "choices":
            rewritten = self._choices(original, call, positional, keywords)
            if rewritten is not None:
                return rewritten
        if method in ("randint", "randrange") and simple:
            rewritten = self._randbelow(original, call, method, positional)
            if rewritten is not None:
                return rewritten
        fallback = cst.parse_expression(f"{self._secrets}.SystemRandom().{method}")
        return call.with_changes(func=fallback)

    def _choices(self, original: cst.Call, call: cst.Call, positional: list,
                 keywords: dict) -> cst.BaseExpression | None:
        if set(keywords) - {"population", "k"} or len(positional) + len(keywords) != 2:
            return None
        if len(positional) > 1 or any(a.star for a in call.args):
            return None
        population = positional[0] if positional else keywords.get("population")
        k = keywords.get("k")
        if population is None or k is None or not _pure(population):
            return None
        if any(n.value == "_" for n in _walk(population).names + _walk(k).names):
            return None
        choice = self._attr("choice")
        if self._sole_argument(original) and not call.lpar:
            generator = parse_template_expression(
                "({choice}({population}) for _ in range({k}))",
                choice=choice, population=population, k=k,
            )
            return generator.with_changes(lpar=[], rpar=[])
        listcomp = parse_template_expression(
            "[{choice}({population}) for _ in range({k})]",
            choice=choice, population=population, k=k,
        )
        return listcomp.with_changes(lpar=call.lpar, rpar=call.rpar)

    def _sole_argument(self, call: cst.Call) -> bool:
        arg = self._parent(call)
        if not isinstance(arg, cst.Arg) or arg.keyword is not None or arg.star:
            return False
        if not isinstance(arg.comma, cst.MaybeSentinel):
            return False
        outer = self._parent(arg)
        return isinstance(outer, cst.Call) and len(outer.args) == 1

    def _randbelow(self, original: cst.Call, call: cst.Call, method: str,
                   positional: list) -> cst.BaseExpression | None:
        randbelow = f"{self._secrets}.randbelow"
        code = cst.Module([]).code_for_node
        if method == "randrange":
            if len(positional) == 1:
                return call.with_changes(func=self._attr("randbelow"))
            if len(positional) != 2:
                return None
            low, high = positional
            offset = 0  # randrange(a, b) draws below b - a
        else:
            if len(positional) != 2:
                return None
            low, high = positional
            offset = 1  # randint(a, b) draws below b - a + 1
        low_value, high_value = _int_value(low), _int_value(high)
        if low_value is not None and high_value is not None:
            size = str(high_value - low_value + offset)
        elif low_value is not None:
            delta = offset - low_value
            high_code = code(high) if _atomic(high) else f"({code(high)})"
            if delta == 0:
                size = high_code
            elif delta == 1 and isinstance(high, cst.BinaryOperation) and isinstance(
                high.operator, cst.Subtract
            ) and _int_value(high.right) == 1:
                size = code(high.left)
            else:
                size = f"{high_code} {'+' if delta > 0 else '-'} {abs(delta)}"
        elif isinstance(low, (cst.Name, cst.Attribute)):
            high_code = code(high) if _atomic(high) else f"({code(high)})"
            if offset and isinstance(high, cst.BinaryOperation) and isinstance(
                high.operator, cst.Subtract
            ) and _int_value(high.right) == 1:
                size = f"{code(high.left)} - {code(low)}"
            else:
                size = f"{high_code} - {code(low)}" + (" + 1" if offset else "")
        else:
            return None
        draw = f"{randbelow}({size})"
        if low_value == 0:
            expression = draw
            bare = True
        else:
            expression = f"{code(low)} + {draw}"
            bare = False
        result = cst.parse_expression(expression)
        if call.lpar:
            return result.with_changes(lpar=call.lpar, rpar=call.rpar)
        if not bare and not self._bare_sum_ok(original):
            return result.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return result

    def _bare_sum_ok(self, node: cst.CSTNode) -> bool:
        """Whether `a + b` can replace `node` without parentheses."""
        parent = self._parent(node)
        return isinstance(parent, (
            cst.Arg, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Return, cst.Element,
            cst.DictElement, cst.FormattedStringExpression, cst.Expr, cst.Index,
        ))


def _base_name(func: cst.BaseExpression) -> cst.Name | None:
    while True:
        if isinstance(func, cst.Name):
            return func
        if isinstance(func, cst.Attribute):
            func = func.value
        elif isinstance(func, cst.Call):
            func = func.func
        else:
            return None


def _imports_stdlib_secrets(assignment: object) -> bool:
    if not isinstance(assignment, ImportAssignment):
        return False
    statement = assignment.node
    if not isinstance(statement, cst.Import):
        return False
    return any(
        alias.evaluated_name == "secrets" and alias.asname is None for alias in statement.names
    )


def _int_value(expr: cst.BaseExpression) -> int | None:
    if expr.lpar:
        return None
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if (
        isinstance(expr, cst.UnaryOperation)
        and isinstance(expr.operator, cst.Minus)
        and isinstance(expr.expression, cst.Integer)
    ):
        return -int(expr.expression.evaluated_value)
    return None


def _atomic(expr: cst.BaseExpression) -> bool:
    """Whether `expr` can be an operand of `+`/`-` without parentheses."""
    if expr.lpar or isinstance(
        expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.SimpleString)
    ):
        return True
    return isinstance(expr, cst.BinaryOperation) and isinstance(
        expr.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Modulo, cst.Power)
    )


def _pure(expr: cst.BaseExpression) -> bool:
    """Cheap and free of side effects, so evaluating it once per character is fine."""
    if isinstance(expr, (cst.Name, cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(expr, cst.Attribute):
        return _pure(expr.value)
    if isinstance(expr, cst.BinaryOperation):
        return _pure(expr.left) and _pure(expr.right)
    return False


def _without(value: str, forbidden: frozenset[str]) -> str:
    return "".join(c for c in value if c not in forbidden)


def _double_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_ESCAPE_UNIT = re.compile(r"\\(?:\r\n|.)|.", re.DOTALL)


def _strip_literal(node: cst.SimpleString, forbidden: frozenset[str]) -> cst.SimpleString | None:
    """`node` with every character in `forbidden` removed, written the way it was written
    (same prefix and quotes, other escapes kept), or None when that cannot be done exactly."""
    prefix = node.prefix
    value = node.evaluated_value
    if not isinstance(value, str) or set(prefix.lower()) - {"r", "u"}:
        return None
    body = node.raw_value
    if "r" in prefix.lower():
        if "\\" in body:
            return None
        units = list(body)
    else:
        units = _ESCAPE_UNIT.findall(body)

    def evaluates_to(unit: str) -> str:
        if len(unit) == 2 and unit[0] == "\\" and unit[1] in "\\'\"":
            return unit[1]
        return unit

    kept = "".join(u for u in units if evaluates_to(u) not in forbidden)
    code = f"{prefix}{node.quote}{kept}{node.quote}"
    try:
        if ast.literal_eval(code) != _without(value, forbidden):
            return None
    except (SyntaxError, ValueError):
        return None
    return node.with_changes(value=code)
