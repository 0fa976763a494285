"""Identity: access-token verification latency (target p99 < 1 ms), the argon2id password
hash at the OWASP parameters, and a whole staff sign-in (password, TOTP, session, tokens)
on PostgreSQL.

    .venv/bin/python bench/identity_auth.py           # 20,000 verifications, 50 sign-ins
    .venv/bin/python bench/identity_auth.py --quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid
from typing import Any

import pyotp
from sqlalchemy.orm import Session

import benchlib
from lendbridge.identity import passwords, signin
from lendbridge.identity.ratelimit import RateLimiter
from lendbridge.identity.tokens import TokenSigner
from lendbridge.identity.users import create_staff, seed_catalog
from lendbridge.kit import clock, crypto
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import make_engine

TOKEN_TARGET_P99_MS = 1.0


class NoRateLimit(RateLimiter):
    """The benchmark signs in back to back, far past the per-account limit."""

    def allow(self, *args: Any, **kwargs: Any) -> bool:
        return True


def verify_tokens(count: int) -> dict[str, Any]:
    signer = TokenSigner(b"k" * 48, access_ttl=dt.timedelta(minutes=10))
    now = dt.datetime.now(dt.UTC)
    permissions = frozenset({"ledger.read", "ledger.accounts.manage", "ledger.manual_entry"})
    token, _ = signer.issue(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        roles=("finance",),
        permissions=permissions,
        now=now,
    )
    for _ in range(1000):
        signer.verify(token, now=now)
    samples = []
    perf = time.perf_counter
    for _ in range(count):
        t0 = perf()
        signer.verify(token, now=now)
        samples.append(perf() - t0)
    return benchlib.latency_summary(samples)


def hash_passwords(count: int) -> dict[str, Any]:
    samples = []
    for i in range(count):
        t0 = time.perf_counter()
        stored = passwords.hash_password(f"correct horse battery {i}")
        samples.append(time.perf_counter() - t0)
    verify = []
    for _ in range(count):
        t0 = time.perf_counter()
        assert passwords.verify_password(stored, f"correct horse battery {count - 1}")
        verify.append(time.perf_counter() - t0)
    return {"hash": benchlib.latency_summary(samples), "verify": benchlib.latency_summary(verify)}


def staff_sign_ins(count: int) -> dict[str, Any]:
    crypto.configure(Keyring.generate())
    with benchlib.ledger_database("identity") as url:
        engine = make_engine(url, pool_size=1)
        policy = signin.Policy(
            signer=TokenSigner(b"k" * 48, access_ttl=dt.timedelta(minutes=10)),
            limiter=NoRateLimit(RateLimiter.from_url(None).storage),
        )
        with Session(engine) as session:
            seed_catalog(session)
            user = create_staff(
                session,
                username="bench.finance",
                password="bench finance secret",
                roles=("finance",),
                by=system_actor("bench"),
            )
            secret = pyotp.random_base32()
            user.totp_secret, user.totp_enabled = secret, True
            session.commit()
        totp = pyotp.TOTP(secret)
        samples = []
        origin = Actor(user_id=None, client_address="10.11.0.1", device_id="bench")
        for i in range(count):
            # A fresh TOTP step each time: a code is accepted once.
            when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30 * (i + 2))
            with Session(engine) as session:
                t0 = time.perf_counter()
                with clock.use_clock(clock.fixed(when)):
                    attempt = signin.sign_in_staff(
                        session,
                        policy,
                        username="bench.finance",
                        password="bench finance secret",
                        totp_code=totp.at(when),
                        origin=origin,
                    )
                    session.commit()
                samples.append(time.perf_counter() - t0)
                attempt.result()
        engine.dispose()
    return benchlib.latency_summary(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"== identity_auth ({benchlib.command_line()})")
    info = benchlib.print_machine()
    tokens = verify_tokens(2_000 if args.quick else 20_000)
    ok = tokens["p99_ms"] < TOKEN_TARGET_P99_MS
    print(
        f"access-token verification (HS256 JWT, no database): p50 {tokens['p50_ms']:.3f} ms, "
        f"p99 {tokens['p99_ms']:.3f} ms (target < {TOKEN_TARGET_P99_MS} ms "
        f"{benchlib.verdict(ok)})"
    )
    hashing = hash_passwords(3 if args.quick else 20)
    print(
        "argon2id (m=19 MiB, t=2, p=1): hash p50 "
        f"{hashing['hash']['p50_ms']:.1f} ms, verify p50 {hashing['verify']['p50_ms']:.1f} ms"
    )
    sign_ins = staff_sign_ins(5 if args.quick else 50)
    print(
        "staff sign-in on PostgreSQL (argon2id + TOTP + session + tokens + login history, "
        f"one transaction): p50 {sign_ins['p50_ms']:.1f} ms, p99 {sign_ins['p99_ms']:.1f} ms"
    )
    path = benchlib.save(
        "identity_auth",
        {"machine": info, "tokens": tokens, "argon2id": hashing, "staff_sign_in": sign_ins},
    )
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
