"""Rule pulumi-yaml-project-name-mismatch: the project name and the config namespace disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import ScalarString

from iacfix.codemods._pulumi_config import (
    CONFIG_CLASSES,
    PROJECT_NAME,
    config_name_argument,
    is_provider_namespace,
    namespace_of_key,
    with_value,
)
from iacfix.context import project_root, stack_files
from iacfix.project import (
    ProjectRule,
    key_position,
    relative_posix,
    rename_key,
    replace_scalar,
    value_position,
)
from iacfix.results import Safety

#: Files worth parsing: a `Config(` call with a string literal first (or `name=`) argument, or
#: `Config` imported under another name.
_CONFIG_LITERAL = re.compile(rb"""\bConfig\s*\(\s*(?:name\s*=\s*)?[rRuU]?["']|\bConfig\s+as\b""")


@dataclass
class _Use:
    """One place that names a config namespace: a key in a YAML `config:` mapping, or the string
    literal of a `Config("ns")` call in a Python file."""

    path: Path
    namespace: str
    line: int
    column: int
    key: str | None = None
    mapping: CommentedMap | None = None
    literal: cst.SimpleString | None = None


class PulumiYamlProjectNameMismatch(ProjectRule):
    """The project `name:` in Pulumi.yaml is not the namespace its stack config and `Config("ns")`
    calls use.

    Pulumi passes a program the stack's config as `ns:key` pairs, and `pulumi.Config()` reads the
    namespace named like the project (`name:` in Pulumi.yaml). Seed 002 (§2) had `name:
    pulumi-infra` while everything else said `TapStack`; the same slip shows as stack files with
    keys such as `pulumi-infra:environmentSuffix` in a project named `TapStack`, or as a
    `pulumi.Config("pulumi-infra")` in its code. Keys of provider namespaces (`aws:region`,
    `random:`, `kubernetes:`, `pulumi:` ...) and of the project's own name are never a mismatch,
    nor is a namespace that stack files set and a `Config("ns")` call reads (a deliberate second
    namespace: its config is read).

    ## Why is this bad?
    The config is silently unread: `config.get("environmentSuffix")` returns None and the program
    falls back to its defaults (a dev suffix in production, a default database name), while
    `config.require(...)` stops `pulumi preview` with "Missing required configuration variable"
    although the stack file plainly sets the value. Deployment scripts that select
    `org/<project>/<stack>` fail with "provided project name doesn't match Pulumi.yaml".

    ## Fix
    Make the two sides agree by changing the side with fewer occurrences. The project side counts
    1 for the `name:` in Pulumi.yaml plus every stack key and `Config("name")` call that already
    uses the project name; the other side counts every stack key (all `Pulumi.<stack>.yaml`
    files), explicitly namespaced Pulumi.yaml `config:` key and `Config("ns")` call using the
    other namespace. When the other side is larger, `name:` becomes that namespace (same quotes,
    comments kept) and keys or calls using the old name follow it; otherwise, and on a tie, the
    project name is kept (it is the identity of the project's stacks) and the keys are renamed
    `ns:key` -> `name:key` in place (order and comments kept) and the `Config("ns")` literals
    rewritten to the project name (same quotes, any import spelling). When the stack files or
    code use two or more foreign namespaces, or a rename would collide with a key that already
    exists, the finding says what to rename and nothing is changed. A
    `# iacfix: ignore[pulumi-yaml-project-name-mismatch]` comment on the `name:` line silences the
    rule for the whole project.

    ## Fix safety
    Unsafe. The project name is part of every stack's identity: renaming it changes which stacks
    `pulumi stack select` finds and which state a backend holds for the project (a self-managed
    backend keeps stacks under `.pulumi/stacks/<project>/`), and deployment scripts that name
    `org/<project>/<stack>` must follow. Renaming keys changes the values the program reads at
    run time, so resources configured from them may change. Review the diff before applying.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/projects/project-file/
    - https://www.pulumi.com/docs/iac/concepts/config/
    - seed 002, §2 "Pulumi Project Name Configuration Mismatch"
    """

    id = "pulumi-yaml-project-name-mismatch"
    title = "Make the Pulumi.yaml project name and the stack config namespace agree"
    safety = Safety.UNSAFE

    def check(self) -> None:
        project_file = self.project.project_file
        document = self.project.mapping(project_file)
        if document is None or not isinstance(document.get("name"), str):
            return
        name = str(document["name"])
        name_line, name_column = value_position(document, "name")
        if self._suppressed(project_file, name_line):
            return

        uses = self._yaml_uses(project_file, document) + self._python_uses()
        uses = [u for u in uses if not is_provider_namespace(u.namespace)]
        # A namespace both set in YAML and read by a `Config("ns")` call is read: a deliberate
        # second namespace (a shared component's settings), not config nobody reads.
        set_in_yaml = {u.namespace for u in uses if u.literal is None}
        read_in_code = {u.namespace for u in uses if u.literal is not None}
        uses = [u for u in uses if u.namespace == name or u.namespace not in set_in_yaml & read_in_code]
        foreign = sorted({u.namespace for u in uses if u.namespace != name})
        if not foreign:
            return
        if len(foreign) > 1:
            self._report_several(project_file, name_line, name_column, name, foreign, uses)
            return
        other = foreign[0]
        own_side = [u for u in uses if u.namespace == name]
        other_side = [u for u in uses if u.namespace == other]
        changed: set[Path] = set()
        if len(other_side) > 1 + len(own_side) and PROJECT_NAME.fullmatch(other):
            where = _places(self.project.root, other_side)
            if self.report(
                project_file, name_line, name_column,
                f"The project is named `{name}` but its config in {where} uses the `{other}` "
                f"namespace ({len(other_side)} places against {1 + len(own_side)}), so `Config()` "
                f"never reads it; the fix renames the project to `{other}`, which changes the "
                "identity of its stacks.",
            ):
                replace_scalar(document, "name", other)
                changed.add(project_file)
                changed |= self._rename(own_side, name, other)
        else:
            changed |= self._rename(other_side, other, name)
        for path in sorted(changed):
            if path.suffix == ".py":
                continue
            self.project.save_yaml(path, self.project.yaml(path))

    # -- what uses which namespace -----------------------------------------------------------

    def _yaml_uses(self, project_file: Path, document: CommentedMap) -> list[_Use]:
        """Namespaced keys of Pulumi.yaml's `config:` and of every stack file's `config:`."""
        uses = self._keys(project_file, document)
        for path in stack_files(self.project.root).values():
            stack = self.project.mapping(path)
            if stack is not None:
                uses += self._keys(path, stack)
        return uses

    @staticmethod
    def _keys(path: Path, document: CommentedMap) -> list[_Use]:
        config = document.get("config")
        if not isinstance(config, CommentedMap):
            return []
        uses = []
        for key in config:
            namespace = namespace_of_key(key)
            if namespace:
                line, column = key_position(config, key)
                uses.append(_Use(path, namespace, line, column, key=key, mapping=config))
        return uses

    def _python_uses(self) -> list[_Use]:
        """`Config("ns")` string literals in the project's Python files (not nested projects')."""
        uses = []
        self._trees: dict[Path, MetadataWrapper] = {}
        for path in self.project.python_files:
            data = self.project.read(path)
            if (not data or not _CONFIG_LITERAL.search(data)
                    or project_root(path.parent) != self.project.root):
                continue
            wrapper = self.project.python_tree(path)
            if wrapper is None:
                continue
            finder = _ConfigLiterals()
            wrapper.visit(finder)
            self._trees[path] = wrapper
            for literal, line, column in finder.found:
                uses.append(_Use(path, literal.evaluated_value, line, column, literal=literal))
        return uses

    # -- fixes -------------------------------------------------------------------------------

    def _rename(self, uses: list[_Use], old: str, new: str) -> set[Path]:
        """Rename `old` to `new` in each use the threshold allows; the files changed."""
        changed: set[Path] = set()
        literals: dict[Path, dict[cst.SimpleString, str]] = {}
        for use in uses:
            shown = relative_posix(self.project.root, use.path.resolve())
            if use.literal is not None:
                if self.report(
                    use.path, use.line, use.column,
                    f'`Config("{old}")` reads the `{old}` namespace, but the project\'s config is '
                    f'under `{new}`, so it finds none of it; the fix makes it `Config("{new}")`.',
                ):
                    literals.setdefault(use.path, {})[use.literal] = new
                continue
            assert use.key is not None and use.mapping is not None
            new_key = new + use.key[len(old):]
            if new_key in use.mapping:
                self.report(
                    use.path, use.line, use.column,
                    f"`{use.key}` in {shown} uses the `{old}` namespace, not the project's "
                    f"`{new}`, and `{new_key}` is already set there: keep the right value under "
                    f"`{new_key}` and delete `{use.key}`.",
                    safety=Safety.DISPLAY_ONLY,
                )
                continue
            if self.report(
                use.path, use.line, use.column,
                f"`{use.key}` in {shown} uses the `{old}` namespace, but the project's config is "
                f"under `{new}`, so the program never reads it; the fix renames it to `{new_key}`.",
            ):
                key = use.key
                rename_key(use.mapping, key, type(key)(new_key) if isinstance(key, ScalarString) else new_key)
                changed.add(use.path)
        for path, replacements in literals.items():
            rewritten = self._trees[path].module.visit(_ReplaceLiterals(replacements))
            self.project.write(path, rewritten.bytes)
            changed.add(path)
        return changed

    def _report_several(self, project_file: Path, line: int, column: int, name: str,
                        foreign: list[str], uses: list[_Use]) -> None:
        places = "; ".join(
            f"`{ns}` in {_places(self.project.root, [u for u in uses if u.namespace == ns])}"
            for ns in foreign
        )
        self.report(
            project_file, line, column,
            f"The project is named `{name}` but its config uses other namespaces ({places}), "
            f"so `Config()` never reads those values; rename those keys to `{name}:<key>` and the "
            f'`Config("...")` names to `"{name}"`, or rename the project if they are right.',
            safety=Safety.DISPLAY_ONLY,
        )


def _places(root: Path, uses: list[_Use]) -> str:
    files = sorted({relative_posix(root, u.path.resolve()) for u in uses})
    return ", ".join(files)


class _ConfigLiterals(cst.CSTVisitor):
    """The string literal of every `pulumi.Config("ns")` call (any import spelling)."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[cst.SimpleString, int, int]] = []

    def visit_Call(self, node: cst.Call) -> None:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, node.func, set())}
        if not names & CONFIG_CLASSES:
            return
        known, literal = config_name_argument(node)
        if known and literal is not None and literal.evaluated_value:
            start = self.get_metadata(PositionProvider, literal).start
            self.found.append((literal, start.line, start.column + 1))


class _ReplaceLiterals(cst.CSTTransformer):
    def __init__(self, replacements: dict[cst.SimpleString, str]) -> None:
        super().__init__()
        self.replacements = replacements

    def leave_SimpleString(self, original_node: cst.SimpleString,
                           updated_node: cst.SimpleString) -> cst.SimpleString:
        if original_node in self.replacements:
            return with_value(updated_node, self.replacements[original_node])
        return updated_node
