"""Properties every fix must have, on generated programs (hypothesis, hypothesmith).

For every Python rule alone and for all rules together, on Pulumi-shaped programs
(`program_strategies`) and on arbitrary valid Python (hypothesmith), under the safe and the
unsafe threshold and every profile:

- no rule crashes and no fix is reverted (`FileResult.error` is None);
- the output parses and compiles;
- a second run changes nothing and fixes nothing;
- a file with no finding comes back byte-identical, and a file whose fixes are all withheld too;
- the BOM and the encoding of the input survive.

The default run draws a few hundred examples, derandomized so CI is reproducible; `pytest -m
fuzz` draws thousands with fresh randomness. A failing example prints its `Program(...)` (source
bytes and context), which `check(Program(...), rules)` replays. How often each rule fired in the
generated corpus is counted: a property whose generator never triggers a rule proves nothing
about it, so the tests fail if a rule never fires. Set IACFIX_PROPERTY_STATS=FILE to append the
counts as JSON lines.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from program_strategies import PYTHON_RULES, Program, pulumi_programs

from iacfix.context import ProjectContext
from iacfix.engine import fix_source
from iacfix.files import detect_encoding
from iacfix.results import Safety
from iacfix.settings import RuleSettings

BOM = b"\xef\xbb\xbf"
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
        HealthCheck.large_base_example]


def budget(default: int, fuzz: int, *, fuzzing: bool) -> settings:
    """Hypothesis settings: a small reproducible budget by default, a large random one for fuzz."""
    return settings(max_examples=fuzz if fuzzing else default, deadline=None, derandomize=not fuzzing,
                    suppress_health_check=SLOW, print_blob=True, database=None if not fuzzing else settings().database)


def compiles(source: bytes) -> bool:
    try:
        compile(source, "<check>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def check(program: Program, rules) -> Counter:
    """Assert every property on one program; return what fired (rule id -> findings, and fixes)."""
    result = fix_source(program.path, program.source, rules, program.threshold, project=program.project,
                        settings=program.settings)
    assert result.error is None, f"internal error: {result.error}"
    if result.skipped is not None:
        # Only acceptable for code libcst cannot parse although CPython compiles it.
        with pytest.raises(cst.ParserSyntaxError):
            cst.parse_module(program.source)
        return Counter({"<skipped>": 1})
    fired = Counter({f.rule_id: 1 for f in result.findings})
    fired.update({f"{f.rule_id} (fixed)": 1 for f in result.findings if f.fixed})
    if not any(f.fixed for f in result.findings):
        assert result.output == program.source, "no fix was applied, but the bytes changed"
    if result.output != program.source:
        cst.parse_module(result.output)
        if compiles(program.source):
            assert compiles(result.output), "the fixed code does not compile"
        assert result.output.startswith(BOM) == program.source.startswith(BOM), "BOM lost or added"
        assert detect_encoding(result.output) == detect_encoding(program.source), "encoding changed"
        result.output.decode(detect_encoding(result.output))
        again = fix_source(program.path, result.output, rules, program.threshold, project=program.project,
                           settings=program.settings)
        assert again.error is None, f"internal error on the second run: {again.error}"
        assert again.output == result.output, "a second run changed the output again"
        assert not [f for f in again.findings if f.fixed], "a second run still fixes something"
    return fired


def record(name: str, examples: int, fired: Counter) -> None:
    target = os.environ.get("IACFIX_PROPERTY_STATS")
    if target:
        with open(target, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"property": name, "examples": examples, "fired": dict(sorted(fired.items()))})
                         + "\n")


# --- all rules together on Pulumi-shaped programs ---------------------------------------------

def _program(source: bytes, *, threshold=Safety.UNSAFE, project=ProjectContext(), **settings) -> Program:
    return Program(source, "lib/tap_stack.py", threshold, project, RuleSettings(**settings))


# What the generator found, kept as regression examples, each with its cause.
REGRESSIONS: list[Program] = [
    # Not idempotent: missing-environment-suffix left two equal literal bucket names alone (renaming
    # one would break the other), s3-bucket-name-not-unique made them f-strings, and a second run
    # then suffixed the f-strings (fixed: f-string names are checked for a twin too).
    _program(b'import pulumi_aws as aws\n\ndef create(environment_suffix):\n'
             b'    aws.s3.Bucket("a", bucket="a")\n    aws.s3.Bucket("b", bucket="a")\n'),
]


def all_rules_on_pulumi_programs(fuzzing: bool) -> None:
    fired: Counter = Counter()
    examples = 0

    @budget(200, 2000, fuzzing=fuzzing)
    @given(pulumi_programs())
    def prop(program: Program) -> None:
        nonlocal examples
        examples += 1
        fired.update(check(program, PYTHON_RULES))

    for regression in REGRESSIONS:
        prop = example(regression)(prop)
    prop()
    record("all rules, pulumi programs", examples, fired)
    never = sorted(r.id for r in PYTHON_RULES if not fired[r.id])
    # Each rule is proven to fire by its own test below; here most must fire together.
    assert len(never) <= (0 if fuzzing else len(PYTHON_RULES) // 4), f"never fired in {examples} programs: {never}"


def test_all_rules_on_pulumi_programs():
    all_rules_on_pulumi_programs(fuzzing=False)


@pytest.mark.fuzz
def test_all_rules_on_pulumi_programs_fuzz():
    all_rules_on_pulumi_programs(fuzzing=True)


# --- each rule alone ---------------------------------------------------------------------------


def one_rule(rule, fuzzing: bool) -> None:
    fired: Counter = Counter()
    examples = 0

    @budget(10, 100, fuzzing=fuzzing)
    @given(pulumi_programs(rule.id))
    def prop(program: Program) -> None:
        nonlocal examples
        examples += 1
        fired.update(check(program, [rule]))

    prop()
    record(f"{rule.id} alone", examples, fired)
    assert fired[rule.id], f"{rule.id} never fired on {examples} programs made from its fixtures"


@pytest.mark.parametrize("rule", PYTHON_RULES, ids=lambda r: r.id)
def test_each_rule_alone(rule):
    one_rule(rule, fuzzing=False)


@pytest.mark.fuzz
@pytest.mark.parametrize("rule", PYTHON_RULES, ids=lambda r: r.id)
def test_each_rule_alone_fuzz(rule):
    one_rule(rule, fuzzing=True)


# --- arbitrary valid Python (hypothesmith) -----------------------------------------------------

CONTEXTS = st.builds(
    lambda threshold, profile, region: (threshold, RuleSettings(profile=profile),
                                        ProjectContext(region=region, aws_major=7)),
    st.sampled_from([Safety.SAFE, Safety.UNSAFE]), st.sampled_from([None, "production", "ephemeral"]),
    st.sampled_from([None, "eu-west-1"]),
)


def arbitrary_python(fuzzing: bool) -> None:
    """hypothesmith's programs rarely contain what rules look for, so each is also checked with
    a Pulumi preamble whose names it may shadow (`aws = 1`): the rules see valid Python of every
    shape around their own patterns."""
    examples = 0
    fired: Counter = Counter()
    preamble = ('import pulumi\nimport pulumi_aws as aws\n'
                'aws.s3.Bucket("logs", bucket="logs")\n'
                'aws.rds.Instance("db", password="hunter2hunter2", engine="postgres")\n')

    @budget(60, 1500, fuzzing=fuzzing)
    @given(st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()), CONTEXTS, st.booleans())
    def prop(code: str, context, with_preamble: bool) -> None:
        nonlocal examples
        threshold, rule_settings, project = context
        text = code + ("\n" if code and not code.endswith("\n") else "") + preamble if with_preamble else code
        try:
            source = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not a file anyone can have
            return
        examples += 1
        fired.update(check(Program(source, "lib/generated.py", threshold, project, rule_settings), PYTHON_RULES))

    prop()
    record("all rules, hypothesmith", examples, fired)


def test_all_rules_on_arbitrary_python():
    arbitrary_python(fuzzing=False)


@pytest.mark.fuzz
def test_all_rules_on_arbitrary_python_fuzz():
    arbitrary_python(fuzzing=True)


def test_fuzz_tests_are_not_in_the_default_run():
    """The README's test command must stay fast: `-m fuzz` selects the long runs, nothing else does."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             "tests/test_properties.py", "tests/test_atomic_writes.py"],
                            cwd=root, capture_output=True, text=True, check=False).stdout
    fuzz = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-m", "fuzz", "tests/test_properties.py", "tests/test_atomic_writes.py"],
                          cwd=root, capture_output=True, text=True, check=False).stdout
    assert "test_all_rules_on_pulumi_programs\n" in listed and "test_each_rule_alone[" in listed
    assert "_fuzz\n" not in listed and "_fuzz[" not in listed and "200_times" not in listed
    assert "test_all_rules_on_pulumi_programs_fuzz\n" in fuzz and "test_each_rule_alone_fuzz[" in fuzz
    assert "test_killed_apply_leaves_old_or_new_bytes_200_times" in fuzz
