"""The risk list (黑名单): add and remove entries, list them, and the check decisioning runs.

A value is checked and normalised exactly as the identity domain does when a customer enters
it (resident id: GB 11643 check digit, birth date and region; mobile: the 11-digit national
number; card: 12-19 digits with the Luhn check), then kept only as identity's blind index
for the same purpose and masked. So an entry matches the person, user or bank card that
holds the value without anything being decrypted, and the list itself holds no clear value.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, and_, bindparam, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import kyc, registration, validation
from lendbridge.identity.kyc_models import BankCard, Person
from lendbridge.identity.models import User
from lendbridge.kit import calendar, clock, crypto, cursors
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import FieldError, ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.kit.masking import mask_bank_card, mask_phone, mask_resident_id
from lendbridge.risklist.errors import AlreadyListed, AlreadyRemoved, EntryNotFound
from lendbridge.risklist.models import RiskListEntry, RiskListKind, RiskListSource
from lendbridge.risklist.schemas import REASON_MAX, EntryPage, entry_out

VALUE_FIELD = "value"


@dataclass(frozen=True)
class NormalisedValue:
    """A value as the identity domain stores it: its blind index and its mask."""

    kind: RiskListKind
    index: str
    masked: str


@dataclass(frozen=True)
class RiskListHit:
    """An active entry matching one of a customer's identifiers (masked)."""

    entry_id: uuid.UUID
    kind: RiskListKind
    value_masked: str
    reason: str
    source: RiskListSource


def normalise(session: Session, kind: RiskListKind, value: str) -> NormalisedValue:
    """Check ``value`` with identity's validators and compute identity's blind index for it
    (the same purpose as ``Person.resident_id_index``, ``User.phone_index`` or
    ``BankCard.card_index``). A bad value is a 422 naming the field ``value``."""
    if kind is RiskListKind.RESIDENT_ID:
        parsed = validation.parse_resident_id(
            value, today=calendar.business_date(session), field=VALUE_FIELD
        )
        return NormalisedValue(
            kind,
            crypto.blind_index(parsed.number, purpose=kyc.RESIDENT_ID_INDEX),
            mask_resident_id(parsed.number),
        )
    if kind is RiskListKind.PHONE:
        phone = validation.normalize_mobile(value, field=VALUE_FIELD)
        return NormalisedValue(kind, registration.phone_index(phone), mask_phone(phone))
    card = validation.parse_bank_card(value, field=VALUE_FIELD)
    return NormalisedValue(
        kind, crypto.blind_index(card.number, purpose=kyc.CARD_INDEX), mask_bank_card(card.number)
    )


