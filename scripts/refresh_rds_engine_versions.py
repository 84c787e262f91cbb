#!/usr/bin/env python3
"""Regenerate codemods/data/rds_engine_versions.json from AWS: the RDS engine versions each region
offers, as the rule `rds-engine-version-unavailable` reads them.

For every engine and region it calls `describe_db_engine_versions(Engine=...)` through boto3's
paginator (which follows `Marker` until the last page), keeps the `EngineVersion` of every entry
(the API lists only versions that can be created unless `IncludeAll` is set) and writes the table
atomically (a temporary file in the same directory, then `os.replace`). The layout is stable so a
refresh shows as a small diff: keys sorted, versions sorted by their numeric parts, one line per
region.

    python scripts/refresh_rds_engine_versions.py                 # the regions already in the file
    python scripts/refresh_rds_engine_versions.py --region eu-south-1 --region us-east-1

Needs AWS credentials with `rds:DescribeDBEngineVersions` (read-only); without credentials it
says so and exits 2. Exit 1 when an API call fails (nothing is written then).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "codemods" / "data" / "rds_engine_versions.json"
ENGINES = ("aurora-mysql", "aurora-postgresql", "mysql", "postgres")
DEFAULT_REGIONS = (
    "ap-northeast-1",
    "ap-southeast-1",
    "eu-central-1",
    "eu-south-1",
    "eu-west-1",
    "us-east-1",
    "us-east-2",
    "us-west-2",
)


def version_key(version: str) -> tuple[tuple[int, ...], str]:
    """Order versions by their numeric parts: 15.10 after 15.9, 8.0.mysql_aurora.3.05.2 after
    3.04.4 (the text breaks ties, e.g. between 3.05.2 and 3.5.2)."""
    return tuple(int(part) for part in re.findall(r"\d+", version)), version


def fetch_versions(client: Any, engine: str) -> list[str]:
    """Every engine version `client`'s region offers for `engine`, following every page."""
    versions: set[str] = set()
    for page in client.get_paginator("describe_db_engine_versions").paginate(Engine=engine):
        for entry in page.get("DBEngineVersions", []):
            if entry.get("Engine") in (None, engine) and entry.get("EngineVersion"):
                versions.add(entry["EngineVersion"])
    return sorted(versions, key=version_key)


def refresh(
    client_for: Callable[[str], Any], regions: Iterable[str], engines: Iterable[str] = ENGINES
) -> dict[str, dict[str, list[str]]]:
    """engine -> region -> versions, asking the RDS client `client_for(region)` gives."""
    table: dict[str, dict[str, list[str]]] = {}
    for region in sorted(set(regions)):
        client = client_for(region)
        for engine in engines:
            table.setdefault(engine, {})[region] = fetch_versions(client, engine)
    return table


def render(document: dict[str, Any]) -> str:
    """The file's text: `generated`, `source`, then `engines` with one line per region."""
    lines = [
        "{",
        f'  "generated": {json.dumps(document["generated"])},',
        f'  "source": {json.dumps(document["source"])},',
        '  "engines": {',
    ]
    engines = document["engines"]
    for e_index, engine in enumerate(sorted(engines)):
        lines.append(f"    {json.dumps(engine)}: {{")
        regions = engines[engine]
        for r_index, region in enumerate(sorted(regions)):
            versions = sorted(set(regions[region]), key=version_key)
            comma = "," if r_index < len(regions) - 1 else ""
            lines.append(f"      {json.dumps(region)}: {json.dumps(versions)}{comma}")
        lines.append("    }" + ("," if e_index < len(engines) - 1 else ""))
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def regions_in(path: Path) -> list[str]:
    """The regions the existing file covers (the default list when there is no file)."""
    try:
        engines = json.loads(path.read_text(encoding="utf-8"))["engines"]
    except (OSError, ValueError, KeyError, TypeError):
        return list(DEFAULT_REGIONS)
    return sorted({region for by_region in engines.values() for region in by_region}) or list(DEFAULT_REGIONS)


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON file to write")
    parser.add_argument("--region", action="append", dest="regions",
                        help="a region to cover (repeatable; default: the regions in --output)")
    parser.add_argument("--engine", action="append", dest="engines", choices=ENGINES,
                        help="an engine to cover (repeatable; default: all four)")
    args = parser.parse_args(argv)

    if session is None:
        import boto3

        session = boto3.Session()
    if session.get_credentials() is None:
        print(
            "refresh_rds_engine_versions: no AWS credentials found (environment, shared "
            "credentials file, profile or instance role); nothing was written. Configure "
            "credentials allowed rds:DescribeDBEngineVersions and run again.",
            file=sys.stderr,
        )
        return 2

    from botocore.exceptions import BotoCoreError, ClientError

    regions = args.regions or regions_in(args.output)
    try:
        table = refresh(lambda region: session.client("rds", region_name=region), regions,
                        args.engines or ENGINES)
    except (BotoCoreError, ClientError) as error:
        print(f"refresh_rds_engine_versions: {error}; nothing was written.", file=sys.stderr)
        return 1
    document = {
        "generated": datetime.date.today().isoformat(),
        "source": (
            "AWS RDS DescribeDBEngineVersions (available versions only) per engine and region, "
            "written by scripts/refresh_rds_engine_versions.py"
        ),
        "engines": table,
    }
    write_atomic(args.output, render(document))
    count = sum(len(v) for by_region in table.values() for v in by_region.values())
    print(f"wrote {args.output}: {count} versions, {len(regions)} regions, {len(table)} engines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
