"""The ledger: `refs/uet`, a chain of commits whose tip tree is the current state.

Layout of the tip tree (every item is one JSON blob; fanned out by the sha1 of its id so
that an append rewrites the same handful of small trees at 10 items as at 100,000):

    VERSION                         "1"
    workstreams/<aa>/<bb>/<id>      one record per workstream
    patches/<aa>/<bb>/<id>          one record per patch
    workers/<aa>/<bb>/<id>
    runs/<aa>/<bb>/<id>
    blobs/<aa>/<bb>/<sha>           stored diffs and logs, named by their own sha

Each commit records one transition or one atomic batch of them: the subject reads
`<id>: <old> → <new> (<event>)`, and a `Uet-Entry:` trailer per transition holds the same
as JSON. Every append is a compare-and-swap of `refs/uet`; a lost race re-reads the tip and
re-checks the transitions against the new state before trying again.
"""

from __future__ import annotations

import json
import threading
import time
from operator import itemgetter
from types import EllipsisType
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Sequence

from gitflow_uet import faults
from gitflow_uet.ledger import states
from gitflow_uet.errors import LedgerError, TransitionError, UsageError
from gitflow_uet.git import MODE_BLOB, MODE_TREE, RefLocked, RefMoved, Repo, RefUpdate, TreeEntry

REF = "refs/uet"
VERSION = 1
KIND_DIRS = {"workstream": "workstreams", "patch": "patches", "worker": "workers", "run": "runs"}
BLOB_DIR = "blobs"
# Scalar change fields repeated in the commit's Uet-Entry trailer.
TRAILER_FIELDS = ("workstream", "patch", "worker", "run", "commit")
# VERSION blobs (by id, so in any repository) already read and found to hold VERSION: the
# check costs a read once per process, not once per State.
_VERSION_OK: set[str] = set()
# How long an append keeps retrying lost races and busy locks before it gives up.
APPEND_DEADLINE_SECONDS = 60.0


class _Value:
    """Equality and repr by the names in `_fields`. These small classes are written out
    rather than made dataclasses: importing dataclasses (and the inspect module it loads)
    would be the largest import `git uet status --json` pays for."""

    _fields: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"


class Blob(_Value):
    """A field value to be stored as a blob in the ledger (a diff, a log); the record keeps
    `{"blob": <sha>, "size": <bytes>}` in its place (see `blob_refs`). Once written, `ref`
    is that value, and the object is not written again (an append retried after a lost
    race, a record rewritten with the same log).

    What is written is the data with every credential replaced by its marker (secrets.py),
    unless `verbatim`: a patch's diff, which must still apply and was refused outright if
    it held one."""

    _fields = ("data",)

    def __init__(self, data: bytes, *, verbatim: bool = False):
        self.data = data
        self.verbatim = verbatim
        self.ref: dict[str, Any] | None = None

    def __hash__(self) -> int:
        return hash(self.data)


class Change(_Value):
    """One transition: item `kind`/`id` moves to `state` because of `event`; `fields` are
    merged into its record. `expect`, when given, is the state the item must be in now
    (None: it must not exist yet), on top of the state machine's own rules."""

    _fields = ("kind", "id", "state", "event", "fields", "expect")

    def __init__(self, kind: str, id: str, state: str, event: str, fields: dict[str, Any] | None = None,
                 expect: str | None | EllipsisType = ...):
        self.kind, self.id, self.state, self.event = kind, id, state, event
        self.fields: dict[str, Any] = {} if fields is None else fields
        self.expect = expect


class Batch(_Value):
    """What one append writes: transitions, plus refs that must move in the same
    transaction (the target branch, when a patch lands)."""

    _fields = ("changes", "refs", "subject")

    def __init__(self, changes: list[Change], refs: list[RefUpdate] | None = None, subject: str | None = None):
        self.changes = changes
        self.refs: list[RefUpdate] = [] if refs is None else refs
        self.subject = subject


