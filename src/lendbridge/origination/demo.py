"""The demo's applications, decided live by the champion and the active policy at setup:
赵敏 (a new borrower) is offered a loan she can sign (POST /v1/me/applications/{id}/sign
after asking for a code), 李娜 is declined because a loan of hers is overdue, 张伟's goes to
the review queue (or is declined, his loans being overdue too), 王芳 is declined (no bank
card bound): each sees why. Idempotent: skipped when demo applications exist.

Each applicant answers the model's questions like one of the German credit applicants
(picked by the score band that gives the wanted outcome), so the story holds whatever model
version the demo trained."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity.models import User
from lendbridge.identity.registration import phone_index
from lendbridge.kit import calendar
from lendbridge.kit.actor import Actor
from lendbridge.origination import applications, standing
from lendbridge.origination.features import DERIVED
from lendbridge.origination.models import LoanApplication
from lendbridge.origination.schemas import ApplicationIn
from lendbridge.scoring import registry
from lendbridge.scoring.demo import TARGET, german_credit_path
from lendbridge.scoring.loaded import LoadedModel

KEY = "demo-application"
PRODUCT = "CONSUMER-EI"


@dataclass(frozen=True, slots=True)
class DemoApplicant:
    phone: str
    name: str
    amount: int
    term: int
    scores: tuple[int, int]  # the band of the German profile they answer like


APPLICANTS = (
    DemoApplicant("13800000005", "赵敏", 8_000_00, 12, (600, 10_000)),
    DemoApplicant("13800000002", "李娜", 8_000_00, 12, (600, 10_000)),
    DemoApplicant("13800000001", "张伟", 20_000_00, 12, (510, 530)),
    DemoApplicant("13800000003", "王芳", 5_000_00, 6, (560, 10_000)),
)


@functools.cache
def german_profiles() -> tuple[dict[str, int | str], ...]:
    """Every German credit applicant as an application's ``features`` (the target and the
    characteristics the application itself answers left out), read once per process."""
    with german_credit_path().open(encoding="utf-8") as handle:
        return tuple(
            {
                k: int(v) if v.isdigit() else v
                for k, v in row.items()
                if k != TARGET and k not in DERIVED
            }
            for row in csv.DictReader(handle)
        )


def _profile(model: LoadedModel, who: DemoApplicant, age: int) -> dict[str, int | str]:
    """The first German profile scoring in the applicant's band, else the nearest to it."""
    derived = {"credit_amount": who.amount // 100, "duration_in_month": who.term}
    low, high = who.scores
    best: tuple[int, dict[str, int | str]] | None = None
    for features in german_profiles():
        score = model.score({**features, **derived, "age_in_years": age}).score
        distance = max(low - score, score - high + 1, 0)
        if distance == 0:
            return dict(features)
        if best is None or distance < best[0]:
            best = (distance, features)
    if best is None:
        raise LookupError("the German credit file has no rows")
    return dict(best[1])


def load_applications_demo(session: Session) -> str:
    if session.scalar(
        select(LoanApplication.id).where(LoanApplication.idempotency_key.like(f"%:{KEY}"))
    ):
        return "applications demo: already loaded"
    model = registry.champion(session)
    day = calendar.business_date(session)
    told = []
    for who in APPLICANTS:
        user_id = session.scalar(select(User.id).where(User.phone_index == phone_index(who.phone)))
        if user_id is None:
            told.append(f"{who.name}: not found")
            continue
        body = ApplicationIn.model_validate(
            {
                "product_code": PRODUCT,
                "amount": who.amount,
                "term": who.term,
                "purpose": "consumption",
                "employment": "employed",
                "monthly_income": 18_000_00,
                "features": _profile(model, who, standing.age_of(session, user_id, day)),
            }
        )
        me = Actor(user_id=str(user_id), roles=("borrower",))
        try:
            row, _ = applications.submit(session, user_id, body, idempotency_key=KEY, actor=me)
        except Exception as refused:
            told.append(f"{who.name}: {refused}")
            continue
        told.append(f"{who.name} {row.status} (grade {row.grade or '-'})")
    return "applications demo: " + "; ".join(told)
