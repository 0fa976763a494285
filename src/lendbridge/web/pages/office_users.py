"""``/staff/users``: staff users and their roles; create a staff user, disable or enable,
unlock (``identity.users.manage``), and request a role grant or revocation through
maker-checker (``identity.grant_role``, ``identity.revoke_role``; maker permission
``identity.roles.grant``): the services the ``/v1/users`` routes and ``/v1/approvals`` call,
audited there."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.approvals import service as approvals
from lendbridge.identity import catalog, users
from lendbridge.identity.approval_actions import GRANT_ROLE, REVOKE_ROLE
from lendbridge.identity.errors import UserNotFound
from lendbridge.identity.models import User, UserKind, UserRole, UserStatus
from lendbridge.kit import clock
from lendbridge.kit.errors import DomainError
from lendbridge.web.forms import attempt
from lendbridge.web.i18n import N_
from lendbridge.web.pages.office_common import SessionDep, field_errors, shown
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
READ = "identity.users.read"
MANAGE = "identity.users.manage"
GRANT = "identity.roles.grant"
Text = Annotated[str, Form()]
ROLES = sorted(catalog.STAFF_ROLES)


def staff_with_roles(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(User.id, User.username, User.status, User.locked_until, User.created_at)
        .where(User.kind == UserKind.STAFF.value)
        .order_by(User.username)
        .limit(500)
    ).all()
    roles: dict[uuid.UUID, list[str]] = defaultdict(list)
    found = session.execute(
        select(UserRole.user_id, UserRole.role_code)
        .join(User, User.id == UserRole.user_id)
        .where(User.kind == UserKind.STAFF.value)
        .order_by(UserRole.role_code)
    )
    for user_id, code in found:
        roles[user_id].append(code)
    now = clock.now()
    return [
        {
            "id": row.id,
            "username": row.username,
            "active": row.status == UserStatus.ACTIVE.value,
            "locked": row.locked_until is not None and row.locked_until > now,
            "created_at": row.created_at,
            "roles": roles[row.id],
        }
        for row in rows
    ]


def _page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    failed_role: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "office/users.html",
        status_code=status_code,
        people=staff_with_roles(session),
        roles=ROLES,
        may_manage=user.may(MANAGE),
        may_grant=user.may(GRANT),
        form=form or {},
        errors=errors or {},
        failed=failed,
        failed_role=failed_role,
    )


@router.get("/staff/users", openapi_extra=page(READ))
def staff_users(request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    return _page(request, session, user)


@router.post("/staff/users", openapi_extra=page(MANAGE))
def create_user(
    request: Request,
    user: UserDep,
    session: SessionDep,
    username: Text = "",
    password: Text = "",
    role: Text = "",
) -> Response:
    form = {"username": username, "role": role}
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = N_("Enter a username.")
    if role not in ROLES:
        errors["role"] = N_("Choose a role.")
    if not errors:
        try:
            users.create_staff(
                session,
                username=username.strip(),
                password=password,
                roles=(role,),
                by=user.actor,
            )
        except DomainError as exc:
            session.rollback()
            fields = {"username": "username", "password": "password", "roles": "role"}
            errors = field_errors(exc, fields)
            if list(errors) == [""] and "username" in exc.detail:
                errors = {"username": shown(exc.detail)}
            return _page(request, session, user, form=form, errors=errors, status_code=exc.status)
        session.commit()
        return redirect(
            "/staff/users",
            flash=N_("Staff user created: they enrol an authenticator before signing in."),
        )
    return _page(request, session, user, form=form, errors=errors, status_code=422)


def _staff(session: Session, user_id: uuid.UUID) -> User:
    found = session.get(User, user_id)
    if found is None or found.kind != UserKind.STAFF.value:
        raise UserNotFound(f"no staff user {user_id}")
    return found


@router.post("/staff/users/{user_id}/status", openapi_extra=page(MANAGE))
def set_status(
    request: Request, user_id: uuid.UUID, user: UserDep, session: SessionDep, active: Text = ""
) -> Response:
    users.set_status(session, _staff(session, user_id), active=active == "true", by=user.actor)
    session.commit()
    done = N_("The user is enabled.") if active == "true" else N_("The user is disabled.")
    return redirect("/staff/users", flash=done)


@router.post("/staff/users/{user_id}/unlock", openapi_extra=page(MANAGE))
def unlock(request: Request, user_id: uuid.UUID, user: UserDep, session: SessionDep) -> Response:
    users.unlock(session, _staff(session, user_id), by=user.actor)
    session.commit()
    return redirect("/staff/users", flash=N_("The user can sign in again."))


@router.post("/staff/users/{user_id}/grant", openapi_extra=page(GRANT))
def request_grant(
    request: Request,
    user_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    role: Text = "",
    reason: Text = "",
) -> Response:
    target = _staff(session, user_id)
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["grant_role"] = N_("Choose a role.")
    if not reason.strip():
        errors["reason"] = N_("Say why, for the approver.")
    if not errors:
        return _request_role_change(request, session, user, target, GRANT_ROLE.name, role, reason)
    return _page(request, session, user, errors=errors, failed=str(user_id), status_code=422)


def _request_role_change(
    request: Request,
    session: Session,
    user: WebUser,
    target: User,
    action: str,
    role: str,
    reason: str,
) -> Response:
    """File the maker-checker request (a grant or a revocation): nothing changes until a
    second person approves it in /staff/approvals."""
    refused = attempt(
        session,
        lambda: approvals.request_action(
            session,
            user.actor,
            action=action,
            payload={"user_id": str(target.id), "role": role},
            reason=reason.strip()[:1000],
        ),
    )
    if isinstance(refused, DomainError):
        errors = {"": shown(refused.detail)}
        return _page(
            request, session, user, errors=errors, failed=str(target.id), status_code=refused.status
        )
    return redirect(
        "/staff/users", flash=N_("Sent for approval: another staff member approves it.")
    )


@router.post("/staff/users/{user_id}/revoke", openapi_extra=page(GRANT))
def request_revoke(
    request: Request,
    user_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    role: Text = "",
    reason: Text = "",
) -> Response:
    target = _staff(session, user_id)
    held = set(session.scalars(select(UserRole.role_code).where(UserRole.user_id == target.id)))
    if role not in held:
        errors = {"": N_("The user does not hold that role.")}
        return _page(request, session, user, errors=errors, failed=str(user_id), status_code=422)
    if not reason.strip():
        errors = {"revoke_reason": N_("Say why, for the approver.")}
        return _page(
            request,
            session,
            user,
            errors=errors,
            failed=str(user_id),
            failed_role=role,
            status_code=422,
        )
    return _request_role_change(request, session, user, target, REVOKE_ROLE.name, role, reason)
