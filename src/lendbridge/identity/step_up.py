"""Step-up codes: a one-time code to the customer's phone before a sensitive action (signing a
contract, changing the bank card). Used by the API and the pages alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lendbridge.identity import codes, kyc
from lendbridge.identity.errors import TooManyAttempts
from lendbridge.identity.ratelimit import ONE_TIME_CODE, RateLimiter
from lendbridge.kit.actor import Actor
from lendbridge.kit.notify import Message


def issue(session: Session, limiter: RateLimiter, actor: Actor, purpose: str) -> Message:
    """Rate-limit and store a code for ``purpose``; the message to send. The caller commits,
    then sends (never a code that was not stored)."""
    user = kyc.customer(session, actor)
    assert user.phone is not None
    assert user.phone_index is not None
    if not limiter.allow(
        ONE_TIME_CODE,
        scope=f"code:{purpose}",
        account=user.phone_index,
        address=actor.client_address,
    ):
        raise TooManyAttempts("too many codes requested; wait before asking again")
    code = codes.issue(session, phone_index=user.phone_index, purpose=purpose)
    minutes = str(int(codes.TTL.total_seconds() // 60))
    action = purpose.replace("_", " ")
    return Message(user.phone, "step_up_code", {"code": code, "minutes": minutes, "action": action})
