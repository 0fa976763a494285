"""``lendbridge policy ...``: decision policies from the command line. ``propose`` saves a
draft version (the CLI acts as the platform, which cannot be a maker: ask for its activation
with ``POST /v1/approvals``, action ``decisions.activate_policy``); ``what-if`` replays a
candidate file against past decisions."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.decisions import policies
from lendbridge.decisions.policy import PolicyDocument, parse_policy
from lendbridge.decisions.schemas import policy_out, summary, what_if_out
from lendbridge.decisions.what_if import what_if
from lendbridge.kit.actor import system_actor
from lendbridge.kit.cli_options import command_transaction
from lendbridge.kit.errors import ValidationFailed

policy_app = typer.Typer(
    help="Decision policies: list, show, propose (a draft version), what-if.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
ACTOR = system_actor("cli")
FileArg = Annotated[
    Path, typer.Option("--file", exists=True, dir_okay=False, help="Policy JSON document.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _transaction() -> contextlib.AbstractContextManager[Session]:
    return command_transaction(console, get_settings().database_url)


def _read(file: Path) -> PolicyDocument:
    """The file's policy, validated; exit 1 naming each invalid field."""
    try:
        return parse_policy(json.loads(file.read_text(encoding="utf-8")))
    except ValidationFailed as exc:
        problems = [(e.field, e.message) for e in exc.errors] or [("(document)", exc.detail)]
    except (ValueError, UnicodeDecodeError) as exc:
        problems = [("(document)", f"not JSON: {exc}")]
    console.print(f"[bold red]error[/]: {escape(str(file))} is not a valid policy")
    for field, message in problems:
        console.print(f"  {escape(field)}: {escape(message)}")
    raise typer.Exit(code=1)


@policy_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """Every version of every policy."""
    with _transaction() as session:
        rows = [summary(row) for row in policies.listing(session)]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("name", "version", "status", "maker", "checker", "created", "description")
    for r in rows:
        table.add_row(
            r.name,
            str(r.version),
            r.status,
            escape(r.maker),
            escape(r.checker or ""),
            r.created_at.isoformat(timespec="seconds"),
            escape(r.description),
        )
    console.print(table)


@policy_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Policy name.")] = "standard",
    version: Annotated[int | None, typer.Option(min=1, help="Default: the active one.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A policy version: its state and its document."""
    with _transaction() as session:
        out = policy_out(policies.get(session, name, version))
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    console.print(f"policy {out.name} version {out.version}: {out.status} (sha256 {out.sha256})")
    document = out.document
    rules = Table("rule", "action", "condition", "reason")
    for rule in document.eligibility:
        rules.add_row(rule.code, rule.action, escape(rule.expression), escape(rule.reason.en))
    for trigger in document.review_triggers:
        rules.add_row(trigger.code, "review when", escape(trigger.when), escape(trigger.reason.en))
    console.print(rules)
    grades = Table("grade", "min score", "outcome", "rate %")
    for g in document.grades:
        grades.add_row(g.grade, str(g.min_score), g.outcome, g.annual_rate_percent)
    console.print(grades)
    console.print(f"limit: {escape(document.limit.model_dump_json())}")
    console.print(f"pricing: {escape(document.pricing.model_dump_json())}")


@policy_app.command("propose")
def propose_command(file: FileArg) -> None:
    """Save a policy file as a draft version (validated). Equal to an existing draft,
    pending or active version: nothing is written."""
    document = _read(file)
    with _transaction() as session:
        proposed = policies.propose(session, document, ACTOR)
        row = proposed.row
        name, version, state = row.name, row.version, row.status
    if proposed.created:
        console.print(
            f"policy {name} version {version} saved as a draft; request its activation with "
            f'POST /v1/approvals {{"action": "decisions.activate_policy", "payload": '
            f'{{"name": "{name}", "version": {version}}}}}'
        )
    else:
        console.print(f"policy {name} unchanged: version {version} ({state}) is the same")


def _percent(share: str) -> str:
    return f"{Decimal(share) * 100:.2f}%"


@policy_app.command("what-if")
def what_if_command(
    file: FileArg,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="Applications.")] = 10_000,
    as_json: JsonOpt = False,
) -> None:
    """Replay a candidate policy against past decisions: what would change."""
    document = _read(file)
    with _transaction() as session:
        out = what_if_out(what_if(session, document, limit=limit))
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    console.print(
        f"{out.decisions} applications replayed, {out.skipped} skipped, {out.changed} changed; "
        f"approval rate {_percent(out.approval_rate_before)} -> "
        f"{_percent(out.approval_rate_after)}"
    )
    table = Table("transition", "applications")
    for transition, count in sorted(out.transitions.items()):
        table.add_row(transition, str(count))
    console.print(table)
    for case in out.changed_cases[:20]:
        console.print(
            f"  {case.application_id}: {case.outcome_before}/{case.grade_before} -> "
            f"{case.outcome_after}/{case.grade_after}"
        )
