"""Importing a channel statement and reconciling it against the channel's orders.

One pass over the file, in batches of :data:`BATCH` lines: the orders the batch's lines name
are read with one statement (by id, then by the channel's reference), each line is matched
or becomes a break, and breaks are written in bulk as they are found. Then the movements the
platform has for the statement's dates are streamed, those no line named are matched by
amount, date and account (``fuzzy``), and what is left on either side becomes a break.

The same file (same SHA-256; with the same statement date, when one is given) for the same
channel is imported once: again, it answers the first run and changes nothing. The service
flushes; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ConcurrentRequest, FieldError, ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.kit.money import MAX_MINOR_UNITS
from lendbridge.payments import channel_config
from lendbridge.payments.channels.base import StatementLine
from lendbridge.payments.channels.statement_csv import LineError, parse_statement
from lendbridge.payments.recon import fuzzy
from lendbridge.payments.recon.config import Tolerances, layout_of, tolerances_of
from lendbridge.payments.recon.matching import (
    Found,
    LineRec,
    OrderRec,
    ReferenceMatcher,
    Tally,
    agrees,
)
from lendbridge.payments.recon.models import (
    BreakKind,
    BreakStatus,
    Movement,
    ReconBreak,
    ReconRun,
    Resolution,
)
from lendbridge.payments.recon.schemas import RunOut
from lendbridge.payments.recon.store import BreakWriter, Movements, Orders
from lendbridge.payments.recon.views import run_out

BATCH = 10_000
CHUNK_BYTES = 1 << 20
BAD_LINE_SAMPLES = 20
SYSTEM = "system:recon"


class StatementUnreadable(ValidationFailed):
    code = "statement_unreadable"
    title = "No line of the statement could be read"


class StatementTooLarge(ValidationFailed):
    code = "statement_too_large"
    title = "The statement's amounts exceed what the platform can represent"


def digest(source: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of the whole source; leaves it at its start."""
    source.seek(0)
    sha = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_BYTES):
        sha.update(chunk)
        size += len(chunk)
    source.seek(0)
    return sha.hexdigest(), size


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(CHUNK_BYTES):
        yield chunk


def _order_key(order_no: str | None) -> bytes | None:
    """The 16 bytes of the order id a line's ``order_no`` spells, if it spells one."""
    if not order_no or len(order_no) > 45:
        return None
    try:
        if len(order_no) == 36:  # the canonical form: no UUID object on the hot path
            key = bytes.fromhex(order_no.replace("-", ""))
            return key if len(key) == 16 else None
        return uuid.UUID(order_no).bytes
    except ValueError:
        return None


