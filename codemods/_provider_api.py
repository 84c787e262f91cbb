"""What a pulumi_aws name in source refers to, checked against the provider index (shared by
`pulumi-aws-unknown-kwarg`, `pulumi-aws-nonexistent-symbol` and `pulumi-aws-nonexistent-module`).

Private helper module (no rule class). Every helper takes the rule (a visitor declaring
`QualifiedNameProvider`) and the indexes that apply to the project: one for a known major, every
shipped one when the major is unknown, in which case a finding must hold on all of them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

from iacfix.codemods._aws_resources import PULUMI_AWS, code
from iacfix.codemods._provider_index import ProviderIndex, split_symbol

#: Evidence for the prefilter: every way a file can reach the provider (`import pulumi_aws as aws`,
#: `from pulumi_aws import s3`, `from pulumi_aws.s3 import Bucket`).
EVIDENCE = (b"pulumi_aws",)

_IMPORT_PACKAGE = re.compile(r"\bimport\s+pulumi_aws\b(?!\.)(?:\s+as\s+(\w+))?")
_IMPORT_MODULE = re.compile(r"\b(?:from|import)\s+pulumi_aws\.(\w+)")
_IMPORT_MODULE_AS = re.compile(r"\bimport\s+pulumi_aws\.(\w+)(?:\s+as\s+(\w+))?")
_FROM_PACKAGE = re.compile(r"\bfrom\s+pulumi_aws\s+import\s+(\([^)]*\)|[^\n]*)")
_FROM_MODULE = re.compile(r"\bfrom\s+pulumi_aws\.(\w+)\s+import\s+(\([^)]*\)|[^\n]*)")


@dataclass(frozen=True)
class ProviderImports:
    """How a file names pulumi_aws, read from its text for the provider rules' prefilters:
    names bound to the package, names bound to its modules (name -> module), names imported from
    a module (name -> (module, symbol)), and every module the imports name."""

    packages: frozenset[str]
    modules: dict[str, str]
    symbols: dict[str, tuple[str, str]]
    named_modules: frozenset[str]

    @classmethod
    def of(cls, text: str) -> ProviderImports:
        packages = {alias or "pulumi_aws" for alias in _IMPORT_PACKAGE.findall(text)}
        modules: dict[str, str] = {}
        for module, alias in _IMPORT_MODULE_AS.findall(text):
            if alias:
                modules[alias] = module
            else:  # `import pulumi_aws.s3` binds `pulumi_aws`
                packages.add("pulumi_aws")
        for names in _FROM_PACKAGE.findall(text):
            for original, alias in _imported(names):
                modules[alias] = original
        symbols: dict[str, tuple[str, str]] = {}
        for module, names in _FROM_MODULE.findall(text):
            for original, alias in _imported(names):
                symbols[alias] = (module, original)
        return cls(frozenset(packages), modules, symbols,
                   frozenset({*_IMPORT_MODULE.findall(text), *modules.values()}))

    def resolve(self, dotted: str) -> tuple[str, str] | None:
        """(module, name) a dotted name surely refers to through the imports (`aws.s3.Bucket`,
        `s3.Bucket`, `Bucket` from `from pulumi_aws.s3 import Bucket`, `aws.get_region`), else None
        (`aws.s3`, a module, is None too)."""
        parts = dotted.split(".")
        if parts[0] in self.packages:
            return (parts[1], parts[2]) if len(parts) >= 3 else ("", parts[1]) if len(parts) == 2 else None
        if parts[0] in self.modules and len(parts) >= 2:
            return self.modules[parts[0]], parts[1]
        if parts[0] in self.symbols:
            return self.symbols[parts[0]]
        return None

    def symbol(self, dotted: str) -> tuple[str | None, str] | None:
        """(module, name) of a called dotted name (`aws.s3.Bucket`, `s3.Bucket`, `Bucket`), with
        module None when the text does not show it; None when it is not pulumi_aws's at all
        as far as the text can tell (a bare name not imported from it)."""
        parts = dotted.split(".")
        name = parts[-1]
        if len(parts) == 1:
            return self.symbols.get(name, (None, name)) if self.packages or self.modules or self.symbols else None
        qualifier = parts[-2]
        if len(parts) == 2 and qualifier in self.packages:
            return "", name
        if len(parts) == 2 and qualifier in self.modules:
            return self.modules[qualifier], name
        if len(parts) >= 3 and parts[-3] in self.packages:
            return qualifier, name
        return None, name


def _imported(names: str) -> list[tuple[str, str]]:
    """(name, the name it is bound to) for each of `a, b as c` (parentheses and comments allowed)."""
    found = []
    for line in names.strip("()").splitlines():
        for item in line.split("#", 1)[0].split(","):
            words = item.split()
            if len(words) == 1:
                found.append((words[0], words[0]))
            elif len(words) == 3 and words[1] == "as":
                found.append((words[0], words[2]))
    return found


def qualified_names(rule, node: cst.CSTNode) -> set[str]:
    return {q.name for q in rule.get_metadata(QualifiedNameProvider, node, set())}


def is_dotted(node: cst.CSTNode) -> bool:
    """`a`, `a.b.c`: a name, not an expression through a call (`aws.get_region().name`, whose
    qualified name libcst still gives as `pulumi_aws.get_region.name`)."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def aws_symbol(rule, node: cst.CSTNode) -> tuple[str, str] | None:
    """(module, name) of a pulumi_aws symbol `node` names (`aws.s3.Bucket`, `s3.Bucket`, `Bucket`
    imported from pulumi_aws.s3), or None when it names something else or more than one thing."""
    if not is_dotted(node):
        return None
    found = {split for q in qualified_names(rule, node) if (split := split_symbol(q)) is not None}
    return found.pop() if len(found) == 1 else None