class Entry(NamedTuple):
    """One ledger commit, as read back."""

    sha: str
    time: int
    subject: str
    changes: list[dict[str, Any]]


def fanout(name: str) -> tuple[str, str]:
    # Imported here, like datetime and random below: the read-only commands never need
    # them, and every millisecond of import shows in `git uet status --json`.
    from hashlib import sha1

    digest = sha1(name.encode()).hexdigest()
    return digest[:2], digest[2:4]


def item_path(kind: str, item_id: str) -> tuple[str, ...]:
    return (KIND_DIRS[kind], *fanout(item_id), item_id)


def blob_path(sha: str) -> tuple[str, ...]:
    return (BLOB_DIR, sha[:2], sha[2:4], sha)


def now_iso() -> str:
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class State:
    """The ledger's state at one tip: read-only, lazily loaded."""

    def __init__(self, repo: Repo, tip: str | None):
        self.repo = repo
        self.tip = tip
        self.tree: str | None = None
        if tip is not None:
            self.tree = _commit_tree(repo, tip)
            self._check_version()

    def _check_version(self) -> None:
        entry = self._lookup(("VERSION",))
        if entry is not None and entry.sha in _VERSION_OK:
            return
        version = self.repo.read_blob(entry.sha).decode().strip() if entry else "?"
        if version != str(VERSION):
            raise LedgerError(
                f"{REF} holds ledger version {version}; this git-uet reads version {VERSION} (upgrade git-uet)")
        assert entry is not None
        _VERSION_OK.add(entry.sha)

    def _lookup(self, path: Sequence[str]) -> TreeEntry | None:
        sha = self.tree
        found: TreeEntry | None = None
        for part in path:
            if sha is None:
                return None
            found = self.repo.tree_entry(sha, part)
            if found is None:
                return None
            sha = found.sha if found.is_tree else None
        return found

    def get(self, kind: str, item_id: str) -> dict[str, Any] | None:
        entry = self._lookup(item_path(kind, item_id))
        return json.loads(self.repo.read_blob(entry.sha)) if entry else None

    def state_of(self, kind: str, item_id: str) -> str | None:
        record = self.get(kind, item_id)
        return record["state"] if record else None

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every record of a kind, in one `ls-tree` and one `cat-file --batch`."""
        if self.tip is None:
            return []
        records: list[dict[str, Any]] = self.repo.read_tree_json(f"{self.tree}:{KIND_DIRS[kind]}")
        records.sort(key=itemgetter("id"))
        return records

    def blob(self, sha: str) -> bytes:
        return self.repo.read_blob(sha)


class Ledger:
    def __init__(self, repo: Repo):
        self.repo = repo
        self._lock = threading.RLock()

    def tip(self) -> str | None:
        return self.repo.read_ref(REF)

    def state(self) -> State:
        return State(self.repo, self.tip())

    # -- writing ----------------------------------------------------------------------------

    def append(self, *changes: Change, refs: Sequence[RefUpdate] = ()) -> Entry:
        """Record transitions decided up front; refused cleanly if the state no longer
        allows them when the compare-and-swap finally goes through."""
        return self.update(lambda _state: Batch(list(changes), list(refs)))

    def update(self, decide: Callable[[State], Batch | list[Change]]) -> Entry:
        """Read the tip, let `decide` choose the transitions from that state, write them as
        one commit, and compare-and-swap `refs/uet` (plus any refs the batch moves).

        On a lost race the whole thing runs again on the new tip, so a transition that
        became illegal in between fails with TransitionError instead of landing.
        A RefMoved on any ref other than refs/uet is the caller's to handle.
        """
        deadline = time.monotonic() + APPEND_DEADLINE_SECONDS
        attempt = 0
        while True:
            # Threads of one process take turns (a race they would only lose to each other
            # and then sleep over); other processes are held off by the compare-and-swap.
            with self._lock:
                state = self.state()
                decided = decide(state)
                batch = decided if isinstance(decided, Batch) else Batch(decided)
                if not batch.changes:
                    raise UsageError("nothing to record")
                commit, entry = self._write(state, batch)
                faults.point("ledger.before-cas")
                try:
                    self.repo.update_refs([RefUpdate(REF, commit, state.tip), *batch.refs], entry.subject)
                    return entry
                except RefMoved as moved:
                    if moved.ref != REF:
                        raise
                except RefLocked:
                    pass
            attempt += 1
            if time.monotonic() > deadline:
                raise LedgerError(f"could not append to {REF} after {attempt} attempts: too much contention")
            # Jittered backoff: writers that collided spread out instead of colliding again.
            import random

            time.sleep(random.uniform(0, min(0.05, 0.002 * (2 ** min(attempt, 5)))))

    def _write(self, state: State, batch: Batch) -> tuple[str, Entry]:
        stamp = now_iso()
        writes: dict[tuple[str, ...], str] = {}
        summaries: list[dict[str, Any]] = []
        pending: dict[tuple[str, str], dict[str, Any]] = {}
        for change in batch.changes:
            key = (change.kind, change.id)
            current = pending.get(key) or state.get(change.kind, change.id)
            current_state = current["state"] if current else None
            if change.expect is not ... and change.expect != current_state:
                raise TransitionError(
                    f"{change.kind} {change.id} is {current_state or 'absent'}, expected "
                    f"{change.expect or 'absent'}; not moving it to {change.state}")
            states.check(change.kind, change.id, current_state, change.state)
            fields = self._store_blobs(change.fields, writes)
            record = dict(current or {"kind": change.kind, "id": change.id, "created": stamp})
            record.update(fields)
            record.update(state=change.state, updated=stamp, event=change.event)
            pending[key] = record
            summary = {"kind": change.kind, "id": change.id, "from": current_state,
                       "to": change.state, "event": change.event, "time": stamp}
            # The identifiers a reader of `git log refs/uet` wants without opening blobs.
            summary.update({k: fields[k] for k in TRAILER_FIELDS if isinstance(fields.get(k), (str, int))})
            summaries.append(summary)
        for (kind, item_id), record in pending.items():
            data = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
            writes[item_path(kind, item_id)] = self.repo.write_blob(data)
        if state.tree is None:
            writes[("VERSION",)] = self.repo.write_blob(f"{VERSION}\n".encode())
        tree = _rewrite(self.repo, state.tree, writes)
        subject = batch.subject or _subject(summaries, batch.refs)
        lines = [subject, ""]
        if len(summaries) > 1:
            lines += [_line(s) for s in summaries] + [""]
        lines.append(f"Uet-Version: {VERSION}")
        lines.append(f"Uet-Time: {stamp}")
        lines += [f"Uet-Entry: {json.dumps(s, ensure_ascii=False)}" for s in summaries]
        message = "\n".join(lines) + "\n"
        parents = [state.tip] if state.tip else []
        commit = self.repo.write_commit(tree, parents, message)
        return commit, Entry(commit, int(time.time()), subject, summaries)

    def _store_blobs(self, value: Any, writes: dict[tuple[str, ...], str]) -> Any:
        """The record's value with each Blob written (redacted) and replaced by its ref, and
        the keys the tool holds replaced in every string."""
        from gitflow_uet.workstream import secrets  # not on the read path: `status` never imports it

        if isinstance(value, str):
            return secrets.redact_held(value)
        if isinstance(value, Blob):
            if value.ref is None:
                data = value.data if value.verbatim else secrets.redact_bytes(value.data)
                value.ref = {"blob": self.repo.write_blob(data), "size": len(data)}
            writes[blob_path(value.ref["blob"])] = value.ref["blob"]
            return value.ref
        if isinstance(value, dict):
            return {k: self._store_blobs(v, writes) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._store_blobs(v, writes) for v in value]
        return value

    # -- reading history --------------------------------------------------------------------

    def log(self, item_id: str | None = None, kind: str | None = None, limit: int | None = None) -> list[Entry]:
        """Transitions newest first: all, or those of one item (found by its path in the
        tree, so the walk skips every commit that did not touch it)."""
        if self.tip() is None:
            return []
        args = ["log", "-z", "--format=%H%x1f%ct%x1f%B", REF]
        if limit:
            args.insert(1, f"--max-count={limit}")
        if item_id is not None:
            kinds = [kind] if kind else list(KIND_DIRS)
            args += ["--", *("/".join(item_path(k, item_id)) for k in kinds)]
        entries = []
        for raw in self.repo.run(*args).decode("utf-8", "replace").split("\0"):
            if not raw.strip():
                continue
            sha, ct, body = raw.split("\x1f", 2)
            changes = [json.loads(line.split(":", 1)[1]) for line in body.splitlines()
                       if line.startswith("Uet-Entry:")]
            if item_id is not None:
                changes = [c for c in changes if c["id"] == item_id]
            entries.append(Entry(sha.strip(), int(ct), body.splitlines()[0], changes))
        return entries


def _subject(summaries: list[dict[str, Any]], refs: Sequence[RefUpdate] = ()) -> str:
    """What `git log refs/uet --oneline` shows: a batch that changes a workstream leads with
    the first such workstream and where it ended up (`ws-001: integrated as 1add375 on
    main`), not with a patch or worker transition that happened to come first."""
    moved = [s for s in summaries if s["kind"] == "workstream"]
    lead = [s for s in moved if s["id"] == moved[0]["id"]][-1] if moved else summaries[0]
    first = _line(lead)
    if lead["kind"] == "workstream" and lead["to"] == "integrated" and isinstance(lead.get("commit"), str):
        # The target is the branch this same transaction moved (uet/* are workstream branches).
        targets = [r.ref.removeprefix("refs/heads/") for r in refs
                   if r.new and r.ref.startswith("refs/heads/") and not r.ref.startswith("refs/heads/uet/")]
        first = f"{lead['id']}: integrated as {lead['commit'][:7]}" + (f" on {targets[0]}" if targets else "")
    return first if len(summaries) == 1 else f"{first} (+{len(summaries) - 1} more)"


def _line(s: dict[str, Any]) -> str:
    return f"{s['id']}: {s['from'] or 'new'} → {s['to']} ({s['event']})"


def _commit_tree(repo: Repo, commit: str) -> str:
    tree = repo.tree_of(commit)
    if tree is None:
        raise LedgerError(f"{REF} points at {commit}, which is not a ledger commit")
    return tree


def _rewrite(repo: Repo, tree: str | None, writes: dict[tuple[str, ...], str]) -> str:
    """A new tree: `tree` with each path in `writes` set to its blob, creating the
    directories on the way. Only the trees on the written paths are read and rewritten,
    and each only where it changes (`Repo.edit_tree`)."""
    put: list[TreeEntry] = []
    below: dict[str, dict[tuple[str, ...], str]] = {}
    for path, sha in writes.items():
        if len(path) == 1:
            put.append(TreeEntry(MODE_BLOB, path[0], sha))
        else:
            below.setdefault(path[0], {})[path[1:]] = sha
    for name, sub in below.items():
        old = repo.tree_entry(tree, name) if tree else None
        put.append(TreeEntry(MODE_TREE, name, _rewrite(repo, old.sha if old and old.is_tree else None, sub)))
    return repo.edit_tree(tree, put)


def blob_refs(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(field path, sha) of every stored blob a record refers to."""
    if isinstance(value, dict):
        if set(value) == {"blob", "size"}:
            return [(prefix, value["blob"])]
        found: list[tuple[str, str]] = []
        for key, sub in value.items():
            found += blob_refs(sub, f"{prefix}.{key}" if prefix else str(key))
        return found
    if isinstance(value, list):
        return [ref for i, sub in enumerate(value) for ref in blob_refs(sub, f"{prefix}.{i}")]
    return []


def iter_changes(entries: Iterable[Entry]) -> Iterator[tuple[Entry, dict[str, Any]]]:
    for entry in entries:
        for change in entry.changes:
            yield entry, change
