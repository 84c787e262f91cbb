"""File discovery and atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from iacfix.errors import IacfixError, UsageError
from iacfix.files import detect_encoding, discover, discover_resolved, write_atomic


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def test_discover_skips_tool_and_environment_directories(tmp_path):
    make(tmp_path, "tap.py", "lib/tap_stack.py", "lib/AWS_REGION", ".venv/lib/site.py", "venv/x.py",
         ".git/hooks/h.py", "__pycache__/c.py", ".pulumi/state.py", "node_modules/n.py", "stubs/a.pyi")
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["lib/tap_stack.py", "stubs/a.pyi", "tap.py"]


def test_discover_applies_exclude_patterns(tmp_path):
    make(tmp_path, "tap.py", "generated/a.py", "lib/b_test.py", "lib/c.py")
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path], ["generated", "*_test.py"])]
    assert found == ["lib/c.py", "tap.py"]


def test_explicit_file_is_included_even_without_python_suffix(tmp_path):
    make(tmp_path, "script")
    assert discover([tmp_path / "script"]) == [tmp_path / "script"]


def test_a_path_given_twice_is_checked_once(tmp_path):
    make(tmp_path, "lib/a.py")
    assert discover([tmp_path, tmp_path / "lib", tmp_path / "lib" / "a.py"]) == [tmp_path / "lib" / "a.py"]


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="nope.py: no such file or directory"):
        discover([tmp_path / "nope.py"])


def test_symlinks_are_not_followed_in_walks(tmp_path):
    outside = tmp_path / "outside"
    make(outside, "secret.py")
    project = tmp_path / "project"
    make(project, "tap.py")
    (project / "link.py").symlink_to(outside / "secret.py")
    (project / "linked_dir").symlink_to(outside, target_is_directory=True)
    assert discover([project]) == [project / "tap.py"]


def test_discovered_files_are_keyed_by_their_real_path(tmp_path, monkeypatch):
    """The key is resolved once per directory, not per file: it must still be `Path.resolve()`,
    through a linked top directory, a relative `..` spelling and the current directory."""
    real = tmp_path / "real"
    make(real, "tap.py", "lib/a.py", "lib/deep/b.py")
    (tmp_path / "via").symlink_to(real, target_is_directory=True)
    monkeypatch.chdir(real / "lib")
    found = discover_resolved([tmp_path / "via", "..", ".", "deep/b.py"])
    assert sorted(found) == sorted((real / name).resolve() for name in ("tap.py", "lib/a.py", "lib/deep/b.py"))
    assert all(key == shown.resolve() for key, shown in found.items())
    assert found[(real / "tap.py").resolve()] == tmp_path / "via" / "tap.py"  # as first given


def test_write_atomic_replaces_content_and_keeps_mode(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"old\r\n")
    os.chmod(path, 0o640)
    write_atomic(path, b"new\r\n", expected=b"old\r\n")
    assert path.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["a.py"]


def test_write_atomic_refuses_a_file_changed_since_read(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"edited by someone\n")
    with pytest.raises(IacfixError, match="changed on disk"):
        write_atomic(path, b"new\n", expected=b"old\n")
    assert path.read_bytes() == b"edited by someone\n"


def test_write_atomic_refuses_symlinks(tmp_path):
    target = tmp_path / "target.py"
    target.write_bytes(b"old\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    with pytest.raises(IacfixError, match="symbolic link"):
        write_atomic(link, b"new\n")
    assert target.read_bytes() == b"old\n"


def test_failed_write_leaves_original_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "a.py"
    path.write_bytes(b"old\n")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, b"new\n")
    assert path.read_bytes() == b"old\n"
    assert os.listdir(tmp_path) == ["a.py"]


@pytest.mark.parametrize(
    ("source", "encoding"),
    [(b"x = 1\n", "utf-8"), (b"\xef\xbb\xbfx = 1\n", "utf-8-sig"),
     (b"# -*- coding: latin-1 -*-\n", "iso8859-1"), (b"# coding: bogus\n", "utf-8")],
)
def test_detect_encoding(source, encoding):
    assert detect_encoding(source) == encoding
