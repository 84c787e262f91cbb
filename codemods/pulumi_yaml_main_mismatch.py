"""Rule pulumi-yaml-main-mismatch: Pulumi.yaml's `main:` and the program's real entry point disagree."""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, QualifiedNameProvider
from ruamel.yaml.comments import CommentedMap

from iacfix import limits
from iacfix.project import (
    ProjectRule,
    insert_after,
    key_position,
    replace_scalar,
    value_position,
)
from iacfix.results import Safety

DUNDER_MAIN = "__main__.py"
#: Callables in the `pulumi` package that create resources; its other capitalised names
#: (Config, ResourceOptions, Output, ...) are helpers, not resources.
PULUMI_RESOURCES = frozenset({"ComponentResource", "CustomResource", "StackReference"})


class PulumiYamlMainMismatch(ProjectRule):
    """Pulumi.yaml's `main:` names no runnable program, or a second entry point sits beside it.

    For a Python project Pulumi runs the file `main:` names, or `<main>/__main__.py` when it names
    a directory, or `__main__.py` in the project root when there is no `main:`. Generated projects
    often get this wrong: `main: app.py` when the program is `tap.py`, `main: lib/` where `lib/`
    has no `__main__.py`, or a leftover `__main__.py` next to `main: tap.py` (seed 001).

    ## Why is this bad?
    When `main:` points at nothing, `pulumi preview` stops before the program runs (it cannot find
    the file, or finds no `__main__` module in the directory) and no stack can be deployed. A
    second entry point that Pulumi never runs is worse in a quiet way: people edit it, review it
    and test it, and the deployed infrastructure does not change.

    ## Fix
    Point `main:` at the real entry point: a Python file in the project root that imports pulumi
    and, at module level, creates a resource or component or calls `pulumi.export` (directly or
    through a function it calls). A name that differs only in case (`main: Tap.py` for `tap.py`,
    which works on macOS and fails in Linux CI) is corrected to the file's spelling. The value's
    quoting and the comments around it are kept. With no `main:` and no `__main__.py`, the fix adds
    `main: <file>` after `description:` (or `runtime:`).

    With several candidates, or none, the finding lists them and leaves the choice to you. A
    `__main__.py` that looks like an entry point beside a `main:` that names another one is
    reported on `__main__.py` itself: delete it, or point `main:` at it.

    ## Fix safety
    Safe where exactly one file can be the entry point: the project did not run at all before, and
    afterwards it runs the only program it has. Everything else is display-only, because which of
    two programs should be deployed is a decision for a human. Only Python projects are checked;
    `main:` values that are absolute or leave the project directory, which Pulumi rejects, are
    reported without a fix.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/projects/project-file/ (`main`)
    - https://www.pulumi.com/docs/iac/languages-sdks/python/
    - Seeds 001 (a stray `__main__.py` beside `main: tap.py`) and 002 (`main: lib/`)
    """

    id = "pulumi-yaml-main-mismatch"
    title = "Point Pulumi.yaml's `main:` at the program's real entry point"
    safety = Safety.SAFE

    def check(self) -> None:
        path = self.project.project_file
        document = self.project.mapping(path)
        if document is None or _runtime_name(document) != "python":
            return
        main = document.get("main")
        if main is None or (isinstance(main, str) and not main.strip()):
            self._check_default_entry_point(document)
        elif isinstance(main, str):
            self._check_main(document, main)

    # -- no `main:`: Pulumi runs ./__main__.py --------------------------------------------------

    def _check_default_entry_point(self, document: CommentedMap) -> None:
        if _exact_path(self.project.root, DUNDER_MAIN) is not None:
            return
        path = self.project.project_file
        line, column = key_position(document, "runtime")
        candidates = self._candidates()
        problem = "Pulumi.yaml has no `main:` and the project has no __main__.py, so Pulumi finds no program to run"
        if len(candidates) == 1:
            if self.report(path, line, column,
                           f"{problem}; the fix adds `main: {candidates[0]}`, the only entry point."):
                if "main" in document:  # `main:` with no value
                    _set_value(document, "main", candidates[0])
                else:
                    insert_after(document, "description" if "description" in document else "runtime",
                                 "main", candidates[0])
                self.project.save_yaml(path, document)
        elif candidates:
            self.report(path, line, column,
                        f"{problem}: add `main:` naming the one to deploy ({_listing(candidates)}).",
                        safety=Safety.DISPLAY_ONLY)
        else:
            self.report(path, line, column,
                        f"{problem}: add `main:` naming the program's entry point, or create __main__.py.",
                        safety=Safety.DISPLAY_ONLY)

    # -- `main:` is set ----------------------------------------------------------------------------

    def _check_main(self, document: CommentedMap, main: str) -> None:
        path = self.project.project_file
        root = self.project.root
        line, column = value_position(document, "main")
        relative = PurePosixPath(main.strip().replace("\\", "/"))
        if relative.is_absolute() or main.strip()[1:3] == ":\\" or ".." in relative.parts:
            self.report(path, line, column,
                        f"`main: {main}` must be a path inside the project directory, or Pulumi "
                        "refuses the project: make it relative to Pulumi.yaml.",
                        safety=Safety.DISPLAY_ONLY)
            return
        target = _exact_path(root, relative.as_posix())
        because = "the only entry point"
        if target is not None and target.is_file():
            self._check_stray_dunder_main(main, target)
            return
        if target is not None and target.is_dir():
            inner = _exact_path(target, DUNDER_MAIN)
            if inner is not None and inner.is_file():
                self._check_stray_dunder_main(main, inner)
                return
            problem = f"`main: {main}` is a directory without a __main__.py, so Pulumi finds no program in it"
            candidates = self._candidates()
        else:
            problem = f"`main: {main}` names a path that does not exist, so Pulumi has no program to run"
            near = _case_insensitive_path(root, relative.as_posix())
            if near is not None and near.is_file():
                spelled = near.relative_to(root).as_posix()
                problem = (f"`main: {main}` does not exist on a case-sensitive file system "
                           f"(the file is {spelled})")
                candidates, because = [spelled], "its real spelling"
            else:
                candidates = self._candidates()
        if len(candidates) == 1:
            if self.report(path, line, column,
                           f"{problem}; the fix points it at {candidates[0]}, {because}."):
                _set_value(document, "main", candidates[0])
                self.project.save_yaml(path, document)
        elif candidates:
            self.report(path, line, column,
                        f"{problem}: point `main:` at the one to deploy ({_listing(candidates)}).",
                        safety=Safety.DISPLAY_ONLY)
        else:
            self.report(path, line, column,
                        f"{problem}: point `main:` at the program's entry point.",
                        safety=Safety.DISPLAY_ONLY)

    def _check_stray_dunder_main(self, main: str, entry: Path) -> None:
        stray = _exact_path(self.project.root, DUNDER_MAIN)
        if stray is None or not stray.is_file() or stray.resolve() == entry.resolve():
            return
        if not _looks_like_entry_point(self.project.read(stray)):
            return
        self.report(stray, 1, 1,
                    f"Pulumi runs {main.strip()} (`main:` in Pulumi.yaml); __main__.py is never run: "
                    "delete it or point `main:` at it.",
                    safety=Safety.DISPLAY_ONLY)

    def _candidates(self) -> list[str]:
        """Python files in the project root that look like a Pulumi entry point."""
        try:
            names = sorted(os.listdir(self.project.root))
        except OSError:
            return []
        return [name for name in names
                if name.endswith(".py") and (self.project.root / name).is_file()
                and _looks_like_entry_point(self.project.read(self.project.root / name))]


