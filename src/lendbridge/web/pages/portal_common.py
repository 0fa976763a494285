"""What the borrower's pages share: the signed-in customer's id, yuan typed by people, a
hidden idempotency key, and a request model's problems as form errors."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from lendbridge.identity import step_up
from lendbridge.identity.auth import sms
from lendbridge.kit.http import get_session
from lendbridge.web import forms, i18n
from lendbridge.web.i18n import N_
from lendbridge.web.labels import VOCABULARIES
from lendbridge.web.sessions import WebUser

SessionDep = Annotated[Session, Depends(get_session)]
Model = TypeVar("Model", bound=BaseModel)
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def me(user: WebUser) -> uuid.UUID:
    return user.user_id


def new_key() -> str:
    """A form's idempotency key: the same form posted twice is one request."""
    return secrets.token_urlsafe(18)


def form_key(value: str | None) -> str | None:
    """The form's key, if it is one this page rendered (shape only)."""
    return value if value and _KEY.fullmatch(value) else None


def scoped_key(user: WebUser, key: str, what: str) -> str:
    return f"web:{what}:{user.user_id.hex}:{key}"


def parse_yuan(text: str, *, allow_zero: bool = False) -> tuple[int | None, str | None]:
    """``forms.parse_yuan`` as the portal's forms use it: (fen, None), or (None, message)."""
    try:
        return forms.parse_yuan(text, allow_zero=allow_zero), None
    except forms.BadInput as bad:
        return None, bad.message


def choices(vocabulary: str) -> list[tuple[str, str]]:
    """A select's options, (code, words in the page's language), from ``labels.VOCABULARIES``."""
    return [(str(code), i18n.gettext_(words)) for code, words in VOCABULARIES[vocabulary].items()]


def validated(
    model: type[Model], data: dict[str, object], *, rename: dict[str, str] | None = None
) -> tuple[Model | None, dict[str, str]]:
    """The request model, or the form's errors (field → message) from its validation."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        rename = rename or {}
        errors: dict[str, str] = {}
        for problem in exc.errors():
            location = [str(part) for part in problem["loc"]]
            name = location[-1] if location else ""
            if len(location) >= 2 and location[0] == "features":
                name = location[1]
            errors.setdefault(rename.get(name, name), N_("Check this value."))
        return None, errors


def send_step_up_code(request: Request, session: Session, user: WebUser, purpose: str) -> None:
    """A one-time code for a sensitive action, as ``POST /v1/me/step-up-codes`` sends it."""
    message = step_up.issue(session, request.app.state.identity_policy.limiter, user.actor, purpose)
    session.commit()
    sms(request).send(message)  # after the commit: never a code that was not stored
