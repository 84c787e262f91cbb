"""What a rule may need to know about the project a file belongs to.

The pulumi_aws major decides which provider API a fix may emit (v7 deprecated
`GetRegionResult.name` for `.region`); it comes from the project's pin, else the installed
pulumi_aws, else it is unknown and rules emit code that works on every supported major.
"""

from __future__ import annotations

import configparser
import functools
import importlib.metadata
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iacfix.errors import UsageError

if TYPE_CHECKING:  # packaging and ruamel.yaml are imported where used: a cached run needs neither
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PROJECT_FILE = "Pulumi.yaml"
PROVIDER = "pulumi-aws"
REGION_FILE = Path("lib") / "AWS_REGION"
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")


@dataclass(frozen=True)
class ProjectContext:
    """Facts about the project around a file; `None` means unknown. Each fact that has more than
    one possible source records which one it came from, so `check -v` can say why a rule fired."""

    root: str | None = None
    name: str | None = None
    main: str | None = None
    stacks: tuple[str, ...] = ()
    stack: str | None = None
    region: str | None = None
    region_source: str | None = None
    aws_major: int | None = None
    aws_major_source: str | None = None
    #: Fully qualified config keys (`ns:key`) the selected stack and Pulumi.yaml define; None
    #: outside a project, where nothing can be said about config.
    config_keys: frozenset[str] | None = None

    def describe(self) -> str:
        """One line for `check -v`."""
        def fact(value, source=None):
            if value is None:
                return "unknown"
            return f"{value} (from {source})" if source else str(value)

        stacks = ", ".join(self.stacks) or "none"
        return (
            f"project {fact(self.name)} at {self.root or 'none (no Pulumi.yaml)'}; entry point "
            f"{fact(self.main)}; stacks {stacks}; selected stack {fact(self.stack)}; region "
            f"{fact(self.region, self.region_source)}; pulumi_aws major "
            f"{fact(self.aws_major, self.aws_major_source)}"
        )


def project_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding a Pulumi.yaml."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / PROJECT_FILE).is_file():
            return directory
    return None


def stack_files(root: Path) -> dict[str, Path]:
    """`Pulumi.<stack>.yaml` files beside the project file, by stack name."""
    found = {}
    for path in sorted(root.glob("Pulumi.*.yaml")) + sorted(root.glob("Pulumi.*.yml")):
        stack = path.name[len("Pulumi."):].rsplit(".", 1)[0]
        if stack:
            found.setdefault(stack, path)
    return found


