"""The rule base: every codemod in `codemods/` subclasses `Rule`.

A rule is a libcst `VisitorBasedCodemodCommand` with metadata (`id`, `title`, `safety`, the
byte-level `evidence` the prefilter looks for) and a ruff-style docstring. Its single choke point is
`report()`: it records the finding, honours suppression comments and the run's safety threshold,
and answers whether the rule may rewrite the node.
"""

from __future__ import annotations

import inspect
import io
import re
import tokenize
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from iacfix.context import ProjectContext
from iacfix.files import is_test_path
from iacfix.results import Finding, Safety
from iacfix.settings import PROFILES, RuleSettings

#: Docstring sections every rule must have, in this order (ruff's rule documentation shape).
DOC_SECTIONS = ("## Why is this bad?", "## Fix", "## Fix safety", "## References")

ALL_RULES = "*"
_SUPPRESSION = re.compile(r"#\s*iacfix:\s*ignore(?:\[(?P<ids>[^\]]*)\])?", re.IGNORECASE)


def suppression_ids(comment: str) -> frozenset[str]:
    """Rule ids a comment suppresses (`ALL_RULES` for a bare `# iacfix: ignore`)."""
    found: frozenset[str] = frozenset()
    for match in _SUPPRESSION.finditer(comment):
        ids = match.group("ids")
        found |= (
            frozenset({ALL_RULES})
            if ids is None
            else frozenset(part.strip() for part in ids.split(",") if part.strip())
        )
    return found


