"""The `secret-in-plain-config` rule: secret-named config keys are read as secrets."""

from __future__ import annotations

import re

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import (
    ParentNodeProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from iacfix.codemods._secret_values import (
    PLAIN_TO_SECRET,
    Flow,
    code,
    keep_leading_lines,
    output_class,
    vanishing_json_import,
)
from iacfix.codemods.random_for_secrets import is_secret_name
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import FileContext, Rule


#: The prefilter: a plain read (`.get(`, `.require_int(`, ...) whose first argument follows.
_PLAIN_READ = re.compile(rf"\.(?:{prefilter.alternatives(PLAIN_TO_SECRET)})\s*\(\s*(?:key\s*=\s*)?")


class SecretInPlainConfig(Rule):
    """Read secret-named config keys with `get_secret`/`require_secret`, not plain `get`/`require`.

    Finds `config.get("stripeApiKey")`, `config.require("webhook_secret")`,
    `config.get_object("apiCredentials")` (and the typed `get_int`/`require_bool`/... reads) on a
    `pulumi.Config` bag (however `pulumi` or `Config` is imported, directly, through a name bound
    to it or through `self.config`), when the key names a secret: its last word is a password,
    secret, token, credential, API/private/auth key... (the name test of `random-for-secrets`:
    `dbPassword`, `api_key`, `authToken`, `privateKey` are secrets; `secretArn`, `tokenTtl`,
    `passwordLength` are not). Seed 000 §2 shows the right shape, `require_secret("db_password")`,
    which is not a finding.

    A read whose value becomes a database master password or ElastiCache AUTH token is left to
    `hardcoded-db-password` (the two rules never report the same call). Test code (`tests/`,
    `test_*.py`) is left alone.

    ## Why is this bad?
    A value read with plain `get`/`require` was set with plain `pulumi config set`, so it sits
    unencrypted in `Pulumi.<stack>.yaml` (in the repository), and, wherever it goes into an input
    the provider does not mark secret (a Lambda environment variable, an SSM parameter, a tag), in
    plain text in the state and in `pulumi preview --diff` output. `get_secret`/`require_secret`
    return an `Output` marked secret: Pulumi encrypts it in the state and masks it in every log,
    and the stack owner is reminded to store it with `pulumi config set --secret`.

    ## Fix
    The read becomes its secret form with the same arguments: `get` -> `get_secret`, `require`
    -> `require_secret`, `get_object` -> `get_secret_object`, `get_int` -> `get_secret_int`, and
    so on. The value is then an `Output`, so the fix is applied only when every use of it takes
    one: a keyword argument of a provider class (a resource, `FunctionEnvironmentArgs`), an
    argument of `pulumi.Output.all/concat/json_dumps/secret` or `pulumi.export`, a dict or list
    literal in such a place, a name bound once whose uses all are such places, or `json.dumps(...)`
    passed to a resource, which becomes `pulumi.Output.json_dumps(...)`. Otherwise (an f-string, an
    `.apply` lambda, `self.api_key`, a plain function call) the finding says where and is not
    fixed.

    ## Fix safety
    Unsafe: the value becomes an `Output` (every use the rule can see takes one, but code in other
    modules that reads it cannot be checked), and Pulumi now stores it encrypted, which shows as a
    change of the resource inputs on the next `pulumi up`. Re-set each stack's value with
    `pulumi config set --secret <key>` so it is encrypted in the stack file too.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/secrets/
    - https://www.pulumi.com/docs/reference/pkg/python/pulumi/#pulumi.Config.require_secret
    - https://cwe.mitre.org/data/definitions/312.html (CWE-312)
    """

    id = "secret-in-plain-config"
    title = "Read secret-named config keys with `get_secret`/`require_secret`"
    safety = Safety.UNSAFE
    checks_test_code = False
    evidence = (b"Config",)
    METADATA_DEPENDENCIES = (
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A plain config read whose key is a string literal naming a secret."""
        if not super().applies(source, path, project, settings):
            return False
        text = prefilter.text_of(source)
        for read in _PLAIN_READ.finditer(text):
            key = prefilter.string_value(prefilter.value_text(text, read.end()))
            if key is not None and is_secret_name(key):
                return True
        return False

    def __init__(self, context: CodemodContext, file: FileContext | None = None) -> None:
        super().__init__(context, file)
        self._methods: dict[cst.Call, str] = {}
        self._json_dumps: set[cst.Call] = set()
        self._output = "pulumi.Output"
        self._vanishing: cst.SimpleStatementLine | None = None

    def visit_Module(self, node: cst.Module) -> bool:
        if self.in_test_code:
            return False
        flow = Flow(self)
        # Reads that reach a database password belong to hardcoded-db-password.
        theirs = {origin.node for _, _, _, origin in flow.db_origins(node)
                  if origin.kind == "config"}
        reads: list[tuple[cst.Call, str, str]] = []

        class Reads(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                read = flow.config_read(call)
                if read is not None and read[0] in PLAIN_TO_SECRET and call not in theirs:
                    if is_secret_name(read[1]):
                        reads.append((call, read[0], read[1]))

        node.visit(Reads())
        for call, method, key in reads:
            value: cst.BaseExpression = call
            parent = flow.parent(call)
            if isinstance(parent, cst.BooleanOperation) and parent.left is call:
                value = parent
            verdict = flow.output_ok(value)
            secret = PLAIN_TO_SECRET[method]
            read = f'`{code(call.func)}("{key}")`'
            problem = (f"{read} reads a secret-named key as plain text, kept unencrypted in the "
                       "stack file and, unless the resource marks the input secret, in the state")
            if not verdict.ok:
                self.report(call, f"{problem}; no automatic fix because the value is used "
                            f"{verdict.where}, where the Output `{secret}` returns does not fit: "
                            f"read it with `{secret}` and build that value with `.apply`.",
                            safety=Safety.DISPLAY_ONLY)
                continue
            if self.report(call, f"{problem}; the fix reads it with `{secret}`, so set it with "
                           f"`pulumi config set --secret {key}`."):
                self._methods[call] = secret
                self._json_dumps |= verdict.json_dumps
        if self._json_dumps:
            self._output = output_class(self, node)
            self.remove_unused_import("json")
            self._vanishing = vanishing_json_import(self, node, self._json_dumps)
        return bool(self._methods)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        method = self._methods.get(original_node)
        if method is not None and isinstance(updated_node.func, cst.Attribute):
            return updated_node.with_changes(
                func=updated_node.func.with_changes(attr=cst.Name(method)))
        if original_node in self._json_dumps:
            return updated_node.with_changes(
                func=cst.parse_expression(f"{self._output}.json_dumps"))
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return keep_leading_lines(original_node, updated_node, self._vanishing)
