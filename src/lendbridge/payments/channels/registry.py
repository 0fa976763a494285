"""From a channel's stored configuration to a live adapter.

Adapters are built once per process and configuration version (``updated_at``) and shared by
threads. Credentials come from the environment variable the configuration names; on the
embedded default a missing one is generated into ``<var_dir>/channel-secrets/`` (development
only, like the token key), so the demo gateway and the platform share it.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lendbridge.payments.channels.base import ChannelAdapter, ErrorClass
from lendbridge.payments.models import PaymentChannel

AdapterFactory = Callable[["ChannelSettings", bytes], ChannelAdapter]


@dataclass(frozen=True)
class ChannelSettings:
    """The adapter-relevant part of a channel's configuration (a detached copy)."""

    name: str
    adapter: str
    base_url: str | None
    merchant_id: str
    secret_env: str
    timeout_seconds: int
    error_classes: dict[str, ErrorClass]
    version: str

    @classmethod
    def of(cls, channel: PaymentChannel) -> ChannelSettings:
        return cls(
            name=channel.name,
            adapter=channel.adapter,
            base_url=channel.base_url,
            merchant_id=channel.merchant_id,
            secret_env=channel.secret_env,
            timeout_seconds=channel.timeout_seconds,
            error_classes={k: ErrorClass(v) for k, v in channel.error_classes.items()},
            version=channel.updated_at.isoformat(),
        )


def _simulated(settings: ChannelSettings, secret: bytes) -> ChannelAdapter:
    from lendbridge.payments.channels.simulated import SimulatedGatewayAdapter

    if not settings.base_url:
        raise ValueError(f"channel {settings.name}: the simulated gateway needs a base_url")
    return SimulatedGatewayAdapter(
        name=settings.name,
        base_url=settings.base_url,
        merchant_id=settings.merchant_id,
        secret=secret,
        timeout=float(settings.timeout_seconds),
        error_classes=settings.error_classes or None,
    )


FACTORIES: dict[str, AdapterFactory] = {"simulated": _simulated}


class SecretMissing(RuntimeError):
    pass


def load_secret(env_name: str, var_dir: Path | None) -> bytes:
    """The channel's shared secret: from ``env_name``, else (embedded default only, when
    ``var_dir`` is given) from a generated development file."""
    value = os.environ.get(env_name)
    if value:
        return value.encode()
    if var_dir is None:
        raise SecretMissing(f"set {env_name}: the channel's credentials come from the environment")
    path = var_dir / "channel-secrets" / f"{env_name}.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip().encode()


class Adapters:
    """The process's adapters, one per channel and configuration version."""

    def __init__(
        self,
        *,
        var_dir: Path | None = None,
        overrides: dict[str, ChannelAdapter] | None = None,
    ) -> None:
        self.var_dir = var_dir
        self._overrides = dict(overrides or {})
        self._built: dict[str, tuple[str, ChannelAdapter]] = {}
        self._lock = threading.Lock()

    def override(self, name: str, adapter: ChannelAdapter) -> None:
        """Use ``adapter`` for channel ``name`` whatever its configuration (tests, fakes)."""
        with self._lock:
            self._overrides[name] = adapter

    def get(self, channel: PaymentChannel) -> ChannelAdapter:
        settings = ChannelSettings.of(channel)
        with self._lock:
            if settings.name in self._overrides:
                return self._overrides[settings.name]
            built = self._built.get(settings.name)
            if built is not None and built[0] == settings.version:
                return built[1]
            factory = FACTORIES.get(settings.adapter)
            if factory is None:
                raise ValueError(f"channel {settings.name}: unknown adapter {settings.adapter!r}")
            adapter = factory(settings, load_secret(settings.secret_env, self.var_dir))
            self._built[settings.name] = (settings.version, adapter)
            return adapter
