"""Provenance notes (`refs/notes/uet`): one note per integrated commit on the target.

Two writers: `note_update` builds the new notes commit in-process and hands back the ref
move, so the integrator lands a commit and its note in one transaction (no spawn, no
window where a landed commit lacks its note); `add_note` is `git notes add`, for repairs.

Layout: a note for commit C is a blob named C in the notes tree, or C[2:] below a subtree
C[:2] ("fanout"), recursively. git reads any fanout, mixed included; like git, we fan a
level out once it holds more than 256 notes, so a write costs the same at 100 notes as at
100,000.
"""

from __future__ import annotations

import re

from gitflow_uet.errors import GitError
from gitflow_uet.git import MODE_BLOB, MODE_TREE, RefUpdate, Repo, TreeEntry

NOTES_REF = "refs/notes/uet"
FANOUT_AT = 256
_HEX = re.compile(r"^[0-9a-f]+$")


def _identity_env(repo: Repo) -> dict[str, str]:
    # `git notes` commits to refs/notes/uet and needs an identity even where the user has
    # none configured; it is the same one the ledger's commits use.
    name, email = repo.identity
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


def add_note(repo: Repo, commit: str, text: str) -> None:
    """Attach `text` to `commit`, replacing any note it had (so a rerun is harmless)."""
    repo.hold_gc()
    repo.run("notes", f"--ref={NOTES_REF}", "add", "-f", "-m", text, commit, env=_identity_env(repo))


def note_update(repo: Repo, commit: str, text: str) -> RefUpdate:
    """The move of refs/notes/uet to a new notes commit that attaches `text` to `commit`
    (replacing any note it had), for the caller's own ref transaction."""
    old = repo.read_ref(NOTES_REF)
    root = repo.tree_of(old) if old else None
    if old and root is None:
        raise GitError(f"{NOTES_REF} points at {old}, which is not a commit")
    blob = repo.write_blob(_note_text(text))
    tree = _put(repo, root, commit, blob)
    new = repo.write_commit(tree, [old] if old else [], "Notes added by 'git uet integrate'\n")
    return RefUpdate(NOTES_REF, new, old)


def _note_text(text: str) -> bytes:
    # What `git notes add -m` stores: the message with one trailing newline.
    return (text.rstrip("\n") + "\n").encode("utf-8")


def _put(repo: Repo, tree: str | None, name: str, blob: str) -> str:
    """`tree` with the note `name` (the rest of the commit id at this depth) set to `blob`."""
    sub = repo.tree_entry(tree, name[:2]) if tree else None
    if len(name) > 4 and ((sub is not None and sub.is_tree) or _fanned_out(repo, tree)):
        # Fanned out here: the note goes below; a flat copy at this level (mixed fanout
        # written by another tool) would shadow it, so it goes.
        inner = _put(repo, sub.sha if sub is not None and sub.is_tree else None, name[2:], blob)
        return repo.edit_tree(tree, put=[TreeEntry(MODE_TREE, name[:2], inner)], remove=[name])
    edited = repo.edit_tree(tree, put=[TreeEntry(MODE_BLOB, name, blob)])
    notes = [e for e in repo.read_tree(edited) if not e.is_tree and len(e.name) == len(name) and _HEX.match(e.name)]
    if len(notes) <= FANOUT_AT or len(name) <= 4:
        return edited
    return _fan_out(repo, edited, notes)


def _fanned_out(repo: Repo, tree: str | None) -> bool:
    return tree is not None and any(e.is_tree and len(e.name) == 2 and _HEX.match(e.name)
                                    for e in repo.read_tree(tree))


def _fan_out(repo: Repo, tree: str, notes: list[TreeEntry]) -> str:
    """Move this level's notes into subtrees named by their first two hex digits (once,
    when the level passes FANOUT_AT; merged into any such subtree that exists already)."""
    groups: dict[str, list[TreeEntry]] = {}
    for note in notes:
        groups.setdefault(note.name[:2], []).append(TreeEntry(note.mode, note.name[2:], note.sha))
    put = []
    for prefix, entries in sorted(groups.items()):
        existing = repo.tree_entry(tree, prefix)
        base = existing.sha if existing is not None and existing.is_tree else None
        put.append(TreeEntry(MODE_TREE, prefix, repo.edit_tree(base, put=entries)))
    return repo.edit_tree(tree, put=put, remove=[n.name for n in notes])


def read_note(repo: Repo, commit: str) -> str | None:
    done = repo.run_result("notes", f"--ref={NOTES_REF}", "show", commit)
    return done.text if done.code == 0 else None


def noted_commits(repo: Repo) -> set[str]:
    """Every commit that has a note, in one command."""
    if repo.read_ref(NOTES_REF) is None:
        return set()
    out = repo.run("notes", f"--ref={NOTES_REF}", "list").decode()
    return {line.split()[1] for line in out.splitlines() if len(line.split()) == 2}
