"""The result cache: a file whose bytes, context and rule set have not changed since the last run
costs a read and a hash, not a parse.

An entry is keyed by the SHA-256 of everything the result depends on: the file's bytes, the
project context rules read (region, pulumi_aws major, config keys, ...), the selected rules, the
safety threshold, the profile and rule options, the iacfix version and the data files shipped with
the rules (the RDS version table). Any change gives another key, so a stale result is never
returned. Entries are JSON files written atomically (a temporary file, then `os.replace`), so
concurrent runs at worst compute the same entry twice; an entry that does not load is treated as
missing. The directory holds a `.gitignore` of `*` so it is never committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from iacfix import __version__
from iacfix.context import ProjectContext
from iacfix.files import SKIP_DIRS
from iacfix.results import FileResult, Finding, Safety
from iacfix.rule import RuleDocs, RuleSettings

DEFAULT_DIRECTORY = ".iacfix_cache"
#: Bumped when the entry layout changes.
_FORMAT = 1


class Cache:
    """Results of `fix_source` by content and everything else it depends on."""

    def __init__(self, directory: Path, rules: Sequence[type[RuleDocs]], threshold: Safety | None,
                 settings: RuleSettings) -> None:
        self.directory = directory
        self._salt = _salt(rules, threshold, settings)
        self._ready = False

    def key(self, source: bytes, project: ProjectContext, path: str) -> str:
        """The entry for `source` read at `path` (rules judge test code by its path)."""
        digest = hashlib.sha256(self._salt)
        digest.update(path.encode() + b"\0")
        digest.update(json.dumps(_plain(dataclasses.asdict(project)), sort_keys=True).encode())
        digest.update(b"\0")
        digest.update(source)
        return digest.hexdigest()

    def get(self, key: str, path: str, source: bytes) -> FileResult | None:
        """The cached result for `key`, shown under `path`, or None (missing or unreadable)."""
        try:
            entry = json.loads(self._file(key).read_text(encoding="utf-8"))
            if entry.get("format") != _FORMAT:
                return None
            output = source if entry["output"] is None else bytes.fromhex(entry["output"])
            findings = tuple(_finding(path, f) for f in entry["findings"])
            return FileResult(path=path, source=source, output=output, findings=findings,
                              error=entry["error"], skipped=entry["skipped"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, result: FileResult) -> None:
        """Store `result`; a cache that cannot be written is silently skipped (it is only a cache)."""
        self._write(key, {
            "format": _FORMAT,
            "output": result.output.hex() if result.changed else None,
            "findings": [_plain_finding(f) for f in result.findings],
            "error": result.error,
            "skipped": result.skipped,
        })

    def _write(self, key: str, entry: dict) -> None:
        try:
            target = self._file(key)
            self._prepare(target.parent)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".entry-", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(entry, stream)
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
        digest.update(f"{phase}\0{root}\0".encode())
        digest.update(json.dumps(_plain(dataclasses.asdict(project)), sort_keys=True).encode())
        for path in _files_under(root):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + _fingerprint(path))
        try:
            digest.update(json.dumps(sorted((e.name, e.is_dir()) for e in os.scandir(root))).encode())
        except OSError:
            pass
        for path in sorted(inside):
            digest.update(b"in\0" + str(path).encode())
        for path, data in sorted(fixed.items()):
            if root in path.parents:
                digest.update(b"fixed\0" + str(path).encode() + hashlib.sha256(data).digest())
        return "p" + digest.hexdigest()

    def get_project(self, key: str, display) -> dict[Path, FileResult] | None:
        """The project rules' results stored under `key`, by resolved path, or None."""
        try:
            entry = json.loads(self._file(key).read_text(encoding="utf-8"))
            if entry.get("format") != _FORMAT:
                return None
            results = {}
            for item in entry["files"]:
                path = Path(item["path"])
                source = path.read_bytes() if path.is_file() else b""
                shown = display(path)
                results[path] = FileResult(
                    path=shown, source=source,
                    output=source if item["output"] is None else bytes.fromhex(item["output"]),
                    findings=tuple(_finding(shown, f) for f in item["findings"]), error=item["error"])
            return results
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_project(self, key: str, results: Mapping[Path, FileResult]) -> None:
        self._write(key, {"format": _FORMAT, "files": [
            {"path": str(path), "output": result.output.hex() if result.changed else None,
             "findings": [_plain_finding(f) for f in result.findings], "error": result.error}
            for path, result in results.items()
        ]})

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


def _finding(path: str, data: dict) -> Finding:
    return Finding(path=path, line=data["line"], column=data["column"], rule_id=data["rule"],
                   message=data["message"], safety=Safety(data["safety"]), fixed=data["fixed"])


def _plain_finding(finding: Finding) -> dict:
    return {"line": finding.line, "column": finding.column, "rule": finding.rule_id, "message": finding.message,
            "safety": finding.safety.value, "fixed": finding.fixed}


#: Files larger than this are fingerprinted by size and modification time instead of content.
_HASH_LIMIT = 1 << 20


def _files_under(root: Path) -> list[Path]:
    """Every file under `root`, sorted, outside the directories discovery skips."""
    found = []
    for base, directories, names in os.walk(root):
        directories[:] = sorted(d for d in directories if d not in SKIP_DIRS)
        found += [Path(base) / name for name in names]
    return sorted(found)


def _fingerprint(path: Path) -> bytes:
    try:
        status = path.stat()
        if status.st_size > _HASH_LIMIT:
            return f"{status.st_size}:{status.st_mtime_ns}".encode()
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return b"unreadable"


def _salt(rules: Sequence[type[RuleDocs]], threshold: Safety | None, settings: RuleSettings) -> bytes:
    parts = {
        "format": _FORMAT,
        "version": __version__,
        "rules": sorted(rule.id for rule in rules),
        "threshold": threshold.value if threshold is not None else None,
        "profile": settings.profile,
        "options": _plain(settings.options),
        "data": _data_digest(),
    }
    return json.dumps(parts, sort_keys=True).encode()


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
