"""Git for `iacfix commit` and `iacfix pr`, with GitPython.

`commit_fixes` applies the engine's fixes and commits exactly the files it changed, refusing to
touch a file with uncommitted changes. The other helpers serve `iacfix.pr`: fetching, a temporary
worktree, pushing. Every git failure surfaces as a one-line GitError with credentials in URLs
scrubbed (git's messages quote remote URLs).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from git import (
    Actor,
    Commit,
    GitCommandError,
    IndexFile,
    InvalidGitRepositoryError,
    NoSuchPathError,
    Reference,
    Repo,
)

from iacfix.engine import run
from iacfix.errors import GitError, IacfixError
from iacfix.context import PROJECT_FILE
from iacfix.files import discover, discover_projects, write_atomic
from iacfix.results import FileResult, Finding, Report, Safety
from iacfix.rule import Rule, RuleSettings

#: Files git leaves in the git directory while an operation waits for the user.
_IN_PROGRESS = (
    ("MERGE_HEAD", "a merge"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase or `git am`"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("BISECT_LOG", "a bisect"),
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


class _ScrubCredentials(logging.Filter):
    """GitPython logs git's stderr, which can quote a remote URL, as warnings: scrub credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


for _name in ("git.remote", "git.cmd"):  # logger filters do not apply to child loggers
    logging.getLogger(_name).addFilter(_ScrubCredentials())


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with user:password@ in URLs and every secret replaced by `***`."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def git_error(action: str, error: GitCommandError, secrets: Iterable[str] = ()) -> GitError:
    """A one-line GitError from git's own last words, never its command line or full stderr dump."""
    stderr = re.sub(r"^\s*stderr: '|'\s*$", "", str(error.stderr or ""))
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if line.startswith(("fatal:", "error:"))),
                lines[-1] if lines else f"exit status {error.status}")
    said = [line for line in lines if line.startswith("remote:")]  # what the remote told us
    detail = "; ".join([*said, last])[:500]
    return GitError(scrub(f"git {action} failed: {detail}", secrets))


@contextmanager
def git_errors(secrets: Iterable[str] = ()) -> Iterator[None]:
    """Any git command failing inside becomes a one-line GitError, not a traceback."""
    try:
        yield
    except GitCommandError as error:
        command = error.command[1] if isinstance(error.command, list) and len(error.command) > 1 else "command"
        raise git_error(str(command), error, secrets) from None


# -- the repository ------------------------------------------------------------------------------

def open_repository(path: Path) -> Repo:
    """The repository `path` is in (searching parent directories); it must have a working tree."""
    start = path if path.is_dir() else path.parent
    try:
        repo = Repo(start, search_parent_directories=True)
    except NoSuchPathError:
        raise GitError(f"{path}: no such file or directory") from None
    except InvalidGitRepositoryError:
        raise GitError(f"{path}: not inside a git repository") from None
    if repo.bare:
        raise GitError(f"{repo.git_dir}: a bare repository has no working tree to fix")
    return repo


def root(repo: Repo) -> Path:
    return Path(repo.working_tree_dir).resolve()


def require_branch(repo: Repo) -> None:
    """Refuse to commit mid-merge/rebase/etc., on a detached HEAD, or on a branch with no commits."""
    for marker, what in _IN_PROGRESS:
        if (Path(repo.git_dir) / marker).exists():
            raise GitError(f"{root(repo)}: {what} is in progress; finish or abort it first")
    if repo.head.is_detached:
        raise GitError(f"{root(repo)}: HEAD is detached; check out a branch to commit on")
    if not repo.head.is_valid():
        raise GitError(f"{root(repo)}: branch {repo.head.ref.name} has no commits yet; commit your files first")


def relative(repo: Repo, path: str | Path) -> str:
    """`path` relative to the repository root, POSIX-style; a path outside it is a GitError."""
    try:
        return Path(path).resolve().relative_to(root(repo)).as_posix()
    except ValueError:
        raise GitError(f"{path}: outside the repository at {root(repo)}") from None


def candidate_files(repo: Repo, paths: Sequence[Path], exclude: Iterable[str] = ()) -> list[Path]:
    """The Python files under `paths`, and the Pulumi.yaml of each project under them (so the
    project-level rules run), that git does not ignore.

    Ignored paths are listed with `git ls-files -z --others --ignored --directory`, not with
    `Repo.ignored`: that one parses `git check-ignore` output that C-quotes non-ASCII names
    ("caf\\303\\251.py"), so such a file would not be recognised as ignored and would be rewritten.
    """
    files = discover(paths, exclude) + [root / PROJECT_FILE for root in discover_projects(paths, exclude)]
    listing = repo.git.ls_files("-z", "--others", "--ignored", "--exclude-standard", "--directory")
    ignored = [entry for entry in listing.split("\0") if entry]
    directories = tuple(entry for entry in ignored if entry.endswith("/"))
    exact = set(ignored)
    kept = []
    for file in files:
        name = relative(repo, file)
        if name not in exact and not name.startswith(directories):
            kept.append(file)
    return kept


