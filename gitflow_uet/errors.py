"""One error root. A UetError is a user-facing failure: one line, one exit code.

Anything else that escapes is a bug: the CLI writes a report under .git/uet/ and exits 3.
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
    """A git command failed in a way the caller did not expect."""

    exit_code = 3
