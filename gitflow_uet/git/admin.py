"""The repository's own administrative files that make git run code or change what it does:
the shared config (`<common>/config`, `config.worktree`), the hooks (`<common>/hooks/`, and
`core.hooksPath` when it points inside the repository), `info/attributes` and
`info/exclude`. A task can write them through its worktree's gitdir; `digest` records
them before a workstream's tasks run so that submit can tell whether they changed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gitflow_uet.git import Repo


def digest(repo: Repo, worktree: Path | None = None) -> dict[str, str]:
    """{path: sha256 prefix} of every such file that exists (paths as `changes` names them);
    `worktree`'s own `config.worktree` included."""
    common = repo.common_dir
    files = [common / "config", common / "config.worktree", common / "info" / "attributes",
             common / "info" / "exclude"]
    folders = [common / "hooks"]
    hooks_path = repo.run_result("config", "--file", str(common / "config"), "--get", "core.hooksPath").text.strip()
    if hooks_path:
        where = (repo.root / hooks_path).resolve()
        if where.is_relative_to(repo.root.resolve()) or where.is_relative_to(common.resolve()):
            folders.append(where)
    if worktree is not None and worktree.exists():
        done = repo.run_result("rev-parse", "--path-format=absolute", "--git-dir", cwd=worktree)
        if done.code == 0:
            files.append(Path(done.text.strip()) / "config.worktree")
    for folder in folders:
        if folder.is_dir():
            # git never runs a `.sample`; a hook made from one is a new file, and seen.
            files += [p for p in folder.rglob("*") if (p.is_file() or p.is_symlink()) and p.suffix != ".sample"]
    found: dict[str, str] = {}
    for path in files:
        try:
            data = path.read_bytes() if not path.is_symlink() else b"symlink:" + str(path.readlink()).encode()
        except (FileNotFoundError, IsADirectoryError):
            continue
        found[_name(repo, path)] = hashlib.sha256(data).hexdigest()[:16]
    return found


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """`path added|changed|removed` for every difference, sorted by path."""
    out = []
    for path in sorted(before.keys() | after.keys()):
        if path not in before:
            out.append(f"{path} added")
        elif path not in after:
            out.append(f"{path} removed")
        elif before[path] != after[path]:
            out.append(f"{path} changed")
    return out


def _name(repo: Repo, path: Path) -> str:
    absolute = path.absolute()
    return absolute.relative_to(repo.root).as_posix() if absolute.is_relative_to(repo.root) else str(absolute)
