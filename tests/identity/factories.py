"""Factories for identity tests: staff users and the tokens that act for them."""

from __future__ import annotations

import itertools

from fastapi import FastAPI
from sqlalchemy.orm import Session

from lendbridge.identity import signin, users
from lendbridge.identity.models import User
from lendbridge.kit.actor import system_actor

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


def staff(session: Session, *roles: str, username: str | None = None) -> User:
    name = username or f"staff{next(_numbers)}"
    user = users.create_staff(
        session, username=name, password=PASSWORD, roles=roles, by=system_actor("tests")
    )
    session.flush()
    return user


def token_for(app: FastAPI, session: Session, user: User) -> str:
    """An access token for ``user`` as if they had signed in (second factor included)."""
    tokens = signin.start_session(session, app.state.identity_policy, user)
    session.commit()
    return tokens.access_token


def bearer(app: FastAPI, session: Session, *roles: str) -> dict[str, str]:
    user = staff(session, *roles)
    return {"Authorization": f"Bearer {token_for(app, session, user)}"}
