"""One-time codes sent by SMS: six digits, one purpose, five minutes, five tries, used once.

A new code for the same phone and purpose replaces the previous one. Codes are stored as a
hash bound to their row id; the phone only as its blind index.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lendbridge.identity import tokens
from lendbridge.identity.models import OneTimeCode
from lendbridge.kit import clock
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.ids import new_id

TTL = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
PURPOSES = frozenset({"register", "sign_contract", "change_bank_card"})


class CodeRejected(ValidationFailed):
    code = "identity.one_time_code_rejected"
    title = "The one-time code is wrong, expired or already used"


def issue(session: Session, *, phone_index: str, purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown one-time code purpose {purpose!r}")
    now = clock.now()
    session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.phone_index == phone_index,
            OneTimeCode.purpose == purpose,
            OneTimeCode.consumed_at.is_(None),
        )
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    row_id = new_id()
    session.add(
        OneTimeCode(
            id=row_id,
            phone_index=phone_index,
            purpose=purpose,
            code_hash=tokens.digest(f"{row_id}:{code}"),
            attempts=0,
            created_at=now,
            expires_at=now + TTL,
        )
    )
    session.flush()
    return code


def consume(session: Session, *, phone_index: str, purpose: str, code: str, field: str) -> None:
    """Accept ``code`` once, or raise :class:`CodeRejected` naming ``field``. A wrong code
    still counts an attempt, so callers commit before re-raising."""
    now = clock.now()
    row = session.scalar(
        select(OneTimeCode)
        .where(
            OneTimeCode.phone_index == phone_index,
            OneTimeCode.purpose == purpose,
            OneTimeCode.consumed_at.is_(None),
        )
        .order_by(OneTimeCode.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None or row.expires_at <= now or row.attempts >= MAX_ATTEMPTS:
        raise field_error(CodeRejected, field, "no valid code: request a new one")
    row.attempts += 1
    if not secrets.compare_digest(row.code_hash, tokens.digest(f"{row.id}:{code.strip()}")):
        session.flush()
        left = MAX_ATTEMPTS - row.attempts
        raise field_error(CodeRejected, field, f"wrong code ({left} tries left)")
    row.consumed_at = now
    session.flush()
