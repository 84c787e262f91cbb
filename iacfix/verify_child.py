"""The child side of `iacfix verify`: run one Pulumi program under Pulumi's mock runtime and write
what it registered to a JSON file.

Runs in a subprocess started by `iacfix.verify.run_program`, under the interpreter the user chose
(`--python`), so it uses nothing but the standard library and `pulumi`, and never imports iacfix.
It is started as `python -I verify_child.py SPEC.json` with the temporary copy of the project as its
working directory. SPEC.json says where the copy is, the entry point, the project and stack names,
the config, the region and account the mocks answer with, and where to write the result.

Guards (a Python audit hook, installed before the program runs, which cannot be removed):
- no network: resolving a host name or connecting a socket raises `NetworkBlocked`, naming the
  host and the library that asked (boto3...);
- no writes, renames or deletes outside the temporary directory (the copy, its HOME and TMPDIR);
- no other processes: subprocess, os.system, exec, spawn and fork are refused;
- no signals to other processes.
Each attempt is recorded, so the report names it even when the program catches the error. The hook
only sees Python-level operations: a C extension or ctypes can get past it (README: "Isolation").
`sys.exit` is caught; `os._exit` records itself before it ends the interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import traceback

#: The mock caller identity's account.
ACCOUNT = "342597974367"
#: How Pulumi's RPC layer marks a secret value: {SIG_KEY: SECRET_SIG, "value": ...}.
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
#: Physical-id prefixes AWS uses, so ids in the recorded inputs look like the real ones.
ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-", "aws:ec2/subnet:Subnet": "subnet-", "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/instance:Instance": "i-", "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-", "aws:ec2/eip:Eip": "eipalloc-", "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-", "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-", "aws:ec2/networkAcl:NetworkAcl": "acl-",
}


class NetworkBlocked(RuntimeError):
    """Raised where the program reaches for the network. Not an OSError, so that HTTP clients do
    not retry it as a connection error: the run stops at the first attempt."""


class Blocked(PermissionError):
    """Raised where the program writes outside its copy, starts a process or signals another."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Guard:
    """The audit hook: records what the program did that verify does not allow, and refuses it."""

    def __init__(self, spec: dict) -> None:
        self.project = os.path.realpath(spec["project"])
        self.sandbox = os.path.realpath(spec["sandbox"])
        self.prefixes = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
        self.here = os.path.realpath(__file__)
        self.events: list[dict] = []
        self.env_read: dict[str, bool] = {}
        self.loaded: set[str] = set()
        self.local = threading.local()
        self.realpaths: dict[str, str] = {}

    # -- where a call comes from --------------------------------------------------------------

    def in_project(self, filename: str) -> bool:
        return filename.startswith(self.project + os.sep)

    def caller_in_project(self, through_stdlib: bool = True) -> str | None:
        """The project file of the first frame outside this module and the standard library (only
        `os` and the collection ABCs when not `through_stdlib`: urllib reading its proxy variables
        is not the program reading them), or None when that frame is not the project's."""
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            real = self.realpaths.get(name)
            if real is None:
                real = self.realpaths[name] = os.path.realpath(name) if os.path.isabs(name) else name
            if real.startswith("<frozen") or real == self.here:
                frame = frame.f_back
                continue
            if self.in_project(real):
                return os.path.relpath(real, self.project)
            stdlib = real.startswith(self.prefixes) and "site-packages" not in real
            if stdlib and (through_stdlib or os.path.basename(real) in ("os.py", "_collections_abc.py")):
                frame = frame.f_back
                continue
            return None
        return None

    @staticmethod
    def through() -> str:
        """The library on the stack that made a network call, for the message."""
        names = []
        frame = sys._getframe(2)
        while frame is not None:
            names.append(frame.f_code.co_filename)
            frame = frame.f_back
        for library, marker in (("boto3", "botocore"), ("requests", "requests"), ("urllib3", "urllib3"),
                                ("urllib", "urllib/request"), ("http.client", "http/client")):
            if any(f"{os.sep}{marker}" in name for name in names):
                return library
        return ""

    def record(self, kind: str, detail: str, **extra) -> None:
        event = {"kind": kind, "detail": detail, **extra}
        if event not in self.events:
            self.events.append(event)

    # -- the hook -------------------------------------------------------------------------------

    def __call__(self, event: str, args: tuple) -> None:
        if getattr(self.local, "busy", False):
            return
        self.local.busy = True
        try:
            self.check(event, args)
        finally:
            self.local.busy = False

    def check(self, event: str, args: tuple) -> None:
        if event == "open":
            self.opened(*args[:3])
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
            self.network(str(args[0]), args[1] if len(args) > 1 and event == "socket.getaddrinfo" else None)
        elif event in ("socket.connect", "socket.connect_ex", "socket.sendto"):
            address = args[1]
            host, port = (address[0], address[1]) if isinstance(address, tuple) else (str(address), None)
            self.network(str(host), port)
        elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                       "os.forkpty", "pty.spawn"):
            command = args[1] if event == "subprocess.Popen" else args[0]
            shown = " ".join(map(str, command)) if isinstance(command, (list, tuple)) else str(command)
            self.record("process", shown[:200])
            raise Blocked("process", f"verify does not let the program start processes ({shown[:200]})")
        elif event in ("os.kill", "os.killpg"):
            own = os.getpid() if event == "os.kill" else os.getpgid(0)
            if args[0] != own:
                self.record("signal", f"{event}({args[0]}, {args[1]})")
                raise Blocked("signal", f"verify does not let the program signal other processes ({event} {args[0]})")
        elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
                       "shutil.rmtree", "os.symlink", "os.link"):
            self.writing(args[1] if event in ("os.symlink", "os.link") else args[0])
        elif event == "os.rename":
            self.writing(args[0])
            self.writing(args[1])

    def opened(self, path, mode, flags) -> None:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # a file descriptor
        path = os.fsdecode(path)
        if mode is not None:
            writes = any(c in str(mode) for c in "wax+")
        else:
            writes = bool((flags or 0) & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC))
        if writes:
            self.writing(path)
            return
        real = os.path.realpath(path)
        caller = self.caller_in_project()
        if caller is None:
            return
        if self.in_project(real):
            if "__pycache__" not in real:
                self.loaded.add(os.path.relpath(real, self.project))
        elif not real.startswith(self.prefixes) and not real.startswith(("/dev/", "/proc/", "/sys/")):
            self.record("read", path, exists=os.path.exists(real), caller=caller)

    def writing(self, path) -> None:
        if isinstance(path, int):
            return
        path = os.fsdecode(path)
        real = os.path.realpath(path)
        if real == self.sandbox or real.startswith(self.sandbox + os.sep) or real in ("/dev/null", "/dev/stdout",
                                                                                       "/dev/stderr", "/dev/tty"):
            return
        self.record("write", path)
        raise Blocked("write", f"verify blocks writes outside the project's temporary copy: {path}")

    def network(self, host: str, port) -> None:
        if host in ("", "None") or host.startswith("/"):
            where = host or "a socket"
        else:
            where = f"{host}:{port}" if port not in (None, 0) else host
        library = self.through()
        self.record("network", where, library=library)
        via = f" ({library} \u2192 {where})" if library else f" ({where})"
        raise NetworkBlocked(f"the program tried to reach the network{via}; verify blocks the network")


