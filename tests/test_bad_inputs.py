"""Bad inputs: for each, the message, the exit code, and that nothing was written or lost.

Every case runs `iacfix apply` (the command that writes) on a small tree holding one file with a
safe fix (`lib/good.py`) and the bad input. The run must report the bad input with its path,
exit with the documented code, leave the bad input's bytes, mode and time as they were, create
no other file, and still fix `lib/good.py` (one bad file never stops a run), unless the bad input
is a usage or configuration error, which stops the run before anything is written.

README's "Bad inputs" table lists the same cases.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iacfix import limits
from iacfix.codemods import rds_engine_version_unavailable
from iacfix.codemods._provider_index import accepted_keywords, provider_index
from iacfix.cli import app
from iacfix.engine import fix_source
from iacfix.registry import all_rules
from iacfix.results import Safety
from iacfix.rule import Rule

GOOD = b'import json\n\nimport pulumi_aws as aws\n\noptions = json.dumps({"awslogs-region": "us-east-1"})\n'
FIXED = GOOD.replace(b'"us-east-1"', b"aws.get_region().region")
EVIDENCE = b'import pulumi_aws as aws\n\naws.s3.Bucket("logs", bucket="logs")\n'
PYTHON_RULES = [rule for rule in all_rules() if issubclass(rule, Rule)]
ROOT_USER = os.geteuid() == 0


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file, directory and link under `root`: bytes (or link target), mode, mtime (not a
    directory's: replacing a file in it touches it)."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if ".iacfix_cache" in name:
            continue
        status = path.lstat()
        if path.is_symlink():
            content = os.readlink(path).encode()
        elif stat.S_ISREG(status.st_mode):
            with open(path, "rb") as stream:  # not Path.read_bytes, which a test may make fail
                content = stream.read()
        else:
            content = b""
        mtime = 0 if stat.S_ISDIR(status.st_mode) else status.st_mtime_ns
        found[name] = (content, stat.S_IMODE(status.st_mode), mtime)
    return found


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@dataclass(frozen=True)
class Bad:
    """A bad input: how to make it, how to run, what iacfix must say and exit with."""

    name: str
    make: Callable[[Path, pytest.MonkeyPatch], None]
    message: str
    exit: int = 2
    args: tuple[str, ...] = (".",)
    good_fixed: bool = True  # the rest of the run goes on (False: stopped before writing)
    ends: tuple[tuple[str, bytes], ...] = ()  # files that rightly change, with the bytes they must end with


def write(root: Path, name: str, data: bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def unreadable_directory(root: Path, monkeypatch) -> None:
    private = root / "lib" / "private"
    write(root, "lib/private/hidden.py", GOOD)
    if ROOT_USER:  # root reads everything: make the listing fail as it would for a user
        real = os.scandir

        def scandir(path="."):
            if Path(path).absolute() == private:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        private.chmod(0)  # pytest's clean-up of tmp_path restores the permissions it needs


def unreadable_file(root: Path, monkeypatch) -> None:
    secret = write(root, "lib/secret.py", GOOD)
    if ROOT_USER:
        real = pathlib.Path.read_bytes

        def read_bytes(self):
            if self.name == "secret.py":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    else:
        secret.chmod(0)


def unwritable_directory(root: Path, monkeypatch) -> None:
    folder = root / "locked"
    write(root, "locked/stack.py", GOOD)
    if ROOT_USER:
        import tempfile

        real = tempfile.mkstemp

        def mkstemp(*args, dir=None, **kwargs):
            if Path(dir).absolute() == folder:
                raise PermissionError(errno.EACCES, "Permission denied", str(dir))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    else:
        folder.chmod(0o555)


def changed_after_read(root: Path, monkeypatch) -> None:
    """Someone saves lib/edited.py while iacfix computes its fixes."""
    write(root, "lib/edited.py", GOOD)
    import iacfix.engine

    real = iacfix.engine.run

    def run(*args, **kwargs):
        report = real(*args, **kwargs)
        write(root, "lib/edited.py", GOOD + b"# the user's edit\n")
        return report

    monkeypatch.setattr(iacfix.engine, "run", run)


def corrupt_cache(root: Path, monkeypatch) -> None:
    """A run fills the cache; then every entry holding a fixed file is damaged so that it still
    parses as JSON: one hex digit of the fixed bytes changed (`get_region` -> `get_regi0n`)."""
    write(root, "lib/other.py", GOOD.replace(b"us-east-1", b"eu-west-1"))
    assert invoke("check", ".").exit_code == 1
    damaged = 0
    for entry in (root / ".iacfix_cache").glob("*/*.json"):
        text = entry.read_text()
        if b"get_region".hex() in text:
            entry.write_text(text.replace(b"get_region".hex(), b"get_regi0n".hex()))
            damaged += 1
    assert damaged >= 2, "the run entry and the file entries"


def symlink_out_of_tree(root: Path, monkeypatch) -> None:
    outside = root.parent / "elsewhere"
    write(outside, "target.py", GOOD)
    (root / "lib" / "link.py").symlink_to(outside / "target.py")
    (root / "lib" / "linked_dir").symlink_to(outside, target_is_directory=True)


def explicit_symlink(root: Path, monkeypatch) -> None:
    write(root.parent, "elsewhere/target.py", GOOD)
    (root / "link.py").symlink_to(root.parent / "elsewhere" / "target.py")


def fifo(root: Path, monkeypatch) -> None:
    os.mkfifo(root / "lib" / "pipe.py")


def hard_link(root: Path, monkeypatch) -> None:
    write(root, "lib/shared.py", GOOD)
    os.link(root / "lib" / "shared.py", root / "shared_copy.py")


def damaged_data(name: str, data: bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """The shipped data file `name` of iacfix.codemods replaced by `data` (in a copy of the data
    folder that `importlib.resources` is made to answer with), and the caches of what was read."""
    def make(root: Path, monkeypatch) -> None:
        real = resources.files("iacfix.codemods")
        copy = root.parent / "installed" / "codemods"
        shutil.copytree(Path(str(real / "data")), copy / "data")
        (copy / "data" / name).write_bytes(data)
        files = resources.files
        monkeypatch.setattr(resources, "files", lambda package: copy if package == "iacfix.codemods" else files(package))
        for cached in (provider_index, accepted_keywords, rds_engine_version_unavailable._table):
            cached.cache_clear()
        write(root, "lib/db.py", b'import pulumi_aws as aws\n\naws.rds.Cluster("db", engine="aurora-postgresql", '
                                 b'engine_version="15.4")\n')
    return make


BAD_INPUTS = [
    Bad("syntax error", lambda r, m: write(r, "lib/broken.py", EVIDENCE + b"def f(:\n"),
        "error: lib/broken.py: cannot parse at line 4, column 1"),
    Bad("not UTF-8, no declaration", lambda r, m: write(r, "lib/latin.py", b'x = 1\nname = "caf\xe9"\n'),
        "error: lib/latin.py: cannot decode: byte 0xe9 at line 2 is not utf-8"),
    Bad("unknown PEP 263 encoding", lambda r, m: write(r, "lib/bogus.py", b"# coding: klingon\nx = 1\n"),
        "error: lib/bogus.py: cannot decode: unknown encoding: klingon"),
    Bad("PEP 263 cookie that lies", lambda r, m: write(r, "lib/liar.py", b'# coding: utf-8\nx = "\xff\xfe"\n'),
        "error: lib/liar.py: cannot decode: byte 0xff at line 2 is not utf-8"),
    Bad("binary file named .py", lambda r, m: write(r, "lib/logo.py", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        "error: lib/logo.py: binary file (contains NUL bytes); not checked"),
    Bad("binary without NUL bytes", lambda r, m: write(r, "lib/noise.py", bytes(range(128, 256))),
        "error: lib/noise.py: cannot decode"),
    Bad("empty file", lambda r, m: write(r, "lib/empty.py", b""), "Fixed 1 finding in 1 file", exit=0),
    Bad("BOM only, CRLF only", lambda r, m: (write(r, "lib/bom.py", b"\xef\xbb\xbf"), write(r, "lib/crlf.py", b"\r\n")),
        "Fixed 1 finding in 1 file", exit=0),
    Bad("10 MB file a rule must parse",
        lambda r, m: write(r, "lib/huge.py", EVIDENCE * (10 * 2**20 // len(EVIDENCE) + 1)),
        "error: lib/huge.py: too large to check (10.0 MB; iacfix parses files up to 1 MB); not checked"),
    Bad("10 MB file no rule applies to", lambda r, m: write(r, "lib/data.py", b"x = 1\n" * 1_700_000),
        "Fixed 1 finding in 1 file", exit=0),
    Bad("nested thousands deep", lambda r, m: write(r, "lib/deep.py", EVIDENCE + b"x = " + b"(" * 5000 + b")" * 5000),
        "error: lib/deep.py: nested too deeply to check safely (about 5001 levels at line 4; iacfix parses up to 500)"),
    Bad("symlinks out of the tree", symlink_out_of_tree, "Fixed 1 finding in 1 file", exit=0),
    Bad("symlink named explicitly", explicit_symlink,
        "error: link.py: not written: is a symbolic link; iacfix does not rewrite its target",
        args=(".", "link.py")),
    Bad("dangling symlink named explicitly", lambda r, m: (r / "gone.py").symlink_to(r / "nowhere.py"),
        "error: gone.py: cannot read: No such file or directory", args=(".", "gone.py")),
    Bad("FIFO named .py in the tree", fifo, "Fixed 1 finding in 1 file", exit=0),
    Bad("FIFO named explicitly", fifo, "error: lib/pipe.py: cannot read: not a regular file",
        args=(".", "lib/pipe.py")),
    Bad("read-only file", lambda r, m: (write(r, "lib/ro.py", GOOD), (r / "lib" / "ro.py").chmod(0o444)),
        "error: lib/ro.py: not written: is read-only; make it writable to let iacfix fix it"),
    Bad("file with two hard links", hard_link, "error: lib/shared.py: not written: has 2 hard links"),
    Bad("file changed between read and write", changed_after_read,
        "error: lib/edited.py: not written: changed on disk since it was read",
        ends=(("lib/edited.py", GOOD + b"# the user's edit\n"),)),
    Bad("path that does not exist", lambda r, m: None, "error: missing.py: no such file or directory",
        args=(".", "missing.py"), good_fixed=False),
    Bad("path given twice", lambda r, m: None, "Fixed 1 finding in 1 file", exit=0, args=(".", "lib", "lib/good.py")),
    Bad("permission denied on a directory (read)", unreadable_directory,
        "error: lib/private: cannot read this directory: Permission denied; its files were not checked"),
    Bad("permission denied on a file (read)", unreadable_file, "error: lib/secret.py: cannot read: Permission denied"),
    Bad("permission denied on a directory (write)", unwritable_directory,
        "error: locked/stack.py: not written: cannot create a file in"),
    Bad("bad [tool.iacfix] value", lambda r, m: write(r, "pyproject.toml", b'[tool.iacfix]\nprofile = "prod"\n'),
        "pyproject.toml: [tool.iacfix] profile must be one of", good_fixed=False),
    Bad("pyproject.toml that is not TOML", lambda r, m: write(r, "pyproject.toml", b"[tool.iacfix\n"),
        "pyproject.toml: invalid TOML", good_fixed=False),
    Bad("unknown rule id in --select", lambda r, m: None, "error: unknown rule or prefix 'no-such-rule'",
        args=("--select", "no-such-rule", "."), good_fixed=False),
    Bad("corrupt cache entries", corrupt_cache, "Fixed 2 findings in 2 files", exit=0,
        ends=(("lib/other.py", FIXED),)),
    Bad("damaged provider index", damaged_data("pulumi_aws_v7.json.gz", b"\x1f\x8b\x08\x00 truncated"),
        "pulumi_aws_v7.json.gz: this data file of iacfix is damaged (EOFError", good_fixed=False),
    Bad("provider index of another layout", damaged_data("pulumi_aws_v7.json.gz", gzip.compress(b'{"major": 7}')),
        "pulumi_aws_v7.json.gz: this data file of iacfix is damaged (KeyError: 'version')", good_fixed=False),
    Bad("damaged RDS version table", damaged_data("rds_engine_versions.json", b'{"engines": {"aurora-'),
        "rds_engine_versions.json: this data file of iacfix is damaged (JSONDecodeError", good_fixed=False),
    Bad("Pulumi.yaml nested too deeply", lambda r, m: write(r, "Pulumi.yaml", b"name: " + b"[" * 3000 + b"]" * 3000),
        "Pulumi.yaml:1:1: pulumi-yaml-invalid Pulumi.yaml does not parse (nested too deeply to read)", exit=1),
    Bad("binary Pulumi.yaml", lambda r, m: write(r, "Pulumi.yaml", b"\x00\xff\xfe"),
        "pulumi-yaml-invalid Pulumi.yaml does not parse", exit=1),
]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=lambda b: b.name)
def test_bad_input(bad: Bad, tmp_path, monkeypatch):
    root = tmp_path / "tree"
    write(root, "lib/good.py", GOOD)
    monkeypatch.chdir(root)
    bad.make(root, monkeypatch)
    before = snapshot(root)
    result = invoke("apply", *bad.args)
    output = result.stdout + result.stderr
    assert bad.message in output, output
    assert result.exit_code == bad.exit, output
    after = snapshot(root)
    assert (after.pop("lib/good.py")[0] == FIXED) == bad.good_fixed, "the rest of the run"
    before.pop("lib/good.py")
    for name, data in bad.ends:
        before.pop(name)
        assert after.pop(name)[0] == data, name
    assert after == before, "a file was written, created or lost"
    assert "Traceback" not in output
    outside = tmp_path / "elsewhere" / "target.py"
    assert not outside.exists() or outside.read_bytes() == GOOD, "a link's target outside the tree was rewritten"


def test_a_corrupt_cache_entry_never_reaches_the_users_file(tmp_path, monkeypatch):
    """The entry still parses after the damage; only its checksum tells: apply must compute afresh."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.py", GOOD)
    corrupt_cache(tmp_path, monkeypatch)
    assert invoke("apply", ".").exit_code == 0
    assert (tmp_path / "a.py").read_bytes() == FIXED


