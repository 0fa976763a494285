"""``/staff/payments/recon``: reconciliation breaks (explain, link to an order, or request an
adjusting entry through maker-checker), and the import of a channel's statement file with its
run's result. The same services as ``/v1/payments/recon/breaks/{id}/resolve``,
``payments.recon.adjust`` and ``/v1/payments/recon/{channel}/statements``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lendbridge.approvals import service as approvals
from lendbridge.kit.errors import DomainError
from lendbridge.payments import channel_config
from lendbridge.payments.recon import breaks, importer, views
from lendbridge.payments.recon.models import BreakStatus
from lendbridge.payments.recon.schemas import ResolveIn
from lendbridge.web.forms import attempt
from lendbridge.web.i18n import N_
from lendbridge.web.pages.office_common import SessionDep, field_errors, shown
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
READ = "payments.read"
RECON = "payments.recon"
Text = Annotated[str, Form()]
# The request body is capped for every route (LENDBRIDGE_MAX_BODY_BYTES, refused with the
# pages' 413 before a page runs); a file this much under the cap is refused here, next to its
# field.
FORM_ALLOWANCE = 16 * 1024
STATEMENT_SUFFIXES = (".csv", ".txt")


def _recon_page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    show: str,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    upload: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    status = None if show == "all" else BreakStatus(show)
    found = views.list_breaks(session, status=status, limit=200)
    return render(
        request,
        "office/payments_recon.html",
        status_code=status_code,
        breaks=found.items,
        show=show,
        may_act=user.may(RECON),
        channels=[(c.name, c.display_name) for c in channel_config.list_channels(session)],
        max_statement_bytes=_max_statement_bytes(request),
        upload=upload or {},
        errors=errors or {},
        failed=failed,
    )


def _max_statement_bytes(request: Request) -> int:
    return int(request.app.state.settings.max_body_bytes) - FORM_ALLOWANCE


@router.get("/staff/payments/recon", openapi_extra=page(READ))
def recon_breaks(
    request: Request,
    user: UserDep,
    session: SessionDep,
    show: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
) -> HTMLResponse:
    return _recon_page(request, session, user, show=show)


@router.post("/staff/payments/recon/{break_id}/resolve", openapi_extra=page(RECON))
def resolve_break(
    request: Request,
    break_id: int,
    user: UserDep,
    session: SessionDep,
    resolution: Text = "",
    note: Text = "",
    order_id: Text = "",
) -> Response:
    def refuse(errors: dict[str, str], status: int = 422) -> Response:
        return _recon_page(
            request,
            session,
            user,
            show="open",
            errors=errors,
            failed=str(break_id),
            status_code=status,
        )

    errors: dict[str, str] = {}
    if not note.strip():
        errors["note"] = N_("Write a note for the record.")
    if resolution == "adjust":  # not resolved here: a maker-checker request to post the entry
        if errors:
            return refuse(errors)
        requested = attempt(
            session,
            lambda: approvals.request_action(
                session,
                user.actor,
                action=breaks.ADJUST_ACTION,
                payload={"break_id": break_id, "note": note.strip()},
                reason=note.strip(),
            ),
        )
        if isinstance(requested, DomainError):
            return refuse({"": shown(requested.detail)}, requested.status)
        return redirect(
            "/staff/payments/recon",
            flash=N_("Sent for approval: another staff member approves it."),
        )
    payload: dict[str, object] = {"resolution": resolution, "note": note.strip()}
    if resolution == "link":
        try:
            payload["order_id"] = str(uuid.UUID(order_id.strip()))
        except ValueError:
            errors["order_id"] = N_("Enter the payment order's id.")
    if errors:
        return refuse(errors)
    try:
        body = ResolveIn.model_validate(payload)
    except ValidationError:
        return refuse({"": N_("Choose explain, link or adjust.")})
    resolved = attempt(session, lambda: breaks.resolve(session, break_id, body, user.actor))
    if isinstance(resolved, DomainError):
        return refuse({"": shown(resolved.detail)}, resolved.status)
    return redirect("/staff/payments/recon", flash=N_("The break is resolved."))


@router.post("/staff/payments/recon/import", openapi_extra=page(RECON))
async def import_statement(request: Request, user: UserDep, session: SessionDep) -> Response:
    form = await request.form()  # already read (and its file spooled) by the CSRF check
    channel = form.get("channel")
    upload = form.get("statement")
    return await run_in_threadpool(
        _import,
        request,
        user,
        session,
        channel if isinstance(channel, str) else "",
        upload if isinstance(upload, UploadFile) else None,
    )


def _import(
    request: Request,
    user: WebUser,
    session: Session,
    channel: str,
    upload: UploadFile | None,
) -> Response:
    form = {"channel": channel}
    errors: dict[str, str] = {}
    if channel not in {c.name for c in channel_config.list_channels(session)}:
        errors["channel"] = N_("Choose a channel.")
    problem = _statement_problem(upload, _max_statement_bytes(request))
    if problem:
        errors["statement"] = problem
    if errors or upload is None:
        return _recon_page(
            request, session, user, show="open", errors=errors, upload=form, status_code=422
        )
    try:
        out, created = importer.import_statement(
            session, channel, upload.file, actor=user.actor, file_name=upload.filename
        )
    except importer.StatementUnreadable as exc:
        session.rollback()  # nothing of the run stays
        unreadable = {"statement": N_("The file has no line the channel's layout can read.")}
        if exc.errors and exc.errors[0].field == "date":
            unreadable = {"statement": N_("The statement has no lines.")}
        form["detail"] = shown(exc.detail)
        return _recon_page(
            request, session, user, show="open", errors=unreadable, upload=form, status_code=422
        )
    except DomainError as exc:
        session.rollback()
        errors = field_errors(exc, {"statement": "statement", "channel": "channel"})
        return _recon_page(
            request, session, user, show="open", errors=errors, upload=form, status_code=exc.status
        )
    session.commit()
    done = N_("Statement imported.") if created else N_("This file was imported before.")
    return redirect(f"/staff/payments/recon/runs/{out.id}", flash=done)


def _statement_problem(upload: UploadFile | None, limit: int) -> str | None:
    """Why the uploaded file cannot be a statement (an English message id), or None."""
    if upload is None or not upload.filename:
        return N_("Choose the statement file.")
    if not upload.filename.lower().endswith(STATEMENT_SUFFIXES):
        return N_("The file is not a CSV statement.")
    size = upload.size
    if size is None:
        size = upload.file.seek(0, 2)
    upload.file.seek(0)
    if size == 0:
        return N_("The file is empty.")
    if size > limit:
        return N_("The file is too large to import here.")
    head = upload.file.read(64 * 1024)
    upload.file.seek(0)
    if b"\x00" in head:  # a spreadsheet or an archive, not text
        return N_("The file is not a CSV statement.")
    return None


@router.get("/staff/payments/recon/runs/{run_id}", openapi_extra=page(READ))
def recon_run(
    request: Request, run_id: uuid.UUID, user: UserDep, session: SessionDep
) -> HTMLResponse:
    run = views.run_out(views.get_run(session, run_id))
    found = views.list_breaks(session, run_id=run_id, limit=500)
    return render(
        request,
        "office/recon_run.html",
        run=run,
        breaks=found.items,
        more=found.next_cursor is not None,
        may_act=user.may(RECON),
        errors={},
        failed=None,
    )
