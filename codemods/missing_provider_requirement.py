"""Rule missing-provider-requirement: the program imports a Pulumi package its requirements lack."""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node

from iacfix.context import canonical_name, requirement_names
from iacfix.project import ProjectRule, relative_posix
from iacfix.results import Safety

REQUIREMENTS = "requirements.txt"
#: Cheap byte test before a file is parsed: it must mention a Pulumi package in an import.
_MENTIONS = re.compile(rb"\b(?:import|from)\s+pulumi_\w+")
#: Every top-level package name a file may import from (`pulumi_random` of `pulumi_random.x`).
_PACKAGE = re.compile(rb"(?<![\w.])pulumi_\w+")
#: The version range written for packages iacfix knows (the current major on PyPI, checked with
#: `pip index versions <name>` on 2026-11-25). Others are added unpinned, and the message says so.
KNOWN_RANGES = {"pulumi-random": ">=4.0.0,<5.0.0", "pulumi-tls": ">=5.0.0,<6.0.0"}


class MissingProviderRequirement(ProjectRule):
    """The program imports a Pulumi provider package (`pulumi_random`, `pulumi_tls`, ...) that the
    project's `requirements.txt` does not list.

    Pulumi installs a Python project's dependencies from `requirements.txt` into the project's
    virtualenv before it runs the program. A package the program imports but the file does not list
    is found on the author's machine (installed by hand, or by another project) and missing in CI
    and for everyone else. It happens most when a fix adds a provider: replacing a literal database
    password with `pulumi_random.RandomPassword` (seed 002's fix) needs `pulumi-random`. This rule
    runs after the Python rules, so it sees the imports their fixes add.

    ## Why is this bad?
    `pulumi preview` fails at once with `ModuleNotFoundError: No module named 'pulumi_random'`
    on every machine that did not install the package by hand: the program never runs.

    ## Fix
    Append the missing requirement to `requirements.txt`, keeping its comments, order and newline
    style: `pulumi-random>=4.0.0,<5.0.0` for the packages whose current major iacfix knows, the
    bare name otherwise (pin it yourself). Projects whose dependencies live in `pyproject.toml`,
    `Pipfile` or `setup.cfg` instead are reported without a fix, naming the file to edit; projects
    with no dependency file at all are not checked (nothing says how they are installed).

    ## Fix safety
    Safe: adding a dependency the program already imports changes no resource; it only makes the
    program installable where it was not.

    ## References
    - https://www.pulumi.com/docs/iac/languages-sdks/python/#dependencies
    - https://www.pulumi.com/registry/packages/random/installation-configuration/
    - Seed 002 §3 (the RandomPassword fix)
    """

    id = "missing-provider-requirement"
    title = "Add the Pulumi packages the program imports to requirements.txt"
    safety = Safety.SAFE
    after_python = True

    def check(self) -> None:
        root = self.project.root
        listed = requirement_names(root)
        needed: dict[str, Path] = {}
        for path in self.project.own_python_files():
            for package in self._imported_packages(path, listed):
                if canonical_name(package) not in listed:
                    needed.setdefault(canonical_name(package), path)
        if not needed:
            return
        requirements = root / REQUIREMENTS
        data = self.project.read(requirements)
        if data is None:
            self._report_elsewhere(root, needed)
            return
        lines = data.decode("utf-8", errors="replace").splitlines() or [""]
        additions = []
        for name, importer in sorted(needed.items()):
            line = name + KNOWN_RANGES.get(name, "")
            pin = "" if name in KNOWN_RANGES else " (unpinned: add a version range)"
            message = (f"{relative_posix(root, importer)} imports {name.replace('-', '_')} but {REQUIREMENTS} "
                       f"does not list {name}; adds `{line}`{pin}")
            if self.report(requirements, len(lines), 1, message):
                additions.append(line)
        if additions:
            self.project.write(requirements, _appended(data, additions))

    def _report_elsewhere(self, root: Path, needed: dict[str, Path]) -> None:
        other = next((root / name for name in ("pyproject.toml", "Pipfile", "setup.cfg") if (root / name).is_file()),
                     None)
        if other is None:
            return
        for name, importer in sorted(needed.items()):
            self.report(other, 1, 1, f"{relative_posix(root, importer)} imports {name.replace('-', '_')} but "
                        f"{other.name} does not list {name}; add it there", safety=Safety.DISPLAY_ONLY)

    def _imported_packages(self, path: Path, listed: frozenset[str]) -> set[str]:
        """Top-level `pulumi_*` packages the file imports (anywhere in it, aliases included), when
        it mentions one the requirements do not list (else the file is not parsed)."""
        data = self.project.read(path)
        if not data or not _MENTIONS.search(data) or all(
                canonical_name(name.decode()) in listed for name in _PACKAGE.findall(data)):
            return set()
        wrapper = self.project.python_tree(path)
        if wrapper is None:
            return set()
        found: set[str] = set()
        for node in m.findall(wrapper.module, m.Import() | m.ImportFrom()):
            if isinstance(node, cst.Import):
                names = [get_full_name_for_node(alias.name) for alias in node.names]
            elif node.module is not None and not node.relative:
                names = [get_full_name_for_node(node.module)]
            else:
                names = []
            found |= {name.split(".")[0] for name in names if name and name.startswith("pulumi_")}
        return found


def _appended(data: bytes, lines: list[str]) -> bytes:
    """`data` with `lines` added at the end, in the file's own newline style."""
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    if data and not data.endswith(b"\n"):
        data += newline
    return data + b"".join(line.encode() + newline for line in lines)
