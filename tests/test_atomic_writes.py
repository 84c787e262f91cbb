"""Atomic writes under failure: a killed `apply` leaves every file old or new, never partial; a
full disk leaves the original; the next run removes the temporary files a killed run left.

The kill loop runs `iacfix apply` in a subprocess over a tree of ~100 files that get fixed (every
fixture's before-file and the example project), SIGKILLs it after a random delay (half the
time uniformly over a whole run, half the time just after the first write began), and checks
every file. 20 kills in the default run; 200 with `pytest -m fuzz`. Set IACFIX_KILL_STATS=FILE to
append the counts as a JSON line.
"""

from __future__ import annotations

import errno
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iacfix import files
from iacfix.cli import app
from iacfix.files import TEMP_PREFIX, write_atomic

ROOT = Path(__file__).resolve().parent.parent
GOOD = b'import json\n\nimport pulumi_aws as aws\n\noptions = json.dumps({"awslogs-region": "us-east-1"})\n'
FIXED = GOOD.replace(b'"us-east-1"', b"aws.get_region().region")


def build_tree(target: Path) -> None:
    """Every fixture before-file (flat, under lib/) and the example project."""
    lib = target / "lib"
    lib.mkdir(parents=True)
    for before in sorted((ROOT / "fixtures").glob("*/*.before.py")):
        shutil.copy(before, lib / f"{before.parent.name.replace('-', '_')}__{before.name.replace('.', '_')}.py")
    shutil.copytree(ROOT / "examples" / "tap_project", target / "tap_project")


def contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def apply_command(tree: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "iacfix", "apply", "--unsafe-fixes", "-q", "--cache-dir", str(cache), str(tree)]


def kill_loop(tmp_path: Path, kills: int, seed: int) -> dict:
    pristine, reference, tree, cache = (tmp_path / n for n in ("pristine", "reference", "tree", "cache"))
    build_tree(pristine)
    shutil.copytree(pristine, reference)
    subprocess.run(apply_command(reference, cache), capture_output=True, check=False, timeout=900)
    old, new = contents(pristine), contents(reference)
    fixed = {name for name in old if old[name] != new[name]}
    assert len(fixed) >= 50, "the tree must have many files to write"
    # A whole run with a warm cache: mostly start-up and writing, the part worth interrupting.
    shutil.copytree(pristine, tree)
    started = time.monotonic()
    subprocess.run(apply_command(tree, cache), capture_output=True, check=False, timeout=900)
    whole = time.monotonic() - started
    assert contents(tree) == new

    rng = random.Random(seed)
    stats = {"kills": 0, "partial_files": 0, "mid_write": 0, "temp_files_left": 0, "seed": seed}
    for _ in range(kills):
        shutil.rmtree(tree)
        shutil.copytree(pristine, tree)
        lib_mtime = (tree / "lib").stat().st_mtime_ns
        process = subprocess.Popen(apply_command(tree, cache), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0, whole * 1.1))
        else:  # wait for the first write in lib/, then a moment more
            deadline = time.monotonic() + whole * 3 + 10
            while (tree / "lib").stat().st_mtime_ns == lib_mtime and process.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.05))
        os.killpg(process.pid, signal.SIGKILL)  # the group we started: iacfix and any worker
        process.wait()
        stats["kills"] += 1
        now = contents(tree)
        temporary = [name for name in now if Path(name).name.startswith(TEMP_PREFIX)]
        stats["temp_files_left"] += len(temporary)
        for name in temporary:
            assert Path(name).name.startswith(f"{TEMP_PREFIX}{process.pid}-"), name
            del now[name]
        assert set(now) == set(old), "a file was created or lost"
        partial = [name for name in now if now[name] not in (old[name], new[name])]
        stats["partial_files"] += len(partial)
        assert not partial, f"neither the old nor the new bytes: {partial}"
        written = sum(now[name] == new[name] for name in fixed)
        stats["mid_write"] += 0 < written < len(fixed)

    # The next run finishes the job and leaves no temporary file behind.
    result = subprocess.run(apply_command(tree, cache), capture_output=True, text=True, check=False, timeout=900)
    assert result.returncode in (0, 1), result.stderr
    assert contents(tree) == new, "the run after the last kill leaves exactly the fixed tree, no temporary file"
    if target := os.environ.get("IACFIX_KILL_STATS"):
        with open(target, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(stats) + "\n")
    return stats


def test_killed_apply_leaves_old_or_new_bytes(tmp_path):
    stats = kill_loop(tmp_path, kills=20, seed=20)
    assert stats["partial_files"] == 0
    assert stats["mid_write"] >= 1, f"no kill landed while files were being written: {stats}"


@pytest.mark.fuzz
def test_killed_apply_leaves_old_or_new_bytes_200_times(tmp_path):
    stats = kill_loop(tmp_path, kills=200, seed=random.randrange(1 << 30))
    assert stats["partial_files"] == 0
    assert stats["mid_write"] >= 20, stats


# --- temporary files of killed runs ------------------------------------------------------------


def dead_process_temp_file(directory: Path) -> Path:
    """A temporary file as write_atomic names it, made by a process that has exited since."""
    script = ("import os, sys, tempfile; fd, name = tempfile.mkstemp(dir=sys.argv[1], "
              f"prefix=f'{TEMP_PREFIX}{{os.getpid()}}-', suffix='.tmp'); os.write(fd, b'half'); print(name)")
    made = subprocess.run([sys.executable, "-c", script, str(directory)], capture_output=True, text=True, check=True)
    return Path(made.stdout.strip())


