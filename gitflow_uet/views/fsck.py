"""Consistency checks: the ledger, the target, branches, worktrees, locks and the lease agree.

`repair` fixes only what is provably safe: a missing note (rebuilt from the patch record),
an orphaned worktree without uncommitted changes, the branch of an integrated workstream
whose content is on the target, an expired lease. A lock file is never deleted: only a
person can know that no git command is running.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitflow_uet.ledger import store as ledger_mod
from gitflow_uet.integrate.candidates import INTEGRATE_WORKTREE, note_text
from gitflow_uet.errors import GitError, UetError
from gitflow_uet.git import STALE_LOCK_SECONDS, RefMoved, RefUpdate, lock_age
from gitflow_uet.git.merge import is_ancestor
from gitflow_uet.git.connectivity import missing_objects
from gitflow_uet.git.notes import NOTES_REF, add_note, noted_commits
from gitflow_uet.git.refs import refs_under
from gitflow_uet.git.worktrees import changed_paths, list_worktrees, remove_worktree
from gitflow_uet.integrate.lease import read_lease, release_if_expired, takeable
from gitflow_uet.project import Project
from gitflow_uet.workstream.quarantine import branch_ref, quarantine_ref


@dataclass
class Problem:
    kind: str
    item: str
    message: str
    repairable: bool = False
    fixed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "item": self.item, "message": self.message,
                "repairable": self.repairable, "fixed": self.fixed}


@dataclass
class FsckReport:
    problems: list[Problem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> list[Problem]:
        return [p for p in self.problems if not p.fixed]

    @property
    def ok(self) -> bool:
        return not self.remaining

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.to_json() for p in self.problems], "repaired": self.repaired}


def fsck(project: Project, repair: bool = False) -> FsckReport:
    report = FsckReport()
    check = _Checker(project, report, repair)
    # With objects missing, the other checks would only trip over them: fix the store first.
    complete = check.connectivity()
    records = check.ledger() if complete else None
    if records is not None:
        workstreams, patches = records
        check.target(workstreams, patches)
        check.branches(workstreams, patches)
        check.worktrees(workstreams)
    check.locks()
    check.lease()
    return report


class _Checker:
    def __init__(self, project: Project, report: FsckReport, repair: bool):
        self.project, self.repo, self.report, self.repair = project, project.repo, report, repair

    def problem(self, kind: str, item: str, message: str, repairable: bool = False) -> Problem:
        found = Problem(kind, item, message, repairable)
        self.report.problems.append(found)
        return found

    def fixed(self, problem: Problem, what: str) -> None:
        problem.fixed = True
        self.report.repaired.append(what)

    # -- objects ----------------------------------------------------------------------------------

    def connectivity(self) -> bool:
        """`refs/uet`, `refs/notes/uet` and every `uet/` branch are complete: git finds every
        object they reach. Each missing object is named with the ref that needs it. False
        when anything is missing."""
        repo = self.repo
        # for-each-ref, not a read through cat-file: a ref whose commit is gone still has a value.
        refs = {ref: sha for exact in (ledger_mod.REF, NOTES_REF)
                for ref, sha in refs_under(repo, exact).items() if ref == exact}
        refs.update(refs_under(repo, "refs/heads/uet/"))
        if not refs or not missing_objects(repo, list(refs.values())):
            return True
        for ref, sha in sorted(refs.items()):
            missing = missing_objects(repo, [sha])
            for gone in missing[:20]:
                self.problem("objects", ref, f"{ref} is incomplete: {gone.describe()}")
            if len(missing) > 20:
                self.problem("objects", ref, f"{ref} is incomplete: {len(missing) - 20} more objects missing")
        return False

    # -- the ledger -----------------------------------------------------------------------------

    def ledger(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None:
        """Every commit's trailers parse, the chain is linear, VERSION is ours, every record
        is a JSON object with id and state, at the path its id and kind give."""
        repo = self.repo
        tip = repo.read_ref(ledger_mod.REF)
        if tip is None:
            return {}, {}
        try:
            ledger_mod.State(repo, tip)
        except UetError as err:
            self.problem("ledger", ledger_mod.REF, str(err))
            return None
        out = repo.run("log", "-z", "--format=%H%x1f%P%x1f%B", ledger_mod.REF).decode("utf-8", "replace")
        for raw in out.split("\0"):
            if not raw.strip():
                continue
            sha, parents, body = raw.split("\x1f", 2)
            sha = sha.strip()
            if len(parents.split()) > 1:
                self.problem("ledger", sha[:12], f"ledger commit {sha[:12]} has {len(parents.split())} parents")
            entries = [line for line in body.splitlines() if line.startswith("Uet-Entry:")]
            if not entries:
                self.problem("ledger", sha[:12], f"ledger commit {sha[:12]} has no Uet-Entry trailer")
            for line in entries:
                try:
                    entry = json.loads(line.split(":", 1)[1])
                    if not isinstance(entry, dict) or not {"kind", "id", "to"} <= set(entry):
                        raise ValueError("missing kind/id/to")
                except ValueError as err:
                    self.problem("ledger", sha[:12], f"ledger commit {sha[:12]}: unreadable Uet-Entry ({err})")
        kinds: dict[str, dict[str, dict[str, Any]]] = {}
        for kind, folder in ledger_mod.KIND_DIRS.items():
            rows = [r for r in repo.ls_tree(f"{tip}:{folder}") if r[1] == "blob"]
            found: dict[str, dict[str, Any]] = {}
            for (_, _, _, path), data in zip(rows, repo.read_blobs([r[2] for r in rows])):
                where = f"{folder}/{path}"
                try:
                    record = json.loads(data)
                    if not isinstance(record, dict) or "id" not in record or "state" not in record:
                        raise ValueError("not an object with id and state")
                except ValueError as err:
                    self.problem("ledger", where, f"record {where} is unreadable ({err})")
                    continue
                if "/".join(ledger_mod.item_path(kind, record["id"])) != where:
                    self.problem("ledger", where, f"record {where} holds id {record['id']!r}, not its own")
                found[record["id"]] = record
            kinds[kind] = found
        return kinds["workstream"], kinds["patch"]

    # -- the target -----------------------------------------------------------------------------

    def target(self, workstreams: dict[str, dict[str, Any]], patches: dict[str, dict[str, Any]]) -> None:
        repo = self.repo
        tip = repo.read_ref(self.project.target_ref)
        integrated = [w for w in workstreams.values() if w["state"] == "integrated"]
        if not integrated:
            return
        noted = noted_commits(repo)
        # One walk of the target's history instead of a merge-base per workstream.
        on_target = set(repo.run("rev-list", tip).decode().split()) if tip else set()
        for ws in integrated:
            commit = ws.get("commit")
            if not commit or commit not in on_target:
                self.problem("not-on-target", ws["id"],
                             f"{ws['id']} is integrated, but its commit {commit} is not on {self.project.config.target}")
                continue
            if commit in noted:
                continue
            patch = patches.get(ws.get("patch") or "")
            found = self.problem("missing-note", ws["id"], f"{ws['id']}'s commit {commit[:12]} has no note in "
                                 "refs/notes/uet", repairable=patch is not None)
            if self.repair and patch is not None:
                add_note(repo, commit, note_text(patch))
                self.fixed(found, f"added the note on {commit[:12]} ({ws['id']})")

    # -- branches -------------------------------------------------------------------------------

    def branches(self, workstreams: dict[str, dict[str, Any]], patches: dict[str, dict[str, Any]]) -> None:
        repo = self.repo
        branches = refs_under(repo, "refs/heads/uet/")
        tip = repo.read_ref(self.project.target_ref)
        for ws_id, ws in sorted(workstreams.items()):
            state, mine = ws["state"], branch_ref(ws_id)
            if state in ("running", "submitted") and mine not in branches:
                self.problem("branch-missing", ws_id, f"{ws_id} is {state} but branch uet/{ws_id} does not exist")
            if state == "quarantined" and quarantine_ref(ws_id) not in branches:
                self.problem("branch-missing", ws_id,
                             f"{ws_id} is quarantined but branch uet/quarantine/{ws_id} does not exist")
            if state == "integrated" and mine in branches:
                head = (patches.get(ws.get("patch") or "") or {}).get("head")
                contained = branches[mine] == head or (tip is not None and _ancestor(repo, branches[mine], tip))
                found = self.problem(
                    "stale-branch", ws_id,
                    f"{ws_id} is integrated but branch uet/{ws_id} still exists"
                    + ("" if contained else " with commits that did not land (left alone)"), repairable=contained)
                if self.repair and contained:
                    try:
                        repo.update_refs([RefUpdate(mine, None, branches[mine])], f"uet fsck: {ws_id} integrated")
                        self.fixed(found, f"deleted branch uet/{ws_id} (its content is on the target)")
                    except RefMoved:
                        pass

    # -- worktrees ------------------------------------------------------------------------------

    def worktrees(self, workstreams: dict[str, dict[str, Any]]) -> None:
        repo, root = self.repo, self.project.root
        folder = self.project.worktrees_dir
        in_use = {(root / w["worktree"]).resolve() for w in workstreams.values() if w.get("worktree")}
        for ws_id, ws in sorted(workstreams.items()):
            if ws["state"] == "running" and ws.get("worktree") and not (root / ws["worktree"]).exists():
                self.problem("worktree-missing", ws_id, f"{ws_id} is running but its worktree {ws['worktree']} is gone")
        if not folder.is_dir():
            return
        registered = {w.path.resolve() for w in list_worktrees(repo)}
        for path in sorted(folder.iterdir()):
            if path.name == INTEGRATE_WORKTREE or not path.is_dir() or path.resolve() in in_use:
                continue
            rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
            if path.resolve() not in registered:
                self.problem("orphan-worktree", rel, f"{rel} is not a git worktree and no workstream uses it (left alone)")
                continue
            dirty = _dirty(repo, path)
            found = self.problem("orphan-worktree", rel,
                                 f"{rel} is a worktree no running workstream uses"
                                 + (f"; it has uncommitted changes ({', '.join(sorted(dirty)[:5])}), left alone"
                                    if dirty else ""), repairable=not dirty)
            if self.repair and not dirty:
                remove_worktree(repo, path)
                self.fixed(found, f"removed orphaned worktree {rel}")

    # -- locks and the lease --------------------------------------------------------------------

    def locks(self) -> None:
        common = self.repo.common_dir
        candidates = list((common / "refs").rglob("*.lock")) + [common / "packed-refs.lock"]
        for lock in sorted(candidates):
            age = lock_age(lock)
            if age is not None and age > STALE_LOCK_SECONDS:
                self.problem("stale-lock", str(lock),
                             f"stale lock {lock} (age {age:.0f}s), probably left by a killed process; "
                             "remove it by hand if no git or git uet command is running")

    def lease(self) -> None:
        current = read_lease(self.repo)
        if current is None or not takeable(current[1]):
            return
        info = current[1]
        what = f"held by {info.describe()}" if info else "unreadable"
        found = self.problem("expired-lease", "refs/uet-lease/integrator",
                             f"the integrator lease is expired or its holder is gone ({what})", repairable=True)
        if self.repair and release_if_expired(self.repo):
            self.fixed(found, "released the expired integrator lease")


def _ancestor(repo: Any, a: str, b: str) -> bool:
    try:
        return is_ancestor(repo, a, b)
    except GitError:
        return False


def _dirty(repo: Any, path: Path) -> set[str]:
    try:
        return changed_paths(repo, path)
    except GitError:
        return {"(unreadable status)"}