def call_of(rule, arg: cst.Arg) -> cst.Call | None:
    """The call `arg` is an argument of (`rule` declares ParentNodeProvider)."""
    parent = rule.get_metadata(ParentNodeProvider, arg, None)
    return parent if isinstance(parent, cst.Call) else None


def versions(indexes: tuple[ProviderIndex, ...]) -> str:
    """`pulumi_aws 7.51.1` or `pulumi_aws 6.83.4 and 7.51.1`."""
    return "pulumi_aws " + " and ".join(index.version for index in indexes)


def close_matches(word: str, candidates, n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, sorted(set(candidates)), n=n, cutoff=0.6)


def did_you_mean(suggestions: list[str], fmt: str = "`{}`") -> str:
    if not suggestions:
        return ""
    return "did you mean " + " or ".join(fmt.format(s) for s in suggestions) + "?"


def short(module: str, name: str) -> str:
    """`s3.Bucket`, or `get_region` for the package's own names."""
    return f"{module}.{name}" if module else name


def module_of(rule, node: cst.BaseExpression) -> str | None:
    """The pulumi_aws sub-package an expression names (`aws.s3`, `s3` from `from pulumi_aws import
    s3`), whether or not it exists; None for anything else."""
    if not is_dotted(node):
        return None
    names = qualified_names(rule, node)
    modules = {q.split(".")[1] for q in names if q.startswith(PULUMI_AWS + ".") and q.count(".") == 1}
    return modules.pop() if len(modules) == 1 else None


def pulumi_reference(rule, module: cst.Module, name: str) -> str:
    """How the file can name `pulumi.<name>` (`ResourceOptions`, `Output`): the bare name when it is
    imported from pulumi, `<alias>.<name>` when pulumi is imported as a module, else `pulumi.<name>`
    with `import pulumi` scheduled (only when the caller is about to use it)."""
    found = None
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative \
                    and code(small.module) == "pulumi" and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    if code(alias.name) == name:
                        return code(alias.asname.name) if alias.asname else name
            if isinstance(small, cst.Import) and found is None:
                for alias in small.names:
                    if code(alias.name) == "pulumi":
                        found = (code(alias.asname.name) if alias.asname else "pulumi") + "." + name
    if found is not None:
        return found
    AddImportsVisitor.add_needed_import(rule.context, "pulumi")
    return f"pulumi.{name}"
