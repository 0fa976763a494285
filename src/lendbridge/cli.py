"""The ``lendbridge`` command. Each command is an edge: it owns its transaction through
``kit.db.unit_of_work`` (services only flush)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from lendbridge.audit.commands import audit_app
from lendbridge.config import Settings, get_settings
from lendbridge.decisions.commands import policy_app
from lendbridge.identity.demo import Credential
from lendbridge.kit import calendar
from lendbridge.kit.db import make_engine, make_session_factory, normalise_url, unit_of_work
from lendbridge.kit.errors import DomainError
from lendbridge.kit.keys_commands import keys_app
from lendbridge.kit.migrate import current_revision, head_revision, upgrade
from lendbridge.kit.money import minor_digits, to_major
from lendbridge.ledger import service
from lendbridge.ledger.beancount_export import export_beancount
from lendbridge.ledger.chart import STANDARD_CHART, load_chart
from lendbridge.ledger.check import check_ledger, counts
from lendbridge.payments.commands import payments_app
from lendbridge.payments.gateway.command import gateway_command
from lendbridge.payments.recon.commands import recon_app
from lendbridge.products.commands import products_app
from lendbridge.risklist.commands import risk_list_app
from lendbridge.runtime import configure_keyring
from lendbridge.scoring.commands import model_app
from lendbridge.servicing import check as loan_check
from lendbridge.servicing.cob.commands import cob_app
from lendbridge.servicing.collections.commands import collections_app
from lendbridge.servicing.commands import schedule_command
from lendbridge.servicing.loan_commands import loans_app

app = typer.Typer(
    name="lendbridge",
    help="lendbridge: the platform of an online lending intermediary.",
    no_args_is_help=True,
    add_completion=False,
    # Tracebacks without local variables: they could print the database password.
    pretty_exceptions_show_locals=False,
)
ledger_app = typer.Typer(help="The double-entry ledger: reports, export, consistency check.")
app.add_typer(ledger_app, name="ledger")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(payments_app, name="payments")
app.add_typer(recon_app, name="recon")
app.add_typer(products_app, name="products")
app.add_typer(loans_app, name="loans")
app.add_typer(cob_app, name="cob")
app.add_typer(collections_app, name="collections")
app.add_typer(policy_app, name="policy")
app.add_typer(model_app, name="model")
app.add_typer(risk_list_app, name="risk-list")
app.command("gateway")(gateway_command)
app.command("schedule")(schedule_command)
console = Console(highlight=False, soft_wrap=True)


def _settings() -> Settings:
    return get_settings()


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def _engine(settings: Settings, pool_size: int = 2) -> Iterator[Engine]:
    engine = make_engine(settings.database_url, pool_size=pool_size)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def _transaction(settings: Settings) -> Iterator[Session]:
    with _engine(settings) as engine, unit_of_work(make_session_factory(engine)) as session:
        yield session


def ensure_postgres_database(url: str) -> bool:
    """Create the PostgreSQL database the URL names if it does not exist; True if created.
    SQLite files are created on first connection, so nothing to do there."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    admin = make_engine(parsed.set(database="postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            )
            if exists:
                return False
            quoted = admin.dialect.identifier_preparer.quote(parsed.database)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """A refused business operation (e.g. the chart conflicts with an existing account) is a
    message for the operator and exit code 1, not a traceback."""
    try:
        yield
    except DomainError as exc:
        console.print(f"[bold red]error[/]: {exc}")
        raise typer.Exit(code=1) from None


def _print_people(people: list[Credential]) -> None:
    """Demo sign-ins: staff use the password and a code from an authenticator app loaded
    with the TOTP secret (or ``python -c "import pyotp; print(pyotp.TOTP('SECRET').now())"``)."""
    console.print("[bold]demo users[/] (sign in with / password / roles / TOTP secret / who):")
    for c in people:
        secret = f"TOTP {c.totp_secret}" if c.totp_secret else "-"
        console.print(f"  {c.login:<24} {c.password:<30} {c.roles:<19} {secret:<38} {c.note}")
    console.print("demo only: these credentials are public; never load --demo in production")


