"""``lendbridge recon ...``: import a channel statement, print a channel's daily report.

A typer sub-application (mounted by ``lendbridge.cli`` as ``recon``). Each command is an
edge with its own unit of work. Exit codes: 0 imported (breaks or not), 1 refused (unknown
channel, unreadable file or statement), 2 a usage error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from lendbridge.config import get_settings
from lendbridge.kit.actor import system_actor
from lendbridge.kit.cli_options import parse_day
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.kit.errors import DomainError
from lendbridge.kit.money import to_major
from lendbridge.payments.recon import importer, report
from lendbridge.payments.recon.schemas import ReportOut, RunOut

recon_app = typer.Typer(
    help="Reconciliation of channel statements against payment orders (对账).",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
ChannelOption = Annotated[str, typer.Option("--channel", help="The payment channel's name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@contextlib.contextmanager
def _engine() -> Iterator[Engine]:
    engine = make_engine(get_settings().database_url, pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        console.print(f"[bold red]error[/]: {exc}", markup=True)
        for problem in exc.errors[:10]:
            console.print(f"  {problem.field}: {problem.message}", markup=False)
        raise typer.Exit(code=1) from None


def _money(amount: int, currency: str) -> str:
    return f"{to_major(amount, currency):,}"


@recon_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The statement file (CSV).")],
    channel: ChannelOption,
    date: Annotated[
        str | None,
        typer.Option(
            "--date", help="The statement's trade date (YYYY-MM-DD); needed for an empty file."
        ),
    ] = None,
    date_tolerance: Annotated[
        int | None,
        typer.Option("--date-tolerance", min=0, help="Days; default: the channel's setting."),
    ] = None,
    amount_tolerance: Annotated[
        int | None,
        typer.Option(
            "--amount-tolerance", min=0, help="Minor units; default: the channel's setting."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import a statement and reconcile it; print the run. The same file again prints its
    first run and changes nothing. Exit code 0 even with breaks."""
    day = parse_day(date, "--date")
    try:
        source = file.open("rb")
    except OSError as exc:
        console.print(f"[bold red]error[/]: cannot read {file}: {exc.strerror or exc}")
        raise typer.Exit(code=1) from None
    with source, _refusals(), _engine() as engine:
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                out, created = importer.import_statement(
                    session,
                    channel,
                    source,
                    actor=system_actor("recon"),
                    file_name=file.name,
                    statement_date=day,
                    date_tolerance_days=date_tolerance,
                    amount_tolerance=amount_tolerance,
                )
        except OSError as exc:
            console.print(f"[bold red]error[/]: cannot read {file}: {exc.strerror or exc}")
            raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    _print_run(out, created)


@recon_app.command("fetch")
def fetch_command(
    channel: ChannelOption,
    date: Annotated[str, typer.Option("--date", help="The trade date (YYYY-MM-DD).")],
    as_json: JsonOption = False,
) -> None:
    """Download the channel's statement of a trade date through its adapter (a spooled
    temporary file: the import reads it twice), then import and reconcile it."""
    import tempfile

    from lendbridge.payments import channel_config
    from lendbridge.runtime import configure_keyring, configure_payments

    day = parse_day(date, "--date")
    assert day is not None
    settings = get_settings()
    with (
        _refusals(),
        _engine() as engine,
        tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool,
    ):
        configure_keyring(settings, engine)
        payments = configure_payments(settings, engine)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            adapter = payments.adapters.get(channel_config.get(session, channel))
        try:
            for chunk in adapter.fetch_statement(day):
                spool.write(chunk)
        except Exception as exc:  # the channel is unreachable or refused: say so, exit 1
            console.print(f"[bold red]error[/]: cannot fetch the statement: {exc}")
            raise typer.Exit(code=1) from None
        spool.seek(0)
        with unit_of_work(factory) as session:
            out, created = importer.import_statement(
                session,
                channel,
                spool,  # type: ignore[arg-type]
                actor=system_actor("recon"),
                file_name=f"{channel}-{day.isoformat()}.csv",
                statement_date=day,
            )
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    _print_run(out, created)


def _print_run(run: RunOut, created: bool) -> None:
    currency = run.currency
    state = "imported" if created else "already imported; the first run"
    console.print(
        f"[bold]run {run.id}[/] ({state}): channel {run.channel}, statement "
        f"{run.date_from}..{run.date_to}, {run.lines} lines ({run.bad_lines} unreadable), "
        f"sha256 {run.file_sha256[:12]}…, {run.elapsed_ms} ms"
    )
    table = Table("", "count", "amount")
    table.add_row("statement", str(run.statement.count), _money(run.statement.amount, currency))
    table.add_row("platform", str(run.platform.count), _money(run.platform.amount, currency))
    table.add_row(
        "matched",
        f"{run.matched_lines} lines / {run.matched_orders} orders",
        _money(run.matched_amount, currency),
    )
    for kind, figure in run.breaks_by_kind.items():
        table.add_row(f"break: {kind}", str(figure.count), _money(figure.amount, currency))
    console.print(table)
    if run.rematched_breaks:
        console.print(f"{run.rematched_breaks} open breaks of earlier runs rematched")
    for sample in run.bad_line_samples[:5]:
        console.print(
            f"  line {sample.line_no}: {sample.field or ''} {sample.message}", markup=False
        )
    console.print(f"{run.breaks} breaks" + (" to work" if run.breaks else ": reconciled"))


@recon_app.command("report")
def report_command(
    channel: ChannelOption,
    date: Annotated[str, typer.Option("--date", help="The business date (YYYY-MM-DD).")],
    as_json: JsonOption = False,
) -> None:
    """The daily report of a channel: the date's figures and the open breaks, aged."""
    day = parse_day(date, "--date")
    assert day is not None
    with _refusals(), _engine() as engine, unit_of_work(make_session_factory(engine)) as session:
        out = report.daily_report(session, channel, day)
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    _print_report(out)


def _print_report(out: ReportOut) -> None:
    currency = out.currency
    console.print(
        f"[bold]reconciliation {out.channel} {out.date}[/]: runs {len(out.runs)}, "
        f"{out.lines} lines ({out.bad_lines} unreadable)"
    )
    table = Table("", "count", "amount", "open")
    table.add_row("statement", str(out.statement.count), _money(out.statement.amount, currency), "")
    table.add_row("platform", str(out.platform.count), _money(out.platform.amount, currency), "")
    table.add_row("matched", str(out.matched_lines), _money(out.matched_amount, currency), "")
    for kind, figure in out.breaks_by_kind.items():
        table.add_row(
            f"break: {kind}", str(figure.count), _money(figure.amount, currency), str(figure.open)
        )
    console.print(table)
    ageing = Table("open breaks, days", "count", "amount")
    for bucket in out.ageing:
        ageing.add_row(bucket.bucket, str(bucket.count), _money(bucket.amount, currency))
    ageing.add_row("total", str(out.open_breaks.count), _money(out.open_breaks.amount, currency))
    console.print(ageing)