def _set_value(mapping: CommentedMap, key: str, new: str) -> None:
    """Replace the value of `key` in place: same quoting, and an end-of-line comment kept at the
    same distance from the value, also for a `key:` written with no value at all."""
    if isinstance(mapping[key], str):
        replace_scalar(mapping, key, new)
        return
    comments = mapping.ca.items.get(key)
    token = comments[2] if comments and len(comments) > 2 else None
    if token is not None and not token.value.startswith("\n") and getattr(token, "column", None) is not None:
        value_column = mapping.lc.key(key)[1] + len(key) + 2  # after `key: `
        gap = token.column - (value_column - 1)  # the comment's distance from the colon
        token.column = value_column + len(new) + gap
    mapping[key] = new


def _runtime_name(document: CommentedMap) -> str | None:
    runtime = document.get("runtime")
    if isinstance(runtime, CommentedMap):
        runtime = runtime.get("name")
    return runtime.strip() if isinstance(runtime, str) else None


def _listing(names: list[str]) -> str:
    return ", ".join(names)


def _exact_path(root: Path, relative: str) -> Path | None:
    """`root / relative` if it exists with exactly that spelling (case-insensitive file systems
    would accept `Tap.py` for `tap.py`; Pulumi in Linux CI does not)."""
    current = root
    for part in PurePosixPath(relative).parts:
        if part == ".":
            continue
        try:
            if part not in os.listdir(current):
                return None
        except OSError:
            return None
        current = current / part
    return current