def import_statement(
    session: Session,
    channel_name: str,
    source: BinaryIO,
    *,
    actor: Actor,
    file_name: str | None = None,
    statement_date: dt.date | None = None,
    date_tolerance_days: int | None = None,
    amount_tolerance: int | None = None,
) -> tuple[RunOut, bool]:
    """Import and reconcile one statement file (a seekable binary stream) of a channel.
    Returns (the run, created); the same file again returns its first run."""
    started = time.perf_counter()
    channel = channel_config.get(session, channel_name)
    layout = layout_of(channel)
    tolerances = tolerances_of(channel, days=date_tolerance_days, amount=amount_tolerance)
    sha256, size = digest(source)
    key = sha256 if statement_date is None else f"{sha256}:{statement_date.isoformat()}"
    existing = _existing(session, channel.name, key)
    if existing is not None:
        return run_out(existing), False
    day = calendar.business_date(session)
    now = clock.now()
    run = ReconRun(
        id=new_id(),
        channel=channel.name,
        file_sha256=sha256,
        import_key=key,
        file_name=(file_name or None) and file_name.replace("\x00", "")[:200],
        file_bytes=size,
        currency=channel.currency,
        business_date=day,
        date_from=statement_date or day,
        date_to=statement_date or day,
        date_tolerance_days=tolerances.days,
        amount_tolerance=tolerances.amount,
        lines=0,
        bad_lines=0,
        statement_lines=0,
        statement_amount=0,
        platform_movements=0,
        platform_amount=0,
        matched_lines=0,
        matched_orders=0,
        matched_amount=0,
        breaks=0,
        summary={},
        actor=(actor.user_id or SYSTEM)[:64],
        elapsed_ms=0,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        # The same file, imported concurrently, committed first: answer its run.
        existing = _existing(session, channel.name, key)
        if existing is not None:
            return run_out(existing), False
        raise ConcurrentRequest(
            "the same statement is being imported by another request; retry to receive its run"
        ) from None

    tally = Tally()
    writer = BreakWriter(session, run.id, channel.name, day, now)
    samples: list[dict[str, object]] = []

    def emit(found: Found) -> None:
        tally.found(found)
        writer.add(found)

    matcher = ReferenceMatcher(tolerances.amount, emit, tally)
    orders = Orders(session, channel.name)
    batch: list[StatementLine] = []
    for parsed in parse_statement(_chunks(source), layout):
        if isinstance(parsed, LineError):
            tally.bad()
            if len(samples) < BAD_LINE_SAMPLES:
                samples.append(
                    {"line_no": parsed.line_no, "field": parsed.field, "message": parsed.message}
                )
            where = f"{parsed.field}: " if parsed.field else ""
            emit(
                Found(BreakKind.UNREADABLE_LINE, f"{where}{parsed.message}", line_no=parsed.line_no)
            )
            continue
        tally.line(parsed)
        batch.append(parsed)
        if len(batch) >= BATCH:
            _match_batch(batch, orders, matcher)
            batch = []
    _match_batch(batch, orders, matcher)
    matcher.finish()
    _check_readable(tally, samples, statement_date)

    first = min(d for d in (tally.first_date, statement_date) if d is not None)
    last = max(d for d in (tally.last_date, statement_date) if d is not None)
    pool = _expected(orders, matcher, tally, first, last, tolerances.days)
    lines = matcher.unreferenced
    matcher.unreferenced = []
    matches, left = fuzzy.match_all(lines, pool, tolerances.days, tolerances.amount)
    for match in matches:
        for item in match.expected:
            matcher.matched[(item.order.key, item.movement)] = match.lines[0].line_no
        tally.matched(
            match.rule,
            len(match.lines),
            len(match.expected),
            sum(line.amount for line in match.lines),
        )
    if left:
        left = _against_unexecuted(orders, left, first, last, tolerances, matcher, emit)
    for line in left:
        emit(
            Found(
                BreakKind.MISSING_ON_PLATFORM,
                _missing_detail(line),
                movement=line.movement,
                line=line,
                statement_amount=line.amount,
            )
        )
    for expected in sorted(pool, key=lambda e: e.sort_key):
        if expected.in_range and not expected.used:
            what = "reversal" if expected.movement == Movement.REVERSAL else "order"
            emit(
                Found(
                    BreakKind.MISSING_AT_CHANNEL,
                    f"the {what} of {expected.day} is not on the statement",
                    movement=expected.movement,
                    order=expected.order,
                    platform_amount=expected.order.amount,
                )
            )
    writer.flush()
    rematched = _rematch(session, run, matcher, actor, now, day)

    for name, value in (
        ("statement_amount", tally.statement_amount),
        ("platform_amount", tally.platform_amount),
    ):
        if value > MAX_MINOR_UNITS:
            raise field_error(
                StatementTooLarge, "statement", f"the {name.replace('_', ' ')} exceeds 2^63 - 1"
            )
    run.date_from, run.date_to = first, last
    run.lines = tally.lines
    run.bad_lines = tally.bad_lines
    run.statement_lines = tally.statement_lines
    run.statement_amount = tally.statement_amount
    run.platform_movements = tally.platform_movements
    run.platform_amount = tally.platform_amount
    run.matched_lines = tally.matched_lines
    run.matched_orders = tally.matched_orders
    run.matched_amount = tally.matched_amount
    run.breaks = writer.written
    run.summary = {
        "matched_by_rule": {rule: n for rule, n in sorted(tally.by_rule.items()) if n},
        "breaks_by_kind": {
            kind: {"count": tally.kind_count[kind], "amount": tally.kind_amount[kind]}
            for kind in sorted(tally.kind_count)
        },
        "statement_fees": tally.statement_fees,
        "rematched_breaks": rematched,
        "bad_line_samples": samples,
    }
    run.elapsed_ms = round((time.perf_counter() - started) * 1000)
    session.flush()
    out = run_out(run)
    record(
        session,
        actor,
        action="payments.recon.imported",
        target_type="recon_run",
        target_id=str(run.id),
        after={
            "channel": run.channel,
            "file_sha256": run.file_sha256,
            "dates": f"{first}..{last}",
            "lines": run.lines,
            "bad_lines": run.bad_lines,
            "matched_lines": run.matched_lines,
            "breaks": run.breaks,
            "breaks_by_kind": {k: v.count for k, v in out.breaks_by_kind.items()},
            "rematched_breaks": rematched,
        },
    )
    return out, True


def _existing(session: Session, channel: str, key: str) -> ReconRun | None:
    return session.scalar(
        select(ReconRun).where(ReconRun.channel == channel, ReconRun.import_key == key)
    )


def _match_batch(batch: list[StatementLine], orders: Orders, matcher: ReferenceMatcher) -> None:
    """Read the orders a batch of lines names (by id, then by the channel's reference for
    lines whose id named none) and match each line in order."""
    if not batch:
        return
    keys = [_order_key(line.order_no) for line in batch]
    by_key = {o.key: o for o in orders.by_keys(list({k for k in keys if k is not None}))}
    named: list[list[OrderRec]] = []
    refs: set[str] = set()
    for key, line in zip(keys, batch, strict=True):
        order = by_key.get(key) if key is not None else None
        named.append([order] if order is not None else [])
        if order is None and line.channel_ref and "\x00" not in line.channel_ref:
            refs.add(line.channel_ref)
    if refs:
        by_ref: dict[str, list[OrderRec]] = {}
        for order in orders.by_refs(sorted(refs)):
            if order.channel_ref is not None:
                by_ref.setdefault(order.channel_ref, []).append(order)
        for index, line in enumerate(batch):
            if not named[index] and line.channel_ref:
                named[index] = sorted(by_ref.get(line.channel_ref, []), key=lambda o: o.key)
    for line, found in zip(batch, named, strict=True):
        matcher.line(line, found)


def _check_readable(
    tally: Tally, samples: list[dict[str, object]], statement_date: dt.date | None
) -> None:
    """A file of which no line could be read (a wrong layout, not a statement) is refused,
    and so is an empty one without a date: there is nothing to reconcile against."""
    if tally.statement_lines:
        return
    if tally.bad_lines:
        raise StatementUnreadable(
            f"statement: none of its {tally.bad_lines} lines could be read (is the channel's "
            f"statement layout right?); first: line {samples[0]['line_no']}: "
            f"{samples[0]['message']}",
            [
                FieldError(
                    f"statement.line.{s['line_no']}" + (f".{s['field']}" if s["field"] else ""),
                    str(s["message"]),
                )
                for s in samples
            ],
        )
    if statement_date is None:
        raise field_error(
            StatementUnreadable,
            "date",
            "the statement has no lines: give its date to reconcile an empty day",
        )


def _expected(
    orders: Orders,
    matcher: ReferenceMatcher,
    tally: Tally,
    first: dt.date,
    last: dt.date,
    days: int,
) -> list[fuzzy.Expected]:
    """The movements the platform has for the dates (counted), those no line named kept;
    and, as candidates only, those within the date tolerance around them. Streams only
    keys and amounts; the full rows of the few left over are read afterwards."""
    wanted: dict[tuple[bytes, Movement], bool] = {}
    for kind, movement in (
        (Movements.EXECUTED, Movement.SUCCESS),
        (Movements.REVERSED, Movement.REVERSAL),
    ):
        for key, amount, in_range in orders.movements(kind, first, last, days):
            if in_range:
                tally.platform_movements += 1
                tally.platform_amount += amount
            if not matcher.accounted(key, movement):
                wanted[(key, movement)] = in_range
    rows = {o.key: o for o in orders.by_keys(list({key for key, _ in wanted}))}
    pool = []
    for (key, movement), in_range in wanted.items():
        order = rows.get(key)
        if order is None:  # changed since the stream read it (a concurrent reversal)
            continue
        day = order.completed_on if movement == Movement.SUCCESS else order.reversed_on
        if day is None:
            continue
        pool.append(fuzzy.Expected.of(order, movement, day, in_range=in_range))
    return pool


def _against_unexecuted(
    orders: Orders,
    lines: list[LineRec],
    first: dt.date,
    last: dt.date,
    tolerances: Tolerances,
    matcher: ReferenceMatcher,
    emit: Callable[[Found], None],
) -> list[LineRec]:
    """Lines still unmatched against orders that did not execute (created, submitted or
    failed; created near the dates), one to one by amount, date and account: a SUCCESS line
    that finds a failed order is a status mismatch, not a line missing on the platform."""
    margin = dt.timedelta(days=tolerances.days)
    pool = [
        fuzzy.Expected.of(order, Movement.SUCCESS, order.completed_on or order.business_date)
        for order in orders.unexecuted(first - margin, last + margin)
        if not matcher.accounted(order.key, Movement.SUCCESS)
    ]
    if not pool:
        return lines
    matches = fuzzy.one_to_one(lines, pool, tolerances.days, tolerances.amount)
    used = set()
    for match in matches:
        line, order = match.lines[0], match.expected[0].order
        used.add(line.line_no)
        pair = (order.key, Movement.SUCCESS)
        if agrees(line.status, order.status):  # e.g. a FAILED line for a failed order
            matcher.matched[pair] = line.line_no
            matcher.tally.matched(match.rule, 1, 1, line.amount)
            continue
        matcher.touched.add(pair)
        emit(
            Found(
                BreakKind.STATUS_MISMATCH,
                f"the statement says {line.status}, the order matching it by amount, date and "
                f"account is {order.status}",
                movement=line.movement,
                line=line,
                order=order,
                statement_amount=line.amount,
                platform_amount=order.amount,
            )
        )
    return [line for line in lines if line.line_no not in used]


def _missing_detail(line: LineRec) -> str:
    named = [
        f"order_no {line.order_no}" if line.order_no else "",
        f"reference {line.channel_ref}" if line.channel_ref else "",
    ]
    names = " or ".join(n for n in named if n)
    if names:
        return f"no order of the channel has {names}; none matches by amount, date and account"
    return "the line names no order; none matches by amount, date and account"


def _rematch(
    session: Session,
    run: ReconRun,
    matcher: ReferenceMatcher,
    actor: Actor,
    now: dt.datetime,
    day: dt.date,
) -> int:
    """Resolve open 'missing at channel' breaks of earlier runs whose movement this
    statement matched (a channel that booked an order on the next trade date)."""
    rows = session.execute(
        select(ReconBreak.id, ReconBreak.order_id, ReconBreak.movement, ReconBreak.run_id).where(
            ReconBreak.channel == run.channel,
            ReconBreak.kind == BreakKind.MISSING_AT_CHANNEL.value,
            ReconBreak.status == BreakStatus.OPEN.value,
            ReconBreak.run_id != run.id,
        )
    ).all()
    resolved = 0
    for break_id, order_id, movement, earlier_run in rows:
        if order_id is None or movement is None:
            continue
        line_no = matcher.matched_line(order_id.bytes, Movement(movement))
        if line_no is None:
            continue
        note = f"matched by line {line_no} of statement run {run.id}"
        changed = session.execute(
            update(ReconBreak)
            .where(ReconBreak.id == break_id, ReconBreak.status == BreakStatus.OPEN.value)
            .values(
                status=BreakStatus.RESOLVED.value,
                resolution=Resolution.REMATCHED.value,
                note=note,
                resolved_by=(actor.user_id or SYSTEM)[:64],
                resolved_at=now,
                resolved_on=day,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(changed, "rowcount", 0):
            continue
        resolved += 1
        record(
            session,
            actor,
            action="payments.recon.break.rematched",
            target_type="recon_break",
            target_id=str(break_id),
            before={"status": BreakStatus.OPEN.value, "run_id": str(earlier_run)},
            after={
                "status": BreakStatus.RESOLVED.value,
                "resolution": Resolution.REMATCHED.value,
                "note": note,
            },
        )
    return resolved
