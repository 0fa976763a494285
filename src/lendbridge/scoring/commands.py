"""``lendbridge model ...``: train, list, show, promote (maker-checker), decide, evaluate and
monitor credit models. Each command owns its transaction; refusals are messages, exit 1."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.approvals import service as approvals
from lendbridge.config import get_settings
from lendbridge.identity.models import User
from lendbridge.identity.users import roles_and_permissions
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.cli_options import command_transaction
from lendbridge.kit.errors import NotFound, field_error
from lendbridge.scoring import promotion, registry, service
from lendbridge.scoring.models import ScoringModel
from lendbridge.scoring.monitor import MonitorReport, Stability
from lendbridge.scoring.spec import load_spec

model_app = typer.Typer(
    help="Credit models: train, list, show, promote, evaluate, monitor.", no_args_is_help=True
)
console = Console(highlight=False, soft_wrap=True)
ACTOR = system_actor("cli")
METRICS = ("auc", "ks", "gini", "brier")
DataOption = Annotated[
    Path, typer.Option("--data", exists=True, dir_okay=False, help="A CSV file.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ModelArgument = Annotated[
    str, typer.Argument(help="A model id, NAME:VERSION, or NAME (its newest version).")
]


def _transaction() -> contextlib.AbstractContextManager[Session]:
    return command_transaction(console, get_settings().database_url)


def _staff(session: Session, username: str) -> Actor:
    user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise field_error(NotFound, "by", f"no staff user {username!r}")
    roles, permissions = roles_and_permissions(session, user_id)
    return Actor(user_id=str(user_id), roles=roles, permissions=permissions)


def _brief(row: ScoringModel) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "version": row.version,
        "family": row.family,
        "status": row.status,
        **{k: row.metrics.get(k) for k in METRICS},
    }


@model_app.command("train")
def train_command(
    data: DataOption,
    target: Annotated[str, typer.Option(help="The column that holds the outcome.")],
    bad_value: Annotated[str, typer.Option(help="The target's value that means bad.")],
    spec: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="A training spec (JSON).")
    ] = None,
    name: Annotated[
        str, typer.Option(min=1, max=48, help="Model name (-scorecard / -gbm appended).")
    ] = service.DEFAULT_NAME,
    as_json: JsonOption = False,
) -> None:
    """Clean the file, cross-validate a scorecard and a gradient-boosted challenger, fit both
    on every row and register them (as challengers: promotion is a separate, approved step)."""
    with _transaction() as session:
        trained = service.train_file(
            session,
            data,
            target=target,
            bad_value=bad_value,
            spec=load_spec(spec),
            name=name,
            actor=ACTOR,
        )
        current = registry.champion_row(session)
        champion = _brief(current) if current is not None else None
        models = [_brief(m) for m in trained.models]
    best = max(models, key=lambda m: m["auc"] or 0.0)["name"]
    if as_json:
        document = {
            "models": models,
            "champion": champion,
            "recommended": best,
            "data_quality": trained.report,
            "seconds": round(trained.seconds, 3),
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    console.print("[bold]data quality[/]")
    for line in _findings(trained.report):
        console.print(f"  {escape(line)}")
    table = Table(Column("model", no_wrap=True), "CV AUC", "KS", "Gini", "Brier", "AUC sd")
    for row in trained.models:
        m = row.metrics
        table.add_row(
            f"{row.name}:{row.version}",
            *(f"{m[k]:.4f}" for k in ("auc", "ks", "gini", "brier", "auc_std")),
        )
    console.print(table)
    shown = f"{champion['name']} v{champion['version']}" if champion else "none"
    console.print(f"champion: {shown}; best by CV AUC: {best} (promote: lendbridge model promote)")


def _findings(report: dict[str, Any]) -> list[str]:
    from lendbridge.scoring.quality import ColumnFinding, DataQualityReport, Exclusion

    columns = [
        ColumnFinding(**{**c, "excluded": Exclusion(c["excluded"]) if c["excluded"] else None})
        for c in report["columns"]
    ]
    fields = {k: v for k, v in report.items() if k not in ("columns", "bad_rate")}
    return DataQualityReport(**fields, columns=columns).findings()


@model_app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """Every registered model, newest version first."""
    with _transaction() as session:
        rows = [
            _brief(r) | {"created_at": r.created_at.isoformat()}
            for r in registry.list_models(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    # NAME:VERSION names a model in every command (the id is in --json and show)
    table = Table(Column("model", no_wrap=True), "family", "status", "AUC", "KS", "created")
    for r in rows:
        auc = f"{r['auc']:.4f}" if r["auc"] is not None else "-"
        ks = f"{r['ks']:.4f}" if r["ks"] is not None else "-"
        reference = f"{r['name']}:{r['version']}"
        table.add_row(reference, r["family"], r["status"], auc, ks, r["created_at"][:10])
    console.print(table)


@model_app.command("show")
def show_command(model: ModelArgument, as_json: JsonOption = False) -> None:
    """A model's record: data fingerprint, spec, metrics (with the reliability table)."""
    with _transaction() as session:
        row = registry.find(session, model)
        document = _brief(row) | {
            "data_sha256": row.data_sha256,
            "data_rows": row.data_rows,
            "artifact_sha256": row.artifact_sha256,
            "created_by": row.created_by,
            "created_at": row.created_at.isoformat(),
            "promoted_at": row.promoted_at.isoformat() if row.promoted_at else None,
            "spec": row.spec,
            "metrics": row.metrics,
        }
    if as_json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    table = Table("field", "value", show_header=False)
    for key, value in document.items():
        if key in ("metrics", "spec"):
            continue
        table.add_row(key, escape(str(value)))
    metrics = document["metrics"]
    for key in ("auc", "ks", "gini", "brier", "auc_std", "folds"):
        table.add_row(f"cv {key}", str(metrics.get(key)))
    table.add_row("spec", escape(json.dumps(document["spec"], ensure_ascii=False)))
    console.print(table)
    reliability = Table("decile", "count", "predicted bad", "observed bad")
    for r in metrics.get("reliability", []):
        reliability.add_row(
            str(r["decile"]), str(r["count"]), f"{r['predicted']:.3f}", f"{r['observed']:.3f}"
        )
    console.print(reliability)


