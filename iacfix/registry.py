"""Rule discovery and selection.

Rules are found by walking the `iacfix.codemods` package: adding a rule means adding one module
(and its fixture folder), nothing else.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Iterable

from iacfix.errors import UsageError
from iacfix.project import ProjectRule
from iacfix.rule import Rule, RuleDocs

CODEMODS_PACKAGE = "iacfix.codemods"


@functools.lru_cache(maxsize=1)
def all_rules() -> tuple[type[RuleDocs], ...]:
    """Every rule class (Python `Rule` or `ProjectRule`) defined in `iacfix.codemods`, by id."""
    package = importlib.import_module(CODEMODS_PACKAGE)
    rules: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(package.__path__, f"{CODEMODS_PACKAGE}."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, (Rule, ProjectRule))
                and obj.__module__ == module.__name__
                and hasattr(obj, "id")
            ):
                if obj.id in rules and rules[obj.id] is not obj:
                    raise RuntimeError(f"rule id {obj.id!r} is defined twice")
                rules[obj.id] = obj
    return tuple(rules[key] for key in sorted(rules))


def rule_by_id(rule_id: str) -> type[RuleDocs]:
    for rule in all_rules():
        if rule.id == rule_id:
            return rule
    raise UsageError(f"unknown rule {rule_id!r}; `iacfix rules` lists them")


def select_rules(
    select: Iterable[str] | None = None, ignore: Iterable[str] = ()
) -> tuple[type[RuleDocs], ...]:
    """Rules matching any of `select` (all when None) and none of `ignore`.

    Each selector is a rule id or a prefix of ids (`s3-` selects every S3 rule), as in ruff. A
    selector that matches no rule is a usage error: a typo must not silently disable checks.
    """
    rules = all_rules()

    def matching(selector: str) -> set[str]:
        selector = selector.strip()
        ids = {r.id for r in rules if r.id == selector or r.id.startswith(selector)}
        if selector.upper() == "ALL":
            ids = {r.id for r in rules}
        if not selector or not ids:
            raise UsageError(f"unknown rule or prefix {selector!r}; `iacfix rules` lists them")
        return ids

    chosen = {r.id for r in rules} if select is None else set().union(*map(matching, select))
    dropped = set().union(*map(matching, ignore))
    return tuple(r for r in rules if r.id in chosen - dropped)


def markdown_table() -> str:
    """The rule table README.md shows (a test keeps the two identical)."""
    rows = ["| rule | fix safety | what the fix does |", "|---|---|---|"]
    rows += [f"| `{r.id}` | {r.safety.value} | {r.title} |" for r in all_rules()]
    return "\n".join(rows) + "\n"
