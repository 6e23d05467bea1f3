"""The shape of one ledger transition, as the trailers of a `refs/uet` commit hold it.

This model is the published contract for scripts reading `git log refs/uet` (its JSON
Schema ships as `schema/ledger-entry.schema.json`); how the ledger encodes it in trailers
is the ledger's business.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EntryKind = Literal["workstream", "patch", "worker", "run"]


class LedgerEntry(BaseModel):
    """One recorded transition of a workstream, patch, worker or run: the JSON of one
    `Uet-Entry:` trailer, exactly as the ledger writes it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: EntryKind
    id: str = Field(min_length=1, description="workstream id, patch ULID, worker id or run id")
    from_state: str | None = Field(None, alias="from", description="null when the item is created")
    to_state: str = Field(alias="to", min_length=1)
    event: str = Field(min_length=1, description="what caused the transition, e.g. 'submit', 'gate-failed'")
    time: str = Field(description="ISO-8601 timestamp with offset, e.g. 2024-05-01T12:00:00+00:00")
    # The identifiers a reader of `git log refs/uet` wants without opening the record
    # (ledger.TRAILER_FIELDS), present when the transition set them.
    workstream: str | int | None = Field(None, description="the workstream a patch, worker or run transition concerns")
    patch: str | int | None = Field(None, description="the patch id a workstream transition names")
    worker: str | int | None = Field(None, description="the worker holding a workstream")
    run: str | int | None = Field(None, description="the run a worker or workstream belongs to")
    commit: str | int | None = Field(None, description="the target commit a landing or rollback made")

    @field_validator("time")
    @classmethod
    def _iso_8601(cls, value: str) -> str:
        # Kept as text so an entry round-trips byte for byte; checked so it always parses.
        _dt.datetime.fromisoformat(value)
        return value


class LedgerRecord(BaseModel):
    """The current state of one item: the JSON blob at `<kind>s/<aa>/<bb>/<id>` in the
    tree of the ledger's tip. Every kind carries these keys; the rest are its own
    (a workstream's `base` and `worktree`, a patch's `diff` and `gates`...)."""

    model_config = ConfigDict(extra="allow")

    kind: EntryKind
    id: str = Field(min_length=1)
    state: str = Field(min_length=1)
    event: str = Field(min_length=1, description="what caused the last transition")
    created: str = Field(description="ISO-8601 timestamp of the first transition")
    updated: str = Field(description="ISO-8601 timestamp of the last transition")
