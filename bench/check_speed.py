"""How fast `iacfix check` is over a generated corpus, as a ratio to bare libcst parsing.

    python bench/check_speed.py --files 500

Builds N files in project-shaped folders: a share (`--failing`, default 30%) copied from the
fixture cases and the example project (failures, their fixes and their look-alikes), the rest
ordinary clean Pulumi modules from `bench/templates/` (networking, monitoring, IAM). Then it
times, in this one run: (1) `libcst.parse_module` of every file, the floor any libcst tool
pays; (2) the engine with every rule, cold, as `iacfix check` runs it; (3) the `iacfix check`
command end to end in a subprocess. Prints files per second and the ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libcst as cst

from iacfix.engine import run
from iacfix.registry import all_rules
from iacfix.results import Safety

ROOT = Path(__file__).resolve().parent.parent


def build_corpus(target: Path, count: int, failing: float = 0.3) -> list[Path]:
    """`count` Python files in project-shaped folders under `target`."""
    cases = sorted((ROOT / "fixtures").glob("*/*.py")) + sorted((ROOT / "examples").rglob("*.py"))
    cases = [s for s in cases if s.name != "__init__.py"]
    clean = sorted((ROOT / "bench" / "templates").glob("*.py"))
    files = []
    picked = {id(cases): 0, id(clean): 0}
    for index in range(count):
        pool = cases if index % 100 < round(failing * 100) else clean  # the same share in every 100
        source = pool[picked[id(pool)] % len(pool)]
        picked[id(pool)] += 1
        project = target / f"project_{index // 25:03d}" / "lib"
        project.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        path = project / f"module_{index:05d}.py"
        path.write_text(f"# corpus file {index} from {source.parent.name}/{source.name}\n{text}", encoding="utf-8")
        files.append(path)
    return files


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--failing", type=float, default=0.3, help="share of files from fixture cases")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="iacfix-bench-"))
    try:
        files = build_corpus(workdir, args.files, args.failing)
        parse = timed(lambda: [cst.parse_module(f.read_bytes()) for f in files])
        engine = timed(lambda: run([workdir], all_rules(), Safety.SAFE))
        command = timed(lambda: subprocess.run(
            [sys.executable, "-m", "iacfix", "check", "--exit-zero", "-q", str(workdir)],
            capture_output=True, check=True,
        ))
    finally:
        shutil.rmtree(workdir)

    result = {
        "files": len(files),
        "parse_seconds": round(parse, 3),
        "engine_seconds": round(engine, 3),
        "command_seconds": round(command, 3),
        "engine_files_per_second": round(len(files) / engine, 1),
        "engine_vs_bare_parse": round(engine / parse, 2),
        "command_vs_bare_parse": round(command / parse, 2),
    }
    print(f"{len(files)} files, {len(all_rules())} rules")
    for label, seconds in (("bare libcst parse", parse), ("engine, all rules", engine),
                           ("`iacfix check` command", command)):
        print(f"{label:<23}{seconds:7.2f} s  ({len(files) / seconds:6.1f} files/s)  {seconds / parse:5.2f}x parse")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
