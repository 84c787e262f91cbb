"""What a rule may need to know about the project a file belongs to.

The pulumi_aws major decides which provider API a fix may emit (v7 deprecated
`GetRegionResult.name` for `.region`); it comes from the project's pin, else the installed
pulumi_aws, else it is unknown and rules emit code that works on every supported major.
"""

from __future__ import annotations

import configparser
import functools
import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PROJECT_FILE = "Pulumi.yaml"
PROVIDER = "pulumi-aws"


@dataclass(frozen=True)
class ProjectContext:
    """Facts about the project around a file; `None` means unknown."""

    root: str | None = None
    region: str | None = None
    aws_major: int | None = None

    def with_region(self, region: str | None) -> ProjectContext:
        if region is None:
            return self
        return ProjectContext(root=self.root, region=region, aws_major=self.aws_major)


def project_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding a Pulumi.yaml."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / PROJECT_FILE).is_file():
            return directory
    return None


@functools.lru_cache(maxsize=1024)
def context_for_directory(directory: Path, region: str | None = None) -> ProjectContext:
    """The context of a file in `directory` (cached: one lookup per directory per run)."""
    root = project_root(directory)
    search = _search_dirs(directory.resolve(), root)
    major = next((m for d in search if (m := pinned_aws_major(d)) is not None), None)
    if major is None:
        major = installed_aws_major()
    return ProjectContext(root=str(root) if root else None, region=region, aws_major=major)


def _search_dirs(directory: Path, root: Path | None) -> list[Path]:
    """`directory` and its parents up to the project root, else up to the repository root."""
    chain = [directory, *directory.parents]
    if root is not None:
        return chain[: chain.index(root) + 1]
    for index, current in enumerate(chain):
        if (current / ".git").exists():
            return chain[: index + 1]
    return [directory]


def installed_aws_major() -> int | None:
    try:
        return Version(importlib.metadata.version(PROVIDER)).major
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return None


def pinned_aws_major(directory: Path) -> int | None:
    """The pulumi-aws major pinned by the dependency files in `directory`, if any."""
    for requirement in _requirements_in(directory):
        if _canonical(requirement.name) == PROVIDER:
            return major_of(requirement.specifier)
    return None


def major_of(specifier: SpecifierSet) -> int | None:
    """The highest major version a specifier admits (`>=6,<7` -> 6, `==6.83.1` -> 6)."""
    probes: set[Version] = set()
    for spec in specifier:
        try:
            version = Version(spec.version.rstrip(".*"))
        except InvalidVersion:
            continue
        probes |= {version, Version(f"{version.major}.99999"), Version(f"{version.major + 1}.0")}
        probes.add(Version(f"{version.major + 1}.99999"))
        if version.major > 0:
            probes.add(Version(f"{version.major - 1}.99999"))
    majors = {p.major for p in probes if specifier.contains(p, prereleases=True)}
    return max(majors) if majors else None


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements_in(directory: Path) -> list[Requirement]:
    lines: list[str] = []
    for req_file in sorted(directory.glob("requirements*.txt")):
        lines += _read_lines(req_file)
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        data = _read_toml(pyproject)
        lines += data.get("project", {}).get("dependencies", [])
        poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
        lines += [_poetry_line(name, spec) for name, spec in poetry.items()]
    pipfile = directory / "Pipfile"
    if pipfile.is_file():
        packages = _read_toml(pipfile).get("packages", {})
        lines += [_poetry_line(name, spec) for name, spec in packages.items()]
    setup_cfg = directory / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(setup_cfg, encoding="utf-8")
            lines += parser.get("options", "install_requires", fallback="").splitlines()
        except (configparser.Error, UnicodeDecodeError):
            pass
    requirements = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirements.append(Requirement(line))
        except InvalidRequirement:
            continue
    return requirements


def _poetry_line(name: str, spec: object) -> str:
    if isinstance(spec, dict):
        spec = spec.get("version", "")
    spec = str(spec).strip()
    if spec in ("", "*"):
        return name
    if spec.startswith("^"):  # poetry caret: ^6.2 means >=6.2,<7
        try:
            version = Version(spec[1:])
        except InvalidVersion:
            return name
        return f"{name}>={version},<{version.major + 1}"
    if spec[0].isdigit():
        return f"{name}=={spec}"
    return f"{name}{spec}"


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
