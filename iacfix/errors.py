"""Errors raised at the edge of iacfix; the CLI catches `IacfixError` once and exits 2.

Inside the engine errors are values (`FileResult.error`, `FileResult.skipped`) so that one bad
file never stops a run.
"""


#: Said after every internal error: it is iacfix's bug, never the user's.
REPORT_HINT = "This is a bug in iacfix: please report it, with the iacfix version and the code that triggers it"


class IacfixError(Exception):
    """Something stopped iacfix from doing its job; the message says what and where."""


class ConfigError(IacfixError):
    """A bad `[tool.iacfix]` key or value, or a bad command-line option value."""


class UsageError(IacfixError):
    """The command line asks for something that does not exist (a path, a rule id)."""


class GitError(IacfixError):
    """A git repository is in a state iacfix refuses to work in."""


class GitHubError(IacfixError):
    """The GitHub API refused or failed a request."""
