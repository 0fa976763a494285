"""A simulated bank / payment gateway, served over HTTP on loopback.

It plays the channel's side of ``docs/payments-gateway.md``: signed requests, orders
idempotent by ``order_no``, synchronous and asynchronous completion, signed callbacks,
reversals, daily statement files with fees, and configurable faults (latency, failures,
system busy, timeouts, lost requests, late / duplicated / out-of-order callbacks) drawn from a
seeded random source so runs are reproducible. Tests start it with
:func:`lendbridge.payments.gateway.server.running_gateway`; operators with
``lendbridge gateway``.
"""

from lendbridge.payments.gateway.config import FeeSchedule, GatewayConfig
from lendbridge.payments.gateway.faults import Action, BusyBurst, FaultConfig

__all__ = ["Action", "BusyBurst", "FaultConfig", "FeeSchedule", "GatewayConfig"]
