"""Agreements (versioned texts) and customers' consents to them, with withdrawal.

A consent records exactly which text was accepted (code, version and the text's SHA-256),
when and from where. Publishing a changed text makes a new version; consents to earlier
versions stay as they were.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity.kyc_models import Agreement, Consent
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, NotFound
from lendbridge.kit.ids import new_id

# The agreements every deployment starts with; operators publish their own texts over them.
DEFAULT_AGREEMENTS = {
    "privacy_policy": (
        "Privacy policy (个人信息保护政策)",
        "We collect your name, resident id, mobile number and bank card to verify your "
        "identity, assess credit and move money, as the Personal Information Protection Law "
        "permits. They are encrypted at rest and shown masked.",
    ),
    "personal_credit_authorization": (
        "Credit inquiry authorisation (个人征信授权书)",
        "You authorise the platform and its funding partners to query and report your "
        "credit information for loan assessment and post-loan management.",
    ),
    "debit_authorization": (
        "Debit authorisation (代扣协议)",
        "You authorise the platform to collect due repayments from your bound bank card "
        "through its payment channels on the due dates.",
    ),
}


class AgreementNotFound(NotFound):
    code = "identity.agreement_not_found"
    title = "No such agreement (or version)"


class ConsentNotFound(NotFound):
    code = "identity.consent_not_found"
    title = "Consent not found"


class ConsentWithdrawn(Conflict):
    code = "identity.consent_withdrawn"
    title = "The consent was already withdrawn"


def digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def publish(session: Session, code: str, title: str, body: str) -> Agreement:
    """Publish ``body`` as the agreement's next version (or return the latest version when it
    already has exactly this text: publishing is idempotent)."""
    latest = latest_version(session, code)
    if latest is not None and latest.body_sha256 == digest(body) and latest.title == title:
        return latest
    agreement = Agreement(
        code=code,
        version=(latest.version + 1) if latest else 1,
        title=title,
        body=body,
        body_sha256=digest(body),
        published_at=clock.now(),
    )
    session.add(agreement)
    session.flush()
    return agreement


def seed_agreements(session: Session) -> int:
    added = 0
    for code, (title, body) in DEFAULT_AGREEMENTS.items():
        if latest_version(session, code) is None:
            publish(session, code, title, body)
            added += 1
    return added


def latest_version(session: Session, code: str) -> Agreement | None:
    return session.scalar(
        select(Agreement).where(Agreement.code == code).order_by(Agreement.version.desc()).limit(1)
    )


def get_agreement(session: Session, code: str, version: int | None = None) -> Agreement:
    found = (
        latest_version(session, code)
        if version is None
        else session.get(Agreement, {"code": code, "version": version})
    )
    if found is None:
        raise AgreementNotFound(
            f"no agreement {code!r}" + (f" version {version}" if version else "")
        )
    return found


def accept(session: Session, actor: Actor, code: str, version: int) -> Consent:
    agreement = get_agreement(session, code, version)
    assert actor.user_id is not None
    consent = Consent(
        id=new_id(),
        user_id=uuid.UUID(actor.user_id),
        agreement_code=agreement.code,
        agreement_version=agreement.version,
        body_sha256=agreement.body_sha256,
        accepted_at=clock.now(),
        client_address=actor.client_address,
        device_id=actor.device_id,
    )
    session.add(consent)
    session.flush()
    record(
        session,
        actor,
        action="identity.consent",
        target_type="consent",
        target_id=str(consent.id),
        after={"agreement": code, "version": agreement.version},
    )
    return consent


def own(session: Session, actor: Actor, consent_id: uuid.UUID) -> Consent:
    """The caller's consent; another user's is 'not found', never shown."""
    consent = session.get(Consent, consent_id)
    if consent is None or str(consent.user_id) != actor.user_id:
        raise ConsentNotFound(f"no consent {consent_id}")
    return consent


def withdraw(session: Session, actor: Actor, consent_id: uuid.UUID) -> Consent:
    consent = own(session, actor, consent_id)
    if consent.withdrawn_at is not None:
        raise ConsentWithdrawn("this consent was already withdrawn")
    consent.withdrawn_at = clock.now()
    session.flush()
    record(
        session,
        actor,
        action="identity.consent_withdraw",
        target_type="consent",
        target_id=str(consent.id),
        before={"withdrawn": False},
        after={"withdrawn": True},
    )
    return consent


def listing(session: Session, actor: Actor) -> list[Consent]:
    assert actor.user_id is not None
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.user_id == uuid.UUID(actor.user_id))
            .order_by(Consent.accepted_at, Consent.id)
        )
    )
