"""Finding, reading and writing files: the only module that touches the user's files.

Writes are atomic: the new bytes go to a temporary file in the same directory, which then
replaces the original with `os.replace`, keeping its mode. A crash leaves the old or the new
file, never a partial one. iacfix writes the bytes libcst produced, so encoding, BOM and
newline style are those of the original.
"""

from __future__ import annotations

import codecs
import fnmatch
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from iacfix.context import PROJECT_FILE
from iacfix.errors import IacfixError, UsageError

#: Directories never searched: VCS data, virtual environments, caches, Pulumi's state.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "__pycache__", ".pulumi", "node_modules",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".iacfix_cache"}
)
PYTHON_SUFFIXES = (".py", ".pyi")
YAML_SUFFIXES = (".yaml", ".yml")
TEMP_PREFIX = ".iacfix-"


def discover(paths: Iterable[str | Path], exclude: Iterable[str] = ()) -> list[Path]:
    """The Python files under `paths`, each once, sorted; a missing path is a UsageError.

    A file named explicitly is always included (like ruff), except YAML files, which only
    project-level rules read (see `discover_projects`); files found by walking a directory
    must have a Python suffix, must not be symbolic links (a fix would silently rewrite the link's
    target) and must not match `exclude` (fnmatch patterns on the path relative to the walked
    directory, or on any of its parts).
    """
    patterns = tuple(exclude)
    seen: set[Path] = set()
    found: list[Path] = []

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{raw}: no such file or directory")
        if path.is_dir():
            for file in _walk(path, patterns):
                add(file)
        elif path.suffix not in YAML_SUFFIXES:  # project files are read by project-level rules
            add(path)
    return sorted(found, key=lambda p: p.as_posix())


def discover_projects(paths: Iterable[str | Path], exclude: Iterable[str] = ()) -> list[Path]:
    """Roots of the Pulumi projects under `paths` (directories holding a Pulumi.yaml), sorted.

    A path inside a project (`iacfix check lib/`) does not make its project's files part of the
    run: project-level rules only run where the user pointed at the project itself.
    """
    patterns = tuple(exclude)
    roots: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file() and path.name == PROJECT_FILE:
            roots.add(path.parent)
        elif path.is_dir():
            roots.update(f.parent for f in _walk(path, patterns, names=(PROJECT_FILE,)))
    return sorted(roots, key=lambda p: p.as_posix())


def _walk(top: Path, patterns: tuple[str, ...], names: tuple[str, ...] = ()) -> Iterator[Path]:
    """Files under `top` with a Python suffix (or, when `names` is given, with one of those names)."""
    for directory, dirnames, filenames in os.walk(top, followlinks=False):
        base = Path(directory)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not _excluded(base / d, top, patterns)
        )
        for name in sorted(filenames):
            file = base / name
            if (
                (name in names if names else name.endswith(PYTHON_SUFFIXES))
                and not name.startswith(TEMP_PREFIX)
                and not file.is_symlink()
                and not _excluded(file, top, patterns)
            ):
                yield file


def _excluded(path: Path, top: Path, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    relative = path.relative_to(top)
    candidates = (relative.as_posix(), *relative.parts)
    return any(fnmatch.fnmatch(c, pattern) for pattern in patterns for c in candidates)


def detect_encoding(source: bytes) -> str:
    """The encoding Python would use for `source` (BOM, PEP 263 cookie, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError:
        return "utf-8"
    return codecs.lookup(encoding).name


def write_atomic(path: Path, data: bytes, expected: bytes | None = None) -> None:
    """Replace `path` with `data` atomically, keeping its permission bits.

    When `expected` is given and the file no longer holds those bytes (someone edited it since it
    was read), nothing is written and an IacfixError says so.
    """
    if path.is_symlink():
        raise IacfixError(f"{path}: is a symbolic link; not rewriting its target")
    if expected is not None and path.read_bytes() != expected:
        raise IacfixError(f"{path}: changed on disk since it was read; not written")
    mode = stat.S_IMODE(path.stat().st_mode)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise


def is_test_path(path: str, root: str | None = None) -> bool:
    """Whether `path` is test code (under `test`/`tests`, `test_*.py`, `*_test.py`, conftest.py),
    judged relative to the project root when it is known, so a checkout under some `/tmp/test/`
    directory does not count."""
    if root is not None:
        try:
            path = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
        except (OSError, ValueError):
            pass
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts:
        return False
    name = parts[-1]
    return (
        any(part in ("test", "tests") for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is inside it, POSIX-style."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # a different drive on Windows
        return path.as_posix()
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()
