"""Which expressions hold a Pulumi `Output`, and where an Output may stand (shared by
`output-in-fstring` and `output-in-json-dumps`).

Private helper module (no rule class). An expression is known to be an Output when it is:
- an attribute of a pulumi_aws resource (`bucket.arn`, `self.queue.url`): the name is bound, in
  every binding that reaches it (libcst scope metadata), to a pulumi_aws resource constructor call,
  or `self.<attr>` is assigned only such calls in the module;
- a `get_*_output(...)` invoke, or an attribute of one;
- `x.apply(...)`, `pulumi.Output.concat/format/all/json_dumps/from_input/secret(...)`,
  `config.require_secret/get_secret(...)` (any `pulumi.Config`).
A plain `get_*()` invoke returns plain values and is not an Output.

An Output is accepted where the value ends up as a resource input: an argument of a pulumi_aws
resource, invoke-output or `...Args` call (not the resource's logical name, not `opts`), of
`pulumi.export`, of an `Output.*` combinator, reached through dict, list, tuple and set displays.
Inside a lambda or a function body the value is plain code's again, so nothing there qualifies.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider, ScopeProvider

from iacfix.codemods._aws_resources import assigned_values, code
from iacfix import prefilter
from iacfix.codemods._provider_api import ProviderImports, aws_symbol, pulumi_reference, qualified_names

METADATA = (QualifiedNameProvider, ScopeProvider, ParentNodeProvider)

#: Resource attributes that are methods or plain values, not Outputs.
NOT_OUTPUTS = frozenset({"get", "get_provider", "translate_input_property", "translate_output_property",
                         "pulumi_type", "register_outputs"})
OUTPUT_FUNCTIONS = frozenset({
    "pulumi.Output.concat", "pulumi.Output.format", "pulumi.Output.all", "pulumi.Output.json_dumps",
    "pulumi.Output.from_input", "pulumi.Output.secret", "pulumi.output.Output.concat",
    "pulumi.output.Output.format", "pulumi.output.Output.all", "pulumi.output.Output.json_dumps",
    "pulumi.output.Output.from_input", "pulumi.output.Output.secret",
})
SECRET_READS = frozenset({"require_secret", "get_secret", "require_secret_object", "get_secret_object"})
CONFIG_CLASSES = frozenset({"pulumi.Config", "pulumi.config.Config"})
EXPORTS = frozenset({"pulumi.export"})
JSON_DUMPS = frozenset({"json.dumps"})


#: The prefilter's Output calls (`.apply(`, `Output.*`, `get_*_output(`, secret config reads),
#: `<name> = <value>` bindings (`self.<name>` too) and a value that starts with a dotted call.
_OUTPUT_CALL = re.compile(r"\.apply\s*\(|\bOutput\b|_output\s*\(|\.(?:require|get)_secret(?:_object)?\s*\(")
_BINDING = re.compile(r"(?<![\w.])((?:self\.)?[A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)\s*")
_LEADING_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
_ATTRIBUTE = re.compile(r"((?:self\.)?[A-Za-z_]\w*)\.\w+")


class OutputText:
    """The prefilter of the Output rules, from a module's text: the names that may hold a
    resource (bound to a pulumi_aws class call, `self.x` included), a resource's attribute or an
    Output call's result. An expression can only hold an Output if it names one of them or
    makes an Output call itself."""

    def __init__(self, text: str) -> None:
        imports = ProviderImports.of(text)
        bindings = [(match.group(1).removeprefix("self."), prefilter.value_text(text, match.end()))
                    for match in _BINDING.finditer(text)]
        resources = set()
        for target, value in bindings:
            call = _LEADING_CALL.match(value)
            symbol = imports.resolve(call.group(1)) if call else None
            if symbol is not None and symbol[1][:1].isupper() and not symbol[1].endswith(("Args", "ArgsDict")):
                resources.add(target)
        names = set(resources)
        for target, value in bindings:
            attribute = _ATTRIBUTE.match(value)
            if _OUTPUT_CALL.search(value) or (attribute and attribute.group(1).removeprefix("self.") in resources):
                names.add(target)
        self._mention = (re.compile(rf"(?<![\w.])(?:self\.)?(?:{prefilter.alternatives(names)})\b")
                         if names else None)

    def may_hold_output(self, expression: str) -> bool:
        """Whether `expression` (the text of a field or a document) can hold an Output."""
        return bool(_OUTPUT_CALL.search(expression)) or (
            self._mention is not None and bool(self._mention.search(expression)))


class Outputs:
    """Answers for one module; `rule` declares `METADATA`."""

    def __init__(self, rule, module: cst.Module) -> None:
        self.rule = rule
        self.self_attributes: dict[str, list[cst.BaseExpression]] = {}
        for node in _self_assignments(module):
            target, value = node
            self.self_attributes.setdefault(target, []).append(value)

    # -- is it an Output? -----------------------------------------------------------------------

    def is_output(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Attribute):
            if node.attr.value in NOT_OUTPUTS:
                return False
            if self.is_resource(node.value) or self._is_output_invoke(node.value):
                return True
            return isinstance(node.value, cst.Name) and self.is_output(node.value)  # an Output's attribute
        if isinstance(node, cst.Call):
            return self._is_output_call(node)
        if isinstance(node, cst.Name):
            values = assigned_values(self.rule, node)
            return bool(values) and all(self._is_output_call(v) if isinstance(v, cst.Call) else
                                        isinstance(v, cst.Attribute) and self.is_output(v) for v in values)
        return False

    def is_resource(self, node: cst.BaseExpression) -> bool:
        """A name or `self.x` bound only to pulumi_aws resource constructor calls."""
        if isinstance(node, cst.Name):
            values = assigned_values(self.rule, node)
        elif (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
              and node.value.value == "self"):
            values = self.self_attributes.get(node.attr.value, [])
        else:
            return False
        return bool(values) and all(self._is_resource_call(v) for v in values)

    def _is_resource_call(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return False
        symbol = aws_symbol(self.rule, node.func)
        return symbol is not None and symbol[1][:1].isupper() and not symbol[1].endswith(("Args", "ArgsDict"))

    def _is_output_invoke(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return False
        symbol = aws_symbol(self.rule, node.func)
        return symbol is not None and symbol[1].startswith("get_") and symbol[1].endswith("_output")

    def _is_output_call(self, node: cst.Call) -> bool:
        if self._is_output_invoke(node):
            return True
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "apply":
            return True
        if qualified_names(self.rule, func) & OUTPUT_FUNCTIONS:
            return True
        if isinstance(func, cst.Attribute) and func.attr.value in SECRET_READS:
            return self._is_config(func.value)
        return False

    def _is_config(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call):
            return bool(qualified_names(self.rule, node.func) & CONFIG_CLASSES)
        if isinstance(node, cst.Name):
            values = assigned_values(self.rule, node)
            return bool(values) and all(self._is_config(v) for v in values)
        return False

    def output_fields(self, node: cst.FormattedString) -> list[cst.FormattedStringExpression]:
        """The replacement fields of an f-string that hold an Output."""
        return [p for p in node.parts if isinstance(p, cst.FormattedStringExpression) and self.is_output(p.expression)]

    # -- may an Output stand here? ----------------------------------------------------------------

    def accepts_output(self, node: cst.CSTNode, converted: frozenset[str] = frozenset()) -> bool:
        """Whether `node`'s value may become an Output: it flows, through displays only, into an
        argument of a call that takes Inputs. `converted` names calls (`json.dumps`) the caller
        turns into Output combinators, whose arguments then accept Outputs when they do."""
        child: cst.CSTNode = node
        parent = self._parent(child)
        while isinstance(parent, (cst.Element, cst.DictElement, cst.List, cst.Tuple, cst.Set, cst.Dict,
                                  cst.StarredElement)):
            if isinstance(parent, cst.DictElement) and child is parent.key:
                return False
            child, parent = parent, self._parent(parent)
        if not isinstance(parent, cst.Arg):
            return False
        arg = parent
        call = self._parent(arg)
        if not isinstance(call, cst.Call):
            return False
        names = qualified_names(self.rule, call.func)
        if names & EXPORTS:
            return call.args.index(arg) > 0 or (arg.keyword is not None and arg.keyword.value == "value")
        if names & OUTPUT_FUNCTIONS:
            return True
        if names & converted:
            return self.accepts_output(call, converted)
        symbol = aws_symbol(self.rule, call.func)
        if symbol is None:
            return False
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword in ("opts", "resource_name"):
            return False
        # a resource's logical name must be a plain str
        return not (self._is_resource_call(call) and keyword is None and call.args.index(arg) == 0)

    def _parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.rule.get_metadata(ParentNodeProvider, node, None)


def _self_assignments(module: cst.Module):
    """(`attr`, value) of every `self.attr = value` in the module."""
    found: list[tuple[str, cst.BaseExpression]] = []

    class Collector(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                t = target.target
                if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self":
                    found.append((t.attr.value, node.value))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            t = node.target
            if (node.value is not None and isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name)
                    and t.value.value == "self"):
                found.append((t.attr.value, node.value))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            t = node.target
            if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self":
                found.append((t.attr.value, node.value))

    module.visit(Collector())
    return found


def convertible(node: cst.FormattedString) -> bool:
    """An f-string `format_call` can rewrite: no `=` fields, no nested fields in format specs, not
    a bytes literal."""
    for part in node.parts:
        if isinstance(part, cst.FormattedStringExpression) and (part.equal is not None or any(
                isinstance(p, cst.FormattedStringExpression) for p in part.format_spec or ())):
            return False
    return "b" not in node.prefix.lower()


def format_call(rule, tree: cst.Module, node: cst.FormattedString) -> cst.Call:
    """`f"a{x!r:>4}b"` -> `pulumi.Output.format("a{!r:>4}b", x)`: the same template (f-strings and
    str.format escape braces alike), each replacement field a positional argument."""
    template, args = [], []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            template.append(part.value)
            continue
        conversion = f"!{part.conversion}" if part.conversion else ""
        spec = "" if part.format_spec is None else ":" + "".join(code(p) for p in part.format_spec)
        template.append("{" + conversion + spec + "}")
        args.append(part.expression)
    start = node.start.replace("f", "").replace("F", "")  # the opening quote and prefix, without the f
    literal = cst.SimpleString(f"{start}{''.join(template)}{node.end}")
    func = cst.parse_expression(pulumi_reference(rule, tree, "Output") + ".format")
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    values = [literal, *args]
    return cst.Call(func=func, args=[cst.Arg(v, comma=comma if i < len(values) - 1 else cst.MaybeSentinel.DEFAULT)
                                     for i, v in enumerate(values)])
