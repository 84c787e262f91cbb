"""`iacfix pr`: propose fixes as pull requests, with the manners of Renovate and Dependabot.

The fix is computed in a temporary worktree checked out at the base (fetched first), committed
there as ONE commit on the base by the iacfix identity, and pushed to a branch named after its
fingerprint: `iacfix/<rule id or "all">-<fingerprint>`. The fingerprint hashes the rule ids, the
paths and the changed lines, so the same fix always gets the same branch and a new failure a new
one. A pull request for a fingerprint is opened once: an open one is updated only when the fix's
diff changed and nobody else pushed to its branch; a closed one is left closed unless `force`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from git import Actor, Repo
from gitdb.exc import BadName

from iacfix import git, pr_body
from iacfix.diff import file_diff, patch
from iacfix.engine import run
from iacfix.errors import GitError, UsageError
from iacfix.github import GitHub
from iacfix.results import FileResult, Finding, Report, Safety
from iacfix.rule import Rule, RuleSettings
from iacfix.verify import Verification, Verified

#: What `--verify` hands `build`: verifies a report computed on the given files.
Verifier = Callable[[Report, list[Path]], Verified]

#: The identity of iacfix's commits; with the trailer it tells iacfix's commits from people's.
BOT = Actor("iacfix", "iacfix-bot@users.noreply.github.com")
TRAILER = "Iacfix-Fingerprint"
BRANCH_PREFIX = "iacfix/"


def fingerprint(rule_ids: Iterable[str], results: Iterable[FileResult]) -> str:
    """Short sha256 over the sorted rule ids, the paths and each file's removed and added lines.

    Context lines and hunk positions are left out, so an edit elsewhere in a file does not turn
    the same fix into a new pull request.
    """
    digest = hashlib.sha256()
    for rule_id in sorted(set(rule_ids)):
        digest.update(rule_id.encode() + b"\0")
    for result in sorted(results, key=lambda r: r.path):
        digest.update(os.fsencode(result.path) + b"\0")
        for line in file_diff(result, context=0).splitlines(keepends=True)[2:]:  # after ---/+++
            if line[:1] in (b"-", b"+"):
                digest.update(line)
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Proposal:
    """One pull request's worth of fixes: a commit on the base, for a branch named by fingerprint."""

    label: str  # "all", or the rule id with --per-rule
    results: tuple[FileResult, ...]  # the changed files, paths relative to the repository
    base: str  # the base commit
    commit: str = ""  # the fix commit, once made
    verifications: tuple[Verification, ...] = field(default=(), compare=False)  # with --verify

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.findings if f.fixed)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(sorted({f.rule_id for f in self.findings}))

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.rule_ids, self.results)

    @property
    def branch(self) -> str:
        return f"{BRANCH_PREFIX}{self.label}-{self.fingerprint}"

    @property
    def patch(self) -> bytes:
        return patch(self.results)

    def title(self) -> str:
        return pr_body.title(self.rule_ids)

    def body(self, base_branch: str) -> str:
        return pr_body.body(self.findings, self.patch, self.fingerprint, base_branch,
                            verifications=self.verifications)


@dataclass(frozen=True)
class Options:
    repo: str  # OWNER/NAME
    base: str = "main"
    remote: str = "origin"
    draft: bool = False
    per_rule: bool = False
    force: bool = False
    labels: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)  # scrubbed from every git message


@dataclass(frozen=True)
class Outcome:
    report: Report  # paths relative to the repository
    proposals: tuple[Proposal, ...]
    actions: tuple[str, ...]  # what happened to each proposal's pull request; empty on a dry run
    verifications: tuple[Verification, ...] = ()  # with --verify


def pull_requests(
    paths: Sequence[Path],
    rules: Sequence[type[Rule]],
    threshold: Safety | None,
    options: Options,
    *,
    exclude: Iterable[str] = (),
    region: str | None = None,
    hub: GitHub | None = None,
    settings: RuleSettings | None = None,
    verifier: Verifier | None = None,
) -> Outcome:
    """Build the proposals for `paths` on the remote's base and, given `hub`, open or update their
    pull requests. Without `hub` (a dry run) nothing is fetched, pushed or asked of GitHub."""
    repo = git.open_repository(paths[0])
    with git.git_errors(options.secrets):
        base = resolve_base(repo, options, fetch=hub is not None)
        report, proposals = build(repo, base, paths, rules, threshold, exclude=exclude, region=region,
                                  per_rule=options.per_rule, settings=settings, verifier=verifier)
        actions = tuple(submit(repo, hub, p, options) for p in proposals) if hub is not None else ()
    verifications = proposals[0].verifications if proposals else ()
    return Outcome(report, tuple(proposals), actions, verifications)


def resolve_base(repo: Repo, options: Options, *, fetch: bool) -> str:
    """The base commit: fetched from the remote (with the iacfix branches), or, without `fetch`
    (a dry run), the remote-tracking or local branch already there."""
    if fetch:
        git.fetch(repo, options.remote, [
            f"+refs/heads/{options.base}:refs/remotes/{options.remote}/{options.base}",
            f"+refs/heads/{BRANCH_PREFIX}*:refs/remotes/{options.remote}/{BRANCH_PREFIX}*",
        ], options.secrets)
    for ref in (f"refs/remotes/{options.remote}/{options.base}", f"refs/heads/{options.base}"):
        sha = _commit_of(repo, ref)
        if sha:
            return sha
    raise GitError(f"no branch {options.base!r} on remote {options.remote!r} (or locally)")


