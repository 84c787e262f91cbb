"""The `hardcoded-db-password` rule: database passwords are generated or read as secrets."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import (
    ParentNodeProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from iacfix.codemods.random_for_secrets import is_secret_name
from iacfix.codemods._secret_values import (
    GET_TO_REQUIRE_SECRET,
    OUTPUT_SECRET,
    PLAIN_TO_SECRET,
    Flow,
    Origin,
    Verdict,
    code,
    derived_name,
    keep_leading_lines,
    output_class,
    vanishing_json_import,
    string_value,
)
from iacfix.pulumi_names import module_alias
from iacfix.results import Safety
from iacfix.rule import FileContext, Rule

#: `override_special` of the generated password, per service. RDS and DocumentDB refuse `/`,
#: `@`, `"` and space in a master password, Redshift also `'` and `\\` (CreateDBCluster,
#: CreateCluster API references); this is seed 002's own set, which holds none of them.
#: ElastiCache AUTH tokens allow only `!&#$^<>-` as symbols (ElastiCache AUTH docs).
SPECIAL = {
    "rds": "!#$%^&*()-_=+[]{}:?",
    "docdb": "!#$%^&*()-_=+[]{}:?",
    "redshift": "!#$%^&*()-_=+[]{}:?",
    "elasticache": "!&#$^<>-",
}
#: 32 characters: within every service's limits (RDS 8-41, DocumentDB 8-100, Redshift 8-64,
#: ElastiCache AUTH 16-128).
LENGTH = 32
RESOURCE_OPTIONS = frozenset({"pulumi.ResourceOptions", "pulumi.resource.ResourceOptions"})
RANDOM = "pulumi_random"


@dataclass
class _Sink:
    call: cst.Call
    arg: cst.Arg
    service: str
    origin: Origin
    cls: str = ""


@dataclass
class _Group:
    """One password: every sink and companion literal that get the same generated value."""

    sinks: list[_Sink] = field(default_factory=list)
    bindings: set[cst.Assign] = field(default_factory=set)
    companions: list[cst.BaseExpression] = field(default_factory=list)
    wrapped: bool = True  # every occurrence is already an Output


class HardcodedDbPassword(Rule):
    """Generate database master passwords with `pulumi_random`, or read them as config secrets.

    Finds the master password (`master_password`, `password`, `admin_user_password`, also the
    write-only `_wo` variants) of an RDS or Aurora cluster or instance, a DocumentDB cluster, a
    Redshift cluster or Serverless namespace, and the `auth_token` of an ElastiCache replication
    group, when its value is plain text in the program: a string literal, also wrapped as
    `pulumi.Output.secret("ChangeMe123!")` or bound to a name first (`db_password = "..."` then
    `master_password=db_password`), or a plain read of a `pulumi.Config` bag
    (`config.get("db_password")`, `config.require("dbPassword")`, `config.get("k") or "x"`).
    From seed 002 §3 ("Hardcoded Database Credentials": `pulumi.Output.secret("ChangeMe123!
    TempPassword")` as the Aurora master password and in a `db_credentials` dict).

    Left alone: `config.require_secret`/`get_secret` (seed 000 §2), `RandomPassword(...).result`,
    values from Secrets Manager, `manage_master_user_password=True` without a password, empty
    strings, f-strings, test code (`tests/`, `test_*.py`: unit-test mocks use fixed passwords on
    purpose), and passwords drawn from the stdlib `random` (that is `random-for-secrets`). A config
    read whose value also reaches a database password is this rule's, never
    `secret-in-plain-config`'s.

    ## Why is this bad?
    A literal password is in every clone of the repository, every fork and every CI log that
    prints the source, and it is the same in every stack; wrapping it in `pulumi.Output.secret`
    hides it from the state, not from the source. A plain `config.get`/`require` key is set with
    plain `pulumi config set`, so it is stored unencrypted in `Pulumi.<stack>.yaml`, next to the
    code (pulumi_aws marks these inputs secret, so the state was encrypted either way). For a
    payment system (seed 002) this is a PCI DSS finding.

    ## Fix
    A literal becomes a `pulumi_random.RandomPassword` resource (32 characters, `special=True`,
    `override_special` without the characters the service refuses: `!#$%^&*()-_=+[]{}:?` for
    RDS, DocumentDB and Redshift, which also gets `min_upper`/`min_lower`/`min_numeric`, and
    `!&#$^<>-` for ElastiCache), named after the resource (`payment-db-cluster-{suffix}` ->
    `payment-db-password-{suffix}`), with `opts=ResourceOptions(parent=self)` when the resource
    has it; its secret `.result` replaces the literal in the resource, in secret-named dict entries
    and arguments holding the same literal (the credentials dict, a Secrets Manager
    `secret_string`) and wherever the name bound to it is used. `json.dumps(...)` of such a
    value, passed to a resource, becomes `pulumi.Output.json_dumps(...)`. `pulumi_random` is
    imported as is (the module may use the stdlib `random`); an existing import is reused.

    A plain config read becomes a secret read: `require` -> `require_secret`, `get` ->
    `get_secret` (a missing key is still `None`, as before), and `get` with a hardcoded fallback
    (`config.get("k") or "x"`, `config.get("k", "x")`) -> `require_secret("k")`: the fallback is
    itself a hardcoded password, and without it a missing key would pass `None` and fail only at
    the AWS API, so the read fails early instead.

    When the value is also used where an `Output` does not fit (an f-string, `json.dumps` inside
    an `.apply` lambda, an attribute), or a module-level constant is used inside functions, the
    finding is reported with no fix and says where.

    ## Fix safety
    Unsafe. For a deployed database the generated password differs from the literal, so the next
    `pulumi up` changes the master password (an in-place modification; clients that still use the
    old literal fail to connect). A secret config read gives an `Output` instead of a `str`, and a
    stack whose config lacks a key read with a dropped fallback now stops at preview: set it with
    `pulumi config set --secret <key>`. The project must depend on `pulumi-random` (another rule
    adds it to the requirements).

    ## References
    - https://www.pulumi.com/registry/packages/random/api-docs/randompassword/
    - https://www.pulumi.com/docs/iac/concepts/secrets/
    - https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html
    - https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
    - https://cwe.mitre.org/data/definitions/798.html (CWE-798), Bandit B105/B106
    """

    id = "hardcoded-db-password"
    title = "Generate database passwords with `pulumi_random` or read them as config secrets"
    safety = Safety.UNSAFE
    checks_test_code = False
    evidence = (b"password", b"auth_token")
    METADATA_DEPENDENCIES = (
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    def __init__(self, context: CodemodContext, file: FileContext | None = None) -> None:
        super().__init__(context, file)
        self._replace: dict[cst.CSTNode, cst.BaseExpression] = {}
        self._result_of: set[cst.Name] = set()
        self._json_dumps: set[cst.Call] = set()
        self._inserts: dict[cst.BaseStatement, cst.BaseStatement] = {}
        self._chosen: set[str] = set()
        self._output = "pulumi.Output"
        self._vanishing: cst.SimpleStatementLine | None = None

    # -- analysis ------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> bool:
        if self.in_test_code:
            return False
        flow = Flow(self)
        self._flow = flow
        self._module = node
        found = flow.db_origins(node)
        if not found:
            return False
        sinks = [_Sink(call, arg, service, origin, self._class_of(call))
                 for call, arg, service, origin in found]
        literal_groups: dict[tuple[cst.CSTNode, str], _Group] = {}
        config_groups: dict[cst.CSTNode, list[_Sink]] = {}
        for sink in sinks:
            if sink.origin.kind == "config":
                config_groups.setdefault(sink.origin.node, []).append(sink)
                continue
            anchor = sink.origin.binding or sink.arg
            group = literal_groups.setdefault((flow.function_of(anchor), sink.origin.value),
                                              _Group())
            group.sinks.append(sink)
            group.wrapped &= sink.origin.wrapped
            if sink.origin.binding is not None:
                group.bindings.add(sink.origin.binding)
        if literal_groups:
            self._find_companions(node, literal_groups)
        for group in literal_groups.values():
            self._literal_group(group)
        for sinks_of_read in config_groups.values():
            self._config_group(sinks_of_read)
        if self._json_dumps:
            self._output = output_class(self, node)
            self.remove_unused_import("json")
            self._vanishing = vanishing_json_import(self, node, self._json_dumps)
        return True

    def _class_of(self, call: cst.Call) -> str:
        sink = self._flow.db_sink(call)
        return sink[0] if sink else ""

    def _find_companions(self, module: cst.Module, groups: dict) -> None:
        """Same-valued literals in secret-named dict entries and arguments of the same function."""
        flow = self._flow
        taken = {s.origin.node for g in groups.values() for s in g.sinks}

        class Literals(cst.CSTVisitor):
            def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
                self.check(node)
                return False

            def visit_SimpleString(self, node: cst.SimpleString) -> None:
                self.check(node)

            def check(self, node: cst.BaseExpression) -> None:
                value = string_value(node)
                if not value or node in taken:
                    return
                expr = node
                parent = flow.parent(node)
                if isinstance(parent, cst.Arg) and parent.keyword is None:
                    wrapper = flow.parent(parent)
                    if isinstance(wrapper, cst.Call) and flow.qualified(wrapper.func) & OUTPUT_SECRET:
                        expr, parent = wrapper, flow.parent(wrapper)
                if isinstance(parent, cst.DictElement) and parent.value is expr:
                    key = string_value(parent.key)
                    if key is None or not is_secret_name(key):
                        return
                elif isinstance(parent, cst.Arg) and parent.keyword is not None:
                    if not is_secret_name(parent.keyword.value):
                        return
                else:
                    return
                group = groups.get((flow.function_of(expr), value))
                if group is not None:
                    group.companions.append(expr)
                    group.wrapped &= expr is not node

        module.visit(Literals())

    def _literal_group(self, group: _Group) -> None:
        flow = self._flow
        first = group.sinks[0]
        verdict = Verdict()
        binding = next(iter(group.bindings)) if len(group.bindings) == 1 else None
        if len(group.bindings) > 1:
            verdict = Verdict(False, "the same literal is bound to more than one variable")
        name_node = first.origin.name if binding is not None else None
        if binding is not None and name_node is not None:
            found = flow.binding_of(name_node)
            accesses = flow.accesses(found[0]) if found else None
            if accesses is None:
                verdict = Verdict(False, f"`{name_node.value}` is assigned more than once")
            else:
                home = flow.function_of(binding)
                if isinstance(home, cst.Module) and any(
                    flow.function_of(a) is not home for a in accesses
                ):
                    verdict = Verdict(
                        False, f"`{name_node.value}` is a module-level constant used inside "
                        "functions (move it next to the resource first)")
                elif not group.wrapped:
                    for access in accesses:
                        verdict.add(flow.output_ok(access))
        if not group.wrapped:
            for companion in group.companions:
                verdict.add(flow.output_ok(companion))
        services = {s.service for s in group.sinks}
        approved = []
        for sink in group.sinks:
            message = self._literal_message(sink, verdict)
            safety = None if verdict.ok else Safety.DISPLAY_ONLY
            approved.append(self.report(sink.arg, message, safety=safety))
        if not verdict.ok or not all(approved):
            return
        callee = self._random_password_callee()
        self._json_dumps |= verdict.json_dumps
        if binding is not None and name_node is not None:
            variable = name_node.value
            self._replace[binding.value] = cst.parse_expression(
                self._password_code(callee, first, services))
            found = flow.binding_of(name_node)
            self._result_of |= set(flow.accesses(found[0]) or [])
        else:
            anchor, block_stmt = self._insertion_point(group)
            variable = self._variable_name(first, anchor)
            statement = cst.parse_statement(
                f"{variable} = {self._password_code(callee, first, services)}\n")
            self._inserts[block_stmt] = statement
            for sink in group.sinks:
                self._replace[sink.origin.replace] = cst.parse_expression(f"{variable}.result")
        for companion in group.companions:
            self._replace[companion] = cst.parse_expression(f"{variable}.result")

    def _config_group(self, sinks: list[_Sink]) -> None:
        flow = self._flow
        origin = sinks[0].origin
        verdict = Verdict()
        if origin.binding is not None and not origin.wrapped and origin.name is not None:
            found = flow.binding_of(origin.name)
            accesses = flow.accesses(found[0]) if found else None
            if accesses is None:
                verdict = Verdict(False, f"`{origin.name.value}` is assigned more than once")
            else:
                for access in accesses:
                    verdict.add(flow.output_ok(access))
        call = origin.node
        assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
        forced = origin.fallback
        method = GET_TO_REQUIRE_SECRET[origin.method] if forced else PLAIN_TO_SECRET[origin.method]
        approved = []
        for sink in sinks:
            message = self._config_message(sink, method, forced, verdict)
            safety = None if verdict.ok else Safety.DISPLAY_ONLY
            approved.append(self.report(sink.arg, message, safety=safety))
        if not verdict.ok or not all(approved):
            return
        self._json_dumps |= verdict.json_dumps
        new = call.with_changes(func=call.func.with_changes(attr=cst.Name(method)))
        if forced:
            key = call.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            new = new.with_changes(args=[key])
        self._replace[origin.replace if origin.fallback or origin.wrapped else call] = new

    # -- messages ------------------------------------------------------------------------------

    def _label(self, sink: _Sink) -> str:
        short = ".".join(sink.cls.split(".")[-2:])
        name = _resource_name(sink.call)
        value = string_value(name) if name is not None else None
        if value is not None:
            return f'{short} "{value}"'
        if isinstance(name, cst.FormattedString):
            text = code(name)
            return f'{short} "{text[len(name.start):len(text) - len(name.end)]}"'
        return short

    def _literal_message(self, sink: _Sink, verdict: Verdict) -> str:
        keyword = sink.arg.keyword.value if sink.arg.keyword else "password"
        via = f" (bound to `{sink.origin.name.value}`)" if sink.origin.name is not None else ""
        problem = (f"{self._label(sink)} gets a hardcoded `{keyword}`{via} that anyone with the "
                   "source can read")
        if not verdict.ok:
            return (f"{problem}; no automatic fix because {_why(verdict)}: generate it with "
                    "`pulumi_random.RandomPassword` and use its `.result` by hand.")
        changed = ("replication group's AUTH token" if sink.service == "elasticache"
                   else "database's master password")
        return (f"{problem}; the fix generates it with `pulumi_random.RandomPassword` and passes "
                f"its secret `.result`, which changes a deployed {changed} on the next "
                "`pulumi up`.")

    def _config_message(self, sink: _Sink, method: str, forced: bool, verdict: Verdict) -> str:
        keyword = sink.arg.keyword.value if sink.arg.keyword else "password"
        key = sink.origin.value
        fallback = " with a hardcoded fallback" if sink.origin.fallback else ""
        problem = (f"{self._label(sink)} takes `{keyword}` from the plain config key \"{key}\""
                   f"{fallback}, stored unencrypted in the stack file")
        if not verdict.ok:
            return (f"{problem}; no automatic fix because {_why(verdict)}: read it with "
                    f"`{method}` and build that value with `.apply`.")
        then = (", and a stack without the key now stops at preview" if forced else "")
        return (f"{problem}; the fix reads it with `{method}(\"{key}\")`{then}: set it with "
                f"`pulumi config set --secret {key}`.")

    # -- generated code ------------------------------------------------------------------------

    def _random_password_callee(self) -> str:
        alias = module_alias(self._module, RANDOM)
        if alias is not None:
            return f"{alias}.RandomPassword"
        for statement in self._module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (isinstance(small, cst.ImportFrom) and small.module is not None
                        and code(small.module) == RANDOM and not small.relative
                        and not isinstance(small.names, cst.ImportStar)):
                    for alias_node in small.names:
                        if alias_node.evaluated_name == "RandomPassword":
                            return alias_node.evaluated_alias or "RandomPassword"
        self.add_needed_import(RANDOM)
        return f"{RANDOM}.RandomPassword"

    def _password_code(self, callee: str, sink: _Sink, services: set[str]) -> str:
        """The `RandomPassword(...)` call, one argument a line (libcst indents it to the block)."""
        special = SPECIAL["elasticache"] if "elasticache" in services else SPECIAL[sink.service]
        word = "auth-token" if services == {"elasticache"} else "password"
        inner = "    "
        lines = [
            f"{callee}(",
            f"{inner}{derived_name(_resource_name(sink.call), word)},",
            f"{inner}length={LENGTH},",
            f"{inner}special=True,",
            f'{inner}override_special="{special}",',
        ]
        if "redshift" in services:
            lines += [f"{inner}min_upper=1,", f"{inner}min_lower=1,", f"{inner}min_numeric=1,"]
        opts = self._parent_opts(sink.call)
        if opts is not None:
            lines.append(f"{inner}opts={opts},")
        lines.append(")")
        return "\n".join(lines)

    def _parent_opts(self, call: cst.Call) -> str | None:
        """`ResourceOptions(parent=...)`, spelled as the resource spells it, when it has a parent."""
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value != "opts":
                continue
            value = arg.value
            if not isinstance(value, cst.Call) or not self._flow.qualified(value.func) & RESOURCE_OPTIONS:
                return None
            for option in value.args:
                if option.keyword is not None and option.keyword.value == "parent":
                    return f"{code(value.func)}(parent={code(option.value)})"
        return None

    def _variable_name(self, sink: _Sink, anchor: cst.CSTNode) -> str:
        scope = self.get_metadata(ScopeProvider, anchor, None)
        base = "auth_token" if sink.service == "elasticache" else "db_password"
        target = self._assigned_to(sink.call)
        candidates = [base]
        if target:
            candidates.append(f"{target}_{base.rsplit('_', 1)[-1]}")
        candidates += [f"{base}_{n}" for n in range(2, 100)]
        for candidate in candidates:
            if candidate not in self._chosen and (scope is None or candidate not in scope):
                self._chosen.add(candidate)
                return candidate
        raise ValueError("no free variable name")

    def _assigned_to(self, call: cst.Call) -> str | None:
        parent = self._flow.parent(call)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name):
                return target.value
            if isinstance(target, cst.Attribute):
                return target.attr.value
        return None

    def _insertion_point(self, group: _Group) -> tuple[cst.CSTNode, cst.BaseStatement]:
        """The statement to insert the password before: in the innermost block holding every
        occurrence, the one holding the earliest occurrence."""
        occurrences = [s.arg for s in group.sinks] + list(group.companions)
        chains = [self._block_chain(o) for o in occurrences]
        common = None
        for block, _ in chains[0]:
            if all(any(b is block for b, _ in chain) for chain in chains[1:]):
                common = block
                break
        assert common is not None
        statements = [next(s for b, s in chain if b is common) for chain in chains]
        earliest = min(zip(occurrences, statements),
                       key=lambda pair: (self.position(pair[0]).start.line,
                                         self.position(pair[0]).start.column))
        return earliest

    def _block_chain(self, node: cst.CSTNode) -> list[tuple[cst.CSTNode, cst.BaseStatement]]:
        """(block, its statement holding `node`) from the innermost block out."""
        chain = []
        current = node
        while current is not None:
            parent = self._flow.parent(current)
            if isinstance(parent, (cst.IndentedBlock, cst.Module)) and isinstance(
                current, cst.BaseStatement
            ):
                chain.append((parent, current))
            current = parent
        return chain

    # -- rewriting -----------------------------------------------------------------------------

    def _swap(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:
        """The planned replacement: always a call or an attribute, which needs no parentheses."""
        return self._replace.get(original, updated)

    def leave_SimpleString(self, original_node, updated_node):
        return self._swap(original_node, updated_node)

    def leave_ConcatenatedString(self, original_node, updated_node):
        return self._swap(original_node, updated_node)

    def leave_BooleanOperation(self, original_node, updated_node):
        return self._swap(original_node, updated_node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self._replace:
            return self._swap(original_node, updated_node)
        if original_node in self._json_dumps:
            return updated_node.with_changes(
                func=cst.parse_expression(f"{self._output}.json_dumps"))
        return updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if original_node in self._result_of:
            return cst.Attribute(value=updated_node, attr=cst.Name("result"))
        return updated_node

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock,
                            updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        return updated_node.with_changes(body=self._with_inserts(original_node.body,
                                                                 updated_node.body))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        updated_node = updated_node.with_changes(
            body=self._with_inserts(original_node.body, updated_node.body))
        return keep_leading_lines(original_node, updated_node, self._vanishing)

    def _with_inserts(self, original: tuple, updated: tuple) -> list:
        if not self._inserts:
            return list(updated)
        body = []
        for before, after in zip(original, updated):
            new = self._inserts.get(before)
            if new is not None:
                lines = list(after.leading_lines)
                blanks = 0
                while blanks < len(lines) and lines[blanks].comment is None:
                    blanks += 1
                body.append(new.with_changes(leading_lines=lines[:blanks]))
                rest = lines[blanks:]
                after = after.with_changes(leading_lines=lines[:1] + rest if blanks else rest)
            body.append(after)
        return body


def _resource_name(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value == "resource_name":
            return arg.value
    return None


def _why(verdict: Verdict) -> str:
    """Why no fix: an Output does not fit one use of the value (`where` starts with a
    preposition), or a structural reason (a whole clause)."""
    if verdict.where.split(" ", 1)[0] in ("in", "inside", "as", "through", "unpacked"):
        return f"the value is also used {verdict.where}, where an Output does not fit"
    return verdict.where