def _text(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise field_error(ValidationFailed, field, "is required")
    if len(text) > REASON_MAX:
        raise field_error(ValidationFailed, field, f"has at most {REASON_MAX} characters")
    return text


def _active(session: Session, kind: str, index: str) -> RiskListEntry | None:
    return session.scalar(
        select(RiskListEntry).where(
            RiskListEntry.kind == kind,
            RiskListEntry.value_index == index,
            RiskListEntry.removed_at.is_(None),
        )
    )


def add(
    session: Session,
    actor: Actor,
    *,
    kind: RiskListKind,
    value: str,
    reason: str,
    source: RiskListSource = RiskListSource.MANUAL,
) -> RiskListEntry:
    """List a resident id, mobile number or bank card. A value already actively listed is a
    409 naming ``value`` (the partial unique index settles a race between two adds)."""
    normalised = normalise(session, kind, value)
    why = _text(reason, "reason")
    existing = _active(session, kind.value, normalised.index)
    if existing is not None:
        raise _already_listed(existing.id)
    entry = RiskListEntry(
        id=new_id(),
        kind=kind.value,
        value_index=normalised.index,
        value_masked=normalised.masked,
        reason=why,
        source=source.value,
        added_by=actor.user_id or "anonymous",
        added_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        raced = _active(session, kind.value, normalised.index)
        raise _already_listed(raced.id if raced is not None else None) from None
    record(
        session,
        actor,
        action="risk_list.add",
        target_type="risk_list_entry",
        target_id=str(entry.id),
        after={
            "kind": entry.kind,
            "value": entry.value_masked,
            "source": entry.source,
            "reason": entry.reason,
        },
    )
    return entry


def _already_listed(entry_id: uuid.UUID | None) -> AlreadyListed:
    which = f" (entry {entry_id})" if entry_id is not None else ""
    message = f"is already on the risk list{which}"
    return AlreadyListed(f"{VALUE_FIELD}: {message}", [FieldError(VALUE_FIELD, message)])


def get(session: Session, entry_id: uuid.UUID) -> RiskListEntry:
    entry = session.get(RiskListEntry, entry_id)
    if entry is None:
        raise EntryNotFound(f"risk-list entry {entry_id} does not exist")
    return entry


def remove(session: Session, actor: Actor, entry_id: uuid.UUID, *, reason: str) -> RiskListEntry:
    """Take an entry off the list, saying why. The entry stays, marked removed; the value
    can be listed again later as a new entry. Removing a removed entry is a 409."""
    why = _text(reason, "reason")
    entry = session.scalar(
        select(RiskListEntry).where(RiskListEntry.id == entry_id).with_for_update()
    )
    if entry is None:
        raise EntryNotFound(f"risk-list entry {entry_id} does not exist")
    if entry.removed_at is not None:
        raise AlreadyRemoved(f"risk-list entry {entry_id} was removed on {entry.removed_at}")
    entry.removed_at = clock.now()
    entry.removed_by = actor.user_id or "anonymous"
    entry.removal_reason = why
    session.flush()
    record(
        session,
        actor,
        action="risk_list.remove",
        target_type="risk_list_entry",
        target_id=str(entry.id),
        before={"active": True},
        after={"active": False, "kind": entry.kind, "value": entry.value_masked, "reason": why},
    )
    return entry


def listing(
    session: Session,
    *,
    kind: RiskListKind | None = None,
    active: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> EntryPage:
    """Entries, newest first (ids are time-ordered), a page at a time; masked."""
    stmt = select(RiskListEntry)
    if kind is not None:
        stmt = stmt.where(RiskListEntry.kind == kind.value)
    if active is True:
        stmt = stmt.where(RiskListEntry.removed_at.is_(None))
    elif active is False:
        stmt = stmt.where(RiskListEntry.removed_at.is_not(None))
    if cursor is not None:
        stmt = stmt.where(RiskListEntry.id < cursors.decode_id("r", cursor))
    rows = list(session.scalars(stmt.order_by(RiskListEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return EntryPage(
        items=[entry_out(row) for row in rows],
        next_cursor=cursors.encode_id("r", rows[-1].id) if more and rows else None,
    )


def _listed_statement() -> Select[RiskListEntry]:
    """Built once with a bind parameter: SQLAlchemy then computes its cache key once (the
    statement runs on every application)."""
    own = union_all(
        select(
            literal(RiskListKind.RESIDENT_ID.value).label("kind"),
            Person.resident_id_index.label("value_index"),
        ).where(Person.user_id == bindparam("customer_id")),
        select(literal(RiskListKind.PHONE.value), User.phone_index).where(
            User.id == bindparam("customer_id"), User.phone_index.is_not(None)
        ),
        select(literal(RiskListKind.BANK_CARD.value), BankCard.card_index).where(
            BankCard.user_id == bindparam("customer_id")
        ),
    ).subquery("own")
    return (
        select(RiskListEntry)
        .join(
            own,
            and_(RiskListEntry.kind == own.c.kind, RiskListEntry.value_index == own.c.value_index),
        )
        .where(RiskListEntry.removed_at.is_(None))
        .order_by(RiskListEntry.kind, RiskListEntry.id)
    )


_LISTED_FOR_CUSTOMER = _listed_statement()


def listed_for_customer(session: Session, customer_id: uuid.UUID) -> list[RiskListHit]:
    """The active entries matching the customer's verified resident id, their phone or any
    bank card they have bound (now or before), in one query.

    The identity tables are read here directly (only their blind-index columns) rather than
    through identity's services, so that decisioning pays one round trip per application."""
    rows = session.scalars(_LISTED_FOR_CUSTOMER, {"customer_id": customer_id})
    return [_hit(row) for row in rows]


def _hit(row: RiskListEntry) -> RiskListHit:
    return RiskListHit(
        entry_id=row.id,
        kind=RiskListKind(row.kind),
        value_masked=row.value_masked,
        reason=row.reason,
        source=RiskListSource(row.source),
    )
