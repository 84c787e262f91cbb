#!/usr/bin/env python3
"""Regenerate the `derived` section of iacfix/data/replacement.json from the installed pulumi_aws.

`iacfix verify` marks a changed input REPLACE when the property forces a new resource. The
authoritative source is the provider schema (ForceNew on the bridged Terraform attributes), which
no installed package ships: pulumi_aws's Python SDK has no schema.json and the provider plugin is
a separate binary. What the SDK does ship is each argument's documentation, taken from the
upstream docs, which often says so ("Changing this forces a new resource to be created",
"Changing this value forces replacement", ...). This script reads those sentences from the SDK's
source (no import: plain text, per resource module), keeps the unconditional ones (not "(Forces
new for Multi-AZ DB clusters)" or "changing this value to an empty string forces replacement"),
and writes them by type token with the property's engine name (camelCase).

The docs do not say it for every such property (the S3 bucket name, RDS identifiers), so the
hand-entered `curated` section stays beside this one; the script never touches it.

    python scripts/replacement_from_docstrings.py            # rewrite the derived section
    python scripts/replacement_from_docstrings.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import tempfile
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "iacfix" / "data" / "replacement.json"
TOKEN = re.compile(r'@pulumi\.type_token\("(aws:[^"]+)"\)\nclass \w+\(pulumi\.CustomResource\):')
PARAM = re.compile(r":param [^\n]*? (\w+): ([^\n]*)")
FORCES = re.compile(
    r"(changing (this|it|`\w+`)( value| argument)? (forces|will force) (a |the )?"
    r"(new resource|replacement|creation of a new resource))|(\bforces new resource\b)",
    re.IGNORECASE,
)
CONDITIONAL = re.compile(r"\(forces new for|to an empty string forces|forces new .* only", re.IGNORECASE)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def derive(package: Path) -> dict[str, list[str]]:
    """type token -> sorted camelCase properties whose docs say a change replaces the resource."""
    table: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        match = TOKEN.search(text)
        if match is None:
            continue
        resource = text[match.end():]  # the resource class: its overloads document the arguments
        for name, doc in PARAM.findall(resource):
            if FORCES.search(doc) and not CONDITIONAL.search(doc):
                table.setdefault(match.group(1), set()).add(camel(name))
    return {token: sorted(props) for token, props in sorted(table.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the derived section is out of date")
    args = parser.parse_args(argv)
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        print("pulumi_aws is not installed", file=sys.stderr)
        return 2
    version = importlib.metadata.version("pulumi_aws")
    derived = {
        "source": f"derived by scripts/replacement_from_docstrings.py from the argument docs of pulumi_aws {version} "
                  "(\"Changing this forces a new resource\" and its variants), which come from the upstream "
                  "provider docs; not every ForceNew attribute is documented so",
        "types": derive(Path(spec.origin).parent),
    }
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    if args.check:
        same = data.get("derived", {}).get("types") == derived["types"]
        print("up to date" if same else "out of date: run scripts/replacement_from_docstrings.py")
        return 0 if same else 1
    data["derived"] = derived
    descriptor, temporary = tempfile.mkstemp(dir=TABLE.parent, prefix=".replacement-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=1) + "\n")
    os.replace(temporary, TABLE)
    count = sum(len(props) for props in derived["types"].values())
    print(f"{TABLE}: {count} properties of {len(derived['types'])} types from pulumi_aws {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
