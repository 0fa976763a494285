"""Saving, versioning, retiring and reading products on both databases; every change
audited; versions immutable (on PostgreSQL the database refuses to change one too)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.audit.models import AuditRecord
from lendbridge.identity import catalog
from lendbridge.identity.models import Permission, RolePermission
from lendbridge.identity.users import seed_catalog
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ValidationFailed
from lendbridge.products import service
from lendbridge.products.errors import ProductNotFound, ProductRetired
from lendbridge.products.models import ProductVersion
from lendbridge.products.schemas import ProductStatus, QuoteIn
from tests.products.factories import ACTOR, product, saved

ADMIN = Actor(user_id="staff-admin-1", roles=("admin",))


def audit(session: Session, action: str) -> list[AuditRecord]:
    return list(
        session.scalars(
            select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)
        )
    )


def test_saving_creates_version_one_and_reads_back_exactly(session: Session) -> None:
    request = product(
        annual_rate_percent="12.50",
        upfront_fee={"fixed": 0, "percent": "0.5", "deducted": False},
        penalty={"basis": "daily_rate", "daily_rate_percent": "0.050", "grace_days": 3},
        allocation={"order": ["interest", "principal", "fee", "penalty"], "strategy": "due_first"},
    )
    out, created = service.save_product(session, request, ADMIN)
    assert created
    assert (out.version, out.latest_version, out.status) == (1, 1, ProductStatus.ACTIVE)
    assert out.created_by == "staff-admin-1"
    session.commit()
    session.expunge_all()
    again = service.get_product(session, request.code)
    # Exactly what was saved: decimal strings keep their digits ("12.50", "0.050").
    assert again.model_dump(include=set(type(request).model_fields)) == request.model_dump()
    assert again.annual_rate_percent == "12.50"
    assert again.penalty.daily_rate_percent == "0.050"


def test_changes_make_new_versions_and_old_ones_stay(session: Session) -> None:
    saved(session)
    second, created = service.save_product(session, product(annual_rate_percent="11"), ACTOR)
    assert created
    assert (second.version, second.latest_version) == (2, 2)
    first = service.get_product(session, "TEST-EI", version=1)
    assert (first.annual_rate_percent, first.version, first.latest_version) == ("12", 1, 2)
    assert service.get_product(session, "TEST-EI").annual_rate_percent == "11"
    # The same definition again writes nothing.
    same, created = service.save_product(session, product(annual_rate_percent="11"), ACTOR)
    assert not created
    assert same.version == 2
    assert (
        session.scalar(select(ProductVersion.version).order_by(ProductVersion.version.desc())) == 2
    )


def test_an_invalid_product_writes_nothing(session: Session) -> None:
    with pytest.raises(ValidationFailed):
        service.save_product(session, product(annual_rate_percent="40"), ACTOR)
    with pytest.raises(ProductNotFound):
        service.get_product(session, "TEST-EI")


def test_retired_products_take_no_new_versions_and_no_new_loans(session: Session) -> None:
    saved(session)
    retired = service.retire_product(session, "TEST-EI", ACTOR, "replaced by TEST-EI2")
    assert retired.status is ProductStatus.RETIRED
    assert service.retire_product(session, "TEST-EI", ACTOR).status is ProductStatus.RETIRED
    with pytest.raises(ProductRetired):
        service.save_product(session, product(annual_rate_percent="11"), ACTOR)
    with pytest.raises(ProductRetired) as caught:
        service.product_for_new_loan(session, "TEST-EI")
    assert caught.value.status == 409
    with pytest.raises(ProductRetired):
        service.quote_product(session, "TEST-EI", QuoteIn(amount=5_000_00, term=12))
    # Existing loans still read their version.
    assert service.get_product(session, "TEST-EI", version=1).version == 1


def test_unknown_products_and_versions(session: Session) -> None:
    with pytest.raises(ProductNotFound):
        service.get_product(session, "NOPE")
    saved(session)
    with pytest.raises(ProductNotFound) as caught:
        service.get_product(session, "TEST-EI", version=2)
    assert "no version 2" in str(caught.value)
    with pytest.raises(ProductNotFound):
        service.retire_product(session, "NOPE", ACTOR)


def test_every_change_is_audited(session: Session) -> None:
    saved(session, actor=ADMIN)
    service.save_product(session, product(annual_rate_percent="11"), ADMIN)
    service.save_product(session, product(annual_rate_percent="11"), ADMIN)  # no change
    service.retire_product(session, "TEST-EI", ADMIN, "end of campaign")
    session.commit()
    created = audit(session, "products.version.created")
    assert [r.target_id for r in created] == ["TEST-EI", "TEST-EI"]
    assert created[0].before is None
    assert created[0].after["version"] == 1
    assert created[1].before["definition"]["annual_rate_percent"] == "12"
    assert created[1].after["definition"]["annual_rate_percent"] == "11"
    assert {r.actor_id for r in created} == {"staff-admin-1"}
    (retired,) = audit(session, "products.product.retired")
    assert retired.after == {"status": "retired", "reason": "end of campaign"}


def test_listing_pages_by_code(session: Session) -> None:
    for code in ("C-ONE", "A-ONE", "B-ONE"):
        saved(session, code=code)
    service.save_product(session, product(code="B-ONE", name="second"), ACTOR)
    service.retire_product(session, "C-ONE", ACTOR)
    first = service.list_products(session, limit=2)
    assert [(p.code, p.version) for p in first.items] == [("A-ONE", 1), ("B-ONE", 2)]
    assert first.next_cursor is not None
    rest = service.list_products(session, limit=2, cursor=first.next_cursor)
    assert [p.code for p in rest.items] == ["C-ONE"]
    assert rest.next_cursor is None
    active = service.list_products(session, status=ProductStatus.ACTIVE)
    assert [p.code for p in active.items] == ["A-ONE", "B-ONE"]
    with pytest.raises(ValidationFailed) as caught:
        service.list_products(session, cursor="bm90LWEtY3Vyc29y")
    assert caught.value.errors[0].field == "cursor"


def test_quote_uses_the_newest_version_and_the_business_date(session: Session) -> None:
    saved(session)
    service.save_product(session, product(annual_rate_percent="10"), ACTOR)
    out = service.quote_product(session, "TEST-EI", QuoteIn(amount=12_000_00, term=12))
    assert out.version == 2
    assert out.start.isoformat() == "2026-01-15"  # the test calendar's business date
    assert out.schedule.apr.startswith("10.000")  # 10 %, give or take the rounding
    assert out.schedule.installments[0].due_date.isoformat() == "2026-02-15"


def test_concurrent_first_saves_of_a_code_both_succeed(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """Two first saves of the same code at once: one creates it, the other waits and adds
    version 2 (its definition differs) instead of failing on the duplicate key."""
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def save(rate: str) -> None:
        try:
            with session_factory() as s:
                barrier.wait()
                out, _ = service.save_product(s, product(annual_rate_percent=rate), ACTOR)
                s.commit()
                results.append(out.version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(rate,)) for rate in ("11", "12")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [1, 2]


@pytest.mark.postgres_only
def test_postgres_refuses_to_change_a_version(pg_engine: Engine) -> None:
    with Session(pg_engine) as s:
        saved(s)
        s.commit()
    for statement in (
        update(ProductVersion).values(definition={}),
        text("DELETE FROM product_version"),
    ):
        with Session(pg_engine) as s, pytest.raises(DBAPIError, match="immutable"):
            s.execute(statement)


def test_an_upgrade_grants_new_permissions_to_existing_roles(session: Session) -> None:
    """A database initialised before products existed: its roles get the products grants
    the catalogue gives them when ``init`` runs again."""
    codes = ("products.read", "products.manage")
    session.execute(
        RolePermission.__table__.delete().where(RolePermission.permission_code.in_(codes))
    )
    session.execute(Permission.__table__.delete().where(Permission.code.in_(codes)))
    added = seed_catalog(session)
    granted = {
        (r.role_code, r.permission_code)
        for r in session.scalars(
            select(RolePermission).where(RolePermission.permission_code.in_(codes))
        )
    }
    expected = {
        (role, permission)
        for role, (_, permissions) in catalog.ROLES.items()
        for permission in permissions
        if permission in codes
    }
    assert granted == expected
    assert added == len(codes) + len(expected)
    assert ("finance", "products.manage") in granted
    assert ("integration", "products.read") in granted
    assert seed_catalog(session) == 0