def _decisioning_demo(session: Session) -> None:
    """The demo's credit model (trained on German credit, champion) and its decision policy
    (active): both idempotent, both only at setup, without a second person."""
    from lendbridge.decisions.policies import ensure_default_policy
    from lendbridge.kit.actor import system_actor
    from lendbridge.scoring.demo import train_demo_model

    actor = system_actor("init")
    champion = train_demo_model(session, actor)
    if champion is not None:
        console.print(
            f"credit model: {champion.name} v{champion.version} trained on German "
            f"credit, CV AUC {champion.metrics['auc']:.3f}, champion"
        )
    policy = ensure_default_policy(session, actor)
    console.print(f"decision policy: {policy.name} v{policy.version}, active")


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Also load the demo data.")] = False,
) -> None:
    """Create or migrate the database, start the business calendar, load the chart of
    accounts (and with --demo the demo data). Safe to run again: it only adds what is missing."""
    from lendbridge.demo import load_demo
    from lendbridge.identity.consents import seed_agreements
    from lendbridge.identity.demo import load_identity_demo
    from lendbridge.identity.users import seed_catalog
    from lendbridge.payments.demo import CHANNEL as DEMO_CHANNEL
    from lendbridge.payments.demo import load_payments_demo

    settings = _settings()
    console.print(f"database: {_shown(settings.database_url)}")
    if ensure_postgres_database(settings.database_url):
        console.print("  created the database")
    people: list[Credential] = []
    with _engine(settings) as engine:
        configure_keyring(settings, engine)
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
        if before == after:
            console.print(f"  schema is current ({after})")
        else:
            console.print(f"  schema migrated from {before or 'empty'} to {after}")
        with _refusals(), unit_of_work(make_session_factory(engine)) as session:
            day = calendar.ensure_business_date(session, settings.timezone)
            console.print(f"business date: {day.isoformat()}")
            seeded = seed_catalog(session)
            console.print(f"roles and permissions: {seeded} rows added")
            published = seed_agreements(session)
            console.print(f"agreements: {published} published")
            opened = load_chart(session)
            console.print(
                f"chart of accounts: {opened} opened, {len(STANDARD_CHART) - opened} already open"
            )
            if demo:
                people = load_identity_demo(session)
                start = counts(session)
                steps = load_demo(session)
                payments = load_payments_demo(session)
                console.print(
                    f"payments: channel {DEMO_CHANNEL} and {payments} orders, sent when the "
                    "server starts (serve --gateway runs the simulated bank)"
                )
                end = counts(session)
                console.print(
                    f"demo data: {steps} steps; wrote {end.accounts - start.accounts} accounts, "
                    f"{end.entries - start.entries} entries, {end.holds - start.holds} holds"
                )
            if demo:
                _decisioning_demo(session)
            total = counts(session)
        if demo:  # after the commit: the loans demo runs the close, which commits per day
            from lendbridge.origination.demo import load_applications_demo
            from lendbridge.payments.recon.demo import load_recon_demo
            from lendbridge.servicing.demo import load_loans_demo

            factory = make_session_factory(engine)
            console.print(load_loans_demo(factory, timezone=settings.timezone).message)
            with unit_of_work(factory) as session:
                console.print(load_recon_demo(session, timezone=settings.timezone).message)
            with unit_of_work(factory) as session:
                console.print(load_applications_demo(session))
            with factory() as session:
                total = counts(session)
    if demo:
        _print_people(people)
    console.print(
        f"[bold green]ready[/]: {total.accounts} accounts, {total.entries} entries, "
        f"{total.holds} holds. Next: lendbridge serve"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    gateway: Annotated[
        bool,
        typer.Option(
            "--gateway/--no-gateway",
            help="Also run the simulated bank of the demo channel (port 8900) in this process.",
        ),
    ] = False,
) -> None:
    """Serve the platform over HTTP (uvicorn): the API under /v1 and the web pages."""
    import uvicorn

    if not os.environ.get("LENDBRIDGE_PUBLIC_URL"):
        # Channels call back to where this server listens (the process's own settings and
        # the application factory read it).
        os.environ["LENDBRIDGE_PUBLIC_URL"] = f"http://{host}:{port}"
        get_settings.cache_clear()
    settings = _settings()
    if gateway:
        _start_demo_gateway(settings)
    with _engine(settings) as engine:
        try:
            revision = current_revision(engine)
        except Exception:  # unreachable database: the server still starts, /ready says why
            revision = None
    if revision != head_revision():
        console.print(
            "[yellow]the database is not initialised or not current; run:[/] lendbridge init"
        )
    base = f"http://{host}:{port}"
    console.print(
        f"lendbridge serving on [bold]{base}[/] (database {_shown(settings.database_url)})"
    )
    console.print(f"  borrowers:     {base}/  (web pages: phone and password; 中文 / English)")
    console.print(f"  back office:   {base}/staff  (web pages: username, password, TOTP code)")
    console.print(f"  API docs:      {base}/docs  (sign in, then 'Authorize' with the token)")
    console.print(f"  staff sign-in: POST {base}/v1/auth/staff/sign-in  (username, password, TOTP)")
    console.print(f"  customers:     POST {base}/v1/auth/sign-in  (phone, password)")
    console.print(f"  trial balance: {base}/v1/ledger/trial-balance  (e.g. as demo.finance)")
    console.print(f"  payments:      {base}/v1/payments/orders  (e.g. as demo.finance)")
    console.print(f"  health:        {base}/health   readiness: {base}/ready")
    console.print("  stop with Ctrl+C")
    uvicorn.run("lendbridge.app:create_app", factory=True, host=host, port=port)


