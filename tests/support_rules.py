"""Small rules used only by the engine tests, so engine behaviour is tested apart from codemods."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import BatchableMetadataProvider

from iacfix.results import Safety
from iacfix.project import ProjectRule
from iacfix.rule import Rule


class RenameA(Rule):
    """Rewrites the string "a" to "b" and adds `import secrets` (exercises imports, lines)."""

    id = "rename-a"
    title = "Rename a to b"
    safety = Safety.SAFE
    evidence = (b'"a"',)

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        if original.value == '"a"' and self.report(original, "found a"):
            self.add_needed_import("secrets")
            return updated.with_changes(value='"b"')
        return updated


class UnsafeC(Rule):
    """Rewrites "c" to "d" as an UNSAFE fix."""

    id = "unsafe-c"
    title = "Rename c to d"
    safety = Safety.UNSAFE

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        if original.value == '"c"' and self.report(original, "found c"):
            return updated.with_changes(value='"d"')
        return updated


class Crashes(Rule):
    """Raises on every string: a rule with a bug."""

    id = "crashes"
    title = "Crash"
    safety = Safety.SAFE

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.report(node, "about to crash")
        raise RuntimeError("boom")


class BreaksCode(Rule):
    """Turns `x = 1` into `return 1`: parses, but does not compile at module level."""

    id = "breaks-code"
    title = "Break the code"
    safety = Safety.SAFE

    def leave_SimpleStatementLine(self, original, updated):
        if m.matches(original, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name("x"))])])):
            if self.report(original, "x assigned"):
                return cst.parse_statement("return 1\n")
        return updated


class DecoratedMatcher(Rule):
    """Uses libcst's `@m.leave` decorator instead of a `leave_*` method."""

    id = "decorated-matcher"
    title = "Rename e to f"
    safety = Safety.SAFE

    @m.leave(m.SimpleString(value='"e"'))
    def rename_e(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        if self.report(original, "found e"):
            return updated.with_changes(value='"f"')
        return updated


class CrashingProjectRule(ProjectRule):
    """Edits Pulumi.yaml, then raises: its edit must not survive."""

    id = "crashing-project-rule"
    title = "Crash half-way"
    safety = Safety.SAFE

    def check(self) -> None:
        document = self.project.yaml(self.project.project_file)
        document["name"] = "changed"
        self.project.save_yaml(self.project.project_file, document)
        raise RuntimeError("boom")


class UppercaseMarker(ProjectRule):
    """Rewrites `marker` to `MARKER` in every Python file of the project, byte-level."""

    id = "uppercase-marker"
    title = "Shout the marker"
    safety = Safety.SAFE

    def check(self) -> None:
        for path in self.project.python_files:
            data = self.project.read(path)
            if b"marker" in data and self.report(path, 1, 1, "marker found"):
                self.project.write(path, data.replace(b"marker", b"MARKER"))


class ProfileAware(Rule):
    """Reports "p" with the profile and its `word` option in the message (exercises settings)."""

    id = "profile-aware"
    title = "Report p"
    safety = Safety.DISPLAY_ONLY
    options = {"word": "default", "names": ["x"]}

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if node.value == '"p"':
            self.report(node, f"{self.profile} {self.option('word')} {','.join(self.option('names'))}")


class NeedsRandom(Rule):
    """Rewrites "pw" to a `pulumi_random` call, adding the import (a fix that needs a package)."""

    id = "needs-random"
    title = "Use pulumi_random"
    safety = Safety.SAFE
    evidence = (b'"pw"',)

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        if original.value == '"pw"' and self.report(original, "literal pw"):
            self.add_needed_import("pulumi_random")
            return cst.parse_expression('pulumi_random.RandomPassword("pw", length=32).result')
        return updated


class DropVpcId(Rule):
    """A deliberately bad rewrite: deletes every `vpc_id=` keyword. Harmless where the callee takes
    **kwargs; a `TypeError` (a missing required property) where pulumi_aws needs it."""

    id = "drop-vpc-id"
    title = "Drop vpc_id"
    safety = Safety.SAFE
    evidence = (b"vpc_id",)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        keep = [arg for arg in updated.args if not (arg.keyword and arg.keyword.value == "vpc_id")]
        if len(keep) != len(updated.args) and self.report(original, "vpc_id passed"):
            if keep:
                keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(args=keep)
        return updated


class CrashingPrefilter(Rule):
    """Its prefilter raises: a bug before the rule even runs."""

    id = "crashing-prefilter"
    title = "Crash in applies"
    safety = Safety.SAFE

    @classmethod
    def applies(cls, source, path, project, settings) -> bool:
        raise ValueError("prefilter boom")


class _BoomProvider(BatchableMetadataProvider[None]):
    """A metadata provider that fails on every module."""

    def visit_Module(self, node: cst.Module) -> None:
        raise RuntimeError("provider boom")


class CrashingMetadata(Rule):
    """Depends on a metadata provider that raises."""

    id = "crashing-metadata"
    title = "Crash in metadata"
    safety = Safety.SAFE
    METADATA_DEPENDENCIES = (_BoomProvider,)


class LeaksSecret(Rule):
    """Quotes every string literal it sees in its message: a careless rule (exercises the masking
    of secrets in messages)."""

    id = "leaks-secret"
    title = "Quote literals"
    safety = Safety.DISPLAY_ONLY

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.report(node, f"literal {node.value} found")


class CrashesQuotingCode(Rule):
    """Raises an exception whose text is the module's code (exercises the masking of errors)."""

    id = "crashes-quoting-code"
    title = "Crash with the code in the message"
    safety = Safety.SAFE

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        raise KeyError(original.code)
