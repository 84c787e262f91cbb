"""Build the pulumi_aws signature index the provider-aware rules read (`codemods/data/pulumi_aws_v<N>.json.gz`).

    python scripts/build_provider_index.py --version 7.51.1     # install into a throwaway venv, introspect
    python scripts/build_provider_index.py --version 6.83.2
    python scripts/build_provider_index.py --introspect         # introspect the pulumi_aws installed here

The normal mode creates a temporary virtual environment, installs `pulumi-aws==VERSION` there and
runs this same script in it with `--introspect`, so the index describes exactly that release and
never the one iacfix's own environment happens to have. The output is written to the package data
folder as `pulumi_aws_v<major>.json.gz` (gzip without a timestamp, so the bytes depend only on the
content).

What is recorded, per module (`""` is the `pulumi_aws` package itself, `"s3"` is `pulumi_aws.s3`):
- `resources`: every `pulumi.CustomResource`/`ComponentResource` class: the keywords its
  constructor accepts (`_internal_init`, which is where an unknown keyword raises TypeError; `opts`
  included), the keywords its `*Args` class declares deprecated (the `warnings.warn` the SDK emits),
  the class's own deprecation message, its type token and its output attributes;
- `functions`: every `get_*` invoke (its `_output` twin takes the same keywords): keywords, its
  deprecation, the attributes of its result and which of those are deprecated;
- `types`: every `@pulumi.input_type` class (`...Args`): its keywords and deprecated keywords;
- `names`: every other public name (enums, result classes, `...ArgsDict`, helpers), so a rule can
  tell a name that exists from one that does not.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import linecache
import pkgutil
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "codemods" / "data"
FORMAT = 1
_KEYWORD_DEPRECATION = re.compile(
    r'if (\w+) is not None:\s*\n\s*warnings\.warn\("""(.*?)""", DeprecationWarning\)', re.DOTALL)
#: Parameters that are not keywords a caller passes (`self=` is a real input of some types, so only
#: the bound first parameter is dropped, by position).
_SKIPPED_PARAMETERS = {"resource_name", "__props__", "__opts__"}


MANIFEST = DATA / "pulumi_aws_indexes.json"


def output_path(major: int, folder: Path = DATA) -> Path:
    return folder / f"pulumi_aws_v{major}.json.gz"


def record(major: int, version: str, data: bytes, manifest: Path = MANIFEST) -> None:
    """Note the release and digest of a shipped index in the manifest (the test suite checks each
    shipped file against it, so an index cannot change without a rebuild saying so)."""
    entries = json.loads(manifest.read_text()) if manifest.exists() else {}
    entries[str(major)] = {"version": version, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    manifest.write_text(json.dumps(dict(sorted(entries.items())), indent=2) + "\n")


def encode(index: dict) -> bytes:
    """Deterministic bytes: sorted compact JSON, gzip with no name and no timestamp."""
    text = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(text, compresslevel=9, mtime=0)


def _keywords(function) -> list[str]:
    parameters = list(inspect.signature(function).parameters.values())
    if (parameters and parameters[0].name in ("self", "__self__")
            and parameters[0].kind is parameters[0].POSITIONAL_OR_KEYWORD):
        parameters = parameters[1:]
    return sorted(p.name for p in parameters
                  if p.name not in _SKIPPED_PARAMETERS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def _deprecation_message(function) -> str | None:
    """The message of `@_utilities.deprecated(message)` (kept in the wrapper's closure)."""
    if function is None or "_pulumi_deprecated_callable" not in getattr(function, "__dict__", {}):
        return None
    return str(inspect.getclosurevars(function).nonlocals.get("message", "deprecated"))


def _function_source(function) -> str:
    """The source of a function read by indentation (`inspect.getsource` tokenizes, 10x slower)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    lines = linecache.getlines(code.co_filename)
    start = code.co_firstlineno - 1
    while start < len(lines) and lines[start].lstrip().startswith("@"):
        start += 1
    if start >= len(lines):
        return ""
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return "".join(lines[start:end])


def _deprecated_keywords(cls) -> dict[str, str]:
    source = _function_source(vars(cls).get("__init__"))
    return {name: message for name, message in _KEYWORD_DEPRECATION.findall(source)}


def _class_deprecation(cls) -> str | None:
    """The `warnings.warn(...)` that opens the class body (the SDK's mark of a deprecated class)."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if path is None:
        return None
    source = linecache.getlines(path)
    pattern = re.compile(rf"^class {re.escape(cls.__name__)}\(")
    for number, line in enumerate(source):
        if pattern.match(line):
            following = source[number + 1] if number + 1 < len(source) else ""
            match = re.match(r'\s+warnings\.warn\("""(.*?)""", DeprecationWarning\)', following)
            return match.group(1) if match else None
    return None


def _getters(cls) -> tuple[list[str], dict[str, str]]:
    """Attributes declared with `@pulumi.getter` (properties), and the deprecated ones."""
    names, deprecated = [], {}
    for name, member in vars(cls).items():
        if isinstance(member, property) and not name.startswith("_"):
            names.append(name)
            message = _deprecation_message(member.fget)
            if message:
                deprecated[name] = message
    return sorted(names), deprecated


def _resource(cls, pulumi) -> dict:
    init = getattr(cls, "_internal_init", None)
    keywords = _keywords(init) if init is not None else []
    args_class = getattr(inspect.getmodule(cls), f"{cls.__name__}Args", None)
    outputs, _ = _getters(cls)
    entry = {"kw": keywords, "out": outputs}
    deprecated = _deprecated_keywords(args_class) if isinstance(args_class, type) else {}
    if deprecated:
        entry["dep_kw"] = deprecated
    if message := _class_deprecation(cls):
        entry["dep"] = message
    token = getattr(cls, "pulumi_type", None) or getattr(cls, "_pulumi_type", None)
    if isinstance(token, str):
        entry["token"] = token
    return entry


def _function(function, module) -> dict:
    entry = {"kw": _keywords(function)}
    if message := _deprecation_message(function):
        entry["dep"] = message
    target = getattr(function, "_pulumi_deprecated_callable", function)
    annotation = inspect.signature(target).return_annotation
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    name = name.removeprefix("Awaitable")
    result = getattr(module, name, None)
    if isinstance(result, type):
        entry["result"], deprecated = _getters(result)
        if deprecated:
            entry["dep_result"] = deprecated
    return entry


def _module_entry(module, pulumi) -> dict:
    resources, functions, types, names = {}, {}, {}, []
    getattr(module, "_utilities", None)  # a lazily imported module loads on its first attribute access
    for name in sorted(vars(module)):
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if inspect.ismodule(value):
            continue
        owner = getattr(value, "__module__", "") or ""
        if not owner.startswith(module.__name__):
            continue  # imported helpers (typing, pulumi), not part of the provider's API
        if isinstance(value, type) and issubclass(value, pulumi.Resource):
            resources[name] = _resource(value, pulumi)
        elif inspect.isfunction(value) and name.startswith("get_") and not name.endswith("_output"):
            functions[name] = _function(value, module)
        elif isinstance(value, type) and hasattr(value, "_pulumi_input_type") or (
                isinstance(value, type) and name.endswith("Args") and "__init__" in vars(value)):
            entry = {"kw": _keywords(value.__init__)}
            if deprecated := _deprecated_keywords(value):
                entry["dep_kw"] = deprecated
            types[name] = entry
        else:
            names.append(name)
    return {"resources": resources, "functions": functions, "types": types, "names": names}


def build_index() -> dict:
    """Introspect the pulumi_aws importable here."""
    warnings.simplefilter("ignore")
    import pulumi
    import pulumi_aws

    version = importlib.metadata.version("pulumi-aws")
    modules = {"": _module_entry(pulumi_aws, pulumi)}
    for info in sorted(pkgutil.iter_modules(pulumi_aws.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"pulumi_aws.{info.name}")
        modules[info.name] = _module_entry(module, pulumi)
    return {
        "format": FORMAT,
        "package": "pulumi-aws",
        "version": version,
        "major": int(version.split(".")[0]),
        "modules": modules,
    }


def build_in_throwaway_venv(version: str) -> bytes:
    """Install pulumi-aws==`version` into a temporary venv and run `--introspect` there."""
    with tempfile.TemporaryDirectory(prefix="pulumi-aws-index-") as directory:
        venv = Path(directory) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"pulumi-aws=={version}"], check=True)
        output = Path(directory) / "index.json.gz"
        subprocess.run([str(python), __file__, "--introspect", "--output", str(output)], check=True)
        return output.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--version", help="pulumi-aws release to install into a throwaway venv and index")
    mode.add_argument("--introspect", action="store_true", help="index the pulumi_aws installed here")
    parser.add_argument("--output", type=Path,
                        help="where to write (default: codemods/data/pulumi_aws_v<major>.json.gz)")
    options = parser.parse_args(argv)
    if options.introspect:
        data = encode(build_index())
    else:
        data = build_in_throwaway_venv(options.version)
    index = json.loads(gzip.decompress(data))
    output = options.output or output_path(index["major"])
    output.write_bytes(data)
    if options.output is None:
        record(index["major"], index["version"], data)
    print(f"wrote {output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