def _case_insensitive_path(root: Path, relative: str) -> Path | None:
    """The one existing path that matches `relative` ignoring case, if exactly one does."""
    current = root
    for part in PurePosixPath(relative).parts:
        if part == ".":
            continue
        try:
            matches = [name for name in os.listdir(current) if name.lower() == part.lower()]
        except OSError:
            return None
        if len(matches) != 1:
            return None
        current = current / matches[0]
    return current


def _looks_like_entry_point(source: bytes | None) -> bool:
    """Imports pulumi and, at module level (or in a module-level function it calls), creates a
    resource or component or calls `pulumi.export`."""
    if not source or b"pulumi" not in source or limits.refusal(source) is not None:
        return False
    try:
        wrapper = MetadataWrapper(cst.parse_module(source))
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    finder = _EntryPointFinder(wrapper.module)
    with finder.resolve(wrapper):
        wrapper.module.visit(finder)
        seen: set[str] = set()
        while not finder.found and finder.called:
            name = finder.called.pop()
            if name not in seen:
                seen.add(name)
                finder.functions[name].body.visit(finder)
    return finder.imports_pulumi and finder.found


class _EntryPointFinder(cst.CSTVisitor):
    """Looks through module-level code (function and class bodies only when the module calls the
    function) for what a Pulumi program does: import pulumi, create resources, export values."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider,)

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.functions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
        self.called: list[str] = []
        self.imports_pulumi = False
        self.found = False

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self._note_module(get_full_name_for_node(alias.name) or "")

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is not None and not node.relative:
            self._note_module(get_full_name_for_node(node.module) or "")

    def _note_module(self, name: str) -> None:
        top = name.split(".", 1)[0]
        if top == "pulumi" or top.startswith("pulumi_"):
            self.imports_pulumi = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        for qualified in self.get_metadata(QualifiedNameProvider, node.func, set()):
            name = qualified.name
            if name == "pulumi.export" or _creates_resource(name, node):
                self.found = True
            elif name in self.functions and isinstance(node.func, cst.Name):
                self.called.append(name)


def _creates_resource(qualified: str, call: cst.Call) -> bool:
    """A call that looks like `SomeResource("name", ...)`: a capitalised class, not from the
    standard library or a pulumi helper, given a resource name (first argument or `name=`)."""
    parts = qualified.split(".")
    last, top = parts[-1], parts[0]
    if not last[:1].isupper() or last.endswith("Args"):
        return False
    if top == "builtins" or (len(parts) > 1 and top in sys.stdlib_module_names):
        return False
    if top == "pulumi" and last not in PULUMI_RESOURCES:
        return False
    return any(arg.keyword is None or arg.keyword.value in ("name", "resource_name")
               for arg in call.args if arg.star == "")
