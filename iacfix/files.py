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
import re
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


def discover(paths: Iterable[str | Path], exclude: Iterable[str] = (),
             unreadable: list[tuple[Path, str]] | None = None) -> list[Path]:
    """The Python files under `paths`, each once, sorted; a missing path is a UsageError.

    A file named explicitly is always included (like ruff), except YAML files, which only
    project-level rules read (see `discover_projects`); files found by walking a directory
    must have a Python suffix, must be regular files (not symbolic links: a fix would silently
    rewrite the link's target; not FIFOs, which would block the read) and must not match `exclude`
    (fnmatch patterns on the path relative to the walked directory, or on any of its parts).
    Directories the walk cannot list are added to `unreadable`, with the reason, when it is given.
    """
    return sorted(discover_resolved(paths, exclude, unreadable).values(), key=lambda p: p.as_posix())


def discover_resolved(paths: Iterable[str | Path], exclude: Iterable[str] = (),
                      unreadable: list[tuple[Path, str]] | None = None) -> dict[Path, Path]:
    """`discover`'s files keyed by their resolved path (a file given twice is kept once, as it
    was first given). A walked file is resolved through its directory, once per directory: a
    warm run over thousands of files must not resolve each one component by component."""
    patterns = tuple(exclude)
    found: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{raw}: no such file or directory")
        if path.is_dir():
            for file, resolved in _walk(path, patterns, unreadable=unreadable):
                found.setdefault(resolved, file)
        elif path.suffix not in YAML_SUFFIXES:  # project files are read by project-level rules
            found.setdefault(path.resolve(), path)
    return found


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
            roots.update(f.parent for f, _ in _walk(path, patterns, names=(PROJECT_FILE,)))
    return sorted(roots, key=lambda p: p.as_posix())


def _walk(top: Path, patterns: tuple[str, ...], names: tuple[str, ...] = (),
          unreadable: list[tuple[Path, str]] | None = None) -> Iterator[tuple[Path, Path]]:
    """Regular files under `top` with a Python suffix (or, when `names` is given, with one of
    those names), each with its resolved path: the walk follows no link, so below `top`'s real
    path every directory and file is real."""

    def failed(error: OSError) -> None:
        if unreadable is not None and error.filename is not None:
            unreadable.append((Path(error.filename), error.strerror or str(error)))

    real_top = os.path.realpath(top)
    for directory, dirnames, filenames in os.walk(top, followlinks=False, onerror=failed):
        base = Path(directory)
        real_base = os.path.normpath(os.path.join(real_top, os.path.relpath(directory, top)))
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not _excluded(base / d, top, patterns)
        )
        for name in sorted(filenames):
            file = base / name
            if (
                (name in names if names else name.endswith(PYTHON_SUFFIXES))
                and not name.startswith(TEMP_PREFIX)
                and _regular(file)
                and not _excluded(file, top, patterns)
            ):
                yield file, Path(real_base, name)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


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


def unreadable_text(source: bytes) -> str | None:
    """Why `source` is not Python text (NUL bytes; not in the encoding its BOM or PEP 263 cookie
    declares, UTF-8 by default), or None."""
    if b"\0" in source:
        return "binary file (contains NUL bytes); not checked"
    hint = "save it as UTF-8 or declare its encoding in a PEP 263 coding comment; not checked"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        source.decode(encoding)
    except UnicodeDecodeError as error:
        line = source[:error.start].count(b"\n") + 1
        return f"cannot decode: byte 0x{source[error.start]:02x} at line {line} is not {error.encoding}; {hint}"
    except (SyntaxError, LookupError) as error:  # an unknown or contradictory declaration
        return f"cannot decode: {getattr(error, 'msg', None) or error}; {hint}"
    return None


def write_atomic(path: Path, data: bytes, expected: bytes | None = None) -> None:
    """Replace `path` with `data` atomically, keeping its permission bits (and owner, when allowed).

    When `expected` is given and the file no longer holds those bytes (someone edited it since it
    was read), nothing is written and an IacfixError says so; the bytes are compared again just
    before the swap. Symbolic links, read-only files, files with several hard links (replacing one
    would silently split them) and anything but a regular file are refused the same way. A failure
    leaves the original file as it was and no temporary file behind; a killed process may leave its
    temporary file, which `stale_temp_files` finds.
    """
    if path.is_symlink():
        raise IacfixError("is a symbolic link; iacfix does not rewrite its target")
    try:
        status = path.stat()
    except FileNotFoundError:
        raise IacfixError("no longer exists") from None
    if not stat.S_ISREG(status.st_mode):
        raise IacfixError("is not a regular file")
    if not status.st_mode & 0o222:
        raise IacfixError("is read-only; make it writable to let iacfix fix it")
    if status.st_nlink > 1:
        raise IacfixError(f"has {status.st_nlink} hard links; replacing it would split them")
    if expected is not None and path.read_bytes() != expected:
        raise IacfixError("changed on disk since it was read")
    try:
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".tmp")
    except OSError as error:
        raise IacfixError(f"cannot create a file in {path.parent}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, stat.S_IMODE(status.st_mode))
        if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.chown(temp_name, status.st_uid, status.st_gid)
            except PermissionError:
                pass
        if expected is not None and path.read_bytes() != expected:
            raise IacfixError("changed on disk since it was read")
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (a power cut after it then keeps the new file); best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_TEMP_NAME = re.compile(rf"{re.escape(TEMP_PREFIX)}(\d+)-\w+\.tmp")


def stale_temp_files(paths: Iterable[str | Path], exclude: Iterable[str] = ()) -> list[Path]:
    """Temporary files `write_atomic` made under `paths` whose process no longer runs (it was
    killed between creating and renaming them). Nothing else matches: only names iacfix makes,
    with the id of a process that is gone."""
    patterns = tuple(exclude)
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for directory, dirnames, filenames in os.walk(path, followlinks=False):
                dirnames[:] = [d for d in dirnames
                               if d not in SKIP_DIRS and not _excluded(Path(directory) / d, path, patterns)]
                found.update(Path(directory) / name for name in filenames if _stale(name))
        elif path.parent.is_dir():
            try:
                found.update(path.parent / name for name in os.listdir(path.parent) if _stale(name))
            except OSError:
                pass
    return sorted(found)


def _stale(name: str) -> bool:
    match = _TEMP_NAME.fullmatch(name)
    return match is not None and not process_alive(int(match.group(1)))


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # it runs, as another user
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    return True


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
