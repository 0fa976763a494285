"""Portal page fixtures: the origination desk (a trained champion, the default policy, the
loan product, payments on the scripted channel) and borrowers who can sign in to the pages."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session

from lendbridge.identity.models import User
from lendbridge.kit.actor import Actor
from tests.origination.conftest import Desk, desk
from tests.payments.conftest import payments
from tests.servicing.conftest import book
from tests.web.conftest import Browser

PASSWORD = "a long enough secret"  # tests/servicing/factories.py's customers

__all__ = ["book", "desk", "payments"]


@dataclass
class Borrower:
    actor: Actor
    phone: str

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(str(self.actor.user_id))


def value_of(page: httpx.Response, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page.text)
    assert found, f"no field {name} on {page.url}"
    return found.group(1)


@pytest.fixture
def borrower(desk: Desk) -> object:
    """``borrower("zhang")``: a verified borrower with a bound card (tests/servicing)."""

    def make(who: str = "zhang", **kw: bool) -> Borrower:
        actor = desk.borrower(who, **kw)

        def phone(session: Session) -> str:
            user = session.get(User, uuid.UUID(str(actor.user_id)))
            assert user is not None
            assert user.phone is not None
            return str(user.phone)

        return Borrower(actor, desk.book.run(phone))

    return make


def sign_in(browser: Browser, who: Borrower) -> None:
    browser.sign_in(who.phone, PASSWORD)
