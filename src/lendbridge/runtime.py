"""Process-wide services built from the settings, shared by the web application and the
command line: the master keys for personal data, the token signer and sign-in policy, and the
SMS sender."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.config import Settings
from lendbridge.identity import tokens
from lendbridge.identity.ratelimit import RateLimiter
from lendbridge.identity.signin import Policy
from lendbridge.identity.verification import DevelopmentVerifier, HttpVerifier, IdentityVerifier
from lendbridge.kit import crypto, events, jobs
from lendbridge.kit.broker import BrokerJobs
from lendbridge.kit.notify import DevelopmentSms, HttpSms, SmsSender
from lendbridge.payments import runtime as payments_runtime
from lendbridge.payments.channels.registry import Adapters
from lendbridge.payments.runtime import PaymentsRuntime


def configure_keyring(settings: Settings, engine: Engine) -> crypto.Keyring:
    """Install the master keys for personal data (process-wide: every column of type
    EncryptedString uses them). Only the embedded default may generate its own."""
    keyring = crypto.Keyring.load(
        settings.master_keys.get_secret_value() if settings.master_keys else None,
        settings.var_dir / "master-keys.json",
        create_if_missing=engine.dialect.name == "sqlite",
    )
    crypto.configure(keyring)
    return keyring


def sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_url:
        key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else ""
        return HttpSms(settings.sms_url, key)
    return DevelopmentSms(settings.var_dir / "sms-outbox.jsonl")


def identity_policy(settings: Settings, engine: Engine) -> Policy:
    # Only the embedded default may invent its own token key; a server database must be
    # given one, or every process would sign with a different key.
    secret = tokens.load_secret(
        settings.token_secret.get_secret_value() if settings.token_secret else None,
        settings.var_dir / "token.key",
        create=engine.dialect.name == "sqlite",
    )
    return Policy(
        signer=tokens.TokenSigner(
            secret, access_ttl=dt.timedelta(minutes=settings.access_token_minutes)
        ),
        limiter=RateLimiter.from_url(settings.redis_url),
        refresh_ttl=dt.timedelta(days=settings.refresh_token_days),
        max_failures=settings.login_max_failures,
        lock_for=dt.timedelta(minutes=settings.login_lock_minutes),
    )


def identity_verifier(settings: Settings) -> IdentityVerifier:
    if settings.identity_provider_url:
        key = (
            settings.identity_provider_api_key.get_secret_value()
            if settings.identity_provider_api_key
            else ""
        )
        return HttpVerifier(settings.identity_provider_url, key)
    return DevelopmentVerifier()


def configure_payments(settings: Settings, engine: Engine) -> PaymentsRuntime:
    """The channel adapters. Only the embedded default may generate channel secrets."""
    return payments_runtime.configure(
        PaymentsRuntime(
            adapters=Adapters(
                var_dir=settings.var_dir if engine.dialect.name == "sqlite" else None
            ),
            public_url=settings.public_url,
            timezone=settings.timezone,
        )
    )


class JobService:
    """How this process takes part in background jobs: sending them to a broker, running
    them on its own threads, or neither (a server with ``run_jobs`` off and no broker)."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], *, run: bool) -> None:
        jobs.configure(lease=dt.timedelta(seconds=settings.job_lease_seconds))
        events.load_subscribers()  # the subscribers' jobs may run in this process
        self.broker: BrokerJobs | None = None
        self.runner: jobs.InProcessRunner | None = None
        if settings.broker_url:
            self.broker = BrokerJobs(settings.broker_url, settings.broker_queue, factory)
        elif run:
            self.runner = jobs.InProcessRunner(factory, threads=settings.job_threads)

    def start(self) -> JobService:
        if self.broker is not None:
            self.broker.start_sending()
        if self.runner is not None:
            self.runner.start()
        return self

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        if self.broker is not None:
            self.broker.close()
