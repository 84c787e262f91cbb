"""Engine behaviour: parsing once, isolation, reverting invalid output, encodings, suppressions."""

from __future__ import annotations

import pytest

from iacfix.engine import fix_source
from iacfix.results import Safety
from support_rules import (
    BreaksCode,
    Crashes,
    CrashingMetadata,
    CrashingPrefilter,
    DecoratedMatcher,
    RenameA,
    UnsafeC,
)


def test_fix_applied_and_finding_recorded():
    result = fix_source("m.py", b'x = "a"\n', [RenameA])
    assert result.output == b'import secrets\n\nx = "b"\n'
    [finding] = result.findings
    assert (finding.path, finding.line, finding.column, finding.rule_id) == ("m.py", 1, 5, "rename-a")
    assert finding.fixed and finding.safety is Safety.SAFE


def test_parse_error_is_skipped_with_position_and_source_kept():
    source = b'x = "a"\ny = (\n'
    result = fix_source("bad.py", source, [RenameA])
    assert result.output == source and result.findings == ()
    assert result.skipped.startswith("cannot parse at line 2, column 1: ")


def test_non_utf8_without_declaration_is_skipped():
    result = fix_source("latin.py", b'x = "a"\ny = "\xe9"\n', [RenameA])
    assert result.skipped and "decode" in result.skipped
    assert result.output == result.source


def test_pep263_encoding_is_read_and_kept():
    source = b'# -*- coding: latin-1 -*-\nname = "caf\xe9"\nx = "a"\n'
    result = fix_source("latin.py", source, [RenameA])
    assert result.output == b'# -*- coding: latin-1 -*-\nimport secrets\n\nname = "caf\xe9"\nx = "b"\n'
    assert result.encoding == "iso8859-1"


def test_binary_file_is_skipped():
    result = fix_source("blob.py", b'\x00\x01"a"\xff', [RenameA])
    assert result.skipped.startswith("binary file")


def test_crlf_and_bom_are_kept():
    source = b'\xef\xbb\xbfimport os\r\nx = "a"\r\n'
    result = fix_source("win.py", source, [RenameA])
    assert result.output == b'\xef\xbb\xbfimport os\r\nimport secrets\r\n\r\nx = "b"\r\n'


def test_crash_in_one_rule_is_isolated():
    result = fix_source("m.py", b'x = "a"\n', [Crashes, RenameA])
    assert result.output == b'import secrets\n\nx = "b"\n'
    assert [f.rule_id for f in result.findings] == ["rename-a"]
    assert "rule crashes crashed (RuntimeError: boom)" in result.error


def test_output_that_does_not_compile_is_reverted():
    source = b'x = 1\ny = "a"\n'
    result = fix_source("m.py", source, [BreaksCode, RenameA])
    assert result.output == source
    assert "all fixes in this file reverted" in result.error
    assert result.findings and not any(f.fixed for f in result.findings)


def test_source_that_never_compiled_does_not_block_fixes():
    # `return` at module level parses but never compiled: the fix is not to blame.
    source = b'return 2\ny = "a"\n'
    result = fix_source("m.py", source, [RenameA])
    assert result.error is None and result.output.endswith(b'y = "b"\n')


@pytest.mark.parametrize(
    "comment",
    ["# iacfix: ignore[rename-a]", "# iacfix: ignore", "#iacfix:ignore[other, rename-a]"],
)
def test_suppression_comments(comment):
    source = f'x = "a"  {comment}\n'.encode()
    result = fix_source("m.py", source, [RenameA])
    assert result.output == source and result.findings == ()


def test_suppression_for_another_rule_or_inside_a_string_does_not_count():
    source = b'x = "a"  # iacfix: ignore[unsafe-c]\ny = "a"; z = "# iacfix: ignore"\n'
    result = fix_source("m.py", source, [RenameA])
    assert [f.line for f in result.findings] == [1, 2]