def load_yaml(path: Path) -> Any:
    """A YAML file as plain data, or None when it is missing or not valid YAML."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError, RecursionError):  # RecursionError: nested too deeply
        return None


@functools.lru_cache(maxsize=1024)
def context_for_directory(
    directory: Path, region: str | None = None, stack: str | None = None
) -> ProjectContext:
    """The context of a file in `directory` (cached: one lookup per directory per run)."""
    root = project_root(directory)
    major, major_source = None, None
    for candidate in _search_dirs(directory.resolve(), root):
        pinned = pinned_aws_major(candidate)
        if pinned is not None:
            major, major_source = pinned, f"the pin in {candidate}"
            break
    else:
        major = installed_aws_major()
        major_source = "the installed pulumi-aws" if major is not None else None
    if root is None:
        region_found = _region_outside_project(region)
        return ProjectContext(region=region_found[0], region_source=region_found[1],
                              aws_major=major, aws_major_source=major_source)

    project = load_yaml(root / PROJECT_FILE)
    project = project if isinstance(project, dict) else {}
    name = project.get("name") if isinstance(project.get("name"), str) else None
    stacks = stack_files(root)
    if stack is not None and stack not in stacks:
        raise UsageError(f"--stack {stack}: no Pulumi.{stack}.yaml in {root}")
    selected = stack if stack is not None else (next(iter(stacks)) if len(stacks) == 1 else None)
    stack_config = {
        stack_name: _config_of(load_yaml(path)) for stack_name, path in stacks.items()
    }
    region_value, region_source = _region(
        root, region, selected, stacks, stack_config, project_region(project)
    )
    keys = set(_project_config_keys(project, name))
    for stack_name, config in stack_config.items():
        if selected is None or stack_name == selected:
            keys |= set(config)
    return ProjectContext(
        root=str(root),
        name=name,
        main=entry_point(root, project),
        stacks=tuple(stacks),
        stack=selected,
        region=region_value,
        region_source=region_source,
        aws_major=major,
        aws_major_source=major_source,
        config_keys=frozenset(keys),
    )


def _config_of(stack_document: Any) -> dict[str, Any]:
    if isinstance(stack_document, dict) and isinstance(stack_document.get("config"), dict):
        return {str(k): v for k, v in stack_document["config"].items()}
    return {}


#: Keys of a Pulumi.yaml `config:` entry that make it a declaration rather than a plain value.
_DECLARATION_KEYS = frozenset({"type", "description", "secret", "default", "value", "items"})


def _project_config_keys(project: dict, name: str | None) -> list[str]:
    """Keys Pulumi.yaml gives a value: a plain value, or a declaration with `default:`/`value:`.
    A declaration with only `type:`/`description:`/`secret:` gives none: each stack must set it."""
    config = project.get("config")
    if not isinstance(config, dict):
        return []
    keys = []
    for key, declaration in config.items():
        if (isinstance(declaration, dict) and _DECLARATION_KEYS & set(declaration)
                and not {"default", "value"} & set(declaration)):
            continue
        keys.append(str(key) if ":" in str(key) else f"{name}:{key}")
    return keys


def entry_point(root: Path, project: dict) -> str | None:
    """What Pulumi runs: `main:` (a file, or a directory holding __main__.py), else __main__.py."""
    main = project.get("main")
    if isinstance(main, str) and main.strip():
        return main.strip()
    return "__main__.py" if (root / "__main__.py").is_file() else None


def project_region(project: Any) -> str | None:
    """The aws:region Pulumi.yaml gives every stack that does not set its own: a plain value, or
    the `value:` of its declaration (or its `default:`, which Pulumi rejects but which means the
    same to the author)."""
    config = project.get("config") if isinstance(project, dict) else None
    value = config.get("aws:region") if isinstance(config, dict) else None
    if isinstance(value, dict):
        value = value.get("value", value.get("default"))
    return str(value).strip() if isinstance(value, str) and value.strip() else None


def _region(root, region, selected, stacks, stack_config, inherited=None) -> tuple[str | None, str | None]:
    """--region, then aws:region of the selected stack (or of every stack, when they agree and
    none is selected; a stack without its own takes Pulumi.yaml's, `inherited`), then
    lib/AWS_REGION, then the environment."""
    if region:
        return region, "--region"
    if selected is not None:
        value = stack_config[selected].get("aws:region")
        if value:
            return str(value), f"aws:region in {stacks[selected].name}"
        if inherited:
            return inherited, f"aws:region in {PROJECT_FILE}"
    elif stacks:
        values = {str(config.get("aws:region") or inherited) for config in stack_config.values()}
        if len(values) == 1 and "None" not in values:
            return values.pop(), "aws:region in every stack file"
    elif inherited:
        return inherited, f"aws:region in {PROJECT_FILE}"
    region_file = root / REGION_FILE
    try:
        value = region_file.read_text(encoding="utf-8").strip() if region_file.is_file() else ""
    except (OSError, UnicodeDecodeError):
        value = ""
    if value:
        return value, REGION_FILE.as_posix()
    return _region_outside_project(None)


def _region_outside_project(region: str | None) -> tuple[str | None, str | None]:
    if region:
        return region, "--region"
    for variable in REGION_ENV:
        if os.environ.get(variable):
            return os.environ[variable], f"${variable}"
    return None, None


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
    from packaging.version import InvalidVersion, Version

    try:
        return Version(importlib.metadata.version(PROVIDER)).major
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return None


def pinned_aws_major(directory: Path) -> int | None:
    """The pulumi-aws major pinned by the dependency files in `directory`, if any."""
    for requirement in _requirements_in(directory):
        if canonical_name(requirement.name) == PROVIDER:
            return major_of(requirement.specifier)
    return None


def major_of(specifier: SpecifierSet) -> int | None:
    """The highest major version a specifier admits (`>=6,<7` -> 6, `==6.83.1` -> 6)."""
    from packaging.version import InvalidVersion, Version

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


def canonical_name(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503): `Pulumi_Random` -> `pulumi-random`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(directory: Path) -> frozenset[str]:
    """Canonical names of every requirement the dependency files in `directory` list."""
    return frozenset(canonical_name(r.name) for r in _requirements_in(directory))


def _requirements_in(directory: Path) -> list[Requirement]:
    from packaging.requirements import InvalidRequirement, Requirement

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
    from packaging.version import InvalidVersion, Version

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