def test_a_deeply_nested_file_does_not_crash_the_process(tmp_path):
    """libcst's native parser would take the process down (SIGSEGV or all memory): it never sees it."""
    write(tmp_path, "lib/good.py", GOOD)
    for kind, body in {"parens": b"(" * 50_000 + b"1" + b")" * 50_000, "and": b" and ".join([b"a"] * 50_000),
                       "attributes": b"a" + b".b" * 50_000, "unary": b"-" * 50_000 + b"a"}.items():
        write(tmp_path, f"lib/{kind}.py", EVIDENCE + b"x = " + body + b"\n")
    result = subprocess.run([sys.executable, "-m", "iacfix", "check", "--no-cache", "."], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2, result.stderr
    for kind in ("parens", "and", "attributes", "unary"):
        assert f"error: lib/{kind}.py: nested too deeply to check safely" in result.stderr
    assert "awslogs-region-hardcoded" in result.stdout


@pytest.mark.parametrize("kind", ["parens", "lists", "sum", "strings", "attributes", "calls", "and", "not",
                                  "unary", "conditional", "lambda", "dicts"])
def test_nesting_at_any_depth_is_checked_or_skipped_never_crashes(kind):
    """Crash found while fuzzing: `[[[...]]]` 300 deep raised RecursionError out of the engine and
    `a + a + ...` 10000 long killed the process in libcst's parser. Every shape, at every depth,
    is now checked or skipped with a reason."""
    shapes = {
        "parens": lambda n: b"(" * n + b"1" + b")" * n, "lists": lambda n: b"[" * n + b"]" * n,
        "sum": lambda n: b"+".join([b"a"] * n), "strings": lambda n: b" ".join([b'"a"'] * n),
        "attributes": lambda n: b"a" + b".b" * n, "calls": lambda n: b"f" + b"()" * n,
        "and": lambda n: b" and ".join([b"a"] * n), "not": lambda n: b"not " * n + b"a",
        "unary": lambda n: b"-" * n + b"a", "conditional": lambda n: b"a if b else " * n + b"c",
        "lambda": lambda n: b"lambda: " * n + b"1", "dicts": lambda n: b'{"a": ' * n + b"1" + b"}" * n,
    }
    for depth in (10, 150, 450, limits.MAX_DEPTH + 1, 20_000):
        source = EVIDENCE + b"x = " + shapes[kind](depth) + b"\n"
        result = fix_source("deep.py", source, PYTHON_RULES, Safety.UNSAFE)
        assert result.error is None, result.error
        assert result.output == source or result.skipped is None
        if result.skipped is not None:
            assert result.skipped.startswith("nested too deeply to check safely"), result.skipped
        if depth > limits.MAX_DEPTH:
            assert result.skipped is not None


def test_a_file_name_that_is_not_utf8_is_diffed_and_reported(tmp_path, monkeypatch):
    """Crash found: a file named with latin-1 bytes made `diff` and `--output-format sarif` raise
    UnicodeEncodeError (a traceback, and exit 1 as if there were findings)."""
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"caf\xe9.py")
    write(tmp_path, name, GOOD)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    diff = subprocess.run([sys.executable, "-m", "iacfix", "diff", "--no-cache", "."], cwd=tmp_path,
                          capture_output=True, check=False)
    assert diff.returncode == 1, diff.stderr
    assert diff.stdout.startswith(b"--- a/caf\xe9.py\n+++ b/caf\xe9.py\n")
    (tmp_path.parent / "fix.patch").write_bytes(diff.stdout)
    applied = subprocess.run(["git", "apply", str(tmp_path.parent / "fix.patch")], cwd=tmp_path,
                             capture_output=True, check=False)
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / name).read_bytes() == FIXED
    write(tmp_path, name, GOOD)
    sarif = invoke("check", "--output-format", "sarif", ".")
    assert sarif.exit_code == 1, sarif.stderr
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                 for r in json.loads(sarif.stdout)["runs"][0]["results"]]
    assert locations == ["caf%E9.py"]


