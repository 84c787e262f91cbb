"""`iacfix pr` against real git (a bare repository as the remote, real pushes) and a loopback GitHub."""

from __future__ import annotations

import logging
import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from github_server import FakeGitHub
from gitrepo import commit_all, git, isolated_git, new_repo, snapshot  # noqa: F401 - isolated_git is autouse
from iacfix.cli import app
from iacfix.errors import GitHubError
from iacfix.github import GitHub

#: Most tests need one fix to propose, not all four: one rule keeps them fast.
ONE_RULE = ("--select", "describe-secret-name")
BOT_EMAIL = "iacfix-bot@users.noreply.github.com"


@dataclass
class World:
    work: Path  # the user's clone
    origin: Path  # the bare remote
    hub: FakeGitHub
    token: str
    tmp: Path

    def pr(self, *args: str):
        return CliRunner().invoke(
            app, ["pr", "--repo", "acme/infra", "--api-url", self.hub.url, *args], catch_exceptions=False
        )

    def branches(self) -> dict[str, str]:
        """Branches of the remote: name -> commit."""
        out = git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=self.origin)
        return dict(line.split() for line in out.splitlines())

    def iacfix_branches(self) -> dict[str, str]:
        return {name: sha for name, sha in self.branches().items() if name.startswith("iacfix/")}

    def push_main(self, edit) -> None:
        """A teammate changes main in their own clone: `edit(clone)`, commit, push."""
        clone = self.tmp / "teammate"
        if not clone.exists():
            git("clone", "-q", str(self.origin), str(clone), cwd=self.tmp)
            git("config", "user.name", "Team Mate", cwd=clone)
            git("config", "user.email", "mate@example.com", cwd=clone)
        git("pull", "-q", "--ff-only", cwd=clone)
        edit(clone)
        commit_all(clone, "teammate's change")
        git("push", "-q", "origin", "main", cwd=clone)

    def human_push(self, branch: str) -> str:
        """Someone checks out the bot's branch, commits and pushes; returns the new tip."""
        clone = self.tmp / f"human-{len(list(self.tmp.glob('human-*')))}"
        git("clone", "-q", "--branch", branch, str(self.origin), str(clone), cwd=self.tmp)
        git("config", "user.name", "Human Reviewer", cwd=clone)
        git("config", "user.email", "human@example.com", cwd=clone)
        (clone / "tap.py").open("a").write("# reviewed\n")
        sha = commit_all(clone, "tweak the fix")
        git("push", "-q", "origin", branch, cwd=clone)
        return sha


