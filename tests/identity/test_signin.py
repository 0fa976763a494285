"""Staff sign-in with mandatory TOTP, lockout, rate limits, token refresh with reuse
detection, sign-out and token tampering — through the HTTP API."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.audit.models import AuditRecord
from lendbridge.config import Settings
from lendbridge.identity.models import LoginEvent, SignInSession
from lendbridge.identity.ratelimit import RateLimiter
from tests.conftest import FakeClock
from tests.identity import factories as f

REDIS_URL = os.environ.get("LENDBRIDGE_TEST_REDIS_URL")


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(Settings(database_url=str(engine.url), log_format="console"), engine=engine)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def officer(engine: Engine) -> str:
    with Session(engine) as session:
        f.staff(session, "finance", username="mei.finance")
        session.commit()
    return "mei.finance"


def sign_in(api: TestClient, username: str, password: str = f.PASSWORD, code: str | None = None):
    body = {"username": username, "password": password}
    if code is not None:
        body["totp_code"] = code
    return api.post("/v1/auth/staff/sign-in", json=body)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enrol(api: TestClient, token: str, time: FakeClock) -> tuple[pyotp.TOTP, list[str]]:
    started = api.post("/v1/auth/mfa/enrol", headers=auth(token))
    assert started.status_code == 200, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/")
    confirmed = api.post(
        "/v1/auth/mfa/confirm", json={"code": totp.at(time.now)}, headers=auth(token)
    )
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


def test_staff_must_enrol_an_authenticator_before_getting_permissions(api, officer, time):
    first = sign_in(api, officer)
    assert first.status_code == 200, first.text
    assert first.json()["mfa_enrolment_required"] is True
    token = first.json()["access_token"]
    assert api.get("/v1/me", headers=auth(token)).json()["permissions"] == []
    assert api.get("/v1/ledger/accounts", headers=auth(token)).status_code == 403

    totp, recovery = enrol(api, token, time)
    assert len(recovery) == 10
    # Once enrolled, the password alone is not enough.
    assert sign_in(api, officer).status_code == 401
    time.advance(seconds=30)
    full = sign_in(api, officer, code=totp.at(time.now))
    assert full.status_code == 200, full.text
    assert full.json()["mfa_enrolment_required"] is False
    me = api.get("/v1/me", headers=auth(full.json()["access_token"])).json()
    assert "ledger.read" in me["permissions"]
    assert (
        api.get("/v1/ledger/accounts", headers=auth(full.json()["access_token"])).status_code == 200
    )


def test_a_totp_code_works_once_and_recovery_codes_once(api, officer, time):
    totp, recovery = enrol(api, sign_in(api, officer).json()["access_token"], time)
    time.advance(seconds=30)
    code = totp.at(time.now)
    assert sign_in(api, officer, code=code).status_code == 200
    assert sign_in(api, officer, code=code).status_code == 401  # replayed
    assert sign_in(api, officer, code="000000").status_code == 401
    assert sign_in(api, officer, code=recovery[0]).status_code == 200
    assert sign_in(api, officer, code=recovery[0]).status_code == 401


def test_repeated_failures_lock_the_account_for_a_while(api, officer, time, engine):
    for _ in range(5):
        assert sign_in(api, officer, password="wrong password!").status_code == 401
    locked = sign_in(api, officer)
    assert locked.status_code == 423
    assert locked.json()["code"] == "identity.account_locked"
    time.advance(minutes=16)
    assert sign_in(api, officer).status_code == 200
    with Session(engine) as session:
        outcomes = session.scalars(select(LoginEvent.outcome).order_by(LoginEvent.id)).all()
    assert outcomes == ["bad_password"] * 4 + ["bad_password+locked", "locked", "success"]


def test_unknown_user_and_wrong_password_look_the_same(api, officer, time):
    unknown = sign_in(api, "nobody.here")
    wrong = sign_in(api, officer, password="wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_sign_in_attempts_are_rate_limited_per_address(app, api, engine, time, backend):
    if backend == "redis":
        if not REDIS_URL:
            pytest.skip("LENDBRIDGE_TEST_REDIS_URL is not set: Redis rate limits not run")
        # A namespace of its own: other tests may share the Redis database meanwhile.
        limiter = RateLimiter.from_url(REDIS_URL, namespace=f"test-{uuid.uuid4().hex}")
        app.state.identity_policy = _with_limiter(app, limiter)
    statuses = [sign_in(api, f"user.{i:03d}").status_code for i in range(101)]
    assert statuses[:100] == [401] * 100
    assert statuses[100] == 429


def _with_limiter(app: FastAPI, limiter: RateLimiter):
    import dataclasses

    return dataclasses.replace(app.state.identity_policy, limiter=limiter)


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(api, officer, time, engine):
    first = sign_in(api, officer).json()
    second = api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    assert second.json()["session_id"] == first["session_id"]
    assert second.json()["refresh_token"] != first["refresh_token"]
    # The first refresh token was stolen and replayed: the whole session dies.
    replay = api.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "identity.refresh_token_invalid"
    latest = api.post("/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert latest.status_code == 401
    with Session(engine) as session:
        revoked = session.scalar(
            select(AuditRecord).where(AuditRecord.action == "identity.refresh_token_reuse")
        )
    assert revoked is not None
    assert revoked.target_id == first["session_id"]
    assert api.get("/v1/me", headers=auth(second.json()["access_token"])).status_code == 401


def test_sign_out_ends_access_and_refresh_tokens(api, officer, time, engine):
    tokens = sign_in(api, officer).json()
    assert api.post("/v1/auth/sign-out", headers=auth(tokens["access_token"])).status_code == 204
    assert api.get("/v1/me", headers=auth(tokens["access_token"])).status_code == 401
    refreshed = api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    with Session(engine) as session:
        assert session.scalar(select(SignInSession.revoked_reason)) == "sign_out"


def test_expired_tampered_and_foreign_tokens_are_refused(api, officer, time):
    token = sign_in(api, officer).json()["access_token"]
    assert api.get("/v1/me", headers=auth(token)).status_code == 200
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert api.get("/v1/me", headers=auth(tampered)).status_code == 401
    assert api.get("/v1/me", headers=auth("not-a-token")).status_code == 401
    time.advance(minutes=11)
    expired = api.get("/v1/me", headers=auth(token))
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_users_see_their_own_sign_in_history(api, officer, time):
    sign_in(api, officer, password="wrong password!")
    token = sign_in(api, officer).json()["access_token"]
    history = api.get("/v1/me/sign-ins", headers={**auth(token)}).json()
    assert [e["outcome"] for e in history] == ["success", "bad_password"]
    assert history[0]["client_address"] == "testclient"


def test_admin_creates_disables_and_unlocks_staff(app, api, engine, time):
    with Session(engine) as session:
        admin = {"Authorization": f"Bearer {f.token_for(app, session, f.staff(session, 'admin'))}"}
    created = api.post(
        "/v1/users",
        json={"username": "new.clerk", "password": "a fine long secret", "roles": ["collector"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    token = sign_in(api, "new.clerk", password="a fine long secret").json()["access_token"]
    assert api.get("/v1/me", headers=auth(token)).status_code == 200
    disabled = api.post(f"/v1/users/{user_id}/status", json={"active": False}, headers=admin)
    assert disabled.json()["status"] == "disabled"
    assert api.get("/v1/me", headers=auth(token)).status_code == 401  # at once
    assert sign_in(api, "new.clerk", password="a fine long secret").status_code == 401
    api.post(f"/v1/users/{user_id}/status", json={"active": True}, headers=admin)
    for _ in range(5):
        sign_in(api, "new.clerk", password="wrong password!")
    assert sign_in(api, "new.clerk", password="a fine long secret").status_code == 423
    assert api.post(f"/v1/users/{user_id}/unlock", headers=admin).status_code == 200
    assert sign_in(api, "new.clerk", password="a fine long secret").status_code == 200
