"""``lendbridge gateway``: serve the simulated bank in the foreground."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from lendbridge.payments.gateway.config import FeeSchedule, GatewayConfig
from lendbridge.payments.gateway.core import Gateway
from lendbridge.payments.gateway.faults import FaultConfig
from lendbridge.payments.gateway.server import serve


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def gateway_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8900,
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="LENDBRIDGE_GATEWAY_SECRET",
            help="The merchant's HMAC secret (default: a random one, printed).",
        ),
    ] = None,
    merchant_id: Annotated[str, typer.Option(help="The merchant id.")] = "M0001",
    seed: Annotated[int, typer.Option(help="Seed of every random fault decision.")] = 0,
    faults_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Faults, JSON (docs/payments-gateway.md)."),
    ] = None,
    fee_fixed: Annotated[int, typer.Option(help="Fee per transaction, minor units.")] = 0,
    fee_bps: Annotated[str, typer.Option(help="Fee in basis points of the amount.")] = "0",
    fee_max: Annotated[int | None, typer.Option(help="Fee cap, minor units.")] = None,
    trade_date: Annotated[
        str | None, typer.Option(help="Fix the trade date (YYYY-MM-DD) instead of the clock's.")
    ] = None,
    tolerance: Annotated[int, typer.Option(help="Signature timestamp tolerance, s.")] = 300,
    timezone: Annotated[str, typer.Option(help="The bank's timezone.")] = "Asia/Shanghai",
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the simulated bank / payment gateway (docs/payments-gateway.md)."""
    merchant_secret = secret or secrets.token_hex(16)
    try:
        bps = Decimal(fee_bps)
        day = dt.date.fromisoformat(trade_date) if trade_date else None
        faults = FaultConfig.from_file(faults_file) if faults_file else FaultConfig()
        config = GatewayConfig(
            {merchant_id: merchant_secret.encode()},
            seed=seed,
            signature_tolerance=tolerance,
            fees=FeeSchedule(fixed=fee_fixed, bps=bps, maximum=fee_max),
            timezone=timezone,
        )
    except (InvalidOperation, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    gateway = Gateway(config, faults)
    gateway.trade_date_override = day
    base = f"http://{host}:{port}"
    typer.echo(f"simulated gateway on {base}  merchant {merchant_id}  seed {seed}")
    if secret is None:
        typer.echo(f"  secret (generated): {merchant_secret}")
    typer.echo(f"  orders: POST {base}/v1/orders   stats: GET {base}/admin/stats")
    if not _loopback(host):
        typer.echo("  note: /admin/* answers loopback clients only")
    serve(gateway, host, port, log_level)
