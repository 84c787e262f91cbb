"""`iacfix commit` against real git repositories made with `git init`."""

from __future__ import annotations

import subprocess

import pytest
from git import Repo
from typer.testing import CliRunner

from gitrepo import commit_all, git, isolated_git, new_repo, snapshot  # noqa: F401 - isolated_git is autouse
from iacfix.cli import app

FIXED_FILES = ["lib/tap_stack.py", "tests/integration/test_tap_stack.py"]
#: Tests about git behaviour run one quick rule; the ones about messages run them all.
ONE_RULE = ("--select", "awslogs-region-hardcoded")
TWO_RULES = ("--select", "awslogs-region-hardcoded", "--select", "describe-secret-name")


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    path = new_repo(tmp_path / "infra")
    monkeypatch.chdir(path)
    return path


def head(path) -> str:
    return git("rev-parse", "HEAD", cwd=path).strip()


def changed_in(path, rev="HEAD") -> list[str]:
    return sorted(git("diff-tree", "--no-commit-id", "--name-only", "-r", rev, cwd=path).split())


def message(path, rev="HEAD") -> str:
    return git("log", "-1", "--format=%B", rev, cwd=path)


def test_commit_commits_the_fixed_files_with_a_message_naming_rules_files_lines_and_safety(repo):
    before = head(repo)
    result = invoke("commit")
    assert result.exit_code == 1, result.output  # the unsafe s3 fix remains
    assert git("rev-parse", "HEAD~1", cwd=repo).strip() == before
    assert changed_in(repo) == FIXED_FILES
    assert git("status", "--porcelain", cwd=repo) == ""  # committed exactly what was written
    assert message(repo) == (
        "iacfix: fix awslogs-region-hardcoded, describe-secret-name, random-for-secrets\n"
        "\n"
        "- awslogs-region-hardcoded: lib/tap_stack.py:113 (safe fix)\n"
        "- describe-secret-name: tests/integration/test_tap_stack.py:22 (safe fix)\n"
        "- random-for-secrets: lib/tap_stack.py:41 (safe fix)\n\n"
    )
    assert git("log", "-1", "--format=%an <%ae>", cwd=repo).strip() == "Dev Eloper <dev@example.com>"
    assert "aws.get_region().region" in (repo / "lib" / "tap_stack.py").read_text()
    assert "s3-bucket-name-not-unique" in result.stdout  # the finding left is listed
    assert "] iacfix: fix awslogs-region-hardcoded" in result.stdout


def test_an_unsafe_fix_says_so_in_the_message(repo):
    result = invoke("commit", "--unsafe-fixes", "--select", "s3-")
    assert result.exit_code == 0, result.output  # nothing remains
    assert message(repo) == (
        "iacfix: fix s3-bucket-name-not-unique\n\n"
        "- s3-bucket-name-not-unique: lib/tap_stack.py:34 (unsafe fix)\n\n"
        "Unsafe fixes may replace deployed resources or change runtime values; run `pulumi preview` "
        "before deploying.\n\n"
    )
    assert git("status", "--porcelain", cwd=repo) == ""


def test_nothing_to_fix_makes_no_commit(repo):
    invoke("commit", *ONE_RULE)
    before = head(repo)
    result = invoke("commit", *ONE_RULE)
    assert result.exit_code == 0 and head(repo) == before


@pytest.mark.parametrize(
    ("make_dirty", "why"),
    [
        (lambda r: (r / "lib/tap_stack.py").open("a").write("# my edit\n"), "lib/tap_stack.py has unstaged changes"),
        (lambda r: ((r / "lib/tap_stack.py").open("a").write("# my edit\n"), git("add", "lib", cwd=r)),
         "lib/tap_stack.py has staged changes"),
        (lambda r: (r / "lib/new_stack.py").write_bytes((r / "lib/tap_stack.py").read_bytes()),
         "lib/new_stack.py is untracked"),
    ],
    ids=["unstaged", "staged", "untracked"],
)
def test_a_dirty_file_it_would_touch_is_refused_and_nothing_is_written(repo, make_dirty, why):
    make_dirty(repo)
    before, index, commit = snapshot(repo), (repo / ".git" / "index").read_bytes(), head(repo)
    result = invoke("commit", *ONE_RULE)
    assert result.exit_code == 2
    assert why in result.stderr and "--allow-dirty" in result.stderr and "nothing was written" in result.stderr
    assert snapshot(repo) == before, "refused, yet a file was written"
    assert (repo / ".git" / "index").read_bytes() == index and head(repo) == commit


