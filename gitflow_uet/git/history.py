"""Reading the target's history: which landed workstreams changed a path."""

from __future__ import annotations

from gitflow_uet.git import Repo


def changed_by(repo: Repo, since: str, until: str, path: str, limit: int = 20) -> list[tuple[str, str | None]]:
    """(commit, workstream) for each commit in `since..until` that changed `path`, newest
    first; the workstream is the commit's `Uet-Workstream` trailer, None for a commit that
    did not come through the integrator."""
    out = repo.run("log", f"--max-count={limit}", "--no-renames", "-z",
                   "--format=%H%x1f%(trailers:key=Uet-Workstream,valueonly,separator=%x2C)",
                   f"{since}..{until}", "--", path)
    found: list[tuple[str, str | None]] = []
    for item in out.decode("utf-8", "replace").split("\0"):
        if "\x1f" not in item:
            continue
        sha, trailer = item.split("\x1f", 1)
        found.append((sha.strip(), trailer.strip().split(",")[0].strip() or None))
    return found
