"""Rule `output-in-fstring`: a Pulumi Output formatted into an f-string."""

from __future__ import annotations

import libcst as cst

from iacfix.codemods._aws_resources import code
from iacfix.codemods._outputs import JSON_DUMPS, METADATA, Outputs, OutputText, convertible, format_call
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule


class OutputInFstring(Rule):
    """An f-string that formats a Pulumi `Output` (`f"arn:aws:s3:::{bucket.id}/*"`).

    A resource attribute is an `Output`: a value that is only known once the resource exists. An
    f-string asks for it now, calls `Output.__str__`, and gets a warning text instead of the value:

    ```
    Calling __str__ on an Output[T] is not supported.
    To get the value of an Output[T] as an Output[str] consider:
    1. o.apply(lambda v: f"prefix{v}suffix")
    ...
    ```

    The rule finds f-strings whose replacement fields hold a pulumi_aws resource attribute (the
    resource bound to a name, in every binding that reaches it per libcst's scope analysis, or to
    `self.<attr>`), an attribute of a `get_*_output()` invoke, or an explicit Output (`.apply(...)`,
    `Output.concat/format/all`, `config.require_secret(...)`).

    ## Why is this bad?

    `pulumi up` succeeds and deploys the warning text: an IAM policy whose resource is
    `arn:aws:s3:::Calling __str__ on an Output[T] is not supported...`, an environment variable
    holding it, a dashboard pointing nowhere. AWS may reject the value at deploy time, or worse,
    accept it.

    ## Fix

    Where the f-string's value goes straight into a resource input (an argument of a pulumi_aws
    resource, invoke or `...Args` call, of `pulumi.export`, of an `Output` combinator, or a dict,
    list or tuple inside one of those), it becomes `pulumi.Output.format(...)` with the same
    template: literal text, conversions (`!r`) and format specs stay as they are, and each
    replacement field becomes a positional argument, so `f"arn:aws:s3:::{bucket.id}/*"` becomes
    `pulumi.Output.format("arn:aws:s3:::{}/*", bucket.id)`. Elsewhere (a resource's logical name,
    a variable, `print`) the finding says to build the string inside `.apply(...)`, because the
    value cannot be an Output there. Nested fields in format specs and `=` self-documenting
    fields are reported without a fix.

    ## Fix safety

    Safe: the input that received the warning text now receives the value the author meant; its
    type becomes `Output[str]`, which every resource input accepts.

    ## References

    - https://www.pulumi.com/docs/iac/concepts/inputs-outputs/
    - https://www.pulumi.com/docs/reference/pkg/python/pulumi/#pulumi.Output.format
    """

    id = "output-in-fstring"
    title = "Build strings from Outputs with `pulumi.Output.format` instead of an f-string"
    safety = Safety.SAFE
    evidence = (b"pulumi",)

    METADATA_DEPENDENCIES = METADATA

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """An f-string field that can hold an Output (see `OutputText`)."""
        if not super().applies(source, path, project, settings):
            return False
        text = prefilter.text_of(source)
        fields = list(prefilter.fstring_fields(text))
        return bool(fields) and any(map(OutputText(text).may_hold_output, fields))

    def visit_Module(self, node: cst.Module) -> None:
        self.outputs = Outputs(self, node)
        self.tree = node

    def leave_FormattedString(self, original_node: cst.FormattedString, updated_node: cst.FormattedString):
        outputs = self.outputs.output_fields(original_node)
        if not outputs:
            return updated_node
        if not self.outputs.accepts_output(original_node) and self.outputs.accepts_output(
                original_node, converted=JSON_DUMPS):
            return updated_node  # inside a json.dumps document: output-in-json-dumps converts both
        shown = ", ".join(dict.fromkeys(f"`{code(f.expression)}`" for f in outputs))
        plain = convertible(original_node)
        accepted = self.outputs.accepts_output(original_node)
        if not (plain and accepted):
            why = ("its value cannot be an Output here" if not accepted
                   else "a field uses `=` or a nested format spec")
            self.report(original_node, f"the f-string formats the Output {shown}, which renders as the text "
                        f"'Calling __str__ on an Output[T] is not supported'; {why}, so build the string inside "
                        f"`.apply(lambda v: ...)` by hand.", safety=Safety.DISPLAY_ONLY)
            return updated_node
        if not self.report(original_node, f"the f-string formats the Output {shown}, which renders as the text "
                           "'Calling __str__ on an Output[T] is not supported'; the fix builds it with "
                           "`pulumi.Output.format(...)`."):
            return updated_node
        return format_call(self, self.tree, updated_node)
