"""The GitHub REST API for `iacfix pr`, through PyGithub.

Every call goes through `GitHub._call`, which turns PyGithub's exceptions into one-line
GitHubErrors (the token never appears in them) and waits out rate limits within a bound,
honouring `Retry-After` and `X-RateLimit-Reset`. PyGithub's own retrying is switched off so that
no call sleeps longer than iacfix allows or silently repeats a POST after a server error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import requests
from github import Auth, Github, GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from iacfix.errors import GitHubError
from iacfix.git import scrub

DEFAULT_API_URL = "https://api.github.com"
#: The longest iacfix waits in total for rate limits to reset before giving up.
MAX_RATE_LIMIT_WAIT = 60.0

T = TypeVar("T")


class GitHub:
    """One repository on GitHub (or GitHub Enterprise at `api_url`), as iacfix uses it."""

    def __init__(
        self,
        full_name: str,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        token_env: str = "GITHUB_TOKEN",
        max_wait: float = MAX_RATE_LIMIT_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.full_name = full_name
        self.api_url = api_url
        self._token = token
        self._token_env = token_env
        self._max_wait = max_wait
        self._sleep = sleep
        self._waited = 0.0
        self._client = Github(base_url=api_url.rstrip("/"), auth=Auth.Token(token), retry=None, timeout=30)
        self.repo: Repository = self._call(f"reading repository {full_name}", lambda: self._client.get_repo(full_name))

    def close(self) -> None:
        self._client.close()

    def pulls_for(self, branch: str, marker: str) -> list[PullRequest]:
        """Pull requests, open or closed, from `branch` or whose body carries `marker`."""
        owner = self.repo.owner.login
        pulls = self._call(
            f"listing pull requests from {branch}",
            lambda: list(self.repo.get_pulls(state="all", head=f"{owner}:{branch}")),
        )
        # GitHub ignores a `head` filter it cannot resolve and returns every pull request.
        return [p for p in pulls if p.head.ref == branch or marker in (p.body or "")]

    def open_pull(self, *, branch: str, base: str, title: str, body: str, draft: bool,
                  labels: Iterable[str]) -> PullRequest:
        pull = self._call(
            f"opening a pull request from {branch}",
            lambda: self.repo.create_pull(base=base, head=branch, title=title, body=body, draft=draft),
        )
        labels = list(labels)
        if labels:
            self._call(f"labelling pull request #{pull.number}", lambda: pull.add_to_labels(*labels))
        return pull

    def update_pull(self, pull: PullRequest, *, title: str, body: str) -> None:
        self._call(f"updating pull request #{pull.number}", lambda: pull.edit(title=title, body=body))

    def _call(self, what: str, request: Callable[[], T]) -> T:
        while True:
            try:
                return request()
            except GithubException as error:
                wait = self._rate_limit_wait(error)
                if wait is None:
                    raise GitHubError(scrub(self._describe(what, error), [self._token])) from None
                if self._waited + wait > self._max_wait:
                    raise GitHubError(
                        f"GitHub rate limit exceeded while {what}; it resets in {wait:.0f}s, longer than "
                        f"iacfix waits ({self._max_wait:.0f}s in all); run again later"
                    ) from None
                self._sleep(wait)
                self._waited += wait
            except requests.RequestException as error:
                raise GitHubError(
                    scrub(f"cannot reach the GitHub API at {self.api_url} while {what} ({type(error).__name__})",
                          [self._token])
                ) from None

    @staticmethod
    def _rate_limit_wait(error: GithubException) -> float | None:
        """Seconds to wait before retrying, or None when `error` is not a rate limit."""
        headers = {key.lower(): value for key, value in (error.headers or {}).items()}
        message = _message(error).lower()
        limited = error.status == 429 or (
            error.status == 403
            and ("rate limit" in message or headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers)
        )
        if not limited:
            return None
        try:
            if "retry-after" in headers:
                return max(float(headers["retry-after"]), 0.0)
            if "x-ratelimit-reset" in headers:
                # +1: the header has whole seconds and clocks differ a little.
                return max(float(headers["x-ratelimit-reset"]) - time.time(), 0.0) + 1.0
        except ValueError:
            pass
        return 60.0  # GitHub's advice for a secondary rate limit without a header

    def _describe(self, what: str, error: GithubException) -> str:
        status, message = error.status, _message(error)
        detail = f": {message}" if message else ""
        if status == 401:
            return (f"GitHub rejected the token in ${self._token_env} (401{detail}) while {what}; "
                    "check that it is valid and not expired")
        if status == 403:
            return (f"GitHub refused {what} (403{detail}); the token needs write access to contents "
                    f"and pull requests of {self.full_name}")
        if status == 404:
            return (f"GitHub answered 404 Not Found while {what}: check --repo {self.full_name} and "
                    f"--api-url {self.api_url}, and that the token can see the repository")
        if status >= 500:
            return f"GitHub server error {status} while {what}{detail}; try again later"
        return f"GitHub error {status} while {what}{detail}"


def _message(error: GithubException) -> str:
    """GitHub's own `message` (and validation details), short, from an error response."""
    data = error.data
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        details = [str(e.get("message") or e.get("code") or "") for e in data.get("errors") or []
                   if isinstance(e, dict)]
        return "; ".join(part for part in (message, *details) if part)
    return str(data or "")[:200]
