"""One error root. A UetError is a user-facing failure: one line, one exit code.

Exit 2 is bad input or an environment problem the user can fix (the line names the cause
and the fix); exit 3 is a bug or a git failure nobody foresaw: the CLI always writes a
report under .git/uet/reports/ for it and says where.
"""

from __future__ import annotations


class UetError(Exception):
    """Base of every error the tool raises on purpose. `str(err)` is the one line shown."""

    exit_code = 2


class UsageError(UetError):
    """Bad input or usage: unknown workstream, invalid spec, cycle, not a repository."""


class NotARepository(UsageError):
    pass


class SpecError(UsageError):
    """A config or workstream file is invalid; the message names the file and field path."""


class TransitionError(UsageError):
    """An illegal state transition: names the item, its state and the attempted one."""


class LedgerError(UetError):
    """The ledger cannot be read or written (unknown version, stale lock, corrupt entry)."""


class StaleLockError(LedgerError):
    """A ref lock left behind by a killed process; the message gives its path and age."""


class GitError(UetError):
    """A git command failed in a way the caller did not expect (exit 3, with a report)."""

    exit_code = 3


class EnvironmentProblem(GitError):
    """git failed because of a state of the repository or machine the user can fix (a ref
    that blocks one of ours, a path git refuses to check out, a full disk): the message
    names the cause and the fix. A GitError still, for the callers that handle any git
    failure, but exit 2 and no report: it is not a bug."""

    exit_code = 2
