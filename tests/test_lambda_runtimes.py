"""`lambda-runtime-outdated`'s table against the real pulumi_aws: the `lambda_.Runtime` enum lists the
runtimes the provider supports, sorted, then the ones its schema marks deprecated, sorted again.
Every runtime the rule calls deprecated must be in the second group, every successor in the first,
and every enum member the rule maps must be the runtime it says."""

from __future__ import annotations

import re

import pytest
from pulumi_aws import lambda_

from iacfix.codemods.lambda_runtime_outdated import DEPRECATED, MEMBERS


def language(runtime: str) -> str:
    return re.match(r"[a-z]+", runtime).group()


def groups() -> tuple[list[str], list[str]]:
    """The enum's values split where the language names start over (each group is in natural
    order: `dotnet8` before `dotnet10`)."""
    values = [member.value for member in lambda_.Runtime]
    restart = next(i for i in range(1, len(values)) if language(values[i]) < language(values[i - 1]))
    return values[:restart], values[restart:]


def test_the_enum_has_two_sorted_groups():
    supported, deprecated = groups()
    for group in (supported, deprecated):
        assert [language(r) for r in group] == sorted(language(r) for r in group)
    assert {"python3.12", "nodejs22.x", "java21"} <= set(supported)
    assert {"python2.7", "nodejs12.x", "go1.x"} <= set(deprecated)


@pytest.mark.parametrize("runtime", sorted(DEPRECATED))
def test_deprecated_runtime_and_successor(runtime):
    supported, deprecated = groups()
    assert runtime in deprecated
    entry = DEPRECATED[runtime]
    if entry.successor is not None:
        assert entry.successor in supported
        assert lambda_.Runtime[entry.member].value == entry.successor
        assert language(entry.successor)[:4] == language(runtime)[:4]  # same language family


def test_members_name_the_runtimes_they_map_to():
    for member, runtime in MEMBERS.items():
        assert lambda_.Runtime[member].value == runtime
    assert set(MEMBERS.values()) == set(DEPRECATED)
