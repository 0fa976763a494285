"""``products.save`` through maker-checker: validated in full when requested, saved once on
approval by another person, refused for a retired product."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import lendbridge.products.approval_actions  # noqa: F401  (registers the action)
from lendbridge.approvals import service as approvals
from lendbridge.approvals.service import NotAllowedToRequest, OwnRequest
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ValidationFailed
from lendbridge.products import service
from lendbridge.products.errors import ProductRetired
from lendbridge.products.models import ProductVersion
from tests.products.factories import ACTOR, document, product

MAKER = Actor(user_id="maker-1", roles=("admin",), permissions=frozenset({"products.manage"}))
CHECKER = Actor(
    user_id="checker-1", roles=("compliance_officer",), permissions=frozenset({"approvals.decide"})
)


def _versions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ProductVersion)) or 0)


def test_a_requested_product_is_saved_once_when_another_person_approves(
    session: Session,
) -> None:
    row = approvals.request_action(
        session, MAKER, action="products.save", payload=document(), reason="launch"
    )
    assert _versions(session) == 0
    with pytest.raises(OwnRequest):
        approvals.decide(session, MAKER, row.id, approve=True, note="mine")
    approvals.decide(session, CHECKER, row.id, approve=True, note="ok")
    assert row.result == {"code": "TEST-EI", "version": 1, "created": True}
    saved = service.get_product(session, "TEST-EI")
    assert saved.created_by == "maker-1"
    assert _versions(session) == 1


def test_a_definition_over_the_apr_cap_is_refused_when_requested(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        approvals.request_action(
            session,
            MAKER,
            action="products.save",
            payload=document(annual_rate_percent="30"),
            reason="too dear",
        )
    assert {e.field for e in refused.value.errors} == {"payload.max_apr_percent"}
    with pytest.raises(ValidationFailed) as malformed:
        approvals.request_action(
            session, MAKER, action="products.save", payload=document(code="x"), reason="bad"
        )
    assert [e.field for e in malformed.value.errors] == ["payload.code"]


def test_requests_need_products_manage_and_a_retired_product_takes_none(
    session: Session,
) -> None:
    with pytest.raises(NotAllowedToRequest):
        approvals.request_action(
            session, CHECKER, action="products.save", payload=document(), reason="x"
        )
    service.save_product(session, product(), ACTOR)
    service.retire_product(session, "TEST-EI", ACTOR)
    with pytest.raises(ProductRetired):
        approvals.request_action(
            session, MAKER, action="products.save", payload=document(name="v2"), reason="x"
        )