def uncommitted(repo: Repo, names: Sequence[str]) -> dict[str, str]:
    """Which of `names` (repository-relative) have staged, unstaged or untracked changes, and which."""
    if not names:
        return {}
    status = repo.git.status("--porcelain", "-z", "--untracked-files=all", "--", *names)
    records = iter(status.split("\0"))
    found: dict[str, str] = {}
    for record in records:
        if not record:
            continue
        code, name = record[:2], record[3:]
        if "R" in code or "C" in code:
            next(records, None)  # a rename or copy is followed by its source path
        if code == "??":
            found[name] = "is untracked"
        elif code[0] != " " and code[1] != " ":
            found[name] = "has staged and unstaged changes"
        elif code[0] != " ":
            found[name] = "has staged changes"
        else:
            found[name] = "has unstaged changes"
    return found


def commit_paths(
    repo: Repo,
    names: Sequence[str],
    message: str,
    *,
    author: Actor | None = None,
    trailers: dict[str, str] | None = None,
) -> Commit:
    """Commit the working-tree content of exactly `names` on top of HEAD, and nothing else.

    `repo.index.commit` would commit the whole index, including whatever the user has staged for
    other files. So the commit is built from a temporary index read from HEAD, to which `git add`
    (which applies .gitattributes filters and line-ending conversion) adds only our files; then
    the real index takes our files' new content, keeping everything else the user staged. Git
    hooks are not run: they would inspect the temporary index, not the user's.
    """
    head = repo.head.commit
    with tempfile.TemporaryDirectory(prefix="iacfix-index-") as scratch:
        index_file = str(Path(scratch) / "index")
        with repo.git.custom_environment(GIT_INDEX_FILE=index_file):
            repo.git.read_tree(head.hexsha)
            repo.git.add("--", *names)
        commit = IndexFile(repo, index_file).commit(
            message, parent_commits=[head], head=True, author=author, committer=author,
            skip_hooks=True, trailers=trailers,
        )
    repo.git.add("--", *names)
    return commit


# -- iacfix commit -------------------------------------------------------------------------------

def subject(rule_ids: Iterable[str]) -> str:
    """The commit subject / pull request title: names the rules fixed."""
    return f"iacfix: fix {', '.join(sorted(set(rule_ids)))}"


def commit_message(findings: Iterable[Finding]) -> str:
    """Subject naming the rules; body listing each fix with its file, line and safety."""
    fixed = sorted(findings, key=lambda f: (f.rule_id, f.path, f.line, f.column))
    lines = [f"- {f.rule_id}: {f.path}:{f.line} ({f.safety.value} fix)" for f in fixed]
    unsafe = [f for f in fixed if f.safety is Safety.UNSAFE]
    note = ("\n\nUnsafe fixes may replace deployed resources or change runtime values; "
            "run `pulumi preview` before deploying." if unsafe else "")
    return f"{subject(f.rule_id for f in fixed)}\n\n" + "\n".join(lines) + note + "\n"


@dataclass(frozen=True)
class Committed:
    sha: str
    subject: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class CommitOutcome:
    """The run's report (paths as the user gave them) and the commits made from it."""

    report: Report
    commits: tuple[Committed, ...]


def commit_fixes(
    paths: Sequence[Path],
    rules: Sequence[type[Rule]],
    threshold: Safety | None,
    *,
    exclude: Iterable[str] = (),
    region: str | None = None,
    per_rule: bool = False,
    allow_dirty: bool = False,
    settings: RuleSettings | None = None,
) -> CommitOutcome:
    """Apply the fixes under `paths` and commit only the files iacfix changed.

    Refuses (GitError, nothing written) when a file it would change has uncommitted changes,
    unless `allow_dirty`. Git-ignored files are never read or written. With `per_rule`, fixes are
    computed and committed one rule at a time, so each commit holds one rule's changes.
    """
    with git_errors():
        repo = open_repository(paths[0])
        require_branch(repo)
        files = candidate_files(repo, paths, exclude)
        plan = run(files, rules, threshold, region=region, settings=settings)
        _refuse_dirty(repo, plan.changed, allow_dirty)
        steps = [plan]
        if per_rule:  # each rule runs on the files as the previous rule's commit left them
            fixing = {f.rule_id for f in plan.findings if f.fixed}
            steps = (run(files, [rule], threshold, region=region, settings=settings)
                     for rule in rules if rule.id in fixing)
        commits = []
        for step in steps:
            if not step.changed:
                continue
            write_all(step.changed)
            names = [relative(repo, r.path) for r in step.changed]
            message = commit_message(replace(f, path=relative(repo, f.path)) for f in step.findings if f.fixed)
            made = commit_paths(repo, names, message)
            commits.append(Committed(made.hexsha, message.splitlines()[0], tuple(names)))
    return CommitOutcome(report=plan, commits=tuple(commits))


