"""Settings from the environment, in one place (prefix ``LENDBRIDGE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LENDBRIDGE_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'lendbridge.db'}",
        description="SQLAlchemy URL; postgresql:// URLs use the psycopg 3 driver.",
    )
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    base_currency: str = Field(default="CNY", pattern="^[A-Z]{3}$")
    timezone: str = "Asia/Shanghai"
    db_pool_size: int = Field(default=10, gt=0)
    var_dir: Path = Field(
        default=DEFAULT_VAR_DIR,
        description="Where the embedded default keeps its database and generated key files.",
    )
    token_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for access tokens (32+ bytes). Unset: generated into "
        "<var_dir>/token.key at first start (development only; production must set it).",
    )
    master_keys: SecretStr | None = Field(
        default=None,
        description="Master keys for personal data (see kit/crypto.py for the format). Unset: "
        "<var_dir>/master-keys.json, generated at first start on the embedded default only.",
    )
    sms_url: str | None = Field(
        default=None, description="SMS gateway endpoint; unset: the development outbox."
    )
    sms_api_key: SecretStr | None = None
    identity_provider_url: str | None = Field(
        default=None,
        description="Real-name verification provider (HTTPS); unset: the deterministic "
        "development provider (docs/identity-test-data.md).",
    )
    identity_provider_api_key: SecretStr | None = None
    access_token_minutes: int = Field(default=10, gt=0, le=60)
    refresh_token_days: int = Field(default=30, gt=0, le=365)
    redis_url: str | None = Field(
        default=None,
        description="Redis for rate limits and lockout counters shared by several processes; "
        "unset: counted in process.",
    )
    login_max_failures: int = Field(default=5, gt=0)
    login_lock_minutes: int = Field(default=15, gt=0)
    broker_url: str | None = Field(
        default=None,
        description="Message broker for background jobs (amqp://... RabbitMQ or redis://...); "
        "unset: jobs run on threads inside the server process.",
    )
    broker_queue: str = Field(
        default="lendbridge", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Broker queue name."
    )
    job_threads: int = Field(default=2, gt=0, le=64, description="Job threads per process.")
    job_lease_seconds: int = Field(
        default=300,
        ge=1,
        le=86_400,
        description="How long a claimed job is reserved for its runner; a runner that dies "
        "gives the job back after this.",
    )
    run_jobs: bool = Field(
        default=True,
        description="Run background jobs inside the server (embedded default, no broker).",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where channels reach this platform (payment callbacks).",
    )
    lender_name: str = Field(
        default="lendbridge 示范小额贷款有限公司",
        min_length=1,
        max_length=100,
        description="The lender named in loan contracts.",
    )
    offer_valid_days: int = Field(
        default=7, gt=0, le=90, description="Days an approved offer waits for the signature."
    )
    decision_policy: str = Field(
        default="standard",
        min_length=1,
        max_length=64,
        description="The decision policy applications are decided under (its active version).",
    )
    disbursement_channel: str = Field(
        default="simbank",
        min_length=1,
        max_length=32,
        description="The payment channel that pays out loans signed online.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
