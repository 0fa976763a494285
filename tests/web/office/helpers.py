"""Shared steps of the back office page tests."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity.models import User
from lendbridge.kit import clock
from tests.identity.factories import PASSWORD
from tests.web.conftest import Browser, StaffPerson, csrf_of


def _code(person: StaffPerson) -> str:
    """The current step's code first (``StaffPerson.code`` tries the previous step first, which
    the server refuses if a step boundary passes in between)."""
    with Session(person.engine) as session:
        last = session.scalar(select(User.totp_last_step).where(User.username == person.username))
    totp = pyotp.TOTP(person.secret)
    step = totp.timecode(clock.now())
    for candidate in (step, step + 1):
        if last is None or candidate > last:
            return totp.generate_otp(candidate)
    raise AssertionError("signed in too often within one TOTP step")


def switch_to(browser: Browser, person: StaffPerson) -> None:
    """Sign out whoever is signed in, and sign ``person`` in."""
    if browser.client.cookies.get("lb_session"):
        browser.submit("/staff", "/logout")
    token = csrf_of(browser.get("/staff/login"))
    data = {
        "csrf_token": token,
        "username": person.username,
        "password": PASSWORD,
        "totp_code": _code(person),
    }
    done = browser.client.post("/staff/login", data=data)
    assert done.status_code == 200, done.text[:500]
    assert "/login" not in str(done.url)


def product_form(**changes: Any) -> dict[str, str]:
    values = {
        "code": "WEB-12",
        "name": "Web product",
        "min_amount": "1,000.00",
        "max_amount": "20,000",
        "allowed_terms": "3, 6, 12",
        "frequency": "monthly",
        "method": "equal_installment",
        "annual_rate_percent": "12",
        "max_apr_percent": "24",
        "upfront_fee_percent": "0",
        "upfront_fee_fixed": "0",
        "installment_fee_percent": "0",
        "reason": "launch",
    }
    values.update(changes)
    return values


def request_ids(html: str) -> list[str]:
    return re.findall(r'action="/staff/approvals/([0-9a-f-]{36})/approve"', html)
