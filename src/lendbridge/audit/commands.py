"""``lendbridge audit ...``: verify the chain, print a daily anchor, export the anchors.

A typer sub-application; ``lendbridge.cli`` mounts it with
``app.add_typer(audit_app, name="audit")``. Exit code 1 means the chain failed verification
(the message names the first bad record), 2 a usage error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine

from lendbridge.audit import service
from lendbridge.config import get_settings
from lendbridge.kit import calendar
from lendbridge.kit.cli_options import parse_day
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work

audit_app = typer.Typer(
    help="The tamper-evident audit trail: verify the hash chain, daily anchors.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _engine() -> Iterator[Engine]:
    engine = make_engine(get_settings().database_url, pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


@audit_app.command("verify")
def verify_command(
    from_seq: Annotated[int, typer.Option("--from-seq", min=1, help="First record.")] = 1,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Check at most this many records.")
    ] = None,
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            exists=True,
            dir_okay=False,
            help="Anchors exported earlier (JSON lines): the chain must still agree with them.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Recompute every record's hash and link and compare the end with the chain head.
    Exit code 1 naming the first record whose content or link was altered."""
    expected: list[service.Anchor] = []
    if anchors is not None:
        try:
            with anchors.open(encoding="utf-8") as lines:
                expected = service.read_anchors(lines)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--anchors") from None
    with _engine() as engine:
        report = service.verify(engine, from_seq=from_seq, limit=limit, anchors=expected)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    elif report.problem is None:
        scope = "whole chain" if report.complete else "partial check, the end not reached"
        console.print(
            f"[green]audit chain intact[/]: records {report.from_seq}..{report.to_seq} "
            f"({report.checked} checked, {scope}); head {report.head_seq} {report.head_hash}; "
            f"{report.anchors_checked} anchors matched; {report.elapsed_ms} ms"
        )
    else:
        problem = report.problem
        console.print(
            f"[bold red]audit chain BROKEN at record {problem.seq}[/] ({problem.reason.value})"
        )
        console.print(f"  {problem.detail}", markup=False)
        console.print(f"records {report.from_seq}..{report.to_seq} verified before it")
    if not report.ok:
        raise typer.Exit(code=1)


@audit_app.command("anchor")
def anchor_command(
    day: Annotated[
        str | None,
        typer.Option("--day", help="Business day (YYYY-MM-DD); default: the last closed day."),
    ] = None,
) -> None:
    """Print the anchor of a business day (its last seq and hash) as one JSON line."""
    wanted = parse_day(day, "--day")
    with _engine() as engine, unit_of_work(make_session_factory(engine)) as session:
        if wanted is None:
            wanted = calendar.business_date(session) - dt.timedelta(days=1)
        result = service.anchor(session, wanted)
    typer.echo(result.model_dump_json())


@audit_app.command("export-anchors")
def export_anchors_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")
    ] = None,
    from_day: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    to_day: Annotated[
        str | None,
        typer.Option("--to", help="Last day (YYYY-MM-DD); default: the last closed day."),
    ] = None,
) -> None:
    """Write one anchor per business day with records, as JSON lines, for safekeeping
    outside the database (``lendbridge audit verify --anchors FILE`` checks them later)."""
    first, last = parse_day(from_day, "--from"), parse_day(to_day, "--to")
    with _engine() as engine, unit_of_work(make_session_factory(engine)) as session:
        if output is None:
            written = service.export_anchors(session, sys.stdout, from_day=first, to_day=last)
        else:
            with output.open("w", encoding="utf-8") as out:
                written = service.export_anchors(session, out, from_day=first, to_day=last)
    if output is not None:
        console.print(f"wrote {written} anchors to {output}")
