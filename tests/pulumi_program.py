"""Run a whole Pulumi project (its Pulumi.yaml entry point) under Pulumi's mock runtime, in a
subprocess, and return every resource it registers and every invoke it makes.

A subprocess because `set_mocks` is process-global and each project has its own `lib` package:
running two projects in one interpreter would mix their modules. The mocks answer like a real
account would: ids, ARNs in the stack's region, the caller identity, the region and its zones.

    python tests/pulumi_program.py PROJECT_DIR '{"stack": "dev", "env": {...}}'   # prints JSON
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "342597974367"
SECRET_PLACEHOLDER = "placeholder-secret-value"


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Run:
    ok: bool
    error: str | None = None
    resources: list[Resource] = field(default_factory=list)
    invokes: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Resource:
        [resource] = self.of_type(type_token)
        return resource


def run_project(root: Path, *, stack: str | None = None, env: dict[str, str] | None = None,
                config: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """Run the project at `root` with the config of `Pulumi.<stack>.yaml` (the only stack file
    when `stack` is None), `config` (fully qualified keys) set over it."""
    root = Path(root).resolve()
    options = {"stack": stack, "env": env or {}, "config": config or {}}
    completed = subprocess.run(
        [sys.executable, __file__, str(root), json.dumps(options)],
        capture_output=True, text=True, timeout=timeout, cwd=root,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )
    if completed.returncode != 0 or not completed.stdout.strip():
        return Run(ok=False, error=(completed.stderr or completed.stdout).strip()[-4000:])
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    return Run(ok=data["ok"], error=data.get("error"),
               resources=[Resource(**r) for r in data["resources"]], invokes=data["invokes"])


def _main(root: Path, options: dict) -> None:  # pragma: no cover - runs in the subprocess
    import runpy
    import traceback

    import pulumi
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    project = yaml.load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
    stacks = sorted(root.glob("Pulumi.*.yaml"))
    stack = options["stack"] or (stacks[0].name[len("Pulumi."):-len(".yaml")] if len(stacks) == 1 else "dev")
    stack_file = root / f"Pulumi.{stack}.yaml"
    config = (yaml.load(stack_file.read_text(encoding="utf-8")) or {}).get("config", {}) if stack_file.exists() else {}
    values, secret_keys = {}, []
    for key, value in config.items():
        key = key if ":" in key else f"{project['name']}:{key}"
        if isinstance(value, dict) and "secure" in value:
            values[key], _ = SECRET_PLACEHOLDER, secret_keys.append(key)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
    values.update(options.get("config", {}))
    region = values.get("aws:region", "us-east-1")

    resources: list[dict] = []
    invokes: list[str] = []

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            resources.append({"type": args.typ, "name": args.name, "inputs": _plain(args.inputs)})
            outputs = dict(args.inputs)
            service = args.typ.split(":")[1].split("/")[0] if args.typ.count(":") >= 2 else "mock"
            outputs.setdefault("arn", f"arn:aws:{service}:{region}:{ACCOUNT}:{args.name}")
            if args.typ == "random:index/randomPassword:RandomPassword":
                outputs["result"] = "Mock-Random-Password-0123456789abcdef"[: int(args.inputs.get("length", 32))]
            if args.typ == "aws:lb/loadBalancer:LoadBalancer":
                outputs.setdefault("dnsName", f"{args.name}.{region}.elb.amazonaws.com")
            if args.typ == "aws:cloudfront/distribution:Distribution":
                outputs.setdefault("domainName", "d111111abcdef8.cloudfront.net")
            if args.typ == "aws:lambda/functionUrl:FunctionUrl":
                outputs.setdefault("functionUrl", f"https://{args.name}.lambda-url.{region}.on.aws/")
            if args.typ == "aws:acm/certificate:Certificate":
                outputs.setdefault("domainValidationOptions", [{
                    "domainName": args.inputs.get("domainName"), "resourceRecordType": "CNAME",
                    "resourceRecordName": f"_x1.{args.inputs.get('domainName')}.",
                    "resourceRecordValue": "_x2.acm-validations.aws.",
                }])
            return [f"{args.name}-id", outputs]

        def call(self, args: pulumi.runtime.MockCallArgs):
            invokes.append(args.token)
            if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
                return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "id": ACCOUNT,
                        "userId": "AIDAMOCK"}
            if args.token == "aws:index/getRegion:getRegion":
                return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
                        "description": region}
            if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
                names = [f"{region}{zone}" for zone in "abc"]
                return {"names": names, "zoneIds": [f"{region[:3]}-az{i}" for i in range(1, 4)], "id": region}
            if args.token == "aws:ec2/getAmi:getAmi":
                return {"id": "ami-0123456789abcdef0", "imageId": "ami-0123456789abcdef0", "architecture": "x86_64"}
            return {}

    pulumi.runtime.set_mocks(Mocks(), project=project["name"], stack=stack, preview=False)
    pulumi.runtime.set_all_config(values, secret_keys)
    sys.path.insert(0, str(root))
    main = root / (project.get("main") or "__main__.py")
    if main.is_dir():
        main = main / "__main__.py"

    error = None

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(main), run_name="__main__")

    try:
        program()
    except BaseException:  # noqa: BLE001 - any failure of the user's program is the result
        error = traceback.format_exc(limit=-3)
    print(json.dumps({"ok": error is None, "error": error, "resources": resources, "invokes": invokes}))


#: How Pulumi's RPC layer marks a secret value: {SIG_KEY: SECRET_SIG, "value": ...}.
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def _plain(value: Any) -> Any:
    """Inputs as JSON data: a secret as {"secret": value}, assets and archives as their repr."""
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
        return {"secret": _plain(value.get("value"))}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


if __name__ == "__main__":
    _main(Path(sys.argv[1]).resolve(), json.loads(sys.argv[2]))
