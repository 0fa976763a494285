"""Settings from the environment, in one place (prefix ``LENDBRIDGE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