def recording_environ(guard: Guard) -> None:
    """Make os.environ record the variables the program itself reads (and whether they were set)."""
    base = type(os.environ)

    class Recording(base):  # type: ignore[misc, valid-type]
        def __getitem__(self, key):
            caller = guard.caller_in_project(through_stdlib=False)
            try:
                value = base.__getitem__(self, key)
            except KeyError:
                if caller is not None:
                    guard.env_read.setdefault(str(key), False)
                raise
            if caller is not None:
                guard.env_read[str(key)] = True
            return value

    os.environ.__class__ = Recording


def plain(value):
    """Inputs as JSON data: a secret as {"secret": value}, assets, archives and resources as text."""
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
        return {"secret": plain(value.get("value"))}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    kind = type(value).__name__
    if kind in ("FileAsset", "FileArchive"):
        return {kind: str(value.path)}
    if kind in ("RemoteAsset", "RemoteArchive"):
        return {kind: str(value.uri)}
    if kind == "StringAsset":
        return {kind: hashlib.sha256(str(value.text).encode()).hexdigest()[:16]}
    if kind == "AssetArchive":
        return {kind: {str(k): plain(v) for k, v in value.assets.items()}}
    urn = getattr(value, "urn", None)
    if urn is not None and getattr(urn, "future", None) is not None:
        return f"<resource {type(value).__name__}>"
    return repr(value)


def key_of(urn: str) -> str:
    """A URN without its stack and project: the resource's identity across the two runs."""
    return urn.split("::", 2)[2] if urn.count("::") >= 3 else urn


def deterministic_randomness() -> None:
    """Seed `random` and make os.urandom (so `secrets`, SystemRandom and uuid4) a fixed stream:
    two runs of the same program then register the same values, and a fix that changes nothing
    shows no change. The values never leave the mock run."""
    import random

    state = {"counter": 0}

    def urandom(size: int) -> bytes:
        out = b""
        while len(out) < size:
            state["counter"] += 1
            out += hashlib.sha256(b"iacfix-verify-%d" % state["counter"]).digest()
        return out[:size]

    random.seed(0)
    os.urandom = urandom
    random._urandom = urandom  # SystemRandom's bound copy


