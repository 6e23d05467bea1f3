"""The shape of one ledger transition, as the trailers of a `refs/uet` commit hold it.

This model is the published contract for scripts reading `git log refs/uet` (its JSON
Schema ships as `schema/ledger-entry.schema.json`); how the ledger encodes it in trailers
is the ledger's business.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EntryKind = Literal["workstream", "patch", "worker", "run"]


class LedgerEntry(BaseModel):
    """One recorded transition of a workstream, patch, worker or run."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: EntryKind
    id: str = Field(min_length=1, description="workstream id, patch ULID, worker id or run id")
    from_state: str | None = Field(None, alias="from", description="null when the item is created")
    to_state: str = Field(alias="to", min_length=1)
    event: str = Field(min_length=1, description="what caused the transition, e.g. 'submit', 'gate-failed'")
    time: str = Field(description="ISO-8601 timestamp with offset, e.g. 2024-05-01T12:00:00+00:00")
    fields: dict[str, Any] = Field(default_factory=dict, description="kind-specific data: reason, sha256, gates...")

    @field_validator("time")
    @classmethod
    def _iso_8601(cls, value: str) -> str:
        # Kept as text so an entry round-trips byte for byte; checked so it always parses.
        _dt.datetime.fromisoformat(value)
        return value
