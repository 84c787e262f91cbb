"""`[tool.iacfix]` in the nearest pyproject.toml, validated: a bad key or value is a ConfigError
naming the file and the key.

    [tool.iacfix]
    select = ["awslogs-", "s3-"]      # rule ids or prefixes; default: all rules
    ignore = ["random-for-secrets"]
    unsafe-fixes = false
    exclude = ["generated/*"]          # fnmatch patterns, on top of .git, venvs, caches
    region = "eu-south-1"
    profile = "ephemeral"              # "production" (default) or "ephemeral" (test and PR stacks)
    pr-labels = ["iacfix"]          # labels `iacfix pr` puts on its pull requests

    [tool.iacfix.options.required-tags-missing]   # per-rule options (`iacfix rules ID` lists them)
    tags = ["Environment", "Owner", "CostCenter"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iacfix.errors import ConfigError
from iacfix.settings import PROFILES, RuleSettings

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

@dataclass(frozen=True)
class Config:
    """Settings from pyproject.toml; command-line options override them field by field."""

    source: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    exclude: tuple[str, ...] = ()
    region: str | None = None
    profile: str | None = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    pr_labels: tuple[str, ...] = ()

    def rule_settings(self, profile: str | None = None) -> RuleSettings:
        """What rules read, with `profile` (from --profile) over the configured one."""
        return RuleSettings(profile=profile or self.profile, options=self.options)

    def check_options(self) -> None:
        """Check each configured option against its rule's declared default (name and type).

        Apart from `parse` because it imports those rules (and libcst): a run the result cache
        answers skips it, which is sound, as the answer was computed under these very options,
        after they were checked.
        """
        from iacfix.registry import rule_by_id

        for rule_id, values in self.options.items():
            rule = rule_by_id(rule_id)
            where = f"{self.source}: [tool.iacfix] options.{rule_id}"
            for name, value in values.items():
                if name not in rule.options:
                    known = ", ".join(rule.options) or "none"
                    raise ConfigError(f"{where}: unknown option {name!r} (options: {known})")
                _check_option_value(value, rule.options[name], f"{where}.{name}")


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a `[tool.iacfix]` table."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "iacfix" in _read(candidate).get("tool", {}):
            return candidate
    return None


def load(path: Path | None = None, start: Path | None = None) -> Config:
    """Load `path`, or the nearest pyproject.toml above `start` with a `[tool.iacfix]` table."""
    if path is None:
        path = find_pyproject(start or Path.cwd())
        if path is None:
            return Config()
    elif not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    table = _read(path).get("tool", {}).get("iacfix", {})
    return parse(table, str(path))


def parse(table: dict[str, Any], source: str) -> Config:
    def where(key: str) -> str:
        return f"{source}: [tool.iacfix] {key}"

    def strings(key: str) -> tuple[str, ...]:
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where(key)} must be a list of strings, got {value!r}")
        return tuple(value)

    values: dict[str, Any] = {"source": source}
    for key in table:
        if key in ("select", "ignore", "exclude"):
            values[key] = strings(key)
        elif key == "unsafe-fixes":
            if not isinstance(table[key], bool):
                raise ConfigError(f"{where(key)} must be true or false, got {table[key]!r}")
            values["unsafe_fixes"] = table[key]
        elif key == "pr-labels":
            values["pr_labels"] = strings(key)
            if not all(label.strip() for label in values["pr_labels"]):
                raise ConfigError(f"{where(key)} must not contain empty label names")
        elif key == "profile":
            values["profile"] = check_profile(table[key], where(key))
        elif key == "options":
            values["options"] = _options(table[key], where(key))
        elif key == "region":
            if not isinstance(table[key], str) or not table[key]:
                raise ConfigError(f"{where(key)} must be a region name such as \"eu-south-1\"")
            values["region"] = table[key]
        else:
            raise ConfigError(f"{where(key)}: unknown key")
    return Config(**values)


def check_profile(value: Any, where: str) -> str:
    if value not in PROFILES:
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, PROFILES))}, got {value!r}")
    return value


def _options(table: Any, where: str) -> dict[str, dict[str, Any]]:
    """`[tool.iacfix.options.<rule-id>]` tables of known rules (their values: `check_options`)."""
    from iacfix.registry import rule_ids

    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of rule ids")
    options: dict[str, dict[str, Any]] = {}
    for rule_id, values in table.items():
        if rule_id not in rule_ids():
            raise ConfigError(f"{where}.{rule_id}: unknown rule id")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}.{rule_id} must be a table")
        options[rule_id] = dict(values)
    return options


def _check_option_value(value: Any, default: Any, where: str) -> None:
    """A configured value must have its default's type (a list of strings for list options)."""
    if isinstance(default, (list, tuple)):
        ok, kind = isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of strings"
    else:
        ok, kind = type(value) is type(default), f"a {type(default).__name__}"
    if not ok:
        raise ConfigError(f"{where} must be {kind}, got {value!r}")


def toml_loads(text: str) -> dict[str, Any]:
    """TOML text as data (tomllib, or tomli on Python 3.10)."""
    return tomllib.loads(text)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from error
