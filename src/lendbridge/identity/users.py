"""Users, their roles and the permissions those roles grant (as stored, not as coded)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import catalog, passwords
from lendbridge.identity.errors import DuplicateUser, UnknownRole
from lendbridge.identity.models import (
    Permission,
    Role,
    RolePermission,
    SignInSession,
    User,
    UserKind,
    UserRole,
    UserStatus,
)
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.ids import new_id


def seed_catalog(session: Session) -> int:
    """Load the default roles, permissions and grants that are missing (idempotent; grants an
    administrator removed later are not restored once the role exists). A permission new to
    the database (an upgrade added it) is granted to the existing roles the catalogue gives
    it to: no administrator can have removed a grant of a permission that did not exist.
    Returns rows added."""
    added = 0
    roles = set(session.scalars(select(Role.code)))
    perms = set(session.scalars(select(Permission.code)))
    new_perms: set[str] = set()
    for code, description in catalog.PERMISSIONS.items():
        if code not in perms:
            session.add(Permission(code=code, description=description))
            new_perms.add(code)
            added += 1
    new_roles = []
    for code, (name, _) in catalog.ROLES.items():
        if code not in roles:
            session.add(Role(code=code, name=name))
            new_roles.append(code)
            added += 1
    session.flush()
    for code in new_roles:
        for permission in sorted(catalog.ROLES[code][1]):
            session.add(RolePermission(role_code=code, permission_code=permission))
            added += 1
    for code in sorted(roles & set(catalog.ROLES)):
        for permission in sorted(catalog.ROLES[code][1] & new_perms):
            session.add(RolePermission(role_code=code, permission_code=permission))
            added += 1
    session.flush()
    return added


def roles_and_permissions(
    session: Session, user_id: uuid.UUID
) -> tuple[tuple[str, ...], frozenset[str]]:
    roles = tuple(
        session.scalars(
            select(UserRole.role_code)
            .where(UserRole.user_id == user_id)
            .order_by(UserRole.granted_at, UserRole.role_code)
        )
    )
    permissions = frozenset(
        session.scalars(
            select(RolePermission.permission_code).where(RolePermission.role_code.in_(roles))
        )
    )
    return roles, permissions


def grant_roles(session: Session, user: User, roles: tuple[str, ...], *, by: Actor) -> None:
    known = set(session.scalars(select(Role.code).where(Role.code.in_(roles))))
    for role in roles:
        if role not in known:
            raise UnknownRole(f"roles: no role {role!r}")
    have = set(session.scalars(select(UserRole.role_code).where(UserRole.user_id == user.id)))
    now = clock.now()
    for role in roles:
        if role not in have:
            session.add(
                UserRole(user_id=user.id, role_code=role, granted_at=now, granted_by=by.user_id)
            )
    session.flush()


def create_staff(
    session: Session,
    *,
    username: str,
    password: str,
    roles: tuple[str, ...],
    by: Actor,
) -> User:
    """A staff user who signs in with username, password and (after enrolment) TOTP."""
    passwords.check_password_rules(password, personal=(username,))
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DuplicateUser(f"username: {username!r} is taken")
    now = clock.now()
    user = User(
        id=new_id(),
        kind=UserKind.STAFF.value,
        username=username,
        password_hash=passwords.hash_password(password),
        status=UserStatus.ACTIVE.value,
        kyc_level="registered",
        totp_enabled=False,
        failed_logins=0,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    grant_roles(session, user, roles, by=by)
    record(
        session,
        by,
        action="identity.create_staff",
        target_type="user",
        target_id=str(user.id),
        after={"username": username, "roles": list(roles)},
    )
    return user


def set_status(session: Session, user: User, *, active: bool, by: Actor) -> None:
    """Disable (every session of the user ends) or re-enable a user."""
    from lendbridge.identity.signin import revoke_session

    before = user.status
    user.status = UserStatus.ACTIVE.value if active else UserStatus.DISABLED.value
    user.updated_at = clock.now()
    if not active:
        for session_id in session.scalars(
            select(SignInSession.id).where(
                SignInSession.user_id == user.id, SignInSession.revoked_at.is_(None)
            )
        ).all():
            revoke_session(session, session_id, reason="user_disabled")
    session.flush()
    record(
        session,
        by,
        action="identity.enable_user" if active else "identity.disable_user",
        target_type="user",
        target_id=str(user.id),
        before={"status": before},
        after={"status": user.status},
    )


def unlock(session: Session, user: User, *, by: Actor) -> None:
    """Lift a sign-in lockout before it expires."""
    before = user.locked_until.isoformat() if user.locked_until else None
    user.locked_until = None
    user.failed_logins = 0
    user.updated_at = clock.now()
    session.flush()
    record(
        session,
        by,
        action="identity.unlock_user",
        target_type="user",
        target_id=str(user.id),
        before={"locked_until": before},
        after={"locked_until": None},
    )
