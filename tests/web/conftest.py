"""Page test fixtures: the whole application (API + pages) behind a cookie-keeping client, and
people who can sign in to it: borrowers (phone + password) and enrolled staff (+ TOTP)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.config import Settings
from lendbridge.identity import mfa, registration
from lendbridge.identity.models import User, UserKind
from lendbridge.kit import clock
from tests.identity.factories import PASSWORD, staff

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = _TOKEN.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


@dataclass
class Browser:
    """A TestClient that submits forms the way a browser does: the CSRF token of the page the
    form is on goes with it."""

    client: TestClient

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def submit(
        self, page: str, action: str | None = None, data: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """Open ``page``, then post ``data`` with its CSRF token to ``action`` (default: the
        page itself)."""
        opened = self.client.get(page)
        assert opened.status_code == 200, (page, opened.status_code)
        body = {"csrf_token": csrf_of(opened), **(data or {})}
        return self.client.post(action or page, data=body, **kw)

    def sign_in(self, phone: str, password: str = PASSWORD) -> httpx.Response:
        done = self.submit("/login", data={"phone": phone, "password": password})
        assert done.status_code == 200, done.text[:500]
        assert "/login" not in str(done.url), done.text[:500]
        return done

    def staff_sign_in(self, person: StaffPerson) -> httpx.Response:
        data = {"username": person.username, "password": PASSWORD, "totp_code": person.code()}
        done = self.submit("/staff/login", data=data)
        assert done.status_code == 200, done.text[:500]
        assert "/login" not in str(done.url), done.text[:500]
        return done


@dataclass
class StaffPerson:
    username: str
    secret: str
    engine: Engine

    def code(self) -> str:
        """A code the platform has not yet accepted (each TOTP step works once)."""
        with Session(self.engine) as session:
            last = session.scalar(select(User.totp_last_step).where(User.username == self.username))
        totp = pyotp.TOTP(self.secret)
        step = totp.timecode(clock.now())
        # The current step first: a code of the step before would fail if a step boundary
        # passed before the server checks it; the next step is still within the allowed drift.
        for candidate in (step, step + 1, step - 1):
            if last is None or candidate > last:
                return totp.generate_otp(candidate)
        raise AssertionError("three sign-ins within one TOTP step: advance the clock")


@pytest.fixture
def web_app(engine: Engine) -> FastAPI:
    from lendbridge.app import create_app

    settings = Settings(database_url=str(engine.url), log_format="console")
    return create_app(settings, engine=engine)


@pytest.fixture
def browser(web_app: FastAPI) -> Iterator[Browser]:
    with TestClient(web_app, raise_server_exceptions=False) as client:
        yield Browser(client)


@pytest.fixture
def enrolled_staff(engine: Engine) -> Any:
    """``enrolled_staff("loan_officer")``: a staff user with those roles and an enrolled
    authenticator, as the demo's staff are."""

    def make(*roles: str) -> StaffPerson:
        with Session(engine) as session:
            user = staff(session, *roles)
            secret, _ = mfa.begin_enrolment(session, user)
            mfa.confirm_enrolment(session, user, pyotp.TOTP(secret).at(clock.now()))
            user.totp_last_step = None  # the enrolment code does not spend the first sign-in
            username = str(user.username)
            session.commit()
        return StaffPerson(username=username, secret=secret, engine=engine)

    return make


@pytest.fixture
def customer(engine: Engine) -> Any:
    """``customer("13900000001")``: a registered borrower (or investor) with PASSWORD."""

    def make(phone: str, kind: UserKind = UserKind.BORROWER) -> User:
        with Session(engine) as session:
            user = registration.new_customer(session, phone=phone, password=PASSWORD, kind=kind)
            session.commit()
            session.refresh(user)
            session.expunge(user)
        return user

    return make
