"""Read-only views of the ledger for `status`, `log` and `show`: plain dicts, ready to
render or dump as JSON."""

from __future__ import annotations

from collections import Counter
from operator import itemgetter
from typing import Any

from gitflow_uet.errors import UsageError
from gitflow_uet.ledger.store import Entry, blob_refs
from gitflow_uet.project import Project


def status(project: Project) -> dict[str, Any]:
    state = project.ledger.state()
    # state.all() is sorted by id already; a 10,000-entry ledger is read here on every call.
    rows = [{"id": r["id"], "state": r["state"], "title": r.get("title"), "branch": r.get("branch"),
             "patch": r.get("patch"), "updated": r.get("updated"), "event": r.get("event")}
            for r in state.all("workstream")]
    # Specs never started are planned: the ledger records a workstream from its first move.
    titles = project.spec_titles()
    if titles:
        recorded = {r["id"] for r in rows}
        planned = [{"id": ws_id, "state": "planned", "title": title, "branch": None,
                    "patch": None, "updated": None, "event": None}
                   for ws_id, title in titles.items() if ws_id not in recorded]
        if planned:
            rows += planned
            rows.sort(key=itemgetter("id"))
    return {
        "ledger": state.tip,
        "target": project.settings["target"],
        "workstreams": rows,
        "counts": dict(sorted(Counter(r["state"] for r in rows).items())),
    }


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {"commit": entry.sha, "time": entry.time, "subject": entry.subject, "changes": entry.changes}


def log(project: Project, item_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    if item_id is not None:
        item_id = _find(project, item_id)[1]["id"]
    return [entry_dict(e) for e in project.ledger.log(item_id, limit=limit)]


def show(project: Project, item_id: str) -> dict[str, Any]:
    """Everything the ledger holds about one workstream or patch, stored logs included."""
    state = project.ledger.state()
    kind, record = _find(project, item_id)
    item_id = record["id"]  # a short patch id, resolved
    out: dict[str, Any] = {"kind": kind, "record": record}
    if kind == "workstream":
        out["patches"] = [p for p in state.all("patch") if p.get("workstream") == item_id]
    out["blobs"] = {path: _text(state.blob(sha)) for path, sha in blob_refs(record)}
    for patch in out.get("patches", []):
        for path, sha in blob_refs(patch):
            out["blobs"][f"patch {patch['id']}: {path}"] = _text(state.blob(sha))
    out["history"] = [entry_dict(e) for e in project.ledger.log(item_id, kind=kind)]
    return out


def _find(project: Project, item_id: str) -> tuple[str, dict[str, Any]]:
    state = project.ledger.state()
    for kind in ("workstream", "patch", "run", "worker"):
        record = state.get(kind, item_id)
        if record is not None:
            return kind, record
    if item_id in project.spec_titles():
        return "workstream", {"id": item_id, "state": "planned", "kind": "workstream"}
    # `status` prints patch ids cut short: a unique prefix names its patch.
    wanted = item_id.upper()
    matches = sorted(p["id"] for p in state.all("patch") if len(wanted) >= 4 and p["id"].startswith(wanted))
    if len(matches) == 1:
        record = state.get("patch", matches[0])
        assert record is not None
        return "patch", record
    if matches:
        raise UsageError(f"{item_id!r} is the start of {len(matches)} patch ids: {', '.join(matches)}")
    raise UsageError(f"unknown workstream or patch {item_id!r}: the ledger has no record of it")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