def main(spec_path: str) -> None:
    sys.dont_write_bytecode = True
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    result: dict = {"ok": False, "error": None, "resources": [], "invokes": [], "outputs": {}}
    guard = Guard(spec)

    def finish(code: int = 0) -> None:
        result["events"] = guard.events
        result["env"] = guard.env_read
        result["loaded"] = sorted(guard.loaded | modules_loaded(guard))
        with open(spec["result"], "w", encoding="utf-8") as handle:
            json.dump(result, handle, default=repr)
        sys.stdout.flush()
        sys.stderr.flush()
        real_exit(code)

    real_exit = os._exit

    def recorded_exit(code: int) -> None:
        result["error"] = {"kind": "exit", "message": f"the program called os._exit({code})", "detail": ""}
        finish(0)

    try:
        import pulumi
        from pulumi.runtime import rpc
        from pulumi.runtime.mocks import MockMonitor
    except ImportError as error:
        result["error"] = missing(error, guard, "pulumi")
        finish()
        return

    region = spec["region"]
    resources: list[dict] = result["resources"]
    invokes: list[str] = result["invokes"]

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            return mock_resource(args, region)

        def call(self, args: pulumi.runtime.MockCallArgs):
            invokes.append(args.token)
            return mock_invoke(args.token, region)

    class Monitor(MockMonitor):
        """The stock mock monitor, recording each registration's options (not part of
        MockResourceArgs) from the request `pulumi up` would send to the engine."""

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                inputs = rpc.deserialize_properties(request.object)
                implicit = {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
                parent = request.parent if "pulumi:pulumi:Stack" not in request.parent else ""
                resources.append({
                    "key": key_of(response.urn), "type": request.type, "name": request.name,
                    "parent": key_of(parent) if parent else "", "custom": bool(request.custom),
                    "inputs": plain(inputs), "protect": bool(request.protect),
                    "delete_before_replace": bool(request.deleteBeforeReplace),
                    "retain_on_delete": bool(request.retainOnDelete),
                    "ignore_changes": sorted(request.ignoreChanges),
                    "depends_on": sorted(key_of(u) for u in request.dependencies if u not in implicit),
                })
            return response

    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project=spec["project_name"], stack=spec["stack"], preview=False,
                             monitor=Monitor(mocks))
    pulumi.runtime.set_all_config(spec["config"], spec["secret_keys"])

    main_path = spec["main"]
    deterministic_randomness()
    sys.path.insert(0, spec["project"])
    sys.argv = [main_path]
    sys.addaudithook(guard)
    recording_environ(guard)
    os._exit = recorded_exit

    @pulumi.runtime.test
    def program():
        import runpy

        runpy.run_path(main_path, run_name="__main__")
        # The mock runtime finishes the root stack before the program runs, so its exports are
        # never registered: read them from the stack and wait for their values.
        exported = dict(getattr(pulumi.runtime.get_root_resource(), "outputs", {}) or {})

        async def collect():
            values = {}
            for name, value in exported.items():
                output = pulumi.Output.from_input(value)
                resolved = await output.future()
                values[name] = {"secret": resolved} if await output.is_secret() else resolved
            result["outputs"] = plain(values)

        return collect()

    try:
        program()
        result["ok"] = True
    except SystemExit as error:
        code = error.code
        result["error"] = {"kind": "exit", "message": f"the program called sys.exit({code!r})",
                           "detail": traceback.format_exc(limit=-4)}
    except BaseException as error:  # noqa: BLE001 - any failure of the user's program is the result
        result["error"] = classify(error, guard, spec)
    os._exit = real_exit
    finish()


def modules_loaded(guard: Guard) -> set[str]:
    """The project's files imported as modules (the program may load some before the hook)."""
    found = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if name and guard.in_project(os.path.realpath(name)) and "__pycache__" not in name:
            found.add(os.path.relpath(os.path.realpath(name), guard.project))
    return found


def missing(error: ImportError, guard: Guard, fallback: str) -> dict:
    name = (getattr(error, "name", None) or fallback).split(".")[0]
    return {"kind": "missing-package", "module": name,
            "message": f"the program needs {name}, which {sys.executable} lacks; "
                       "install it there or pass --python with the project's interpreter",
            "detail": traceback.format_exc(limit=-4)}


