"""The payments domain's process-wide wiring: the channel adapters, where channels send
callbacks, and the platform's time zone. Built once by the edge (server, worker, CLI) from
the settings; jobs read it because a job message carries only ids."""

from __future__ import annotations

from dataclasses import dataclass

from lendbridge.payments.channels.registry import Adapters


@dataclass
class PaymentsRuntime:
    adapters: Adapters
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"

    def callback_url(self, channel: str) -> str:
        return f"{self.public_url.rstrip('/')}/v1/payments/callbacks/{channel}"


_runtime: PaymentsRuntime | None = None


def configure(runtime: PaymentsRuntime) -> PaymentsRuntime:
    global _runtime
    _runtime = runtime
    return runtime


def current() -> PaymentsRuntime:
    if _runtime is None:
        raise RuntimeError("payments are not configured: call payments.runtime.configure()")
    return _runtime
