"""Shapes of the audit API (Pydantic)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from lendbridge.kit.schemas import IsoDate

Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, lowercase hex.")]


class RecordOut(BaseModel):
    """One audit record: who (actor, role, from where, which request), did what, to what,
    when, with the values before and after (personal data masked), and its chain links."""

    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Position in the chain: consecutive, the total order.")
    recorded_at: dt.datetime
    business_date: dt.date
    actor_id: str | None
    actor_role: str | None
    client_address: str | None
    request_id: str | None
    device_id: str | None
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, JsonValue] | None
    after: dict[str, JsonValue] | None
    prev_hash: Hash
    hash: Hash


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done.")


class Anchor(BaseModel):
    """The chain head at the end of a business day, for safekeeping outside the database."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    business_date: IsoDate
    last_seq: int = Field(ge=0, description="The last record of that day or before (0: none).")
    hash: Hash


class AnchorPage(BaseModel):
    items: list[Anchor]


class Reason(StrEnum):
    CONTENT_ALTERED = "content_altered"
    LINK_BROKEN = "link_broken"
    GAP = "gap"
    HEAD_MISMATCH = "head_mismatch"
    ANCHOR_MISMATCH = "anchor_mismatch"


class Finding(BaseModel):
    """The first record found wrong, and why."""

    seq: int
    reason: Reason
    detail: str


class VerifyReport(BaseModel):
    ok: bool = Field(description="True when every checked record and link is intact.")
    checked: int = Field(description="Records whose hash and link were recomputed.")
    from_seq: int
    to_seq: int = Field(description="The last seq checked (from_seq - 1 when none).")
    complete: bool = Field(description="The check reached the end of the chain and its head.")
    head_seq: int
    head_hash: Hash
    anchors_checked: int = 0
    elapsed_ms: int
    problem: Finding | None = None