def test_a_dirty_file_iacfix_does_not_touch_does_not_block(repo):
    (repo / "tap.py").open("a").write("# work in progress\n")
    assert invoke("commit", *ONE_RULE).exit_code == 0
    assert changed_in(repo) == ["lib/tap_stack.py"]
    assert git("status", "--porcelain", cwd=repo) == " M tap.py\n"


def test_allow_dirty_commits_the_touched_file_whole(repo):
    (repo / "lib/tap_stack.py").open("a").write("# my edit\n")
    result = invoke("commit", "--allow-dirty", *ONE_RULE)
    assert result.exit_code == 0, result.output
    committed = git("show", "HEAD:lib/tap_stack.py", cwd=repo)
    assert committed.endswith("# my edit\n") and "aws.get_region().region" in committed


def test_gitpython_index_commit_would_take_everything_staged(repo):
    """Why `commit_paths` builds its own index: `Repo.index.commit` commits the whole index."""
    (repo / "notes.txt").write_text("staged by the user\n")
    git("add", "notes.txt", cwd=repo)
    Repo(repo).index.commit("plain GitPython commit")
    assert "notes.txt" in changed_in(repo)


def test_files_the_user_staged_stay_staged_and_out_of_the_commit(repo):
    (repo / "notes.txt").write_text("staged by the user\n")
    (repo / "tap.py").open("a").write("# staged edit\n")
    git("add", "notes.txt", "tap.py", cwd=repo)
    assert invoke("commit", *TWO_RULES).exit_code == 0
    assert changed_in(repo) == FIXED_FILES
    assert git("status", "--porcelain", cwd=repo) == "A  notes.txt\nM  tap.py\n"
    assert "# staged edit" not in git("show", "HEAD:tap.py", cwd=repo)
    # The real index still holds the user's staged content, and our files as committed.
    assert git("diff", "--cached", "--name-only", cwd=repo).split() == ["notes.txt", "tap.py"]


@pytest.mark.parametrize("where", ["cwd", "argument"])
def test_works_from_or_on_a_subdirectory(repo, monkeypatch, where):
    if where == "cwd":
        monkeypatch.chdir(repo / "lib")
        result = invoke("commit", *TWO_RULES)
    else:
        result = invoke("commit", *TWO_RULES, "lib")
    assert result.exit_code == 0, result.output
    assert changed_in(repo) == ["lib/tap_stack.py"]
    assert "- awslogs-region-hardcoded: lib/tap_stack.py:113 (safe fix)" in message(repo)
    assert "describe-secret-name" not in message(repo)


def test_gitignored_files_are_never_touched(repo):
    broken = (repo / "lib" / "tap_stack.py").read_bytes()
    (repo / ".gitignore").write_text("generated/\nscratch_*.py\n")
    commit_all(repo, "ignore generated code")
    (repo / "generated").mkdir()
    (repo / "generated" / "stack.py").write_bytes(broken)
    (repo / "lib" / "scratch_café.py").write_bytes(broken)  # non-ASCII: `Repo.ignored` misses it
    result = invoke("commit", *ONE_RULE, ".", "lib/scratch_café.py")
    assert result.exit_code == 0, result.output
    assert (repo / "generated" / "stack.py").read_bytes() == broken
    assert (repo / "lib" / "scratch_café.py").read_bytes() == broken
    assert changed_in(repo) == ["lib/tap_stack.py"]


