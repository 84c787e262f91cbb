"""Rule `lambda-runtime-outdated`: a Lambda runtime AWS has deprecated."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

from iacfix.codemods._provider_api import aws_symbol, call_of, qualified_names
from iacfix import prefilter
from iacfix.results import Safety
from iacfix.rule import Rule

#: When the table was last checked against AWS's runtime deprecation table (Lambda developer guide,
#: "Deprecated runtimes") and against pulumi_aws's `lambda_.Runtime` enum, which lists the
#: provider's deprecated runtimes after the supported ones (tests/test_lambda_runtimes.py checks
#: every deprecated value is in that second group and every successor in the first).
TABLE_DATE = "2026-12-04"
SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtimes-deprecated"


@dataclass(frozen=True)
class Deprecated:
    #: AWS's deprecation date (no security patches from then; creating functions is blocked later).
    date: str
    #: The supported runtime of the same language the fix moves to, or None when the move is not a
    #: change of runtime string alone (Go's `go1.x` needs a `bootstrap` binary on `provided.al2023`).
    successor: str | None
    #: The `lambda_.Runtime` enum member of the successor.
    member: str | None


DEPRECATED: dict[str, Deprecated] = {
    "python2.7": Deprecated("2021-07-15", "python3.13", "PYTHON3D13"),
    "python3.6": Deprecated("2022-07-18", "python3.13", "PYTHON3D13"),
    "python3.7": Deprecated("2023-12-04", "python3.13", "PYTHON3D13"),
    "python3.8": Deprecated("2024-10-14", "python3.13", "PYTHON3D13"),
    "nodejs10.x": Deprecated("2021-07-30", "nodejs22.x", "NODE_JS22D_X"),
    "nodejs12.x": Deprecated("2023-03-31", "nodejs22.x", "NODE_JS22D_X"),
    "nodejs14.x": Deprecated("2023-12-04", "nodejs22.x", "NODE_JS22D_X"),
    "nodejs16.x": Deprecated("2024-06-12", "nodejs22.x", "NODE_JS22D_X"),
    "java8": Deprecated("2024-01-08", "java21", "JAVA21"),
    "dotnetcore2.1": Deprecated("2022-01-05", "dotnet8", "DOTNET8"),
    "dotnetcore3.1": Deprecated("2023-04-03", "dotnet8", "DOTNET8"),
    "dotnet5.0": Deprecated("2022-05-10", "dotnet8", "DOTNET8"),
    "dotnet7": Deprecated("2024-05-14", "dotnet8", "DOTNET8"),
    "ruby2.5": Deprecated("2021-07-30", "ruby3.3", "RUBY3D3"),
    "ruby2.7": Deprecated("2023-12-07", "ruby3.3", "RUBY3D3"),
    "go1.x": Deprecated("2024-01-08", None, None),
    "provided": Deprecated("2024-01-08", None, None),
}
#: The enum member of each deprecated runtime (`Runtime.PYTHON3D8`), for code that uses the enum.
MEMBERS = {
    "PYTHON2D7": "python2.7", "PYTHON3D6": "python3.6", "PYTHON3D7": "python3.7", "PYTHON3D8": "python3.8",
    "NODE_JS10D_X": "nodejs10.x", "NODE_JS12D_X": "nodejs12.x", "NODE_JS14D_X": "nodejs14.x",
    "NODE_JS16D_X": "nodejs16.x", "JAVA8": "java8", "DOTNET_CORE2D1": "dotnetcore2.1",
    "DOTNET_CORE3D1": "dotnetcore3.1", "DOTNET5D0": "dotnet5.0", "DOTNET7": "dotnet7", "RUBY2D5": "ruby2.5",
    "RUBY2D7": "ruby2.7", "GO1DX": "go1.x", "CUSTOM": "provided",
}
FUNCTION_CLASSES = {("lambda_", "Function"), ("lambda_", "FunctionArgs")}


class LambdaRuntimeOutdated(Rule):
    """A `lambda_.Function` on a runtime AWS has deprecated (python3.8, nodejs16.x, java8, ...).

    Generated code copies runtimes from old examples. The rule checks the `runtime=` of every
    pulumi_aws `lambda_.Function` / `lambda_.FunctionArgs` (however pulumi_aws is imported), as a
    string literal or a `lambda_.Runtime` enum member, against a table of AWS's deprecated
    runtimes with their deprecation dates (the table's date and source are in the rule module).

    ## Why is this bad?

    From its deprecation date a runtime gets no security patches; some weeks later AWS blocks
    creating functions on it, then updating them: a new stack (a PR preview, a new region, a
    disaster-recovery copy) fails at `pulumi up` with `InvalidParameterValueException: The runtime
    parameter of python3.8 is no longer supported for creating or updating AWS Lambda functions`.

    ## Fix

    The runtime moves to the supported successor of the same language: `python3.13` for Python
    2.7 and 3.6-3.8, `nodejs22.x` for Node.js 10-16, `java21` for `java8`, `dotnet8` for .NET Core
    2.1/3.1, .NET 5 and 7, `ruby3.3` for Ruby 2.5/2.7; a string stays a string and an enum member
    becomes the successor's member (`Runtime.PYTHON3D8` -> `Runtime.PYTHON3D13`). `go1.x` and
    `provided` (Amazon Linux 1) are reported without a fix: moving to `provided.al2023` means
    building a `bootstrap` binary, not changing a string.

    ## Fix safety

    Unsafe: the function's code runs on a newer language version on the next `pulumi up` (Python
    3.13 removed modules 2.7 and 3.8 had; Node.js 18+ dropped the bundled AWS SDK v2). Run the
    function's tests on the successor before applying.

    ## References

    - https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
    - https://www.pulumi.com/registry/packages/aws/api-docs/lambda/function/
    """

    id = "lambda-runtime-outdated"
    title = "Move Lambda functions off deprecated runtimes to the supported successor"
    safety = Safety.UNSAFE
    evidence = (b"runtime",)

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider)

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        """A `runtime=` argument that is a deprecated runtime string or `Runtime` member."""
        return super().applies(source, path, project, settings) and any(
            prefilter.string_value(argument.value) in DEPRECATED or argument.value.rsplit(".", 1)[-1] in MEMBERS
            for argument in prefilter.keyword_arguments(prefilter.text_of(source), {"runtime"}))

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        if original_node.keyword is None or original_node.keyword.value != "runtime":
            return updated_node
        call = self._call_of(original_node)
        if call is None:
            return updated_node
        value = original_node.value
        runtime, member = self._runtime(value)
        if runtime is None:
            return updated_node
        entry = DEPRECATED[runtime]
        head = (f"Lambda runtime `{runtime}` was deprecated by AWS on {entry.date}: no security patches, "
                "and creating or updating functions on it is blocked")
        if entry.successor is None:
            self.report(value, f"{head}; move to `provided.al2023` with a `bootstrap` binary (not a string "
                               "change, so no fix is offered).", safety=Safety.DISPLAY_ONLY)
            return updated_node
        if not self.report(value, f"{head}; the fix moves it to `{entry.successor}` (test the code on it)."):
            return updated_node
        if member:
            return updated_node.with_changes(value=updated_node.value.with_changes(attr=cst.Name(entry.member)))
        quote = value.quote  # type: ignore[attr-defined]
        literal = f"{value.prefix}{quote}{entry.successor}{quote}"
        return updated_node.with_changes(value=value.with_changes(value=literal))


    def _call_of(self, arg: cst.Arg) -> cst.Call | None:
        """The pulumi_aws Lambda function call `arg` belongs to."""
        call = call_of(self, arg)
        return call if call is not None and aws_symbol(self, call.func) in FUNCTION_CLASSES else None

    def _runtime(self, value: cst.BaseExpression) -> tuple[str | None, bool]:
        if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
            runtime = value.evaluated_value
            return (runtime if runtime in DEPRECATED and "\\" not in value.value else None), False
        if not (isinstance(value, cst.Attribute) and value.attr.value in MEMBERS):
            return None, False
        names = qualified_names(self, value)
        if f"pulumi_aws.lambda_.Runtime.{value.attr.value}" in names or any(
                q.endswith(f"._enums.Runtime.{value.attr.value}") for q in names):
            return MEMBERS[value.attr.value], True
        return None, False