def _start_demo_gateway(settings: Settings) -> None:
    """The demo's simulated bank on a daemon thread: it lives as long as the server."""
    import threading

    from lendbridge.payments.channels.registry import load_secret
    from lendbridge.payments.demo import DEMO_FAULTS, GATEWAY_PORT, MERCHANT, SECRET_ENV
    from lendbridge.payments.gateway.config import FeeSchedule, GatewayConfig
    from lendbridge.payments.gateway.server import running_gateway

    secret = load_secret(SECRET_ENV, settings.var_dir)
    config = GatewayConfig(
        {MERCHANT: secret}, seed=1, fees=FeeSchedule(fixed=100, bps=Decimal(10), maximum=1_000)
    )
    started = threading.Event()

    def run() -> None:
        with running_gateway(config, DEMO_FAULTS, port=GATEWAY_PORT):
            started.set()
            threading.Event().wait()

    threading.Thread(target=run, name="demo-gateway", daemon=True).start()
    started.wait(30)
    console.print(f"  simulated bank: http://127.0.0.1:{GATEWAY_PORT}/admin/stats")


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=64, help="Job threads.")] = 4,
) -> None:
    """Run background jobs: from the broker when LENDBRIDGE_BROKER_URL is set, else by
    polling the database. Stops cleanly on SIGTERM / Ctrl+C."""
    from lendbridge.worker import run_worker

    settings = _settings()
    where = _shown(settings.broker_url) if settings.broker_url else "database polling"
    console.print(f"lendbridge worker: {threads} threads, jobs from {where}")
    with _engine(settings, pool_size=threads + 2) as engine:
        run_worker(settings, engine, threads=threads)


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _money(amount: int, currency: str) -> str:
    if amount == 0:
        return ""
    return f"{to_major(amount, currency):,.{minor_digits(currency)}f}"


@ledger_app.command("trial-balance")
def trial_balance(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of this business date (YYYY-MM-DD).")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Only this currency, e.g. CNY.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every account with a balance, totals per currency. Exit code 1 if it does not balance."""
    day = _parse_date(as_of)
    with _transaction(_settings()) as session:
        result = service.trial_balance(session, as_of=day, currency=currency)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        title = f"Trial balance {'as of ' + day.isoformat() if day else 'now'} / 试算平衡表"
        table = Table(title=title)
        for column in ("Account", "Name", "Type", "Ccy"):
            table.add_column(column)
        table.add_column("Debit", justify="right")
        table.add_column("Credit", justify="right")
        for line in result.lines:
            table.add_row(
                line.account,
                line.name,
                line.type.value,
                line.currency,
                _money(line.debit, line.currency),
                _money(line.credit, line.currency),
            )
        for total in result.totals:
            mark = "[green]balanced[/]" if total.balanced else "[bold red]UNBALANCED[/]"
            table.add_row(
                f"[bold]Total {total.currency}[/]",
                mark,
                "",
                total.currency,
                f"[bold]{_money(total.debit, total.currency) or '0'}[/]",
                f"[bold]{_money(total.credit, total.currency) or '0'}[/]",
            )
        console.print(table)
    if not all(t.balanced for t in result.totals):
        raise typer.Exit(code=1)


class ExportFormat(StrEnum):
    beancount = "beancount"


@ledger_app.command("export")
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = (
        ExportFormat.beancount
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")
    ] = None,
) -> None:
    """Export the whole ledger (streamed) for an independent double-entry check."""
    del fmt  # one format today; the option keeps the command stable when more arrive
    with _transaction(_settings()) as session:
        if output is None:
            written = export_beancount(session, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as out:
                written = export_beancount(session, out)
    if output is not None:
        console.print(f"wrote {written} transactions to {output}")


@ledger_app.command("check")
def check() -> None:
    """Recompute account totals, day buckets and pending totals from the journal and compare
    them with the cached values; then check that the loan sub-ledger equals the loan-book
    receivable accounts. Exit code 1 on any mismatch."""
    with _transaction(_settings()) as session:
        report = check_ledger(session)
        loan_findings = loan_check.consistency(session)
    console.print(
        f"checked {report.accounts} accounts, {report.postings} postings, "
        f"{report.pending_holds} pending holds"
    )
    if report.ok:
        console.print("[green]ledger consistent[/]: cached totals match the journal")
    else:
        console.print(f"[bold red]{len(report.mismatches)} mismatches[/]")
        for mismatch in report.mismatches:
            console.print(f"  {mismatch}", markup=False, soft_wrap=True)
    if not loan_findings:
        console.print("[green]loan sub-ledger consistent[/]: the loans equal the receivables")
    else:
        console.print(f"[bold red]{len(loan_findings)} loan sub-ledger mismatches[/]")
        for finding in loan_findings:
            console.print(f"  {finding}", markup=False, soft_wrap=True)
    if not report.ok or loan_findings:
        raise typer.Exit(code=1)


def main() -> None:
    app()
