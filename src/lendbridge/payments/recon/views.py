"""Reading runs and breaks: response shapes and paginated listings."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit.errors import NotFound, ValidationFailed, field_error
from lendbridge.payments.recon.models import BreakKind, BreakStatus, ReconBreak, ReconRun
from lendbridge.payments.recon.schemas import (
    BadLine,
    BreakOut,
    BreakPage,
    Figure,
    RunOut,
    RunPage,
)


class RunNotFound(NotFound):
    code = "recon_run_not_found"


class BreakNotFound(NotFound):
    code = "recon_break_not_found"


def run_out(run: ReconRun) -> RunOut:
    summary: dict[str, Any] = run.summary or {}
    return RunOut(
        id=run.id,
        channel=run.channel,
        file_sha256=run.file_sha256,
        file_name=run.file_name,
        file_bytes=run.file_bytes,
        currency=run.currency,
        business_date=run.business_date,
        date_from=run.date_from,
        date_to=run.date_to,
        date_tolerance_days=run.date_tolerance_days,
        amount_tolerance=run.amount_tolerance,
        lines=run.lines,
        bad_lines=run.bad_lines,
        statement=Figure(count=run.statement_lines, amount=run.statement_amount),
        statement_fees=int(summary.get("statement_fees", 0)),
        platform=Figure(count=run.platform_movements, amount=run.platform_amount),
        matched_lines=run.matched_lines,
        matched_orders=run.matched_orders,
        matched_amount=run.matched_amount,
        matched_by_rule=dict(summary.get("matched_by_rule", {})),
        breaks=run.breaks,
        breaks_by_kind={
            BreakKind(kind): Figure(**figure)
            for kind, figure in summary.get("breaks_by_kind", {}).items()
        },
        rematched_breaks=int(summary.get("rematched_breaks", 0)),
        bad_line_samples=[BadLine(**s) for s in summary.get("bad_line_samples", [])],
        actor=run.actor,
        elapsed_ms=run.elapsed_ms,
        created_at=run.created_at,
    )


def break_out(b: ReconBreak) -> BreakOut:
    return BreakOut(
        id=b.id,
        run_id=b.run_id,
        channel=b.channel,
        kind=BreakKind(b.kind),
        movement=b.movement,
        order_id=b.order_id,
        line_no=b.line_no,
        lines=b.lines,
        orders=[uuid.UUID(o) for o in b.orders] if b.orders else None,
        channel_ref=b.channel_ref,
        order_no=b.order_no,
        trade_date=b.trade_date,
        direction=b.direction,
        currency=b.currency,
        statement_amount=b.statement_amount,
        platform_amount=b.platform_amount,
        difference=(b.statement_amount or 0) - (b.platform_amount or 0),
        statement_status=b.statement_status,
        platform_status=b.platform_status,
        detail=b.detail,
        status=BreakStatus(b.status),
        raised_on=b.raised_on,
        resolution=b.resolution,
        note=b.note,
        linked_order_id=b.linked_order_id,
        approval_id=b.approval_id,
        entry_id=b.entry_id,
        resolved_by=b.resolved_by,
        resolved_at=b.resolved_at,
        resolved_on=b.resolved_on,
        created_at=b.created_at,
    )


def _encode(prefix: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{prefix}:{value}".encode()).decode().rstrip("=")


def _decode(prefix: str, cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raw = ""
    head, _, value = raw.partition(":")
    if head != prefix or not value:
        raise field_error(ValidationFailed, "cursor", "is not a cursor this API issued")
    return value


def get_run(session: Session, run_id: uuid.UUID) -> ReconRun:
    run = session.get(ReconRun, run_id)
    if run is None:
        raise RunNotFound(f"no reconciliation run has id {run_id}")
    return run


def list_runs(
    session: Session, channel: str, *, limit: int = 50, cursor: str | None = None
) -> RunPage:
    """Newest first (run ids are time-ordered)."""
    stmt = select(ReconRun).where(ReconRun.channel == channel)
    if cursor is not None:
        try:
            before = uuid.UUID(_decode("r", cursor))
        except ValueError:
            raise field_error(
                ValidationFailed, "cursor", "is not a cursor this API issued"
            ) from None
        stmt = stmt.where(ReconRun.id < before)
    rows = list(session.scalars(stmt.order_by(ReconRun.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(
        items=[run_out(r) for r in rows],
        next_cursor=_encode("r", str(rows[-1].id)) if more and rows else None,
    )


def get_break(session: Session, break_id: int, *, lock: bool = False) -> ReconBreak:
    stmt = select(ReconBreak).where(ReconBreak.id == break_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt.execution_options(populate_existing=True))
    if found is None:
        raise BreakNotFound(f"no reconciliation break has id {break_id}")
    return found


def list_breaks(
    session: Session,
    *,
    run_id: uuid.UUID | None = None,
    channel: str | None = None,
    status: BreakStatus | None = None,
    kind: BreakKind | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> BreakPage:
    """Oldest first, in the order they were found (line order within a run)."""
    stmt = select(ReconBreak)
    if run_id is not None:
        stmt = stmt.where(ReconBreak.run_id == run_id)
    if channel is not None:
        stmt = stmt.where(ReconBreak.channel == channel)
    if status is not None:
        stmt = stmt.where(ReconBreak.status == status.value)
    if kind is not None:
        stmt = stmt.where(ReconBreak.kind == kind.value)
    if cursor is not None:
        value = _decode("b", cursor)
        if not value.isdigit() or len(value) > 19:
            raise field_error(ValidationFailed, "cursor", "is not a cursor this API issued")
        stmt = stmt.where(ReconBreak.id > int(value))
    rows = list(session.scalars(stmt.order_by(ReconBreak.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return BreakPage(
        items=[break_out(b) for b in rows],
        next_cursor=_encode("b", str(rows[-1].id)) if more and rows else None,
    )
