"""Rule discovery and selection.

Rules are found by walking the `iacfix.codemods` package: adding a rule means adding one module
(and its fixture folder), nothing else. A rule's module is named for its id (`s3_bucket_name_
not_unique.py` holds `s3-bucket-name-not-unique`), so ids and selections are known without
importing the rules (and libcst): a run the result cache answers never loads them.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from typing import TYPE_CHECKING

from iacfix.errors import UsageError

if TYPE_CHECKING:
    from iacfix.rule import RuleDocs

CODEMODS_PACKAGE = "iacfix.codemods"


@functools.lru_cache(maxsize=1)
def rule_ids() -> tuple[str, ...]:
    """Every rule id, sorted, from the module names of `iacfix.codemods` (helpers start with `_`)."""
    package = importlib.import_module(CODEMODS_PACKAGE)
    return tuple(sorted(info.name.replace("_", "-") for info in pkgutil.iter_modules(package.__path__)
                        if not info.name.startswith("_")))


@functools.lru_cache(maxsize=1)
def all_rules() -> tuple[type[RuleDocs], ...]:
    """Every rule class (Python `Rule` or `ProjectRule`) defined in `iacfix.codemods`, by id."""
    from iacfix.project import ProjectRule
    from iacfix.rule import Rule

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


def select_ids(select: Iterable[str] | None = None, ignore: Iterable[str] = ()) -> tuple[str, ...]:
    """Ids of the rules matching any of `select` (all when None) and none of `ignore`, sorted.

    Each selector is a rule id or a prefix of ids (`s3-` selects every S3 rule), as in ruff. A
    selector that matches no rule is a usage error: a typo must not silently disable checks.
    """
    known = rule_ids()

    def matching(selector: str) -> set[str]:
        selector = selector.strip()
        ids = {i for i in known if i == selector or i.startswith(selector)}
        if selector.upper() == "ALL":
            ids = set(known)
        if not selector or not ids:
            raise UsageError(f"unknown rule or prefix {selector!r}; `iacfix rules` lists them")
        return ids

    chosen = set(known) if select is None else set().union(*map(matching, select))
    dropped = set().union(*map(matching, ignore))
    return tuple(i for i in known if i in chosen - dropped)


def select_rules(
    select: Iterable[str] | None = None, ignore: Iterable[str] = ()
) -> tuple[type[RuleDocs], ...]:
    """The rule classes `select_ids` chooses."""
    chosen = set(select_ids(select, ignore))
    return tuple(r for r in all_rules() if r.id in chosen)


def markdown_table() -> str:
    """The rule table README.md shows (a test keeps the two identical)."""
    rows = ["| rule | fix safety | what the fix does |", "|---|---|---|"]
    rows += [f"| `{r.id}` | {r.safety.value} | {r.title} |" for r in all_rules()]
    return "\n".join(rows) + "\n"