def test_an_unexpected_exception_is_one_line_and_exit_2_not_a_traceback(tmp_path, monkeypatch):
    """Any bug outside the engine's isolation (here in rendering) exits 2, never 1 ("findings")."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.py", GOOD)
    from iacfix.cli import render

    def broken(*args, **kwargs):
        raise ZeroDivisionError("render boom")

    monkeypatch.setattr(render, "findings", broken)
    result = CliRunner().invoke(app, ["check", "."])
    assert result.exit_code == 2
    assert "error: internal error (ZeroDivisionError: render boom). This is a bug in iacfix" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_killed_pool_worker_is_an_error_not_a_hang(tmp_path, monkeypatch):
    """A worker process that dies (the OOM killer, a crash in native code) ends the run with exit 2."""
    monkeypatch.chdir(tmp_path)
    for index in range(12):
        write(tmp_path, f"m{index}.py", GOOD)
    import iacfix.engine

    real = iacfix.engine.fix_source

    def dies(path, *args, **kwargs):  # runs in a forked worker
        if path == "m7.py":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(iacfix.engine, "fix_source", dies)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(app, ["apply", "--no-cache", "-j", "2", "."])
    assert result.exit_code == 2
    assert "internal error (BrokenProcessPool" in result.stderr
    assert snapshot(tmp_path) == before


def test_fifo_in_the_tree_does_not_block(tmp_path):
    """Reading a FIFO blocks until a writer comes: discovery must not pick it up."""
    write(tmp_path, "lib/good.py", GOOD)
    os.mkfifo(tmp_path / "lib" / "pipe.py")
    result = subprocess.run([sys.executable, "-m", "iacfix", "check", "--no-cache", "."], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1 and "lib/good.py" in result.stdout


def test_copy_of_the_tree_helper_sees_links_and_modes(tmp_path):
    """The snapshot used above notices a changed mode and a retargeted link (it can fail)."""
    write(tmp_path, "a.py", b"x")
    (tmp_path / "l.py").symlink_to(tmp_path / "a.py")
    before = snapshot(tmp_path)
    (tmp_path / "a.py").chmod(0o600)
    assert snapshot(tmp_path) != before
    (tmp_path / "l.py").unlink()
    (tmp_path / "l.py").symlink_to(tmp_path / "b.py")
    assert snapshot(tmp_path)["l.py"][0] != before["l.py"][0]
    shutil.rmtree(tmp_path / "l.py", ignore_errors=True)


def test_pythons_warnings_about_the_users_code_are_not_printed(tmp_path):
    """Found: re-compiling a fixed file printed CPython's SyntaxWarnings (`x is "a"`) on stderr."""
    write(tmp_path, "a.py", GOOD + b'x = {1}[0]\ny = "a" is "a"\n')
    result = subprocess.run([sys.executable, "-m", "iacfix", "diff", "--no-cache", "."], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    assert "Warning" not in result.stderr, result.stderr
