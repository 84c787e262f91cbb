"""Rule `output-in-json-dumps`: a Pulumi Output passed to `json.dumps`."""

from __future__ import annotations

import re

import libcst as cst
from libcst.codemod.visitors import RemoveImportsVisitor

from iacfix.codemods._aws_resources import code
from iacfix.codemods._outputs import JSON_DUMPS, METADATA, Outputs, OutputText, convertible, format_call
from iacfix.codemods._provider_api import pulumi_reference, qualified_names
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: `json.dumps` imported under another name (`from json import dumps as to_json`).
_DUMPS_ALIAS = re.compile(r"\bdumps\s+as\s+(\w+)")

class OutputInJsonDumps(Rule):
    """`json.dumps(...)` of a structure holding a Pulumi `Output` (an IAM policy naming
    `bucket.arn`, a container definition naming `log_group.name`).

    The rule finds `json.dumps` calls (however `json` is imported) whose argument holds, at any
    depth of dict, list, tuple and set displays, a pulumi_aws resource attribute (per libcst's scope
    analysis, or `self.<attr>` assigned only resources), an attribute of a `get_*_output()` invoke,
    or an explicit Output.

    ## Why is this bad?

    An Output is not JSON: the program stops at `pulumi preview` with

    ```
    TypeError: Object of type Output is not JSON serializable
    ```

    ## Fix

    Where the JSON text goes into a resource input (an argument of a pulumi_aws resource, invoke or
    `...Args` call, of `pulumi.export`, or a display inside one), `json.dumps(...)` becomes
    `pulumi.Output.json_dumps(...)` with the same arguments (it takes json.dumps's keywords), which
    waits for every Output inside and yields an `Output[str]`. `import json` goes when nothing else
    uses it. Elsewhere (a variable used as plain text) the finding says to build the document in
    `Output.all(...).apply(lambda values: json.dumps(...))`.

    ## Fix safety

    Safe: the program could not run before the fix; after it the input receives the document the
    author wrote, with the resolved values.

    ## References

    - https://www.pulumi.com/docs/reference/pkg/python/pulumi/#pulumi.Output.json_dumps
    - https://www.pulumi.com/docs/iac/concepts/inputs-outputs/
    """

    id = "output-in-json-dumps"
    title = "Serialise documents holding Outputs with `pulumi.Output.json_dumps`"
    safety = Safety.SAFE
    evidence = (b"json",)

    METADATA_DEPENDENCIES = METADATA

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A `dumps(...)` call whose text can hold an Output (see `OutputText`)."""
        if not super().applies(source, path, project, settings):
            return False
        text = prefilter.text_of(source)
        names = re.compile(prefilter.alternatives(["dumps", *_DUMPS_ALIAS.findall(text)]))
        calls = [text[start:end] for start, end in prefilter.call_spans(text, names)]
        return bool(calls) and any(map(OutputText(text).may_hold_output, calls))

    def visit_Module(self, node: cst.Module) -> None:
        self.outputs = Outputs(self, node)
        self.tree = node
        #: json.dumps calls to rewrite, and the f-strings inside their documents that go with them
        #: (decided on the way down, since an f-string is left before the call holding it).
        self.calls: set[cst.Call] = set()
        self.fstrings: set[cst.FormattedString] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if not qualified_names(self, node.func) & JSON_DUMPS or not node.args:
            return
        leaves = list(_values(node.args[0].value))
        fstrings = [n for n in leaves if isinstance(n, cst.FormattedString) and self.outputs.output_fields(n)]
        found = [n for n in leaves if self.outputs.is_output(n)]
        found += [f.expression for n in fstrings for f in self.outputs.output_fields(n)]
        if not found:
            return
        names = list(dict.fromkeys(code(n) for n in found))
        shown = ", ".join(f"`{n}`" for n in names[:3]) + (" ..." if len(names) > 3 else "")
        head = f"`json.dumps` of a document holding the Output {shown} raises TypeError (Output is not JSON)"
        if (not self.outputs.accepts_output(node) or any(arg.star for arg in node.args)
                or not all(convertible(n) for n in fstrings)):
            self.report(node, f"{head}; build it inside `pulumi.Output.all(...).apply(lambda values: "
                        "json.dumps(...))` by hand (the result is used as plain text here).",
                        safety=Safety.DISPLAY_ONLY)
            return
        if self.report(node, f"{head}; the fix uses `pulumi.Output.json_dumps(...)`."):
            self.calls.add(node)
            self.fstrings.update(fstrings)

    def leave_FormattedString(self, original_node: cst.FormattedString, updated_node: cst.FormattedString):
        if original_node in self.fstrings:
            return format_call(self, self.tree, updated_node)
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return _json_import_goes_first(updated_node) if self.calls else updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node not in self.calls:
            return updated_node
        RemoveImportsVisitor.remove_unused_import(self.context, "json")
        RemoveImportsVisitor.remove_unused_import(self.context, "json", "dumps")
        func = cst.parse_expression(pulumi_reference(self, self.tree, "Output") + ".json_dumps")
        return updated_node.with_changes(func=func)


def _json_import_goes_first(module: cst.Module) -> cst.Module:
    """RemoveImportsVisitor drops an unused `import json` with its own leading lines; when it was the
    module's first statement, the blank line that separated it from the next one would become the
    file's first line. Give that statement the removed one's leading lines instead."""
    body = list(module.body)
    if len(body) < 2 or not _imports_only_json(body[0]) or _uses_json(module, body[0]):
        return module
    body[1] = body[1].with_changes(leading_lines=body[0].leading_lines)
    return module.with_changes(body=body)


def _imports_only_json(statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Import):
        return [code(a.name) for a in small.names] == ["json"] and small.names[0].asname is None
    return (isinstance(small, cst.ImportFrom) and small.module is not None and code(small.module) == "json"
            and not isinstance(small.names, cst.ImportStar) and [code(a.name) for a in small.names] == ["dumps"]
            and small.names[0].asname is None)


def _uses_json(module: cst.Module, skip: cst.CSTNode) -> bool:
    """Whether a name `json` or `dumps` occurs outside the statement `skip`."""
    names = set()

    class Names(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            return node is not skip

        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    module.visit(Names())
    return bool(names & {"json", "dumps"})


def _values(node: cst.BaseExpression):
    """The leaf values of nested dict/list/tuple/set displays (the node itself otherwise)."""
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                yield from _values(element.value)
    elif isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        for element in node.elements:
            yield from _values(element.value)
    else:
        yield node
