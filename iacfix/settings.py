"""What a run tells its rules: the profile and per-rule options. Kept free of libcst, so the
configuration and the result cache can be read without loading the rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iacfix.rule import RuleDocs

#: Profiles for rules whose right answer depends on intent (deletion protection, final
#: snapshots, `protect=True`): `production` keeps real stacks safe and is what rules assume when
#: no profile is set; `ephemeral` (test and PR stacks) makes them destroyable.
PROFILES = ("production", "ephemeral")


@dataclass(frozen=True)
class RuleSettings:
    """Run-wide choices rules read: the profile, and per-rule options from
    `[tool.iacfix.options.<rule-id>]` (validated against each rule's `options` defaults)."""

    #: The declared profile, or None when the user set none (rules then act as in production,
    #: but a rule that only reports production data waits for the profile to be declared).
    profile: str | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def option(self, rule: type[RuleDocs], name: str) -> Any:
        """The configured value of a rule's option, else the rule's default."""
        if name not in rule.options:
            raise KeyError(f"rule {rule.id} has no option {name!r}")
        return self.options.get(rule.id, {}).get(name, rule.options[name])