def test_per_rule_makes_one_commit_per_rule_and_ends_where_one_commit_does(repo, tmp_path, monkeypatch):
    three = ("--unsafe-fixes", "--select", "awslogs-", "--select", "describe-", "--select", "s3-")
    start = head(repo)
    result = invoke("commit", "--per-rule", *three)
    assert result.exit_code == 0, result.output
    subjects = git("log", "--format=%s", f"{start}..HEAD", cwd=repo).splitlines()
    assert subjects == [  # newest first; rules in id order
        "iacfix: fix s3-bucket-name-not-unique",
        "iacfix: fix describe-secret-name",
        "iacfix: fix awslogs-region-hardcoded",
    ]
    assert changed_in(repo, "HEAD~1") == ["tests/integration/test_tap_stack.py"]
    awslogs = git("show", "--format=", "HEAD~2", cwd=repo)
    assert "awslogs-region" in awslogs and "account_id" not in awslogs
    assert "account_id" in git("show", "--format=", "HEAD", cwd=repo)
    # The same fixes as one commit give the same tree.
    other = new_repo(tmp_path / "other")
    monkeypatch.chdir(other)
    assert invoke("commit", *three).exit_code == 0
    assert git("rev-parse", "HEAD^{tree}", cwd=other) == git("rev-parse", "HEAD^{tree}", cwd=repo)


def _merge_conflict(repo):
    git("checkout", "-q", "-b", "other", cwd=repo)
    (repo / "tap.py").write_text("other\n")
    commit_all(repo, "other")
    git("checkout", "-q", "main", cwd=repo)
    (repo / "tap.py").write_text("main\n")
    commit_all(repo, "main")
    assert subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True, check=False).returncode != 0


def _rebase_conflict(repo):
    git("checkout", "-q", "-b", "other", cwd=repo)
    (repo / "tap.py").write_text("other\n")
    commit_all(repo, "other")
    git("checkout", "-q", "main", cwd=repo)
    (repo / "tap.py").write_text("main\n")
    commit_all(repo, "main")
    git("checkout", "-q", "other", cwd=repo)
    assert subprocess.run(["git", "rebase", "main"], cwd=repo, capture_output=True, check=False).returncode != 0


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda r: git("checkout", "-q", "--detach", cwd=r), "HEAD is detached"),
        (_merge_conflict, "a merge is in progress"),
        (_rebase_conflict, "a rebase is in progress"),
    ],
    ids=["detached", "merge", "rebase"],
)
def test_refuses_a_repository_in_the_middle_of_something(repo, setup, expected):
    setup(repo)
    before, commit = snapshot(repo), head(repo)
    result = invoke("commit")
    assert result.exit_code == 2 and expected in result.stderr, result.output
    assert snapshot(repo) == before and head(repo) == commit


def test_refuses_outside_a_repository_in_a_bare_one_and_before_the_first_commit(tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x.py").write_text("import random\n")
    monkeypatch.chdir(plain)
    result = invoke("commit")
    assert result.exit_code == 2 and "not inside a git repository" in result.stderr
    bare = tmp_path / "bare.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    monkeypatch.chdir(bare)
    result = invoke("commit")
    assert result.exit_code == 2 and "bare repository" in result.stderr
    git("init", "-q", "-b", "main", cwd=plain)
    monkeypatch.chdir(plain)
    result = invoke("commit")
    assert result.exit_code == 2 and "branch main has no commits yet" in result.stderr
    assert (plain / "x.py").read_text() == "import random\n"


def test_project_level_fixes_are_committed_too(repo):
    # A Pulumi.yaml fix (a project-level rule) is part of the run and of the commit.
    project_file = repo / "Pulumi.yaml"
    project_file.write_text(project_file.read_text().replace("main: tap.py", "main: app.py"))
    commit_all(repo, "point main at a file that does not exist")
    result = invoke("commit", "--select", "pulumi-yaml-main-mismatch")
    assert result.exit_code == 0, result.output
    assert changed_in(repo) == ["Pulumi.yaml"]
    assert "main: tap.py" in project_file.read_text()
    assert message(repo).startswith("iacfix: fix pulumi-yaml-main-mismatch\n")


def test_a_file_it_cannot_write_leaves_every_file_as_it_was_and_commits_nothing(repo):
    """A commit is all or nothing: the fixed files written before the failure get their bytes back."""
    (repo / "tests/integration/test_tap_stack.py").chmod(0o444)
    before = {name: data for name, (data, _) in snapshot(repo).items()}
    commit = head(repo)
    result = invoke("commit", *TWO_RULES)
    assert result.exit_code == 2
    assert ("could not write tests/integration/test_tap_stack.py (is read-only; make it writable to let iacfix "
            "fix it); nothing was committed; the files already written were restored") in result.stderr
    assert {name: data for name, (data, _) in snapshot(repo).items()} == before
    assert head(repo) == commit and git("status", "--porcelain", cwd=repo) == ""
