"""Project-level rules: rules that see a Pulumi project (Pulumi.yaml, stack files, the file
tree), not one module.

A `ProjectRule` has the same metadata and docs as a Python `Rule` and the same `report()` choke
point (suppression comments, safety threshold). It reads files through `Project`, which edits YAML
with ruamel.yaml's round-trip mode so comments, key order and quoting survive, and collects the
new bytes of every file it changes; the engine turns them into FileResults, so `diff` shows YAML and
Python changes in one patch and `apply` writes them the same way.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import MetadataWrapper
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import ScalarString
from ruamel.yaml.tokens import CommentToken

from iacfix import limits
from iacfix.context import PROJECT_FILE, ProjectContext
from iacfix.results import Finding, Safety
from iacfix.rule import ALL_RULES, RuleDocs, RuleSettings, suppression_ids


class YAMLProblem(Exception):
    """A YAML file that cannot be read or parsed; `line`/`column` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def round_trip_yaml() -> YAML:
    """ruamel.yaml set up to change nothing it is not asked to: quotes kept, no re-wrapping."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class Project:
    """One Pulumi project as a rule sees it; edits stay in memory until the CLI writes them."""

    def __init__(self, root: Path, context: ProjectContext, python_files: list[Path],
                 display: Any = str, settings: RuleSettings | None = None,
                 fixed: dict[Path, bytes] | None = None) -> None:
        self.root = root
        self.context = context
        self.settings = settings or RuleSettings()
        #: Python files as the Python rules left them (resolved path -> bytes), for rules that
        #: run after them (`ProjectRule.after_python`); empty for the rules that run first.
        self.fixed = fixed or {}
        self.python_files = python_files
        self._display = display
        self._originals: dict[Path, bytes | None] = {}
        self.edits: dict[Path, bytes] = {}
        self._documents: dict[Path, Any] = {}
        self._trees: dict[Path, tuple[bytes, MetadataWrapper | None]] = {}

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    def display(self, path: Path) -> str:
        return self._display(path)

    def own_python_files(self) -> list[Path]:
        """`python_files` without those of a nested project (a directory between the file and the
        root holding its own Pulumi.yaml): each file belongs to its nearest project only."""
        root = self.root.resolve()
        own = []
        for path in self.python_files:
            chain = list(path.resolve().parents)
            between = chain[: chain.index(root)] if root in chain else []
            if not any((directory / PROJECT_FILE).is_file() for directory in between):
                own.append(path)
        return own

    def original(self, path: Path) -> bytes | None:
        """The bytes on disk when the run started (None if the file does not exist)."""
        if path not in self._originals:
            try:
                self._originals[path] = path.read_bytes() if path.is_file() else None
            except OSError:
                self._originals[path] = None
        return self._originals[path]

    def read(self, path: Path) -> bytes | None:
        """The current bytes: an earlier rule's edit, else the Python rules' output, else the file
        on disk."""
        if path in self.edits:
            return self.edits[path]
        return self.fixed.get(path.resolve(), self.original(path))

    def python_tree(self, path: Path) -> MetadataWrapper | None:
        """The Python file's current bytes parsed, shared by every project rule (each file is
        parsed once per run of the project rules, and each metadata provider resolved once on
        it); None when the file is empty, binary, too large or deep (`limits`) or does not parse (the
        Python rules report it)."""
        data = self.read(path)
        cached = self._trees.get(path)
        if cached is not None and cached[0] is data:
            return cached[1]
        wrapper = None
        if data and b"\0" not in data and limits.refusal(data) is None:
            try:
                wrapper = MetadataWrapper(cst.parse_module(data), unsafe_skip_copy=True)
            except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, LookupError, ValueError,
                    RecursionError, MemoryError):
                wrapper = None
        self._trees[path] = (data, wrapper)
        return wrapper

    def snapshot(self) -> dict[Path, bytes]:
        return dict(self.edits)

    def restore(self, snapshot: dict[Path, bytes]) -> None:
        """Undo the edits made since `snapshot` (a rule crashed half-way)."""
        self.edits = dict(snapshot)
        self._documents.clear()  # documents are mutable: a crashed rule may have changed one

    def write(self, path: Path, data: bytes) -> None:
        if data != self.read(path):
            self.edits[path] = data
            self._documents.pop(path, None)

    def mapping(self, path: Path) -> CommentedMap | None:
        """The file as a round-trip mapping, or None when it is missing, does not parse or is not
        a mapping: rules that edit a document skip such files (pulumi-yaml-invalid reports them)."""
        try:
            document = self.yaml(path)
        except YAMLProblem:
            return None
        return document if isinstance(document, CommentedMap) else None

    def yaml(self, path: Path) -> Any:
        """The file as a round-trip document (CommentedMap for a mapping); None if missing.

        Raises YAMLProblem for a file that is not UTF-8 or not valid YAML.
        """
        if path in self._documents:
            return self._documents[path]
        data = self.read(path)
        if data is None:
            return None
        try:
            # CRLF is read as LF (save_yaml writes the file's own style back), else ruamel keeps
            # the "\r" inside comments and the round trip doubles it.
            document = round_trip_yaml().load(data.decode("utf-8-sig").replace("\r\n", "\n"))
        except UnicodeDecodeError as error:
            raise YAMLProblem(f"not UTF-8: {error}") from error
        except RecursionError as error:
            raise YAMLProblem("nested too deeply to read") from error
        except YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise YAMLProblem(
                str(getattr(error, "problem", None) or error),
                (mark.line + 1) if mark else 1,
                (mark.column + 1) if mark else 1,
            ) from error
        self._documents[path] = document
        return document

    def save_yaml(self, path: Path, document: Any) -> None:
        """Serialise an edited round-trip document back, in the file's newline style and BOM."""
        original = self.read(path) or b""
        stream = io.StringIO()
        round_trip_yaml().dump(document, stream)
        text = stream.getvalue()
        if b"\r\n" in original:
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8")
        if original.startswith(b"\xef\xbb\xbf"):
            data = b"\xef\xbb\xbf" + data
        self.write(path, data)
        self._documents[path] = document


