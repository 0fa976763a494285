"""What the back office pages (``office_*``) share: staff names for ids, and a service's field
errors in a form's field names (yuan typed by people: ``web/forms.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity.models import User
from lendbridge.kit.errors import DomainError
from lendbridge.kit.http import get_session

SessionDep = Annotated[Session, Depends(get_session)]


def usernames(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """User id (text) → username (staff) for the ids that name a user; others are left out."""
    wanted: set[uuid.UUID] = set()
    for text in ids:
        try:
            wanted.add(uuid.UUID(str(text)))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {str(user_id): name for user_id, name in rows if name}


def shown(message: str) -> str:
    """A service's message (English, not a message id) as the templates show it: ``_()``
    formats only when given variables, so a "%" in it is shown as it is."""
    return message


def field_errors(exc: DomainError, fields: Mapping[str, str], *, strip: str = "") -> dict[str, str]:
    """A service's refusal as form errors: each error's field (without ``strip`` and without
    list indexes) mapped through ``fields`` to the form's field; an error on a field the form
    does not show goes above the form, with its field named."""
    found: dict[str, str] = {}
    for error in exc.errors:
        path = error.field.removeprefix(strip)
        key = ".".join(part for part in path.split(".") if not part.isdigit())
        target = fields.get(key, fields.get(path, ""))
        message = shown(error.message if target else f"{path}: {error.message}")
        found[target] = f"{found[target]}; {message}" if target in found else message
    return found or {"": shown(exc.detail)}