@model_app.command("promote")
def promote_command(
    model: ModelArgument,
    by: Annotated[str, typer.Option("--by", help="Your staff username (the maker).")],
    reason: Annotated[str, typer.Option(min=3, max=500, help="Why this model.")],
) -> None:
    """Ask for the model to become the champion; another user with approvals.decide
    approves it (``lendbridge model decide`` or POST /v1/approvals/{id}/approve)."""
    with _transaction() as session:
        row = registry.find(session, model)
        request = approvals.request_action(
            session,
            _staff(session, by),
            action=promotion.PROMOTE.name,
            payload={"model_id": str(row.id)},
            reason=reason,
        )
        label, request_id = f"{row.name} v{row.version}", request.id
    console.print(f"requested: {label} as champion; approval request {request_id}")


@model_app.command("decide")
def decide_command(
    request_id: Annotated[str, typer.Argument(help="The approval request's id.")],
    by: Annotated[str, typer.Option("--by", help="Your staff username (the checker).")],
    approve: Annotated[bool, typer.Option("--approve/--reject")] = True,
    note: Annotated[str, typer.Option(min=1, max=500)] = "reviewed",
) -> None:
    """Approve or reject a model promotion request (four eyes: not its maker)."""
    try:
        rid = uuid.UUID(request_id)
    except ValueError:
        raise typer.BadParameter("not a request id", param_hint="REQUEST_ID") from None
    with _transaction() as session:
        row = approvals.get(session, rid, _staff(session, by))
        if row.action != promotion.PROMOTE.name:
            raise field_error(NotFound, "request_id", "not a model promotion request")
        decided = approvals.decide(session, _staff(session, by), rid, approve=approve, note=note)
        status = decided.status
    console.print(f"request {request_id}: {status}")


@model_app.command("evaluate")
def evaluate_command(
    model: ModelArgument,
    data: DataOption,
    target: Annotated[str, typer.Option(help="The outcome column.")],
    bad_value: Annotated[str, typer.Option(help="The target's value that means bad.")],
    as_json: JsonOption = False,
) -> None:
    """A stored model's AUC, KS, Gini, Brier and reliability on a labelled CSV file."""
    with _transaction() as session:
        result = service.evaluate_file(registry.find(session, model), data, target, bad_value)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console.print(
        f"{result['model']} on {result['rows']} rows "
        f"({result['rows_missing_target']} without a target)"
    )
    for key in METRICS:
        console.print(f"  {key:<6} {result[key]:.4f}")


@model_app.command("monitor")
def monitor_command(
    data: Annotated[
        Path | None,
        typer.Option("--data", exists=True, dir_okay=False, help="Applications in a CSV file."),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="The applications this platform decided with it.")
    ] = False,
    days: Annotated[
        int, typer.Option(min=1, max=3660, help="With --live: the last N business days.")
    ] = 30,
    model: Annotated[str | None, typer.Option(help="A model (default: the champion).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Population stability (PSI) of the scores and of each characteristic of applications
    — live ones (``--live``) or those in a CSV (``--data``) — against the model's training
    data: < 0.10 stable, 0.10-0.25 watch, > 0.25 shift."""
    if (data is None) == (not live):
        raise typer.BadParameter("give either --data FILE or --live", param_hint="--data/--live")
    with _transaction() as session:
        row = registry.find(session, model) if model else registry.champion_row(session)
        if row is None:
            raise registry.NoChampion("no model is the champion; name one with --model")
        if data is not None:
            report = service.monitor_file(row, data)
        else:
            report = _monitor_live(session, row, days)
        label = f"{row.name} v{row.version}"
    if as_json:
        typer.echo(json.dumps({"model": label, **report.to_dict()}, indent=2, ensure_ascii=False))
        return
    _print_monitor(label, report)


def _monitor_live(session: Session, row: ScoringModel, days: int) -> MonitorReport:
    # The origination domain keeps the applications; imported here only, so that scoring
    # does not depend on it for anything else.
    from lendbridge.kit import calendar
    from lendbridge.origination.monitoring import live_rows

    since = calendar.business_date(session) - dt.timedelta(days=days - 1)
    rows = live_rows(session, row.name, row.version, since)
    if not rows:
        raise field_error(
            NotFound,
            "--live",
            f"no application was decided with {row.name} v{row.version} since {since}",
        )
    return registry.load(row).monitor(rows)


def _print_monitor(label: str, report: MonitorReport) -> None:
    console.print(f"{label}: {report.rows} applications against training")
    table = Table("what", "PSI", "band")
    colours = {"stable": "green", "watch": "yellow", "shift": "red"}

    def add(s: Stability) -> None:
        table.add_row(escape(s.name), f"{s.psi:.4f}", f"[{colours[s.band]}]{s.band}[/]")

    add(report.score)
    for s in report.characteristics:
        add(s)
    console.print(table)