def rename_key(mapping: CommentedMap, old: str, new: str) -> None:
    """Rename `old` to `new` in place: same position, same value, its comments kept where they were
    (an end-of-line comment moves by the length difference, so its spacing stays as written)."""
    index = list(mapping).index(old)
    comments = mapping.ca.items.pop(old, None)
    mapping.insert(index, new, mapping.pop(old))
    if comments:
        shift = len(new) - len(old)
        for token in comments:
            if token is not None and hasattr(token, "column"):
                token.column = max(0, token.column + shift)
        mapping.ca.items[new] = comments


def insert_after(mapping: CommentedMap, after: str, key: str, value: Any) -> None:
    """Insert `key: value` right after the key `after`, keeping the comment lines that stood
    between `after` and the next key above that next key (ruamel hangs them on the previous
    key, or on the last key of its nested block, so a plain insert would slide them above `key`)."""
    mapping.insert(list(mapping).index(after) + 1, key, value)
    owner, slot = mapping, after
    while isinstance(owner[slot], (CommentedMap, CommentedSeq)) and len(owner[slot]):
        owner = owner[slot]
        slot = list(owner)[-1] if isinstance(owner, CommentedMap) else len(owner) - 1
    comments = owner.ca.items.get(slot)
    token = comments[2] if comments and len(comments) > 2 else None
    if token is None or "\n" not in token.value:
        return
    end_of_line, following = token.value.split("\n", 1)
    if not following:
        return
    token.value = end_of_line + "\n"
    moved = CommentToken("\n" + following, token.start_mark, None)
    mapping.ca.items[key] = [None, None, moved, None]


def replace_scalar(mapping: CommentedMap, key: str, value: str) -> None:
    """Set the string under `key` to `value` in the old value's quoting style (plain, '...' or
    "..."), keeping an end-of-line comment the same distance after the value as written."""
    old = mapping[key]
    mapping[key] = type(old)(value) if isinstance(old, ScalarString) else value
    comments = mapping.ca.items.get(key)
    token = comments[2] if comments and len(comments) > 2 else None
    if token is not None and not token.value.startswith("\n") and hasattr(token, "column"):
        token.column = max(0, token.column + len(value) - len(str(old)))


def key_position(mapping: Any, key: str) -> tuple[int, int]:
    """1-based (line, column) of `key` in a round-trip mapping, (1, 1) when unknown."""
    if isinstance(mapping, CommentedMap) and key in mapping:
        line, column = mapping.lc.key(key)
        return line + 1, column + 1
    return 1, 1


def value_position(mapping: Any, key: str) -> tuple[int, int]:
    """1-based (line, column) of the value under `key` in a round-trip mapping."""
    if isinstance(mapping, CommentedMap) and key in mapping:
        line, column = mapping.lc.value(key)
        return line + 1, column + 1
    return 1, 1


class ProjectRule(RuleDocs):
    """Base class of rules that see a whole project. Subclasses implement `check()`."""

    #: Run after the Python rules and see their fixes through `project.read()` (a rule that
    #: reacts to what a fix introduced, such as a new import that needs a requirement). Such a
    #: rule edits only files the Python rules do not (dependency files, YAML).
    after_python: ClassVar[bool] = False

    def __init__(self, project: Project, threshold: Safety | None = Safety.SAFE) -> None:
        self.project = project
        self.threshold = threshold
        self.findings_by_path: dict[Path, list[Finding]] = {}

    @property
    def findings(self) -> list[Finding]:
        return [f for found in self.findings_by_path.values() for f in found]

    @property
    def settings(self) -> RuleSettings:
        return self.project.settings

    def check(self) -> None:
        """Inspect `self.project`; `report()` each failure and edit files where it returns True."""
        raise NotImplementedError

    def report(self, path: Path, line: int, column: int, message: str, *,
               safety: Safety | None = None) -> bool:
        """Record a finding in `path` at `line`/`column`; True when the rule should fix it.

        A `# iacfix: ignore[rule-id]` (or bare `# iacfix: ignore`) comment on that line of the
        file suppresses it, as in Python files.
        """
        safety = safety or self.safety
        if self._suppressed(path, line):
            return False
        apply = safety.allowed_by(self.threshold)
        self.findings_by_path.setdefault(path, []).append(Finding(
            path=self.project.display(path), line=line, column=column, rule_id=self.id,
            message=message, safety=safety, fixed=apply,
        ))
        return apply

    def _suppressed(self, path: Path, line: int) -> bool:
        data = self.project.original(path)
        if not data:
            return False
        lines = data.decode("utf-8", errors="replace").splitlines()
        if not 1 <= line <= len(lines):
            return False
        ids = suppression_ids(lines[line - 1])
        return ALL_RULES in ids or self.id in ids


def relative_posix(root: Path, path: Path) -> str:
    """`path` relative to the project root, for messages."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