def _refuse_dirty(repo: Repo, changed: Sequence[FileResult], allow_dirty: bool) -> None:
    if allow_dirty:
        return
    dirty = uncommitted(repo, [relative(repo, r.path) for r in changed])
    if dirty:
        listing = "; ".join(f"{name} {why}" for name, why in sorted(dirty.items()))
        raise GitError(f"not committing: {listing}. Commit or stash first, or pass --allow-dirty "
                       "to commit those files whole; nothing was written")


def write_all(changed: Sequence[FileResult]) -> None:
    """Write every changed file (atomically), or none: when one cannot be written, those already
    written get their old bytes back and nothing is committed (a commit is all or nothing)."""
    failed, written = [], []
    for result in changed:
        try:
            write_atomic(Path(result.path), result.output, expected=result.source)
            written.append(result)
        except (IacfixError, OSError) as error:
            failed.append(f"{result.path} ({error})")
    if not failed:
        return
    kept = []
    for result in written:
        try:
            write_atomic(Path(result.path), result.source, expected=result.output)
        except (IacfixError, OSError):
            kept.append(result.path)
    restored = (f"; {', '.join(kept)} could not be restored and hold the fix" if kept
                else "; the files already written were restored" if written else "")
    raise IacfixError(f"could not write {', '.join(failed)}; nothing was committed{restored}")


# -- iacfix pr -------------------------------------------------------------------------------------

def fetch(repo: Repo, remote: str, refspecs: Sequence[str], secrets: Iterable[str] = ()) -> None:
    """Fetch `refspecs` from `remote`, pruning stale refs in their namespaces."""
    try:
        repo.remote(remote).fetch(list(refspecs), prune=True)
    except ValueError:
        raise GitError(f"no git remote named {remote!r}") from None
    except GitCommandError as error:
        raise git_error(f"fetch from {remote}", error, secrets) from None


def push(repo: Repo, remote: str, sha: str, branch: str, expected: str | None,
         secrets: Iterable[str] = ()) -> None:
    """Point `branch` on `remote` at `sha`, only if it is still at `expected` (None: absent).

    `--force-with-lease` makes the force-push of a rebuilt commit safe against a push that
    arrived after iacfix looked at the branch. The commit is pushed from a short-lived ref in a
    namespace of iacfix's own: GitPython cannot read git's report on a push from a bare sha, and
    that report is what says why a push was refused.
    """
    ref = f"refs/heads/{branch}"
    source = Reference.create(repo, f"refs/iacfix-push/{branch}", sha, force=True)
    try:
        infos = repo.remote(remote).push(f"{source.path}:{ref}", force_with_lease=f"{ref}:{expected or ''}")
    except ValueError:
        raise GitError(f"no git remote named {remote!r}") from None
    except GitCommandError as error:
        raise git_error(f"push to {remote}", error, secrets) from None
    finally:
        Reference.delete(repo, source.path)
    for info in infos:  # says why, where git's exit status only says "failed to push some refs"
        if info.flags & (info.ERROR | info.REJECTED | info.REMOTE_REJECTED | info.REMOTE_FAILURE):
            raise GitError(scrub(f"git push to {remote} refused {branch}: {info.summary.strip()}", secrets))
    try:
        infos.raise_if_error()
    except GitCommandError as error:
        raise git_error(f"push to {remote}", error, secrets) from None


@contextmanager
def worktree(repo: Repo, commit: str) -> Iterator[Repo]:
    """A temporary detached worktree at `commit`, removed afterwards: the user's tree is untouched."""
    path = Path(tempfile.mkdtemp(prefix="iacfix-pr-"))
    try:
        repo.git.worktree("add", "--detach", "--quiet", str(path), commit)
    except GitCommandError as error:
        shutil.rmtree(path, ignore_errors=True)
        raise git_error("worktree add", error) from None
    try:
        yield Repo(path)
    finally:
        try:
            repo.git.worktree("remove", "--force", str(path))
        except GitCommandError:
            shutil.rmtree(path, ignore_errors=True)
            repo.git.worktree("prune")
