"""Ledger HTTP routes under /v1/ledger. Each route declares the permission it needs
(``x-permission`` in the OpenAPI document; enforced once identity lands). Routes that move
money take an ``Idempotency-Key`` header and commit before responding, so a commit-time
failure is the response, never a false success."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import problems
from lendbridge.kit.actor import Actor
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, idempotency_key, permission
from lendbridge.kit.money import CurrencyCode, PositiveMinorUnits
from lendbridge.kit.schemas import IsoDate, StrictModel
from lendbridge.ledger import service
from lendbridge.ledger.schemas import (
    AccountCode,
    AccountIn,
    AccountOut,
    AccountStatusIn,
    BalanceOut,
    BatchIn,
    BatchOut,
    EntryIn,
    EntryOut,
    HoldIn,
    HoldOut,
    HoldPostIn,
    ReverseIn,
    StatementPage,
    TrialBalanceOut,
)

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/ledger",
    tags=["ledger"],
    responses=problems.responses(400, 404, 409, 413, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
KeyDep = Annotated[str, Depends(idempotency_key)]
CodePath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
]


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    body: BaseModel | None = None,
    *,
    key: str | None = None,
) -> None:
    """Who changed the books: the journal says what, the audit trail says who and from where
    (the idempotency key ties a replayed request to its first record)."""
    after: dict[str, Any] = {"idempotency_key": key} if key else {}
    if body is not None:
        after.update(body.model_dump(mode="json"))
    record(session, actor, action=action, target_type=target_type, target_id=target_id, after=after)


READ = permission("ledger.read")
WRITE = permission("ledger.post")
ADMIN = permission("ledger.accounts.manage")


@router.post("/accounts", status_code=status.HTTP_201_CREATED, openapi_extra=ADMIN)
def open_account(body: AccountIn, actor: ActorDep, session: SessionDep) -> AccountOut:
    """Open an account in the chart of accounts (repeating an identical request is harmless)."""
    out = service.open_account(session, body)
    _audit(session, actor, "ledger.open_account", "ledger_account", out.code, body)
    session.commit()
    return out


@router.get("/accounts", openapi_extra=READ)
def list_accounts(
    session: SessionDep,
    after: Annotated[str | None, Query(max_length=64, description="Cursor: last code seen")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    owner_type: Annotated[str | None, Query(max_length=32)] = None,
    owner_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AccountOut]:
    return service.list_accounts(
        session, after=after, limit=limit, owner_type=owner_type, owner_id=owner_id
    )


@router.get("/accounts/{code}", openapi_extra=READ)
def get_account(code: CodePath, session: SessionDep) -> AccountOut:
    return service.get_account(session, code)


@router.post("/accounts/{code}/status", openapi_extra=ADMIN)
def set_account_status(
    code: CodePath, body: AccountStatusIn, actor: ActorDep, session: SessionDep
) -> AccountOut:
    """Freeze, unfreeze or close an account (closing needs a zero balance)."""
    before = service.get_account(session, code).status
    out = service.set_account_status(session, code, body.status)
    record(
        session,
        actor,
        action="ledger.set_account_status",
        target_type="ledger_account",
        target_id=code,
        before={"status": before},
        after={"status": out.status},
    )
    session.commit()
    return out


@router.get("/accounts/{code}/balance", openapi_extra=READ)
def get_balance(
    code: CodePath,
    session: SessionDep,
    as_of: Annotated[IsoDate | None, Query(description="End of this business date")] = None,
) -> BalanceOut:
    return service.balance(session, code, as_of=as_of)


@router.get("/accounts/{code}/statement", openapi_extra=READ)
def get_statement(
    code: CodePath,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    from_date: Annotated[IsoDate | None, Query(alias="from")] = None,
    to_date: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> StatementPage:
    return service.statement(
        session, code, cursor=cursor, limit=limit, from_date=from_date, to_date=to_date
    )


@router.post("/entries", status_code=status.HTTP_201_CREATED, openapi_extra=WRITE)
def post_entry(body: EntryIn, key: KeyDep, actor: ActorDep, session: SessionDep) -> EntryOut:
    """Post a balanced journal entry, at most once per idempotency key."""
    out = service.post_entry(session, body, idempotency_key=key)
    _audit(session, actor, "ledger.post_entry", "journal_entry", str(out.id), key=key)
    session.commit()
    return out


@router.get("/entries/{entry_id}", openapi_extra=READ)
def get_entry(entry_id: uuid.UUID, session: SessionDep) -> EntryOut:
    return service.get_entry(session, entry_id)


@router.post(
    "/entries/{entry_id}/reverse", status_code=status.HTTP_201_CREATED, openapi_extra=WRITE
)
def reverse_entry(
    entry_id: uuid.UUID,
    key: KeyDep,
    actor: ActorDep,
    session: SessionDep,
    body: ReverseIn | None = None,
) -> EntryOut:
    """Post the mirror image of an entry, linked to it (each entry can be reversed once)."""
    out = service.reverse_entry(session, entry_id, body, idempotency_key=key)
    _audit(session, actor, "ledger.reverse_entry", "journal_entry", str(entry_id), key=key)
    session.commit()
    return out


@router.post("/batches", status_code=status.HTTP_201_CREATED, openapi_extra=WRITE)
def post_batch(body: BatchIn, key: KeyDep, actor: ActorDep, session: SessionDep) -> BatchOut:
    """Post several entries atomically: all of them or none."""
    out = service.post_batch(session, body, idempotency_key=key)
    _audit(session, actor, "ledger.post_batch", "ledger_batch", str(out.id), key=key)
    session.commit()
    return out


@router.post("/holds", status_code=status.HTTP_201_CREATED, openapi_extra=WRITE)
def place_hold(body: HoldIn, key: KeyDep, actor: ActorDep, session: SessionDep) -> HoldOut:
    """Reserve an amount (two-phase transfer, first phase)."""
    out = service.place_hold(session, body, idempotency_key=key)
    _audit(session, actor, "ledger.place_hold", "ledger_hold", str(out.id), key=key)
    session.commit()
    return out


@router.get("/holds/{hold_id}", openapi_extra=READ)
def get_hold(hold_id: uuid.UUID, session: SessionDep) -> HoldOut:
    return service.get_hold(session, hold_id)


@router.post("/holds/{hold_id}/post", openapi_extra=WRITE)
def post_hold(
    hold_id: uuid.UUID,
    key: KeyDep,
    actor: ActorDep,
    session: SessionDep,
    body: HoldPostIn | None = None,
) -> HoldOut:
    """Post a pending hold, fully or partly; the remainder is released."""
    # The hold itself makes posting once-only; the key is required for uniformity.
    out = service.post_hold(session, hold_id, body)
    _audit(session, actor, "ledger.post_hold", "ledger_hold", str(hold_id), key=key)
    session.commit()
    return out


@router.post("/holds/{hold_id}/void", openapi_extra=WRITE)
def void_hold(hold_id: uuid.UUID, key: KeyDep, actor: ActorDep, session: SessionDep) -> HoldOut:
    """Release a pending hold."""
    out = service.void_hold(session, hold_id)
    _audit(session, actor, "ledger.void_hold", "ledger_hold", str(hold_id), key=key)
    session.commit()
    return out


class FxConversionIn(StrictModel):
    source_account: AccountCode
    target_account: AccountCode
    source_fx_account: AccountCode
    target_fx_account: AccountCode
    source_amount: PositiveMinorUnits
    # A string, never a JSON number: a float rate would round before it reaches Decimal.
    rate: Annotated[
        str,
        Field(
            pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$",
            description="Target major units per source major unit, as a decimal string "
            '(at most 12 digits either side of the point), e.g. "7.1234".',
            examples=["7.1234"],
        ),
    ]
    effective_date: IsoDate | None = None
    description: Annotated[str, Field(max_length=500)] = ""


class FxConversionOut(BaseModel):
    source_entry: EntryOut
    target_entry: EntryOut
    source_currency: CurrencyCode
    target_currency: CurrencyCode


@router.post("/fx-conversions", status_code=status.HTTP_201_CREATED, openapi_extra=WRITE)
def convert_currency(
    body: FxConversionIn,
    key: KeyDep,
    actor: ActorDep,
    session: SessionDep,
) -> FxConversionOut:
    """Exchange currencies: two linked entries through FX position accounts, rate recorded."""
    first, second = service.convert_currency(
        session,
        source_account=body.source_account,
        target_account=body.target_account,
        source_amount=body.source_amount,
        rate=Decimal(body.rate),
        source_fx_account=body.source_fx_account,
        target_fx_account=body.target_fx_account,
        effective_date=body.effective_date,
        description=body.description,
        idempotency_key=key,
    )
    _audit(session, actor, "ledger.convert_currency", "journal_entry", str(first.id), key=key)
    session.commit()
    return FxConversionOut(
        source_entry=first,
        target_entry=second,
        source_currency=first.postings[0].currency,
        target_currency=second.postings[0].currency,
    )


@router.get("/trial-balance", openapi_extra=READ)
def trial_balance(
    session: SessionDep,
    as_of: Annotated[IsoDate | None, Query()] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
) -> TrialBalanceOut:
    return service.trial_balance(session, as_of=as_of, currency=currency)
