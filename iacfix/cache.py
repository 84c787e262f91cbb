"""The result cache: a file whose bytes, context and rule set have not changed since the last run
costs a read and a hash, not a parse.

An entry is keyed by the SHA-256 of everything the result depends on: the file's bytes, the
project context rules read (region, pulumi_aws major, config keys, ...), the selected rules, the
safety threshold, the profile and rule options, the iacfix version, its code and the data files
shipped with the rules (the RDS version table). Any change gives another key, so a stale result
is never returned.

Three kinds of entry: one Python file, one project's project-level rules, and a whole run. The
whole-run entry is what makes an unchanged tree cheap: it is keyed by every file of the run (the
Python files and every file of their Pulumi projects, which is all the context is read from),
the working directory and the environment the context reads, and is looked up before the rules,
libcst or the YAML reader are even imported.

Entries are JSON files, followed by their SHA-256, written atomically (a temporary file, then
`os.replace`), so concurrent runs at worst compute the same entry twice; an entry that does not
load or does not match its hash is treated as missing. Temporary entries of a killed run are
deleted by the next run that stores a whole-run entry.
The directory holds a `.gitignore` of `*` so it is never committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from iacfix import __version__
from iacfix.context import ProjectContext
from iacfix.files import SKIP_DIRS, process_alive
from iacfix.results import FileResult, Finding, Report, Safety
from iacfix.settings import RuleSettings

DEFAULT_DIRECTORY = ".iacfix_cache"
#: Bumped when the entry layout changes.
_FORMAT = 2
_TEMP_PREFIX = ".entry-"
_TEMP_NAME = re.compile(rf"{re.escape(_TEMP_PREFIX)}(\d+)-\w+\.tmp")


class Cache:
    """Results of `fix_source` by content and everything else it depends on."""

    def __init__(self, directory: Path, rule_ids: Iterable[str], threshold: Safety | None,
                 settings: RuleSettings) -> None:
        self.directory = directory
        self._salt = _salt(rule_ids, threshold, settings)
        self._ready = False

    def key(self, source: bytes, project: ProjectContext, path: str) -> str:
        """The entry for `source` read at `path` (rules judge test code by its path)."""
        digest = hashlib.sha256(self._salt)
        digest.update(os.fsencode(path) + b"\0")
        digest.update(json.dumps(_plain(dataclasses.asdict(project)), sort_keys=True).encode())
        digest.update(b"\0")
        digest.update(source)
        return digest.hexdigest()

    def get(self, key: str, path: str, source: bytes) -> FileResult | None:
        """The cached result for `key`, shown under `path`, or None (missing or unreadable)."""
        entry = self._read(key)
        try:
            return _result(entry, path, source) if entry is not None else None
        except (ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, result: FileResult) -> None:
        """Store `result`; a cache that cannot be written is silently skipped (it is only a cache)."""
        self._write(key, {"format": _FORMAT, **_plain_result(result)})

    # -- whole runs ------------------------------------------------------------------------------

    def run_entry(self, paths: Sequence[Path], exclude: Sequence[str], region: str | None,
                  stack: str | None) -> RunEntry | None:
        """The whole-run entry for a run over `paths`, with the hash of each file read for its
        key; None when a Python file belongs to no Pulumi project (its context is read from
        outside the tree).

        The key covers every Python file of the run and every file of the Pulumi projects they
        (and the projects under `paths`) belong to, by content: the context is read from those
        files (Pulumi.yaml, stack files, requirements, lib/AWS_REGION). Also the working
        directory (paths are shown relative to it), the arguments, the region variables of the
        environment and the installed pulumi-aws, the other inputs of the context.
        """
        from iacfix.context import PROVIDER, project_root
        from iacfix.files import discover_projects, discover_resolved

        found = discover_resolved(paths, exclude)
        files = found.values()
        roots = {root.resolve() for root in discover_projects(paths, exclude)}
        for directory in {file.parent for file in files}:
            root = project_root(directory)
            if root is None:
                return None
            roots.add(root)
        try:
            installed = importlib.metadata.version(PROVIDER)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        digest = hashlib.sha256(self._salt)
        digest.update(json.dumps({
            "cwd": os.getcwd(), "paths": [str(p) for p in paths], "exclude": list(exclude), "region": region,
            "stack": stack, "installed": installed,
            "environment": {name: os.environ.get(name) for name in ("AWS_REGION", "AWS_DEFAULT_REGION")},
        }, sort_keys=True).encode())
        inputs = set(found)
        for root in roots:
            inputs.update(_files_under(root, self.directory))
        fingerprints = {path: _fingerprint(path) for path in sorted(inputs)}
        for path, fingerprint in fingerprints.items():
            digest.update(os.fsencode(path) + b"\0" + fingerprint)
        return RunEntry("r" + digest.hexdigest(), fingerprints)

    def get_run(self, entry: RunEntry) -> Report | None:
        """The report stored for `entry`, or None. Files with something to say are read again
        for their bytes, and must still be what the key was computed from."""
        stored = self._read(entry.key)
        try:
            if stored is None:
                return None
            results = []
            for item in stored["files"]:
                if not (item["output"] or item["findings"] or item["error"] or item.get("skipped")):
                    results.append(_result(item, item["path"], b""))  # silent: kept slim
                    continue
                source = entry.source(Path(item["path"]))
                if source is None:
                    return None  # changed since the key was computed
                results.append(_result(item, item["path"], source))
            return Report(files=tuple(results))
        except (ValueError, KeyError, TypeError):
            return None

    def put_run(self, entry: RunEntry, report: Report) -> None:
        self.remove_stale_temp_files()  # once per computed run
        self._write(entry.key, {"format": _FORMAT, "files": [
            {"path": result.path, **_plain_result(result)} for result in report.files]})

    def _write(self, key: str, entry: dict) -> None:
        try:
            target = self._file(key)
            self._prepare(target.parent)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f"{_TEMP_PREFIX}{os.getpid()}-",
                                                 suffix=".tmp")
            try:
                body = json.dumps(entry)
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(f"{body}\n{hashlib.sha256(body.encode()).hexdigest()}\n")
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return

    # -- whole projects (the project-level rules) ----------------------------------------------

    def project_key(self, root: Path, project: ProjectContext, inside: Sequence[Path],
                    fixed: Mapping[Path, bytes], phase: str) -> str:
        """The entry for the project-level rules of `phase` on the project at `root`: every file
        under it (by content; very large files by size and time), which entries its top level has
        (a virtualenv directory, say), the Python files in the run and, after the Python rules,
        their output."""
        digest = hashlib.sha256(self._salt)
        digest.update(os.fsencode(f"{phase}\0{root}\0"))
        digest.update(json.dumps(_plain(dataclasses.asdict(project)), sort_keys=True).encode())
        for path in _files_under(root):
            digest.update(os.fsencode(path.relative_to(root).as_posix()) + b"\0" + _fingerprint(path))
        try:
            digest.update(json.dumps(sorted((e.name, e.is_dir()) for e in os.scandir(root))).encode())
        except OSError:
            pass
        for path in sorted(inside):
            digest.update(b"in\0" + os.fsencode(path))
        for path, data in sorted(fixed.items()):
            if root in path.parents:
                digest.update(b"fixed\0" + os.fsencode(path) + hashlib.sha256(data).digest())
        return "p" + digest.hexdigest()

    def get_project(self, key: str, display) -> dict[Path, FileResult] | None:
        """The project rules' results stored under `key`, by resolved path, or None."""
        entry = self._read(key)
        try:
            if entry is None:
                return None
            return {Path(item["path"]): _result(item, display(Path(item["path"])), _read_bytes(Path(item["path"])))
                    for item in entry["files"]}
        except (ValueError, KeyError, TypeError):
            return None

    def put_project(self, key: str, results: Mapping[Path, FileResult]) -> None:
        self._write(key, {"format": _FORMAT, "files": [
            {"path": str(path), **_plain_result(result)} for path, result in results.items()]})

    def _read(self, key: str) -> dict | None:
        """The entry stored under `key`, or None (missing, unreadable, damaged, or of another format).

        Each entry ends with the SHA-256 of its JSON: a damaged entry that still parses (a flipped
        digit in a fixed file's bytes) must not be written into the user's file by `apply`.
        """
        try:
            body, _, digest = self._file(key).read_text(encoding="utf-8").rstrip("\n").rpartition("\n")
            if hashlib.sha256(body.encode()).hexdigest() != digest:
                return None
            entry = json.loads(body)
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and entry.get("format") == _FORMAT else None

    def remove_stale_temp_files(self) -> None:
        """Delete temporary entries of iacfix processes that were killed while writing them."""
        try:
            folders = [f for f in self.directory.iterdir() if f.is_dir()]
            for folder in folders:
                for name in os.listdir(folder):
                    match = _TEMP_NAME.fullmatch(name)
                    if match and not process_alive(int(match.group(1))):
                        (folder / name).unlink(missing_ok=True)
        except OSError:
            pass

    def _file(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _prepare(self, folder: Path) -> None:
        if not self._ready:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by iacfix: the result cache is never committed.\n*\n")
            self._ready = True
        folder.mkdir(exist_ok=True)


@dataclass(frozen=True)
class RunEntry:
    """The key of a whole run, and the fingerprint of each file it was computed from."""

    key: str
    fingerprints: Mapping[Path, bytes]

    def source(self, shown: Path) -> bytes | None:
        """The bytes of the file shown as `shown` (relative to the working directory), or None
        when they are no longer those the key was computed from."""
        resolved = shown.resolve()
        data = _read_bytes(resolved)
        expected = self.fingerprints.get(resolved)
        if expected is not None and expected != (hashlib.sha256(data).digest() if len(data) <= _HASH_LIMIT
                                                 else _fingerprint(resolved)):
            return None
        return data


def _plain_result(result: FileResult) -> dict:
    return {"output": result.output.hex() if result.changed else None,
            "findings": [_plain_finding(f) for f in result.findings],
            "error": result.error, "skipped": result.skipped}


def _result(item: dict, path: str, source: bytes) -> FileResult:
    """A stored result, shown under `path`, for the file whose bytes are `source`."""
    return FileResult(path=path, source=source,
                      output=source if item["output"] is None else bytes.fromhex(item["output"]),
                      findings=tuple(_finding(path, f) for f in item["findings"]),
                      error=item["error"], skipped=item.get("skipped"))


def _finding(path: str, data: dict) -> Finding:
    return Finding(path=path, line=data["line"], column=data["column"], rule_id=data["rule"],
                   message=data["message"], safety=Safety(data["safety"]), fixed=data["fixed"])


def _plain_finding(finding: Finding) -> dict:
    return {"line": finding.line, "column": finding.column, "rule": finding.rule_id, "message": finding.message,
            "safety": finding.safety.value, "fixed": finding.fixed}


#: Files larger than this are fingerprinted by size and modification time instead of content.
_HASH_LIMIT = 1 << 20


def _files_under(root: Path, cache: Path | None = None) -> list[Path]:
    """Every file under `root`, sorted, outside the directories discovery skips (and `cache`)."""
    skip = cache.resolve() if cache is not None else None
    found = []
    for base, directories, names in os.walk(root):
        directories[:] = sorted(d for d in directories if d not in SKIP_DIRS and Path(base, d) != skip)
        found += [Path(base) / name for name in names]
    return sorted(found)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; empty when it is missing or unreadable (a result for a deleted file)."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _contents(path: Path) -> bytes | None:
    """The file's bytes, or None when it is unreadable or larger than `_HASH_LIMIT`."""
    try:
        if path.stat().st_size > _HASH_LIMIT:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _fingerprint(path: Path) -> bytes:
    """The file's content hash; size and modification time for a large one."""
    data = _contents(path)
    if data is not None:
        return hashlib.sha256(data).digest()
    try:
        status = path.stat()
    except OSError:
        return b"unreadable"
    return f"{status.st_size}:{status.st_mtime_ns}".encode()


def _salt(rule_ids: Iterable[str], threshold: Safety | None, settings: RuleSettings) -> bytes:
    parts = {
        "format": _FORMAT,
        "version": __version__,
        "rules": sorted(rule_ids),
        "threshold": threshold.value if threshold is not None else None,
        "profile": settings.profile,
        "options": _plain(settings.options),
        "data": _data_digest(),
        "code": _code_digest(),
    }
    return json.dumps(parts, sort_keys=True).encode()


def _code_digest() -> str:
    """A hash of iacfix's own Python files: an edited rule (in a development checkout, where the
    version does not change) must not get the results of the rule before the edit."""
    digest = hashlib.sha256()
    for package in ("iacfix", "iacfix.codemods", "iacfix.cli"):
        folder = resources.files(package)
        for entry in sorted((e for e in folder.iterdir() if e.name.endswith(".py")), key=lambda e: e.name):
            digest.update(f"{package}/{entry.name}\0".encode() + entry.read_bytes())
    return digest.hexdigest()


def _data_digest() -> str:
    """A hash of the data files the rules read (a refreshed RDS table changes every key)."""
    digest = hashlib.sha256()
    folder = resources.files("iacfix.codemods") / "data"
    if folder.is_dir():
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_file():
                digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()


def _plain(value):
    """JSON-able and order-independent: sets and frozensets sorted, mappings as dicts."""
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