@pytest.fixture
def world(tmp_path, monkeypatch):
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    work = new_repo(tmp_path / "work")
    git("remote", "add", "origin", str(origin), cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    token = "ghs_" + secrets.token_hex(18)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.chdir(work)
    hub = FakeGitHub(token=token, remote=origin)
    yield World(work, origin, hub, token, tmp_path)
    hub.stop()


def user_state(work: Path) -> tuple:
    """What `iacfix pr` must never change in the user's clone."""
    return (
        snapshot(work),
        (work / ".git" / "index").read_bytes(),
        git("rev-parse", "HEAD", cwd=work),
        git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", cwd=work),
        git("worktree", "list", "--porcelain", cwd=work),
        git("status", "--porcelain", cwd=work),
    )


def test_renovate_manners_one_pr_per_fix_closed_means_no_human_commits_win_new_failure_new_pr(world):
    before = user_state(world.work)
    main = world.branches()["main"]

    first = world.pr(*ONE_RULE)
    assert first.exit_code == 0, first.output
    assert re.search(r"opened #1 from iacfix/all-[0-9a-f]{12}: https://github.example/acme/infra/pull/1",
                     first.stdout)
    [(branch, tip)] = world.iacfix_branches().items()
    fingerprint = branch.rsplit("-", 1)[1]
    # One commit on the base, by iacfix, with the trailer; the PR carries the marker.
    assert git("rev-parse", f"{tip}^", cwd=world.origin).strip() == main
    assert git("log", "-1", "--format=%ae%n%(trailers:key=Iacfix-Fingerprint,valueonly)", tip,
               cwd=world.origin).split() == [BOT_EMAIL, fingerprint]
    created = world.hub.sent("POST", "/repos/acme/infra/pulls")[0].json()
    assert created["head"] == branch and created["base"] == "main" and created["draft"] is False
    assert f"<!-- iacfix-fingerprint: {fingerprint} -->" in created["body"]

    second = world.pr(*ONE_RULE)
    assert second.exit_code == 0, second.output
    assert "#1 is up to date, left as is" in second.stdout
    assert len(world.hub.pulls) == 1 and world.iacfix_branches() == {branch: tip}

    world.hub.close(1)
    third = world.pr(*ONE_RULE)
    assert "#1 for this fix (" + branch + ") was closed without merging; not opening it again" in third.stdout
    assert len(world.hub.pulls) == 1 and world.hub.pulls[1]["state"] == "closed"
    assert not world.hub.sent("PATCH", r"/repos/acme/infra/pulls/\d+")

    forced = world.pr(*ONE_RULE, "--force")
    assert "opened #2 from " + branch in forced.stdout
    assert [p["number"] for p in world.hub.open_pulls()] == [2]

    human = world.human_push(branch)
    fourth = world.pr(*ONE_RULE)
    assert fourth.exit_code == 0, fourth.output
    assert "left #2 alone: " + branch + " has commits not made by iacfix (" + human[:8] in fourth.stdout
    assert world.iacfix_branches()[branch] == human, "a human's commit was overwritten"
    assert not world.hub.sent("PATCH", r"/repos/acme/infra/pulls/\d+")

    world.push_main(lambda w: (w / "lib" / "vault.py").write_text(
        "import boto3\n\nboto3.client('secretsmanager').describe_secret(Name='db')\n"))
    fifth = world.pr(*ONE_RULE)
    assert fifth.exit_code == 0, fifth.output
    assert "opened #3 from iacfix/all-" in fifth.stdout
    new_branch = world.hub.pulls[3]["head"]["ref"]
    assert new_branch != branch and new_branch.rsplit("-", 1)[1] != fingerprint
    assert [p["number"] for p in world.hub.open_pulls()] == [2, 3]
    assert world.iacfix_branches()[branch] == human  # the human's branch is still theirs
    assert len(world.hub.sent("POST", "/repos/acme/infra/pulls")) == 3

    # Through all of it the user's clone kept its files, index, HEAD and branches; no worktree left.
    assert user_state(world.work) == before


def test_the_users_clone_is_untouched(world):
    (world.work / "tap.py").open("a").write("# uncommitted work\n")
    (world.work / "scratch.txt").write_text("staged\n")
    git("add", "scratch.txt", cwd=world.work)
    before = user_state(world.work)
    result = world.pr(*ONE_RULE)
    assert result.exit_code == 0, result.output
    assert user_state(world.work) == before


def test_an_open_pr_is_rebuilt_on_the_new_base_when_its_diff_changed(world):
    assert world.pr(*ONE_RULE).exit_code == 0
    [(branch, old_tip)] = world.iacfix_branches().items()

    def edit_context(work):  # the line after the fixed call changes: same fix, new surroundings
        path = work / "tests" / "integration" / "test_tap_stack.py"
        path.write_text(path.read_text().replace('self.assertIn("ARN", details)', 'self.assertIn("Name", details)'))

    world.push_main(edit_context)
    result = world.pr(*ONE_RULE)
    assert result.exit_code == 0, result.output
    assert f"updated #1: rebuilt {branch} on main" in result.stdout
    new_tip = world.iacfix_branches()[branch]  # same fingerprint, same branch
    assert new_tip != old_tip
    assert git("rev-parse", f"{new_tip}^", cwd=world.origin).strip() == world.branches()["main"]
    assert len(world.hub.pulls) == 1
    assert world.hub.sent("PATCH", "/repos/acme/infra/pulls/1")


def test_body_title_labels_and_draft(world):
    (world.work / "pyproject.toml").write_text('[tool.iacfix]\npr-labels = ["iacfix", "infrastructure"]\n')
    result = world.pr("--unsafe-fixes", "--draft")
    assert result.exit_code == 0, result.output
    created = world.hub.sent("POST", "/repos/acme/infra/pulls")[0].json()
    assert created["draft"] is True
    assert created["title"] == ("iacfix: fix awslogs-region-hardcoded, describe-secret-name, random-for-secrets, "
                                "s3-bucket-name-not-unique")
    body = created["body"]
    for row in ("| `awslogs-region-hardcoded` | `lib/tap_stack.py` | 113 | safe |",
                "| `describe-secret-name` | `tests/integration/test_tap_stack.py` | 22 | safe |",
                "| `random-for-secrets` | `lib/tap_stack.py` | 41 | safe |",
                "| `s3-bucket-name-not-unique` | `lib/tap_stack.py` | 34 | unsafe |"):
        assert row in body
    assert "### `s3-bucket-name-not-unique`" in body and "**Why is this bad?** `pulumi up` creates the bucket" in body
    assert "**Fix safety.** Unsafe: a new name makes Pulumi replace a deployed bucket" in body
    assert "# iacfix: ignore[awslogs-region-hardcoded]" in body and "[tool.iacfix]\n  ignore = [" in body
    assert " lib/tap_stack.py                    | +9 -4\n" in body
    assert " 2 files changed, 10 insertions(+), 5 deletions(-)" in body
    labels = world.hub.sent("POST", "/repos/acme/infra/issues/1/labels")
    assert [r.json() for r in labels] == [["iacfix", "infrastructure"]]


def test_bad_pr_labels_config_is_an_error_naming_the_key(world):
    (world.work / "pyproject.toml").write_text('[tool.iacfix]\npr-labels = "iacfix"\n')
    result = world.pr(*ONE_RULE)
    assert result.exit_code == 2
    assert "pyproject.toml: [tool.iacfix] pr-labels must be a list of strings" in result.stderr


def test_per_rule_opens_one_pr_per_rule_each_with_only_that_rules_change(world):
    result = world.pr("--per-rule", "--select", "describe-", "--select", "awslogs-")
    assert result.exit_code == 0, result.output
    titles = sorted(p["title"] for p in world.hub.pulls.values())
    assert titles == ["iacfix: fix awslogs-region-hardcoded", "iacfix: fix describe-secret-name"]
    branches = world.iacfix_branches()
    assert sorted(b.rsplit("-", 1)[0] for b in branches) == ["iacfix/awslogs-region-hardcoded",
                                                             "iacfix/describe-secret-name"]
    for branch, tip in branches.items():
        files = git("diff", "--name-only", f"{tip}^", tip, cwd=world.origin).split()
        assert files == (["lib/tap_stack.py"] if "awslogs" in branch else ["tests/integration/test_tap_stack.py"])


def test_dry_run_touches_no_remote_and_no_api_and_needs_no_token(world, monkeypatch):
    git("remote", "set-url", "origin", str(world.tmp / "nowhere.git"), cwd=world.work)  # a fetch would fail
    monkeypatch.delenv("GITHUB_TOKEN")
    before = user_state(world.work)
    result = world.pr(*ONE_RULE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert world.hub.requests == [] and world.iacfix_branches() == {}
    assert user_state(world.work) == before
    branch = re.search(r"would push branch (iacfix/all-[0-9a-f]{12})", result.stdout)[1]
    assert "title: iacfix: fix describe-secret-name" in result.stdout
    assert "| `describe-secret-name` | `tests/integration/test_tap_stack.py` | 22 | safe |" in result.stdout
    # The real run pushes exactly the branch the dry run announced.
    git("remote", "set-url", "origin", str(world.origin), cwd=world.work)
    monkeypatch.setenv("GITHUB_TOKEN", world.token)
    assert world.pr(*ONE_RULE).exit_code == 0
    assert list(world.iacfix_branches()) == [branch]


def test_the_token_appears_nowhere_but_the_authorization_header(world, caplog):
    caplog.set_level(logging.DEBUG)
    outputs = []
    for args in ((), ("--per-rule",)):
        result = world.pr(*ONE_RULE, *args)
        outputs += [result.stdout, result.stderr]
    world.hub.fail("POST", "/repos/acme/infra/pulls", 403, "Resource not accessible by integration")
    world.push_main(lambda w: (w / "lib" / "vault.py").write_text(
        "import boto3\n\nboto3.client('secretsmanager').describe_secret(Name='db')\n"))
    failed = world.pr(*ONE_RULE)
    assert failed.exit_code == 2
    outputs += [failed.stdout, failed.stderr]

    assert all(r.headers["Authorization"] == f"token {world.token}" for r in world.hub.requests)
    sent = [r.method + r.path + r.body.decode() + repr({k: v for k, v in r.headers.items() if k != "Authorization"})
            for r in world.hub.requests]
    git_data = []
    for repo in (world.work, world.origin):
        objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                                 capture_output=True, check=True).stdout
        git_data.append(objects.decode("utf-8", "replace"))
        git_data.append(git("config", "--list", "--show-origin", cwd=repo))
        git_data.append(git("for-each-ref", cwd=repo))
        git_data.append(git("log", "--all", "--format=%H %an %ae %B", cwd=repo))
    everything = "\n".join([*outputs, caplog.text, *sent, *git_data])
    assert len(caplog.records) > 10 and "Resource not accessible" in everything  # the scan saw real data
    assert world.token not in everything
    assert world.token[4:20] not in everything  # nor a fragment of it


def test_git_errors_never_show_credentials_from_the_remote_url(world):
    git("remote", "set-url", "origin", f"http://x-access-token:{world.token}@127.0.0.1:9/acme/infra.git",
        cwd=world.work)
    result = world.pr(*ONE_RULE)
    assert result.exit_code == 2
    assert "error: git fetch from origin failed:" in result.stderr
    assert world.token not in result.output and "x-access-token" not in result.output


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        (lambda w, mp: mp.delenv("GITHUB_TOKEN"), (),
         "error: no GitHub token: set GITHUB_TOKEN (or name another variable with --token-env)"),
        (lambda w, mp: mp.setenv("GITHUB_TOKEN", "ghs_wrong"), (),
         "error: GitHub rejected the token in $GITHUB_TOKEN (401: Bad credentials) while reading repository"),
        (lambda w, mp: None, ("--repo", "acme/missing"),
         "error: GitHub answered 404 Not Found while reading repository acme/missing: check --repo acme/missing"),
        (lambda w, mp: w.hub.fail("GET", "/repos/acme/infra", 502, "Server Error"), (),
         "error: GitHub server error 502 while reading repository acme/infra: Server Error; try again later"),
        (lambda w, mp: w.hub.fail("POST", "/repos/acme/infra/pulls", 403, "Resource not accessible by integration"),
         (), "error: GitHub refused opening a pull request from iacfix/all-"),
        (lambda w, mp: None, ("--repo", "not-a-repo"), "error: --repo OWNER/NAME is required"),
    ],
    ids=["missing-token", "401", "404", "5xx", "403", "bad-repo"],
)
def test_github_errors_are_one_clear_line_and_exit_2(world, monkeypatch, setup, args, expected):
    setup(world, monkeypatch)
    result = world.pr(*ONE_RULE, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_token_env_names_the_variable(world, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("BOT_TOKEN", world.token)
    assert world.pr(*ONE_RULE, "--token-env", "BOT_TOKEN").exit_code == 0
    assert len(world.hub.pulls) == 1


@pytest.mark.parametrize("header", ["X-RateLimit-Reset", "Retry-After"])
def test_rate_limit_is_waited_out_honouring_the_header(world, header):
    reset = int(time.time()) + 1
    if header == "X-RateLimit-Reset":
        world.hub.fail("GET", "/repos/acme/infra", 403, "API rate limit exceeded for installation ID 1.",
                       {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    else:
        world.hub.fail("GET", "/repos/acme/infra", 403, "You have exceeded a secondary rate limit.",
                       {"Retry-After": "1"})
    result = world.pr(*ONE_RULE)
    assert result.exit_code == 0, result.output
    first, retry = world.hub.sent("GET", "/repos/acme/infra")
    if header == "X-RateLimit-Reset":
        assert retry.time >= reset
    else:
        assert retry.time - first.time >= 1
    assert "opened #1" in result.stdout


def test_a_rate_limit_resetting_later_than_the_bound_is_an_error_without_waiting(world):
    world.hub.fail("GET", "/repos/acme/infra", 403, "API rate limit exceeded for installation ID 1.",
                   {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)})
    started = time.monotonic()
    result = world.pr(*ONE_RULE)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert "GitHub rate limit exceeded while reading repository acme/infra; it resets in 36" in result.stderr
    assert len(world.hub.sent("GET", "/repos/acme/infra")) == 1


def test_rate_limit_waits_add_up_to_at_most_the_bound(world):
    world.hub.fail("GET", "/repos/acme/infra", 429, "Too many requests", {"Retry-After": "1"}, times=10)
    started = time.monotonic()
    with pytest.raises(GitHubError, match="rate limit exceeded .* longer than iacfix waits \\(2s in all\\)"):
        GitHub("acme/infra", world.token, api_url=world.hub.url, max_wait=2.5)
    assert 2 <= time.monotonic() - started < 5
    assert len(world.hub.sent("GET", "/repos/acme/infra")) == 3  # the first try and two retries


def test_a_rejected_push_is_one_clear_line(world):
    hook = world.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch protection: pushes need approval' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = world.pr(*ONE_RULE)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: git push to origin refused iacfix/all-")
    assert "[remote rejected] (pre-receive hook declined)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and world.hub.pulls == {}
    assert git("for-each-ref", "refs/iacfix-push", cwd=world.work) == ""  # the push ref is gone
