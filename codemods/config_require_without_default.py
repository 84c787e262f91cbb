"""Rule config-require-without-default: `config.require("x")` for a key no stack file sets."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    Assignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from iacfix.codemods._pulumi_config import (
    CONFIG_CLASSES,
    config_name_argument,
    is_provider_namespace,
    literal_namespace,
    namespace_of_key,
)
from iacfix.context import load_yaml, stack_files
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: `require*` method -> the `get*` method that reads the same type without failing, and the
#: Python type a default for it must have.
REQUIRE_TO_GET = {
    "require": ("get", str),
    "require_int": ("get_int", int),
    "require_float": ("get_float", float),
    "require_bool": ("get_bool", bool),
    "require_object": ("get_object", object),
}
#: Secrets: reported, never given a default (iacfix never invents a secret).
REQUIRE_SECRET = frozenset(
    {"require_secret", "require_secret_int", "require_secret_float", "require_secret_bool",
     "require_secret_object"}
)
GET_METHODS = frozenset({"get", "get_int", "get_float", "get_bool", "get_object"})
#: The prefilter: `.require*(` reads and the `Config(...)` bags (or aliases) they may come from.
_REQUIRE_READ = re.compile(
    rf"\.(?:{prefilter.alternatives({*REQUIRE_TO_GET, *REQUIRE_SECRET})})\s*\(\s*(?:key\s*=\s*)?")
_CONFIG_ALIAS = re.compile(r"\bConfig\s+as\s+(\w+)")
ENV_READERS = frozenset({"os.getenv", "os.environ.get"})
#: Parents in which `a or b` needs no parentheses.
_LOOSE_PARENTS = (cst.Assign, cst.AnnAssign, cst.Arg, cst.Return, cst.Element, cst.DictElement,
                  cst.Expr, cst.Yield)


@dataclass(frozen=True)
class _Default:
    """A default the program documents for a value: its code and where it was found."""

    code: str
    value: object
    line: int
    source: str


class ConfigRequireWithoutDefault(Rule):
    """`config.require("x")` (or `require_int`, `require_bool`, ...) for a key that no stack file
    of the project sets.

    The rule resolves the config bag the call is made on: `pulumi.Config()` (the project's
    namespace, `name:` in Pulumi.yaml) or `pulumi.Config("ns")`, however `pulumi` or `Config` is
    imported, directly, through a name bound once to it (`config = pulumi.Config()`, also from an
    enclosing scope) or through `self.x` set to it in a method of the same class. It then looks the
    fully qualified key (`TapStack:dbName`, `aws:profile`) up in the selected stack file (or every
    stack file when none is selected) and in Pulumi.yaml's `config:` (a `default:` or `value:`
    there sets it). Outside a Pulumi project, when a stack file imports an ESC environment (which
    may set anything), or when the key is set under another project-like namespace (the
    `pulumi-yaml-project-name-mismatch` finding), the rule stays silent.

    ## Why is this bad?
    `pulumi preview` stops before creating anything: "Missing required configuration variable
    'TapStack:dbName'; please set a value using the command `pulumi config set TapStack:dbName
    <value>`". Every fresh stack (a CI ephemeral stack, a colleague's dev stack) hits it.

    ## Fix
    By default the finding says which key to set, with which command, and which stack files were
    checked. With `--unsafe-fixes`, where the program itself shows the default, the call becomes
    `config.get("x") or <default>` (typed reads keep their type with the default argument:
    `config.get_int("x", 2)`, `get_bool`, `get_float`, `get_object`). A default is evident when
    the same key is read elsewhere in the module with one (`config.get("x") or "dev"`,
    `config.get("x", "dev")`), or when the variable the value is assigned to is given one
    elsewhere in the module (`environment_suffix = os.getenv("ENVIRONMENT_SUFFIX", "dev")`,
    `self.environment_suffix = environment_suffix or "dev"`, a parameter default). Only literals
    of the right type count, and conflicting defaults count as none; the finding says where the
    default came from. `require_secret*` reads are always reported only: iacfix never invents a
    secret.

    ## Fix safety
    Unsafe. A stack that never set the key now deploys with the default instead of failing, and
    the value resources are built from may differ from what the operator meant; set the key in
    the stack file if the default is wrong for it.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/config/#code
    - https://www.pulumi.com/docs/reference/pkg/python/pulumi/#pulumi.Config.require
    - seed 002, §5: the fixed program reads `config.get("containerImage") or <image>`
    """

    id = "config-require-without-default"
    title = "Read a config key no stack file sets with a default the program already documents"
    safety = Safety.UNSAFE
    evidence = (b"require",)

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """Stack config is known, and a `.require*("key")` may read a key that no stack sets
        under a namespace some `Config(...)` bag of the file reads (the project's, or a literal
        name; a computed name is never judged)."""
        keys = project.config_keys
        if keys is None or not super().applies(source, path, project, settings):
            return False
        text = prefilter.text_of(source)
        required = {key for read in _REQUIRE_READ.finditer(text)
                    if (key := prefilter.string_value(prefilter.value_text(text, read.end())))}
        if not required:
            return False
        bags = re.compile("|".join(["Config", *_CONFIG_ALIAS.findall(text)]))
        namespaces = {project.name}
        for start, end in prefilter.call_spans(text, bags):
            inside = text[start:end].split("(", 1)[1][:-1].strip()
            inside = re.sub(r"^name\s*=\s*", "", inside)
            namespaces.add(prefilter.string_value(inside) or project.name)
        return any(f"{namespace}:{key}" not in keys for namespace in namespaces for key in required)

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._defaults: tuple[dict, dict] | None = None
        self._stack_state: tuple[list[str], bool] | None = None
        self._named: set[str] | None = None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        keys = self.project.config_keys
        if keys is None or not m.matches(original_node.func, m.Attribute(attr=m.Name())):
            return updated_node
        method = original_node.func.attr.value  # type: ignore[attr-defined]
        if method not in REQUIRE_TO_GET and method not in REQUIRE_SECRET:
            return updated_node
        key = _key_argument(original_node)
        if key is None:
            return updated_node
        namespace = self._namespace_of(original_node.func.value)  # type: ignore[attr-defined]
        if namespace is None:
            return updated_node
        full_key = f"{namespace}:{key}"
        if full_key in keys or self._set_elsewhere(keys, namespace, key):
            return updated_node
        checked, esc = self._stack_files()
        if esc:
            return updated_node
        where = (f"checked {', '.join(checked)}" if checked
                 else "the project has no Pulumi.<stack>.yaml")
        call = f'{_code(original_node.func)}("{key}")'
        problem = f"`{call}` needs `{full_key}`, which no stack file sets ({where})"
        secret = method in REQUIRE_SECRET
        default = None
        if not secret and not self._inside_fstring(original_node):
            default = self._default_for(original_node, namespace, key, method)
        if default is None:
            flag = "--secret " if secret else ""
            # The CLI puts a bare key in the project's namespace, whatever the project is named
            # by the time the command runs (pulumi-yaml-project-name-mismatch may rename it).
            own = namespace == self.project.name
            advice = ("; iacfix never invents a secret" if secret
                      else ", or read it with a default")
            self.report(
                original_node,
                f"{problem}, so `pulumi preview` stops; set it with `pulumi config set {flag}"
                f"{key if own else full_key} <value>` for each stack{advice}.",
                safety=Safety.DISPLAY_ONLY,
            )
            return updated_node
        replacement = self._with_default(original_node, updated_node, method, default)
        if self.report(
            original_node,
            f"{problem}, so `pulumi preview` stops. The fix reads it with the default "
            f"`{default.code}`, taken from {default.source} on line {default.line}.",
        ):
            return replacement
        return updated_node

    # -- which config bag --------------------------------------------------------------------

    def _namespace_of(self, expr: cst.BaseExpression) -> str | None:
        """The namespace of the config bag `expr` is, if it provably is one."""
        if isinstance(expr, cst.Call):
            return self._namespace_of_call(expr)
        if isinstance(expr, cst.Name):
            values = self._bound_values(expr)
        elif m.matches(expr, m.Attribute(value=m.Name(), attr=m.Name())):
            values = self._attribute_values(expr)  # type: ignore[arg-type]
        else:
            return None
        if not values:
            return None
        found = {self._namespace_of_call(v) if isinstance(v, cst.Call) else None for v in values}
        return found.pop() if len(found) == 1 else None

    def _namespace_of_call(self, call: cst.Call) -> str | None:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, call.func, set())}
        if not names & CONFIG_CLASSES:
            return None
        known, literal = config_name_argument(call)
        return literal_namespace(literal, self.project.name) if known else None

    def _bound_values(self, name: cst.Name) -> list[cst.BaseExpression] | None:
        """The values of the `name = value` assignments that reach this use, if that is all."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if not isinstance(scope, Scope):
            return None
        accesses = [a for a in scope.accesses[name] if a.node is name]
        if len(accesses) != 1 or not accesses[0].referents:
            return None
        values = []
        for assignment in accesses[0].referents:
            if not isinstance(assignment, Assignment):
                return None
            # Every binding of the name in its scope, not only those before the use: a loop or
            # a function called later may see a later one.
            for binding in assignment.scope[name.value]:
                value = self._assigned_value(binding.node) if isinstance(binding, Assignment) else None
                if value is None:
                    return None
                values.append(value)
        return values

    def _assigned_value(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.AssignTarget):
            statement = self.get_metadata(ParentNodeProvider, parent, None)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                return statement.value
        if isinstance(parent, cst.AnnAssign) and parent.target is node:
            return parent.value
        return None

    def _attribute_values(self, expr: cst.Attribute) -> list[cst.BaseExpression] | None:
        """Values of `self.x = value` in the methods of the class whose method reads `self.x`."""
        receiver = expr.value.value  # type: ignore[attr-defined]
        function, class_def = self._enclosing_method(expr)
        if function is None or class_def is None or _first_param(function) != receiver:
            return None
        values: list[cst.BaseExpression] = []
        for statement in class_def.body.body:
            if isinstance(statement, cst.FunctionDef):
                first = _first_param(statement)
                if first is None:
                    continue
                bound = m.Attribute(value=m.Name(first), attr=m.Name(expr.attr.value))
                for found in m.findall(statement, m.Assign() | m.AnnAssign() | m.AugAssign()):
                    targets = ([t.target for t in found.targets] if isinstance(found, cst.Assign)
                               else [found.target])  # type: ignore[attr-defined]
                    for target in targets:
                        if m.matches(target, bound):
                            if isinstance(found, cst.AugAssign) or len(targets) != 1 or found.value is None:
                                return None
                            values.append(found.value)
                        elif not isinstance(target, cst.Attribute) and m.findall(target, bound):
                            return None  # bound by unpacking: `self.config, x = ...`
            elif m.findall(statement, m.Name(expr.attr.value)):
                return None  # a class-level binding of the same name: too clever to follow
        return values

    def _enclosing_method(self, node: cst.CSTNode) -> tuple[cst.FunctionDef | None, cst.ClassDef | None]:
        current = self.get_metadata(ParentNodeProvider, node, None)
        function = None
        while current is not None:
            if isinstance(current, cst.FunctionDef) and function is None:
                function = current
            elif isinstance(current, cst.ClassDef):
                if function is None:
                    return None, None
                block = self.get_metadata(ParentNodeProvider, function, None)
                if self.get_metadata(ParentNodeProvider, block, None) is not current:
                    return None, None  # a nested function, not a method
                return function, current
            current = self.get_metadata(ParentNodeProvider, current, None)
        return None, None

    def _inside_fstring(self, node: cst.CSTNode) -> bool:
        """Inside an f-string a copied literal may clash with its quotes: report only there."""
        current = self.get_metadata(ParentNodeProvider, node, None)
        while current is not None:
            if isinstance(current, cst.FormattedString):
                return True
            current = self.get_metadata(ParentNodeProvider, current, None)
        return False

    # -- is it set anywhere ------------------------------------------------------------------

    def _set_elsewhere(self, keys: frozenset[str], namespace: str, key: str) -> bool:
        """Whether another project-like namespace sets `key`: then the namespaces disagree,
        which pulumi-yaml-project-name-mismatch reports and fixes, so this rule keeps out. A
        namespace this module reads with `Config("ns")` is deliberate (that rule leaves it be),
        so it does not count."""
        if is_provider_namespace(namespace):
            return False
        for full in keys:
            other = namespace_of_key(full)
            if (other and other != namespace and not is_provider_namespace(other)
                    and full.split(":", 1)[1] == key and other not in self._read_namespaces()):
                return True
        return False

    def _read_namespaces(self) -> set[str]:
        """Namespaces this module names in `Config("ns")` calls."""
        if self._named is None:
            self._named = set()
            for call in m.findall(self._module, m.Call()):
                namespace = self._namespace_of_call(call)  # type: ignore[arg-type]
                if namespace is not None and call.args:  # type: ignore[attr-defined]
                    self._named.add(namespace)
        return self._named

    def _stack_files(self) -> tuple[list[str], bool]:
        """Names of the stack files checked, and whether one imports an ESC environment."""
        if self._stack_state is None:
            root = Path(self.project.root or ".")
            files = stack_files(root)
            if self.project.stack is not None and self.project.stack in files:
                files = {self.project.stack: files[self.project.stack]}
            esc = False
            for path in files.values():
                document = load_yaml(path)
                if isinstance(document, dict) and document.get("environment"):
                    esc = True
            self._stack_state = ([p.name for p in files.values()], esc)
        return self._stack_state

    # -- the default the program documents ---------------------------------------------------

    def _default_for(self, call: cst.Call, namespace: str, key: str, method: str) -> _Default | None:
        by_key, by_variable = self._collect_defaults()
        wanted = REQUIRE_TO_GET[method][1]
        found = [d for d in by_key.get((namespace, key), []) if _fits(d.value, wanted)]
        if not found:
            variable = self._assigned_variable(call)
            if variable is not None:
                found = [d for d in by_variable.get(variable, []) if _fits(d.value, wanted)]
        values = {repr(d.value) for d in found}
        return min(found, key=lambda d: d.line) if len(values) == 1 else None

    def _assigned_variable(self, call: cst.Call) -> str | None:
        """`x` when the call is the whole value of `x = ...` or `self.x = ...`."""
        parent = self.get_metadata(ParentNodeProvider, call, None)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            return _variable_name(parent.targets[0].target)
        if isinstance(parent, cst.AnnAssign):
            return _variable_name(parent.target)
        return None

    def _collect_defaults(self) -> tuple[dict, dict]:
        """Defaults in the module, by (namespace, key) read and by variable name assigned."""
        if self._defaults is not None:
            return self._defaults
        by_key: dict[tuple[str, str], list[_Default]] = {}
        by_variable: dict[str, list[_Default]] = {}
        module = self._module

        for call in m.findall(module, m.Call(func=m.Attribute(attr=m.Name())), metadata_resolver=self):
            if call.func.attr.value not in GET_METHODS:  # type: ignore[attr-defined]
                continue
            key = _key_argument(call, allow_default=True)
            namespace = self._namespace_of(call.func.value) if key else None  # type: ignore[attr-defined]
            if namespace is None:
                continue
            default = None
            if len(call.args) == 2:
                default = self._literal(call.args[1].value, f"`{_snippet(call)}`")
            else:
                parent = self.get_metadata(ParentNodeProvider, call, None)
                if isinstance(parent, cst.BooleanOperation) and isinstance(parent.operator, cst.Or) \
                        and parent.left is call:
                    default = self._literal(parent.right, f"`{_snippet(parent)}`")
            if default is not None:
                by_key.setdefault((namespace, key), []).append(default)

        for found in m.findall(module, m.Assign() | m.AnnAssign() | m.Param(), metadata_resolver=self):
            if isinstance(found, cst.Param):
                variable, value = found.name.value, found.default
            elif isinstance(found, cst.Assign):
                if len(found.targets) != 1:
                    continue
                variable, value = _variable_name(found.targets[0].target), found.value
            else:
                variable, value = _variable_name(found.target), found.value
            if variable is None or value is None:
                continue
            default = self._documented_default(value, found)
            if default is not None:
                by_variable.setdefault(variable, []).append(default)
        self._defaults = (by_key, by_variable)
        return self._defaults

    def _documented_default(self, value: cst.BaseExpression, owner: cst.CSTNode) -> _Default | None:
        """The default in `os.getenv("X", "dev")`, `anything or "dev"`, or a parameter default."""
        described = _snippet(owner)
        if isinstance(owner, cst.Param):
            return self._literal(value, f"the parameter `{described}`")
        if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
            return self._literal(value.right, f"`{described}`")
        if isinstance(value, cst.Call) and len(value.args) == 2 and not any(a.keyword for a in value.args):
            names = {q.name for q in self.get_metadata(QualifiedNameProvider, value.func, set())}
            if names & ENV_READERS:
                return self._literal(value.args[1].value, f"`{described}`")
        return None

    def _literal(self, node: cst.BaseExpression, source: str) -> _Default | None:
        code = _code(node)
        try:
            value = ast.literal_eval(code.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        if value is None or isinstance(value, (bytes, set, complex)):
            return None
        line = self.position(node).start.line
        return _Default(code=code.strip(), value=value, line=self.file.original_line(line), source=source)

    # -- the fix -----------------------------------------------------------------------------

    def _with_default(self, original: cst.Call, updated: cst.Call, method: str,
                      default: _Default) -> cst.BaseExpression:
        getter, kind = REQUIRE_TO_GET[method]
        func = updated.func.with_changes(attr=cst.Name(getter))  # type: ignore[attr-defined]
        value = cst.parse_expression(default.code)
        if kind is str:
            read = updated.with_changes(func=func)
            parent = self.get_metadata(ParentNodeProvider, original, None)
            loose = isinstance(parent, _LOOSE_PARENTS)
            return cst.BooleanOperation(
                left=read, operator=cst.Or(), right=value,
                lpar=[] if loose else [cst.LeftParen()],
                rpar=[] if loose else [cst.RightParen()],
            )
        args = list(updated.args)
        keyword = args[0].keyword is not None
        if args[-1].comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(cst.Arg(value=value, keyword=cst.Name("default") if keyword else None,
                            equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                  whitespace_after=cst.SimpleWhitespace(""))
                            if keyword else cst.MaybeSentinel.DEFAULT))
        return updated.with_changes(func=func, args=args)


