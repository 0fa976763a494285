"""Process-wide services built from the settings, shared by the web application and the
command line: the master keys for personal data, the token signer and sign-in policy, and the
SMS sender."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from lendbridge.config import Settings
from lendbridge.identity import tokens
from lendbridge.identity.ratelimit import RateLimiter
from lendbridge.identity.signin import Policy
from lendbridge.identity.verification import DevelopmentVerifier, HttpVerifier, IdentityVerifier
from lendbridge.kit import crypto
from lendbridge.kit.notify import DevelopmentSms, HttpSms, SmsSender


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
