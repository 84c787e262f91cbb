"""Shared knowledge about how Pulumi programs name the provider, for rules that emit code.

Rules match with `QualifiedNameProvider` (so `import pulumi_aws as aws`, `from pulumi_aws import
ecs` all work); when a fix must *write* a reference to pulumi_aws, these helpers find the name
the module already uses, or schedule the import through libcst's `AddImportsVisitor`.
"""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

PULUMI_AWS = "pulumi_aws"
PULUMI = "pulumi"


def module_alias(module: cst.Module, package: str) -> str | None:
    """The name a top-level `import package` / `import package as x` binds, if any."""
    for statement in module.body:
        if not m.matches(statement, m.SimpleStatementLine()):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Import):
                continue
            for alias in small.names:
                if get_full_name_for_node(alias.name) != package:
                    continue
                if alias.asname is None:
                    return package
                if isinstance(alias.asname.name, cst.Name):
                    return alias.asname.name.value
    return None


def ensure_module_alias(
    context: CodemodContext, module: cst.Module, package: str, preferred: str
) -> str:
    """A name bound to `package` at module level, scheduling `import package as preferred`
    when the module has none (or plain `import package` if `preferred` is already taken)."""
    existing = module_alias(module, package)
    if existing is not None:
        return existing
    if preferred != package and not _mentions(module, preferred):
        AddImportsVisitor.add_needed_import(context, package, asname=preferred)
        return preferred
    AddImportsVisitor.add_needed_import(context, package)
    return package


def region_expression(aws: str, major: int | None) -> str:
    """Code for the provider's region at run time: `.region` on pulumi_aws 7+, else `.name`
    (which pulumi_aws 6 has and 7 still accepts, deprecated), so an unknown major still works."""
    attribute = "region" if major is not None and major >= 7 else "name"
    return f"{aws}.get_region().{attribute}"


def account_id_expression(aws: str) -> str:
    return f"{aws}.get_caller_identity().account_id"


def _mentions(module: cst.Module, name: str) -> bool:
    """Whether `name` occurs anywhere in the module (conservative: any use may clash)."""
    class Finder(cst.CSTVisitor):
        found = False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                self.found = True

    finder = Finder()
    module.visit(finder)
    return finder.found
