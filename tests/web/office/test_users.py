"""Staff users and roles through the pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.approvals.models import ApprovalRequest
from lendbridge.identity import catalog
from lendbridge.identity.models import SignInSession, User, UserRole
from lendbridge.web.labels import VOCABULARIES
from tests.identity.factories import PASSWORD
from tests.web.conftest import Browser
from tests.web.office.helpers import switch_to


def _user(engine: Engine, username: str) -> User:
    with Session(engine) as session:
        found = session.scalars(select(User).where(User.username == username)).one()
        session.expunge(found)
        return found


def test_create_disable_and_request_a_role_grant(
    browser: Browser, other_browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    admin = enrolled_staff("admin")
    switch_to(browser, admin)
    weak = browser.submit(
        "/staff/users", data={"username": "wang.fang", "password": "short", "role": "collector"}
    )
    assert weak.status_code == 422
    assert 'id="e-password"' in weak.text
    made = browser.submit(
        "/staff/users", data={"username": "wang.fang", "password": PASSWORD, "role": "collector"}
    )
    assert made.status_code == 200
    assert "wang.fang" in made.text
    new = _user(engine, "wang.fang")
    assert new.kind == "staff"
    taken = browser.submit(
        "/staff/users", data={"username": "wang.fang", "password": PASSWORD, "role": "collector"}
    )
    assert taken.status_code == 409

    granted = browser.submit(
        "/staff/users",
        f"/staff/users/{new.id}/grant",
        data={"role": "finance", "reason": "moves to finance"},
    )
    assert granted.status_code == 200
    with Session(engine) as session:
        row = session.scalars(select(ApprovalRequest)).one()
        assert (row.action, row.payload["role"], row.status) == (
            "identity.grant_role",
            "finance",
            "pending",
        )
    switch_to(other_browser, enrolled_staff("compliance_officer"))
    inbox = other_browser.get("/staff/approvals")
    assert f'/staff/approvals/{row.id}/approve"' in inbox.text
    assert "finance" in inbox.text

    officer = enrolled_staff("loan_officer")
    switch_to(other_browser, officer)  # signs the checker out; the officer has a live session
    officer_id = _user(engine, officer.username).id
    disabled = browser.submit(
        "/staff/users", f"/staff/users/{officer_id}/status", data={"active": "false"}
    )
    assert disabled.status_code == 200
    with Session(engine) as session:
        assert session.get(User, officer_id).status == "disabled"  # type: ignore[union-attr]
        live = session.scalars(
            select(SignInSession).where(
                SignInSession.user_id == officer_id, SignInSession.revoked_at.is_(None)
            )
        ).all()
    assert live == []
    assert other_browser.get("/staff/products", follow_redirects=False).status_code == 303


def test_users_pages_need_their_permissions(browser: Browser, enrolled_staff: Any) -> None:
    switch_to(browser, enrolled_staff("loan_officer"))  # reads users, manages none
    page = browser.get("/staff/users")
    assert page.status_code == 200
    assert 'action="/staff/users"' not in page.text
    refused = browser.submit(
        "/staff/users", data={"username": "x.y", "password": PASSWORD, "role": "collector"}
    )
    assert refused.status_code == 403
    switch_to(browser, enrolled_staff("finance"))
    assert browser.get("/staff/users").status_code == 403


def test_english_users_page_renders(browser: Browser, enrolled_staff: Any) -> None:
    switch_to(browser, enrolled_staff("admin"))
    browser.get("/lang/en?next=/staff")
    page = browser.get("/staff/users")
    assert page.status_code == 200
    assert "New staff user" in page.text
    assert '<html lang="en">' in page.text


def test_a_role_is_revoked_once_a_second_person_approves(
    browser: Browser, other_browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    switch_to(browser, enrolled_staff("admin"))
    target = _user(engine, enrolled_staff("collector", "finance").username)
    action = f"/staff/users/{target.id}/revoke"
    page = browser.get("/staff/users")
    assert page.text.count(f'action="{action}"') == 2  # one form per role held
    assert "催收员" in page.text  # the role's words, not its code

    no_reason = browser.submit("/staff/users", action, data={"role": "finance", "reason": " "})
    assert no_reason.status_code == 422
    assert f'id="e-revoke-{target.id}-finance"' in no_reason.text
    not_held = browser.submit("/staff/users", action, data={"role": "auditor", "reason": "x"})
    assert not_held.status_code == 422
    with Session(engine) as session:
        assert session.scalars(select(ApprovalRequest)).all() == []

    filed = browser.submit(
        "/staff/users", action, data={"role": "finance", "reason": "left finance"}
    )
    assert filed.status_code == 200
    with Session(engine) as session:
        row = session.scalars(select(ApprovalRequest)).one()
        assert (row.action, row.payload, row.status) == (
            "identity.revoke_role",
            {"user_id": str(target.id), "role": "finance"},
            "pending",
        )
        assert _roles(session, target.id) == ["collector", "finance"]  # not before approval

    switch_to(other_browser, enrolled_staff("compliance_officer"))
    approved = other_browser.submit(
        "/staff/approvals", f"/staff/approvals/{row.id}/approve", data={"note": "agreed"}
    )
    assert approved.status_code == 200
    with Session(engine) as session:
        assert _roles(session, target.id) == ["collector"]
        assert session.get(ApprovalRequest, row.id).status == "approved"  # type: ignore[union-attr]
    assert browser.get("/staff/users").text.count(f'action="{action}"') == 1


def test_revoking_needs_the_grant_permission_and_the_form_token(
    browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    target = _user(engine, enrolled_staff("collector").username)
    action = f"/staff/users/{target.id}/revoke"
    switch_to(browser, enrolled_staff("admin"))
    bare = browser.client.post(action, data={"role": "collector", "reason": "x"})
    assert bare.status_code == 403  # no CSRF token
    switch_to(browser, enrolled_staff("loan_officer"))  # reads users, grants nothing
    assert f'action="{action}"' not in browser.get("/staff/users").text
    refused = browser.submit("/staff/users", action, data={"role": "collector", "reason": "x"})
    assert refused.status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(ApprovalRequest)).all() == []


def test_every_role_has_words() -> None:
    assert set(catalog.ROLES) <= set(VOCABULARIES["role"])


def _roles(session: Session, user_id: object) -> list[str]:
    return sorted(session.scalars(select(UserRole.role_code).where(UserRole.user_id == user_id)))