def classify(error: BaseException, guard: Guard, spec: dict) -> dict:
    """What kind of failure this is, with a one-line message and the end of the traceback."""
    detail = traceback.format_exc(limit=-6)
    where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        real = os.path.realpath(frame.filename)
        if guard.in_project(real):
            where = f" ({os.path.relpath(real, guard.project)}:{frame.lineno})"
            break
    blocked = [e for e in guard.events if e["kind"] == "network"]
    if isinstance(error, NetworkBlocked) or blocked and "NetworkBlocked" in detail:
        return {"kind": "network", "message": f"{blocked_network_message(blocked)}{where}", "detail": detail}
    if isinstance(error, ModuleNotFoundError):
        top = (error.name or "").split(".")[0]
        if top and not os.path.exists(os.path.join(guard.project, top)) and not os.path.exists(
                os.path.join(guard.project, top + ".py")):
            return missing(error, guard, top)
        return {"kind": "import", "message": f"{type(error).__name__}: {error}{where}", "detail": detail}
    if isinstance(error, ImportError):
        return {"kind": "import", "message": f"{type(error).__name__}: {error}{where}", "detail": detail}
    if type(error).__name__ == "ConfigMissingError":
        key = getattr(error, "key", "?")
        return {"kind": "config", "key": key,
                "message": f"missing required config value {key}: the stack {spec['stack']} does not set it"
                           f"{where}", "detail": detail}
    if isinstance(error, Blocked):
        return {"kind": error.kind, "message": f"{error}{where}", "detail": detail}
    return {"kind": "exception", "message": f"{type(error).__name__}: {error}{where}", "detail": detail}


def blocked_network_message(events: list[dict]) -> str:
    first = events[0] if events else {"detail": "a host", "library": ""}
    via = f"{first['library']} \u2192 " if first.get("library") else ""
    return f"the program called the network ({via}{first['detail']}); verify blocks the network"


def mock_resource(args, region: str):
    """A plausible id and outputs: the inputs, an ARN in the stack's region and mock account,
    and the outputs programs commonly read."""
    outputs = dict(args.inputs)
    token = args.typ
    service = token.split(":")[1].split("/")[0] if token.count(":") >= 2 else "mock"
    digest = hashlib.sha256(f"{token}::{args.name}".encode()).hexdigest()
    resource_id = f"{ID_PREFIXES[token]}{digest[:17]}" if token in ID_PREFIXES else f"{args.name}-id"
    physical = args.inputs.get("name") or args.inputs.get("bucket") or args.name
    if token.startswith("aws:s3/bucket"):
        resource_id = physical
        outputs.setdefault("arn", f"arn:aws:s3:::{physical}")
        outputs.setdefault("bucketDomainName", f"{physical}.s3.amazonaws.com")
        outputs.setdefault("bucketRegionalDomainName", f"{physical}.s3.{region}.amazonaws.com")
    elif token.startswith("aws:iam/"):
        kind = token.rsplit(":", 1)[1].lower()
        outputs.setdefault("arn", f"arn:aws:iam::{ACCOUNT}:{kind}/{physical}")
    outputs.setdefault("arn", f"arn:aws:{service}:{region}:{ACCOUNT}:{physical}")
    outputs.setdefault("id", resource_id)
    if token == "random:index/randomPassword:RandomPassword":
        outputs["result"] = "Mock-Random-Password-0123456789abcdef"[: int(args.inputs.get("length", 32))]
    elif token == "aws:lb/loadBalancer:LoadBalancer":
        outputs.setdefault("dnsName", f"{args.name}.{region}.elb.amazonaws.com")
    elif token == "aws:cloudfront/distribution:Distribution":
        outputs.setdefault("domainName", "d111111abcdef8.cloudfront.net")
    elif token == "aws:lambda/functionUrl:FunctionUrl":
        outputs.setdefault("functionUrl", f"https://{args.name}.lambda-url.{region}.on.aws/")
    elif token == "aws:ecr/repository:Repository":
        outputs.setdefault("repositoryUrl", f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{physical}")
    elif token == "aws:acm/certificate:Certificate":
        outputs.setdefault("domainValidationOptions", [{
            "domainName": args.inputs.get("domainName"), "resourceRecordType": "CNAME",
            "resourceRecordName": f"_x1.{args.inputs.get('domainName')}.",
            "resourceRecordValue": "_x2.acm-validations.aws.",
        }])
    return [resource_id, outputs]


def mock_invoke(token: str, region: str) -> dict:
    """Answers for the invokes programs commonly make; {} for the rest."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "id": ACCOUNT, "userId": "AIDAMOCK"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region}
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {"names": [f"{region}{zone}" for zone in "abc"],
                "zoneIds": [f"{region[:3]}-az{i}" for i in range(1, 4)], "id": region}
    if token == "aws:ec2/getAmi:getAmi":
        return {"id": "ami-0123456789abcdef0", "imageId": "ami-0123456789abcdef0", "architecture": "x86_64",
                "name": "al2023-ami-2023.0-x86_64"}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    return {}


if __name__ == "__main__":
    main(sys.argv[1])