def _key_argument(call: cst.Call, allow_default: bool = False) -> str | None:
    """The key of `config.require("x")` / `config.get("x")` when it is one plain string literal
    (and, for reads, nothing but a default after it)."""
    args = list(call.args)
    if not args or len(args) > (2 if allow_default else 1) or any(a.star for a in args):
        return None
    first = args[0]
    if first.keyword is not None and first.keyword.value != "key":
        return None
    if len(args) == 2 and args[1].keyword is not None and args[1].keyword.value != "default":
        return None
    if not isinstance(first.value, cst.SimpleString):
        return None
    key = first.value.evaluated_value
    if not isinstance(key, str) or not key or ":" in key:
        return None
    return key


def _first_param(function: cst.FunctionDef) -> str | None:
    if any(m.matches(d.decorator, m.Name("staticmethod")) for d in function.decorators):
        return None
    params = (*function.params.posonly_params, *function.params.params)
    return params[0].name.value if params else None


def _variable_name(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    return None


def _fits(value: object, wanted: type) -> bool:
    if wanted is object:
        return True
    if wanted is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if wanted is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, wanted)


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _snippet(node: cst.CSTNode) -> str:
    """The node's code for a message: one line, without a parameter's trailing comma."""
    if isinstance(node, cst.Param):
        node = node.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    lines = _code(node).strip().splitlines()
    return lines[0] + (" ..." if len(lines) > 1 else "")
