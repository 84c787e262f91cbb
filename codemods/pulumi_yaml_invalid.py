"""Rule pulumi-yaml-invalid: a Pulumi.yaml or stack file that Pulumi cannot load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from iacfix.context import stack_files
from iacfix.project import ProjectRule, YAMLProblem, key_position
from iacfix.results import Safety

#: The language runtimes Pulumi ships a language host for (`pulumi-language-<runtime>`); any
#: other name makes Pulumi look for a plugin of that name, which a normal install does not have.
RUNTIMES = ("nodejs", "python", "go", "dotnet", "java", "yaml")
#: Pulumi's rule for project names (tokens.ValidateProjectName): "project names may only contain
#: alphanumerics, hyphens, underscores, and periods", at most 100 characters.
PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
#: Misspellings seen in generated projects, by the runtime they meant.
RUNTIME_HINTS = {"python": ("py",), "nodejs": ("node", "javascript", "typescript", "js", "ts"),
                 "go": ("go",), "dotnet": ("dotnet", ".net", "csharp", "c#", "fsharp"),
                 "java": ("java", "jvm"), "yaml": ("yaml", "yml")}
#: `runtime.options.toolchain` values the Python language host accepts.
PYTHON_TOOLCHAINS = ("pip", "poetry", "uv")


class PulumiYamlInvalid(ProjectRule):
    """Pulumi.yaml or a `Pulumi.<stack>.yaml` file that Pulumi cannot load as written.

    Checks what Pulumi checks before it runs a program: the project file parses as YAML and is a
    mapping; it has a `name:` that is a valid project name (letters, digits, `-`, `_`, `.`, at most
    100 characters) and a `runtime:` that is one of Pulumi's languages (`nodejs`, `python`, `go`,
    `dotnet`, `java`, `yaml`), given as a string or as a mapping with `name:`; `main:`, if present,
    is a string; a Python runtime's `options` is a mapping whose `toolchain` is `pip`, `poetry` or
    `uv`. Every stack file parses and is a mapping whose `config:` is a mapping.

    It also warns when `runtime.options.virtualenv` (pip toolchain) names a directory that is not
    there or is not a virtual environment. That is a set-up step rather than a broken file:
    `pulumi install` creates the virtualenv and installs the requirements into it, and until then
    `pulumi preview` and `pulumi up` stop with "doesn't appear to be a virtual environment". If
    your CI always runs `pulumi install` first, silence it with `# iacfix: ignore[pulumi-yaml-invalid]`
    on the `virtualenv:` line. Only the pip toolchain (the default) is checked: poetry and uv
    create and manage their own environments.

    ## Why is this bad?
    Pulumi reads these files before anything else; one that does not load stops every command
    for the project (`preview`, `up`, `destroy`, `config`), usually with an error that names the
    file but not what a generated project got wrong: `runtime: python3`, a project name with a
    space, a stack file whose `config:` is a list, a tab in the indentation.

    ## Fix
    None automatic: each finding names the file and the key (line and column; for a YAML syntax
    error, where the parser stopped) and says what to write there. The right project name, runtime
    or virtualenv path is the author's choice, and a project name is part of every stack's identity.

    ## Fix safety
    Display-only.

    ## References
    - https://www.pulumi.com/docs/iac/concepts/projects/project-file/
    - https://www.pulumi.com/docs/iac/languages-sdks/python/#virtual-environments
    - https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/
    - Issue 5; no seed shows these failures directly, but seed 002's fix rewrote the same keys
      (`name:`, `runtime:` as a mapping with `name: python`, `main:`)
    """

    id = "pulumi-yaml-invalid"
    title = "Report a Pulumi.yaml or stack file that Pulumi cannot load"
    safety = Safety.DISPLAY_ONLY

    def check(self) -> None:
        path = self.project.project_file
        parsed, document = self._load(path, "Pulumi.yaml")
        if parsed and isinstance(document, CommentedMap):
            self._check_project(path, document)
        elif parsed:
            self._say(path, 1, 1, "Pulumi.yaml must be a mapping with at least `name:` and "
                      "`runtime:` keys; Pulumi cannot load the project as it is.")
        for stack, stack_path in stack_files(self.project.root).items():
            self._check_stack_file(stack, stack_path)

    def _say(self, path: Path, line: int, column: int, message: str) -> None:
        self.report(path, line, column, message, safety=Safety.DISPLAY_ONLY)

    def _load(self, path: Path, shown: str) -> tuple[bool, Any]:
        """(True, document), or (False, None) after reporting a file that does not parse."""
        try:
            return True, self.project.yaml(path)
        except YAMLProblem as problem:
            self._say(path, problem.line, problem.column,
                      f"{shown} does not parse ({problem}); Pulumi cannot load it: fix the YAML here.")
            return False, None

    # -- Pulumi.yaml --------------------------------------------------------------------------

    def _check_project(self, path: Path, document: CommentedMap) -> None:
        name = document.get("name")
        if "name" not in document:
            self._say(path, 1, 1, "Pulumi.yaml has no `name:`, so Pulumi refuses the project: add "
                      "`name: <project>` (the name your stacks and `<project>:` config keys use).")
        elif not isinstance(name, str) or not name.strip():
            self._say(path, *key_position(document, "name"),
                      "`name:` must be a non-empty string naming the project.")
        elif not PROJECT_NAME.fullmatch(name):
            self._say(path, *key_position(document, "name"),
                      f"`name: {name}` is not a valid Pulumi project name (letters, digits, `-`, `_` "
                      "and `.` only, at most 100 characters): rename it, and the config keys that use it.")
        self._check_runtime(path, document)
        main = document.get("main")
        if main is not None and not isinstance(main, str):
            self._say(path, *key_position(document, "main"),
                      "`main:` must be a path (a string) to the program's entry point, relative to Pulumi.yaml.")

    def _check_runtime(self, path: Path, document: CommentedMap) -> None:
        if "runtime" not in document or document["runtime"] is None:
            language = "python" if any(self.project.root.glob("*.py")) else "<language>"
            self._say(path, *(key_position(document, "runtime") if "runtime" in document else (1, 1)),
                      f"Pulumi.yaml has no `runtime:`, so Pulumi cannot run the program: add "
                      f"`runtime: {language}`.")
            return
        runtime = document["runtime"]
        where, owner, key = runtime, document, "runtime"
        if isinstance(runtime, CommentedMap):
            if not isinstance(runtime.get("name"), str):
                self._say(path, *key_position(document, "runtime"),
                          "`runtime:` as a mapping needs `name:` with the language (e.g. `name: python`).")
                return
            where, owner, key = runtime["name"], runtime, "name"
        elif not isinstance(runtime, str):
            self._say(path, *key_position(document, "runtime"),
                      f"`runtime:` must be a language name ({', '.join(RUNTIMES)}) or a mapping with `name:`.")
            return
        if where not in RUNTIMES:
            hint = _closest_runtime(where)
            self._say(path, *key_position(owner, key),
                      f"`{key}: {where}` is not one of Pulumi's runtimes ({', '.join(RUNTIMES)}); "
                      f"Pulumi looks for a `pulumi-language-{where}` plugin and fails: write {hint}.")
            return
        if where == "python" and isinstance(runtime, CommentedMap) and "options" in runtime:
            self._check_python_options(path, runtime)

    def _check_python_options(self, path: Path, runtime: CommentedMap) -> None:
        options = runtime["options"]
        if options is None:
            return
        if not isinstance(options, CommentedMap):
            self._say(path, *key_position(runtime, "options"),
                      "`runtime.options` must be a mapping (e.g. `virtualenv: venv`).")
            return
        toolchain = options.get("toolchain", "pip")
        if "toolchain" in options and toolchain not in PYTHON_TOOLCHAINS:
            self._say(path, *key_position(options, "toolchain"),
                      f"`toolchain: {toolchain}` is not a Python toolchain Pulumi knows: write "
                      "`pip`, `poetry` or `uv`.")
            return
        if "virtualenv" not in options:
            return
        virtualenv = options["virtualenv"]
        position = key_position(options, "virtualenv")
        if not isinstance(virtualenv, str) or not virtualenv.strip():
            self._say(path, *position, "`virtualenv:` must be a directory path, relative to Pulumi.yaml.")
            return
        if toolchain != "pip":
            return  # poetry and uv manage their own environments
        directory = self.project.root / virtualenv.strip()
        if not directory.exists():
            self._say(path, *position,
                      f"`virtualenv: {virtualenv}` does not exist yet: `pulumi preview` and `pulumi up` "
                      "fail until it does; run `pulumi install` (locally and in CI) to create it.")
        elif not _is_virtualenv(directory):
            self._say(path, *position,
                      f"`virtualenv: {virtualenv}` exists but has no bin/python (Scripts/python.exe), so "
                      "Pulumi says it is not a virtual environment: delete it and run `pulumi install`.")

    # -- Pulumi.<stack>.yaml ------------------------------------------------------------------

    def _check_stack_file(self, stack: str, path: Path) -> None:
        parsed, document = self._load(path, path.name)
        if not parsed or document is None:
            return  # reported, or empty (valid: a stack with no settings)
        if not isinstance(document, CommentedMap):
            self._say(path, 1, 1, f"{path.name} must be a mapping (with `config:`); Pulumi cannot load "
                      f"stack {stack} as it is.")
            return
        config = document.get("config")
        if config is not None and not isinstance(config, CommentedMap):
            self._say(path, *key_position(document, "config"),
                      f"`config:` in {path.name} must be a mapping of `namespace:key: value` entries; "
                      f"Pulumi cannot read stack {stack}'s configuration as it is.")


def _closest_runtime(written: str) -> str:
    """The runtime a wrong name most likely meant (`python3` -> `python`), else the list."""
    spelled = written.strip().lower()
    for runtime, prefixes in RUNTIME_HINTS.items():
        if spelled.startswith(prefixes):
            return f"`{runtime}`"
    return "one of them"


def _is_virtualenv(directory: Path) -> bool:
    """What Pulumi's Python host checks: a python executable inside the directory."""
    return (directory / "bin" / "python").is_file() or (directory / "Scripts" / "python.exe").is_file()
