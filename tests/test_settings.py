"""Profile and per-rule options: from [tool.iacfix] or --profile, through the engine to rules."""

from __future__ import annotations

import pytest

from iacfix import config
from iacfix.engine import fix_source
from iacfix.errors import ConfigError
from iacfix.rule import RuleSettings
from support_rules import ProfileAware


def messages(settings: RuleSettings | None = None) -> list[str]:
    result = fix_source("x.py", b'x = "p"\n', [ProfileAware], settings=settings)
    return [f.message for f in result.findings]


def test_defaults_are_production_and_the_rule_defaults():
    assert messages() == ["production default x"]


def test_profile_and_options_reach_the_rule():
    settings = RuleSettings(profile="ephemeral", options={"profile-aware": {"word": "set", "names": ["a", "b"]}})
    assert messages(settings) == ["ephemeral set a,b"]


def test_options_of_other_rules_do_not_leak():
    assert messages(RuleSettings(options={"other-rule": {"word": "no"}})) == ["production default x"]


def test_unknown_option_name_is_a_key_error():
    with pytest.raises(KeyError, match="no option 'nope'"):
        RuleSettings().option(ProfileAware, "nope")


def test_config_profile_and_cli_override():
    parsed = config.parse({"profile": "ephemeral"}, "pyproject.toml")
    assert parsed.rule_settings().profile == "ephemeral"
    assert parsed.rule_settings("production").profile == "production"
    assert config.parse({}, "pyproject.toml").rule_settings().profile is None  # rules act as in production


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"profile": "staging"}, "[tool.iacfix] profile must be one of 'production', 'ephemeral', got 'staging'"),
        ({"options": {"no-such-rule": {}}}, "[tool.iacfix] options.no-such-rule: unknown rule id"),
        ({"options": {"random-for-secrets": {"x": 1}}},
         "options.random-for-secrets: unknown option 'x' (options: none)"),
        ({"options": []}, "[tool.iacfix] options must be a table of rule ids"),
    ],
)
def test_bad_profile_or_options_name_file_and_key(table, message):
    with pytest.raises(ConfigError) as error:
        config.parse(table, "pyproject.toml").check_options()
    assert message in str(error.value)
    assert str(error.value).startswith("pyproject.toml: ")


def test_option_values_must_have_the_default_type(monkeypatch):
    monkeypatch.setattr("iacfix.registry.all_rules", lambda: [ProfileAware])
    monkeypatch.setattr("iacfix.registry.rule_ids", lambda: ("profile-aware",))
    ok = config.parse({"options": {"profile-aware": {"word": "w", "names": ["n"]}}}, "pyproject.toml")
    ok.check_options()
    assert ok.rule_settings().option(ProfileAware, "names") == ["n"]
    with pytest.raises(ConfigError, match=r"options.profile-aware.names must be a list of strings, got 'n'"):
        config.parse({"options": {"profile-aware": {"names": "n"}}}, "pyproject.toml").check_options()
    with pytest.raises(ConfigError, match=r"options.profile-aware.word must be a str, got 3"):
        config.parse({"options": {"profile-aware": {"word": 3}}}, "pyproject.toml").check_options()