def parse_suppressions(code: str) -> dict[int, frozenset[str]]:
    """Map line number -> rule ids suppressed on it (`ALL_RULES` for a bare `# iacfix: ignore`).

    Uses `tokenize` so only real comments count, never text inside strings. Code that does not
    tokenize yields no suppressions (the parser already accepted it, so this is only defensive).
    """
    found: dict[int, frozenset[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    for tok in tokens:
        if tok.type == tokenize.COMMENT and (ids := suppression_ids(tok.string)):
            found[tok.start[0]] = found.get(tok.start[0], frozenset()) | ids
    return found


@dataclass(frozen=True)
class FileContext:
    """What a rule knows about the file it runs on; built by the engine for each rule run."""

    path: str
    threshold: Safety | None = Safety.SAFE
    project: ProjectContext = field(default_factory=ProjectContext)
    settings: RuleSettings = field(default_factory=RuleSettings)
    suppressions: Mapping[int, frozenset[str]] = field(default_factory=dict)
    #: Maps a line of the tree the rule sees back to the line of the file as read. Earlier
    #: rules may have added lines (imports); findings and suppressions use the original lines.
    original_line: Callable[[int], int] = lambda line: line

    def is_suppressed(self, rule_id: str, lines: tuple[int, ...]) -> bool:
        for line in lines:
            ids = self.suppressions.get(line, frozenset())
            if ALL_RULES in ids or rule_id in ids:
                return True
        return False


class RuleDocs:
    """What every rule has, Python or project-level: identity, fix safety and ruff-style docs."""

    #: Kebab-case failure pattern: used in config, suppressions, fixture folder, output, branches.
    id: ClassVar[str]
    #: Imperative one-liner saying what the fix does.
    title: ClassVar[str]
    #: The safety of the rule's fix; `report(..., safety=)` may lower it for one finding.
    safety: ClassVar[Safety]
    #: Byte strings of which at least one must occur in a file for the rule to be able to fire.
    #: The engine never parses a file for a rule whose evidence is absent. Empty means always run.
    #: A rule whose tokens are common in clean code narrows them in `applies`.
    evidence: ClassVar[tuple[bytes, ...]] = ()
    #: False for a rule that never looks at test code (tests/, test_*.py, conftest.py): the
    #: prefilter then skips such files for it.
    checks_test_code: ClassVar[bool] = True
    #: Options a user may set in `[tool.iacfix.options.<rule-id>]`: name -> default value (the
    #: default's type is the type a configured value must have).
    options: ClassVar[Mapping[str, Any]] = {}

    @classmethod
    def applies(cls, source: bytes, path: str, project: ProjectContext, settings: RuleSettings) -> bool:
        """The prefilter: whether the rule can find anything in the file at `path` with these
        bytes, in this project, with these settings, decided without parsing (a file no selected
        rule applies to is never parsed). It may say yes for a file with no finding, never no for a file with
        one. The default looks for an `evidence` token; a rule narrows it with a cheap necessary
        condition of its own (a regular expression, the profile, an option)."""
        if not cls.checks_test_code and is_test_path(path, project.root):
            return False
        return not cls.evidence or any(token in source for token in cls.evidence)

    @property
    def settings(self) -> RuleSettings:
        raise NotImplementedError

    @property
    def profile(self) -> str:
        """`production` (also when none is declared) or `ephemeral`; see `PROFILES`."""
        return self.settings.profile or PROFILES[0]

    def option(self, name: str) -> Any:
        """This rule's option `name`: the configured value, else the default in `options`."""
        return self.settings.option(type(self), name)

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of the docstring."""
        return (cls.__doc__ or "").strip().split("\n\n", 1)[0].replace("\n", " ")

    @classmethod
    def doc_section(cls, heading: str) -> str:
        """The text under `## <heading>` in the docstring (e.g. "Why is this bad?"), or ""."""
        doc = inspect.cleandoc(cls.__doc__ or "")
        match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
        return match.group(1).strip() if match else ""


class Rule(RuleDocs, VisitorBasedCodemodCommand):
    """Base class of every iacfix codemod (a rule that sees one Python module)."""

    #: Subclasses list what they use (QualifiedNameProvider, ScopeProvider, ...). Positions are
    #: not listed: computing them costs a code-generation pass, so `position()` asks for them
    #: only when a rule needs one, which in most files is never.
    METADATA_DEPENDENCIES = ()

    def __init__(self, context: CodemodContext, file: FileContext | None = None) -> None:
        super().__init__(context)
        self.file = file if file is not None else FileContext(path=context.filename or "<string>")
        self.findings: list[Finding] = []

    def __dir__(self) -> list[str]:
        """The attributes rule classes define, not the ~500 inherited visit_/leave_ methods.

        libcst's matcher-decorator support (`@m.visit`, `@m.leave`) scans `dir(self)` with a
        `getattr` per name every time a transformer is created: 10-17 ms per rule, paid per rule
        per file. Only methods of `Rule` subclasses can carry those decorators, so listing just
        theirs keeps the decorators working and the cost negligible.
        """
        names: set[str] = set(vars(self))
        for cls in type(self).__mro__:
            if cls is Rule:
                break
            names.update(vars(cls))
        return sorted(names)

    def transform_shared(self, wrapper: MetadataWrapper) -> cst.Module:
        """Run the rule on `wrapper.module`, reusing the metadata already resolved there.

        What libcst's `transform_module` does (transform, then the import additions and
        removals the rule scheduled), minus its fresh copy of the tree and fresh metadata for
        every rule: rules that run on the same tree share one resolution of each provider.
        """
        self.context = replace(self.context, wrapper=wrapper)
        with self.resolve(wrapper):
            tree = self.transform_module_impl(wrapper.module)
        for visitor in (AddImportsVisitor, RemoveImportsVisitor):
            if visitor.CONTEXT_KEY in self.context.scratch:
                tree = visitor(self.context).transform_module(tree)
        return tree

    def position(self, node: cst.CSTNode) -> CodeRange:
        """Where `node` is in the tree the rule sees (resolved on first use, once per tree)."""
        wrapper = self.context.wrapper
        if wrapper is None:
            raise ValueError("position() is only available while the rule runs")
        return wrapper.resolve(PositionProvider)[node]

    @property
    def project(self) -> ProjectContext:
        return self.file.project

    @property
    def settings(self) -> RuleSettings:
        return self.file.settings

    @property
    def in_test_code(self) -> bool:
        """Whether the file is test code (tests/, test_*.py, conftest.py), relative to the project."""
        return is_test_path(self.file.path, self.project.root)

    def report(self, node: cst.CSTNode, message: str, *, safety: Safety | None = None) -> bool:
        """Record a finding at `node`; return True when the rule should rewrite it.

        A finding suppressed by `# iacfix: ignore[...]` on the node's first or last line is not
        recorded and not fixed. Otherwise it is recorded, and the rewrite is allowed when its
        safety (the rule's, or the lower one given here) is within the run's threshold.
        """
        safety = safety or self.safety
        position = self.position(node)
        first = self.file.original_line(position.start.line)
        last = self.file.original_line(position.end.line)
        if self.file.is_suppressed(self.id, (first, last)):
            return False
        apply = safety.allowed_by(self.file.threshold)
        self.findings.append(
            Finding(
                path=self.file.path,
                line=first,
                column=position.start.column + 1,
                rule_id=self.id,
                message=message,
                safety=safety,
                fixed=apply,
            )
        )
        return apply
