"""Identity actions that need a second person: granting and revoking roles."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lendbridge.approvals.actions import Action, Approved, Payload, register
from lendbridge.audit.service import record
from lendbridge.identity.errors import UnknownRole, UserNotFound
from lendbridge.identity.models import Role, User, UserRole
from lendbridge.identity.users import grant_roles, roles_and_permissions
from lendbridge.kit.errors import ValidationFailed, field_error


def _target(session: Session, payload: Mapping[str, Any]) -> tuple[User, str]:
    try:
        user_id = uuid.UUID(str(payload.get("user_id")))
    except ValueError:
        raise field_error(ValidationFailed, "payload.user_id", "must be a user id") from None
    role = payload.get("role")
    if not isinstance(role, str) or session.get(Role, role) is None:
        raise field_error(UnknownRole, "payload.role", f"no role {role!r}")
    user = session.get(User, user_id)
    if user is None:
        raise field_error(UserNotFound, "payload.user_id", f"no user {user_id}")
    return user, role


def _validate(session: Session, payload: Mapping[str, Any]) -> Payload:
    user, role = _target(session, payload)
    return {"user_id": str(user.id), "role": role}


def _grant(session: Session, approved: Approved) -> Payload:
    user, role = _target(session, approved.payload)
    before, _ = roles_and_permissions(session, user.id)
    grant_roles(session, user, (role,), by=approved.checker)
    after, _ = roles_and_permissions(session, user.id)
    record(
        session,
        approved.checker,
        action="identity.grant_role",
        target_type="user",
        target_id=str(user.id),
        before={"roles": list(before)},
        after={"roles": list(after), "approval": approved.request_id},
    )
    return {"user_id": str(user.id), "roles": list(after)}


def _revoke(session: Session, approved: Approved) -> Payload:
    user, role = _target(session, approved.payload)
    before, _ = roles_and_permissions(session, user.id)
    session.execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role_code == role))
    session.flush()
    after = list(session.scalars(select(UserRole.role_code).where(UserRole.user_id == user.id)))
    record(
        session,
        approved.checker,
        action="identity.revoke_role",
        target_type="user",
        target_id=str(user.id),
        before={"roles": list(before)},
        after={"roles": after, "approval": approved.request_id},
    )
    return {"user_id": str(user.id), "roles": after}


GRANT_ROLE = register(
    Action(
        name="identity.grant_role",
        description="Grant a role to a user",
        maker_permission="identity.roles.grant",
        validate=_validate,
        run=_grant,
    )
)
REVOKE_ROLE = register(
    Action(
        name="identity.revoke_role",
        description="Revoke a role from a user",
        maker_permission="identity.roles.grant",
        validate=_validate,
        run=_revoke,
    )
)
