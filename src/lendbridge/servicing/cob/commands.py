"""``lendbridge cob run|status``: the daily close of business from the command line (the
edge: the runner commits per batch, step and day)."""

from __future__ import annotations

import json
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from lendbridge.config import get_settings
from lendbridge.kit import clock
from lendbridge.kit.cli_options import parse_day
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.kit.errors import DomainError
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob import steps as loan_steps
from lendbridge.servicing.cob.models import CobRun, CobStepRun

STEPS = loan_steps  # imported for its registrations: every step of the close

cob_app = typer.Typer(help="The daily close of business.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


@cob_app.command("run")
def run_command(
    to_date: Annotated[
        str | None,
        typer.Option(
            "--to-date",
            help="Close every business day before this date (YYYY-MM-DD), which becomes the "
            "business date. Default: today in the platform's time zone.",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = runner.BATCH_SIZE,
) -> None:
    """Close the open business days in order: every registered step, then the date moves on."""
    settings = get_settings()
    target = parse_day(to_date, "--to-date") or (
        clock.now().astimezone(ZoneInfo(settings.timezone)).date()
    )
    engine = make_engine(settings.database_url, pool_size=4)
    try:
        reports = runner.run_cob(make_session_factory(engine), target, batch_size=batch_size)
    except DomainError as refusal:
        console.print(f"[bold red]error[/]: {refusal}")
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    if not reports:
        console.print(f"Nothing to close: the business date is {target.isoformat()}.")
    for report in reports:
        done = ", ".join(f"{name} {result.items}" for name, result, _ in report.steps)
        resumed = " (resumed)" if report.resumed else ""
        console.print(f"closed {report.business_date.isoformat()}{resumed}: {done or 'no steps'}")


@cob_app.command("status")
def status_command(
    day: Annotated[
        str | None, typer.Option("--date", help="One business date (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The latest closes of business, with each step's items and duration."""
    settings = get_settings()
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            stmt = select(CobRun).order_by(CobRun.business_date.desc()).limit(limit)
            only = parse_day(day, "--date")
            if only is not None:
                stmt = stmt.where(CobRun.business_date == only)
            runs = list(session.scalars(stmt))
            steps = {
                r.business_date: list(
                    session.scalars(
                        select(CobStepRun)
                        .where(CobStepRun.business_date == r.business_date)
                        .order_by(CobStepRun.position)
                    )
                )
                for r in runs
            }
            rows = [_run_json(r, steps[r.business_date]) for r in runs]
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("business date", "status", "attempts", "step", "items", "batches", "ms")
    for run in rows:
        steps_of: list[dict[str, object]] = run["steps"]  # type: ignore[assignment]
        for s in steps_of or [{"step": "-", "items": "", "batches": "", "duration_ms": ""}]:
            table.add_row(
                str(run["business_date"]),
                str(run["status"]),
                str(run["attempts"]),
                str(s["step"]),
                str(s["items"]),
                str(s["batches"]),
                str(s["duration_ms"]),
            )
    console.print(table)


def _run_json(run: CobRun, steps: list[CobStepRun]) -> dict[str, object]:
    return {
        "business_date": run.business_date.isoformat(),
        "status": run.status,
        "attempts": run.attempts,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "steps": [
            {
                "step": s.step,
                "status": s.status,
                "items": s.items,
                "batches": s.batches,
                "duration_ms": s.duration_ms,
                "error": s.error,
            }
            for s in steps
        ],
    }