def test_apply_removes_only_the_temporary_files_of_dead_iacfix_processes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "stack.py").write_bytes(GOOD)
    stale = [dead_process_temp_file(tmp_path / "lib"), dead_process_temp_file(tmp_path)]
    keep = [tmp_path / "lib" / f"{TEMP_PREFIX}{os.getpid()}-abc123.tmp",  # a live process: maybe writing now
            tmp_path / f"{TEMP_PREFIX}notes.tmp", tmp_path / "lib" / ".iacfix-12-x.txt", tmp_path / "mine.tmp"]
    for path in keep:
        path.write_bytes(b"not iacfix's to delete")
    check = CliRunner().invoke(app, ["check", "."])
    assert all(path.exists() for path in stale), "check writes nothing, not even a clean-up"
    result = CliRunner().invoke(app, ["apply", "."])
    assert result.exit_code == 0, result.output
    assert "Removed 2 temporary files an interrupted iacfix run left behind" in result.stderr
    assert not any(path.exists() for path in stale)
    assert all(path.read_bytes() == b"not iacfix's to delete" for path in keep)
    assert (tmp_path / "lib" / "stack.py").read_bytes() == FIXED
    assert check.exit_code == 1


def test_stale_cache_entries_of_a_killed_run_are_removed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Pulumi.yaml").write_text("name: t\nruntime: python\n")
    (tmp_path / "stack.py").write_bytes(GOOD)
    CliRunner().invoke(app, ["check", "."])
    folder = next(p for p in (tmp_path / ".iacfix_cache").iterdir() if p.is_dir())
    script = ("import os, sys, tempfile; tempfile.mkstemp(dir=sys.argv[1], prefix=f'.entry-{os.getpid()}-', "
              "suffix='.tmp')")
    subprocess.run([sys.executable, "-c", script, str(folder)], check=True)
    assert [p for p in folder.iterdir() if p.name.startswith(".entry-")]
    (tmp_path / "stack.py").write_bytes(GOOD + b"\n")  # a new run entry is stored: the clean-up runs
    CliRunner().invoke(app, ["check", "."])
    assert not [p for p in folder.iterdir() if p.name.startswith(".entry-")]


def test_write_atomic_temp_names_carry_the_process_id(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def replace(source, target):
        seen.append(Path(source).name)
        return real(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    (tmp_path / "a.py").write_bytes(b"old\n")
    write_atomic(tmp_path / "a.py", b"new\n", expected=b"old\n")
    assert seen and seen[0].startswith(f"{TEMP_PREFIX}{os.getpid()}-") and seen[0].endswith(".tmp")


def test_a_file_edited_during_the_write_is_not_replaced(tmp_path, monkeypatch):
    """The bytes are compared again after the new file is written, just before the rename."""
    path = tmp_path / "a.py"
    path.write_bytes(b"old\n")
    real = os.chmod

    def chmod_then_user_saves(name, mode):
        real(name, mode)
        path.write_bytes(b"old\n# saved by the user meanwhile\n")

    monkeypatch.setattr(files.os, "chmod", chmod_then_user_saves)
    with pytest.raises(files.IacfixError, match="changed on disk since it was read"):
        write_atomic(path, b"new\n", expected=b"old\n")
    assert path.read_bytes() == b"old\n# saved by the user meanwhile\n"
    assert os.listdir(tmp_path) == ["a.py"]


# --- full disks --------------------------------------------------------------------------------


def test_disk_full_in_the_middle_of_the_write_leaves_the_original(tmp_path, monkeypatch):
    """A patched write: half the bytes go out, then ENOSPC."""
    path = tmp_path / "a.py"
    path.write_bytes(GOOD)
    real = os.fdopen

    class HalfThenFull:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: HalfThenFull(real(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, FIXED, expected=GOOD)
    assert path.read_bytes() == GOOD and os.listdir(tmp_path) == ["a.py"]


def limited_file_size(limit: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_apply_with_a_file_size_limit_reports_and_keeps_every_original(tmp_path):
    """The kernel refuses the write (RLIMIT_FSIZE, as a full disk would): exit 2, nothing lost."""
    for index in range(3):
        (tmp_path / f"m{index}.py").write_bytes(GOOD)
    before = contents(tmp_path)
    result = subprocess.run([sys.executable, "-m", "iacfix", "apply", "--no-cache", "."], cwd=tmp_path,
                            capture_output=True, text=True, check=False, timeout=300,
                            preexec_fn=limited_file_size(len(GOOD) // 2))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("not written: [Errno 27] File too large") == 3, result.stderr
    assert contents(tmp_path) == before


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs, filled up, when this process may mount one (root with CAP_SYS_ADMIN)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_apply_on_a_full_disk_reports_and_keeps_every_original(small_tmpfs):
    tree = small_tmpfs / "tree"
    tree.mkdir()
    for index in range(3):
        (tree / f"m{index}.py").write_bytes(GOOD)
    filler = os.open(small_tmpfs / "filler", os.O_WRONLY | os.O_CREAT)  # take every block left
    try:
        while os.write(filler, b"\0" * 4096):
            pass
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(filler)
    before = contents(tree)
    result = subprocess.run([sys.executable, "-m", "iacfix", "apply", "--no-cache", "."], cwd=tree,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("No space left on device") == 3, result.stderr
    assert contents(tree) == before
