"""The pulumi_aws signature index (built by `scripts/build_provider_index.py`, shipped as
`codemods/data/pulumi_aws_v<major>.json.gz`), loaded on first use by a rule that needs it.

Private helper module (no rule class). `provider_index(major)` reads and decodes one major's file
once per process (~0.1 s for 2.7 MB of JSON); nothing here runs at import, so `iacfix --help`, and
any file in which no provider rule's evidence occurs, never pay for it.

Names are split the way the SDK lays them out: a module is `""` for `pulumi_aws` itself or the
sub-package name (`"s3"`, `"lambda_"`); a symbol is a class or function name in it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from iacfix.codemods._aws_resources import PULUMI_AWS, canonical
from iacfix.shipped_data import load_json

#: The majors an index is shipped for, newest last.
SUPPORTED_MAJORS = (6, 7)


def index_file(major: int):
    return resources.files("iacfix.codemods") / "data" / f"pulumi_aws_v{major}.json.gz"


@functools.cache
def provider_index(major: int) -> ProviderIndex | None:
    """The index of pulumi_aws `major`, or None when none is shipped for it."""
    if not index_file(major).is_file():
        return None
    return load_json("iacfix.codemods", index_file(major).name, functools.partial(_index, major),
                     remedy="reinstall iacfix, or rebuild it with scripts/build_provider_index.py")


def _index(major: int, data: dict[str, Any]) -> ProviderIndex:
    """The decoded index, checked to be the file of `major` with a module table."""
    if data["major"] != major or not isinstance(data["version"], str) or not isinstance(data["modules"], dict):
        raise ValueError(f"not the index of pulumi_aws {major}")
    return ProviderIndex(version=data["version"], major=major, modules=data["modules"])


def indexes_for(major: int | None) -> tuple[ProviderIndex, ...]:
    """The index of the project's major; every shipped one when the major is unknown (a finding
    must then hold on all of them), none for a major no index is shipped for."""
    majors = SUPPORTED_MAJORS if major is None else (major,)
    return tuple(index for m in majors if (index := provider_index(m)) is not None)


@dataclass(frozen=True)
class AcceptedKeywords:
    """For the prefilter of `pulumi-aws-unknown-kwarg`: the keywords a callable takes without a
    finding (some index of the project's majors takes it and does not deprecate it, or every
    index takes it and its deprecation has no fix the rule makes), by (module, name) and, for a
    name whose module the text does not show, by name alone (intersected over the modules that
    have it). A call whose keywords are all accepted cannot be a finding; a name not every
    index knows is never one."""

    by_symbol: dict[tuple[str, str], frozenset[str]]
    by_name: dict[str, frozenset[str]]


@functools.cache
def accepted_keywords(majors: tuple[int, ...], fixed: frozenset[tuple[str, str, str]]) -> AcceptedKeywords:
    """`fixed`: the (module, name, keyword) deprecations the rule rewrites (the others it lets be)."""
    indexes = tuple(index for major in majors if (index := provider_index(major)) is not None)
    by_symbol: dict[tuple[str, str], frozenset[str]] = {}
    by_name: dict[str, frozenset[str]] = {}
    for module in set().union(*(index.modules for index in indexes)) if indexes else ():
        for name in set().union(*(_callables(index, module) for index in indexes)):
            entries = [index.callable(module, name) for index in indexes]
            if any(entry is None for entry in entries):
                continue  # not a callable every index knows: never a finding of that rule
            taken = set.intersection(*(set(e["kw"]) for _, e in entries))
            fine = frozenset().union(*(set(e["kw"]) - set(e.get("dep_kw", ())) for _, e in entries),
                                     {k for k in taken if (module, name, k) not in fixed})
            for spelling in (name, f"{name}_output") if entries[0][0] == "function" else (name,):
                by_symbol[module, spelling] = fine
                by_name[spelling] = by_name[spelling] & fine if spelling in by_name else fine
    return AcceptedKeywords(by_symbol, by_name)


def _callables(index: ProviderIndex, module: str) -> set[str]:
    entry = index.modules.get(module, {})
    return {*entry.get("resources", ()), *entry.get("functions", ()), *entry.get("types", ())}


def split_symbol(qualified: str) -> tuple[str, str] | None:
    """`pulumi_aws.s3.Bucket` -> ("s3", "Bucket"); `pulumi_aws.get_region` -> ("", "get_region");
    `pulumi_aws.s3.bucket.Bucket` (a defining module) -> ("s3", "Bucket"); else None."""
    parts = canonical(qualified).split(".")
    if parts[0] != PULUMI_AWS:
        return None
    if len(parts) == 2:
        return "", parts[1]
    if len(parts) == 3:
        return parts[1], parts[2]
    return None


@dataclass(frozen=True)
class ProviderIndex:
    version: str
    major: int
    modules: dict[str, dict[str, Any]]

    def has_module(self, module: str) -> bool:
        return module in self.modules

    def module_names(self) -> list[str]:
        return [name for name in self.modules if name]

    def resource(self, module: str, name: str) -> dict[str, Any] | None:
        return self.modules.get(module, {}).get("resources", {}).get(name)

    def function(self, module: str, name: str) -> dict[str, Any] | None:
        """A `get_*` invoke; `get_x_output` answers as `get_x` (same keywords, same result)."""
        functions = self.modules.get(module, {}).get("functions", {})
        return functions.get(name) or functions.get(name.removesuffix("_output"))

    def input_type(self, module: str, name: str) -> dict[str, Any] | None:
        return self.modules.get(module, {}).get("types", {}).get(name)

    def callable(self, module: str, name: str) -> tuple[str, dict[str, Any]] | None:
        """("resource" | "function" | "type", entry) for a name whose keywords the index knows."""
        for kind, entry in (("resource", self.resource(module, name)), ("function", self.function(module, name)),
                            ("type", self.input_type(module, name))):
            if entry is not None:
                return kind, entry
        return None

    def symbols(self, module: str) -> list[str]:
        """Every public name of a module (classes, functions with their `_output` twins, enums...)."""
        entry = self.modules.get(module)
        if entry is None:
            return []
        functions = [f for name in entry["functions"] for f in (name, f"{name}_output")]
        return [*entry["resources"], *functions, *entry["types"], *entry["names"], *(
            self.module_names() if module == "" else ())]

    def has_symbol(self, module: str, name: str) -> bool:
        entry = self.modules.get(module)
        if entry is None:
            return False
        return (name in entry["resources"] or name in entry["types"] or name in entry["names"]
                or name.removesuffix("_output") in entry["functions"]
                or (module == "" and name in self.modules))

    def resources_with_keyword(self, module: str, keyword: str) -> Iterator[str]:
        """Resources of `module` whose constructor takes `keyword` (where a setting lives when it
        is not on the resource the user called)."""
        for name, entry in self.modules.get(module, {}).get("resources", {}).items():
            if keyword in entry["kw"]:
                yield name