def test_findings_keep_original_lines_after_an_earlier_rule_added_imports():
    source = b'x = "a"\ny = "c"  # iacfix: ignore[unsafe-c]\nz = "c"\n'
    result = fix_source("m.py", source, [RenameA, UnsafeC], Safety.UNSAFE)
    assert [(f.rule_id, f.line) for f in result.findings] == [("rename-a", 1), ("unsafe-c", 3)]
    assert result.output == b'import secrets\n\nx = "b"\ny = "c"  # iacfix: ignore[unsafe-c]\nz = "d"\n'


@pytest.mark.parametrize(
    ("threshold", "fixed"),
    [(None, set()), (Safety.SAFE, {"rename-a"}), (Safety.UNSAFE, {"rename-a", "unsafe-c"})],
)
def test_threshold_decides_which_fixes_apply(threshold, fixed):
    result = fix_source("m.py", b'x = "a"\ny = "c"\n', [RenameA, UnsafeC], threshold)
    assert {f.rule_id for f in result.findings} == {"rename-a", "unsafe-c"}
    assert {f.rule_id for f in result.findings if f.fixed} == fixed
    assert (b'"b"' in result.output) == ("rename-a" in fixed)
    assert (b'"d"' in result.output) == ("unsafe-c" in fixed)


def test_prefilter_skips_parsing_when_no_rule_has_evidence():
    # Does not parse, but no selected rule's evidence is present: never parsed, never skipped.
    result = fix_source("m.py", b"def broken(:\n", [RenameA])
    assert result.skipped is None and result.findings == ()


def test_clean_file_comes_back_identical():
    source = b'# nothing to fix\r\nx = "z"  \r\n'
    result = fix_source("m.py", source, [RenameA, UnsafeC], Safety.UNSAFE)
    assert result.output is source or result.output == source
    assert not result.changed


def test_matcher_decorators_work_on_rules():
    # Rule.__dir__ narrows libcst's decorator scan to rule classes; decorators must still fire.
    result = fix_source("m.py", b'x = "e"\n', [DecoratedMatcher])
    assert result.output == b'x = "f"\n' and result.findings[0].rule_id == "decorated-matcher"


# --- crash isolation: a bug is reported as iacfix's, on that file, and everything else runs ----


def test_a_crash_says_which_rule_and_asks_for_a_report():
    result = fix_source("m.py", b'x = "a"\n', [Crashes, RenameA])
    assert "rule crashes crashed (RuntimeError: boom); its fixes were not applied" in result.error
    assert "This is a bug in iacfix: please report it" in result.error


def test_a_crashing_prefilter_is_that_rules_crash_and_the_others_run():
    result = fix_source("m.py", b'x = "a"\n', [CrashingPrefilter, RenameA])
    assert "rule crashing-prefilter crashed (ValueError: prefilter boom)" in result.error
    assert [f.rule_id for f in result.findings] == ["rename-a"] and result.output.endswith(b'x = "b"\n')


def test_a_failing_metadata_provider_is_the_crash_of_the_rule_that_needs_it():
    result = fix_source("m.py", b'x = "a"\n', [CrashingMetadata, RenameA])
    assert "rule crashing-metadata crashed (RuntimeError: provider boom)" in result.error
    assert [f.rule_id for f in result.findings] == ["rename-a"] and result.output.endswith(b'x = "b"\n')


def test_a_bug_outside_the_rules_is_an_internal_error_of_that_file_only(monkeypatch):
    import iacfix.engine

    def broken(code):
        raise AttributeError("engine boom")

    monkeypatch.setattr(iacfix.engine, "parse_suppressions", broken)
    result = fix_source("m.py", b'x = "a"\n', [RenameA])
    assert result.output == result.source and result.findings == ()
    assert result.error.startswith("internal error while checking this file (AttributeError: engine boom)")
    assert "please report it" in result.error


def test_reverted_output_is_reported_as_iacfix_bug():
    result = fix_source("m.py", b'x = 1\ny = "a"\n', [BreaksCode, RenameA])
    assert "all fixes in this file reverted" in result.error and "please report it" in result.error