def build(
    repo: Repo,
    base: str,
    paths: Sequence[Path],
    rules: Sequence[type[Rule]],
    threshold: Safety | None,
    *,
    exclude: Iterable[str] = (),
    region: str | None = None,
    per_rule: bool = False,
    settings: RuleSettings | None = None,
    verifier: Verifier | None = None,
) -> tuple[Report, list[Proposal]]:
    """Compute the fixes for `paths` at `base` and commit each proposal on the base.

    Runs in a temporary worktree; the user's working tree, index and branches are not touched.
    The report's paths are relative to the repository. With `verifier`, each project's program is
    run before and after the fixes there, and only the fixes that keep it running are proposed.
    """
    names = [git.relative(repo, path) for path in paths]
    with git.worktree(repo, base) as tree:
        top = git.root(tree)
        targets = [top / name for name in names]
        for name, target in zip(names, targets):
            if not target.exists():
                raise UsageError(f"{name or '.'}: not in the base commit {base[:12]}")
        files = git.candidate_files(tree, targets, exclude)
        report = run(files, rules, threshold, region=region, settings=settings)
        verified = verifier(report, files) if verifier is not None and report.changed else None
        if verified is not None:
            report = verified.report
        checked = verified.verifications if verified is not None else ()
        fixed_rules = {f.rule_id for f in report.findings if f.fixed}
        groups = [(r.id, [r]) for r in rules if r.id in fixed_rules] if per_rule else [("all", list(rules))]
        proposals = []
        for label, group in groups:
            tree.head.reset(base, index=True, working_tree=True)
            if not per_rule:
                step = report
            elif verified is not None:
                step = verified.report_for(r.id for r in group)
            else:
                step = run(files, group, threshold, region=region, settings=settings)
            if not step.changed:
                continue
            git.write_all(step.changed)
            proposal = Proposal(label, tuple(_relative(tree, r) for r in step.changed), base, verifications=checked)
            made = git.commit_paths(
                tree, [r.path for r in proposal.results], git.commit_message(proposal.findings),
                author=BOT, trailers={TRAILER: proposal.fingerprint},
            )
            proposals.append(replace(proposal, commit=made.hexsha))
        report = Report(files=tuple(_relative(tree, r) for r in report.files))
    return report, proposals


def submit(repo: Repo, hub: GitHub, proposal: Proposal, options: Options) -> str:
    """Open, update or leave the pull request for `proposal`; say which and why."""
    branch = proposal.branch
    pulls = hub.pulls_for(branch, pr_body.marker(proposal.fingerprint))
    current = next((p for p in pulls if p.state == "open"), None)
    tip = _commit_of(repo, f"refs/remotes/{options.remote}/{branch}")
    if current is None and pulls and not options.force:
        done = pulls[0]
        how = "merged" if done.merged_at else "closed without merging"
        return (f"#{done.number} for this fix ({branch}) was {how}; not opening it again "
                f"(--force to open a new one): {done.html_url}")
    if tip:
        foreign = _foreign_commits(repo, proposal.base, tip)
        if foreign:
            which = f"#{current.number}" if current else "it"
            return (f"left {which} alone: {branch} has commits not made by iacfix "
                    f"({', '.join(foreign)}); it is yours now: {current.html_url if current else branch}")
    title, text = proposal.title(), proposal.body(options.base)
    if current is not None:
        if tip and _same_fix(repo, tip, proposal):
            return f"#{current.number} is up to date, left as is: {current.html_url}"
        git.push(repo, options.remote, proposal.commit, branch, tip, options.secrets)
        hub.update_pull(current, title=title, body=text)
        return f"updated #{current.number}: rebuilt {branch} on {options.base}: {current.html_url}"
    git.push(repo, options.remote, proposal.commit, branch, tip, options.secrets)
    pull = hub.open_pull(branch=branch, base=options.base, title=title, body=text,
                         draft=options.draft, labels=options.labels)
    return f"opened #{pull.number} from {branch}: {pull.html_url}"


def _commit_of(repo: Repo, ref: str) -> str | None:
    try:
        return repo.commit(ref).hexsha
    except (BadName, ValueError):
        return None


def _foreign_commits(repo: Repo, base: str, tip: str) -> list[str]:
    """Short shas of commits on the branch after the base that iacfix did not make."""
    return [
        commit.hexsha[:8]
        for commit in repo.iter_commits(f"{base}..{tip}")
        if commit.author.email != BOT.email or TRAILER not in commit.trailers_dict
    ]


def _same_fix(repo: Repo, tip: str, proposal: Proposal) -> bool:
    """Whether the branch's single commit changes its base exactly as the rebuilt commit would."""
    parents = repo.commit(tip).parents
    if len(parents) != 1:
        return False
    return repo.git.diff(parents[0].hexsha, tip) == repo.git.diff(proposal.base, proposal.commit)


def _relative(tree: Repo, result: FileResult) -> FileResult:
    name = git.relative(tree, result.path)
    return replace(result, path=name, findings=tuple(replace(f, path=name) for f in result.findings))
