"""The back office's dashboard: the portfolio's headline figures and charts, each section
only for staff whose permissions read it (loans, applications, collections)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from lendbridge.kit import calendar
from lendbridge.kit.http import get_session
from lendbridge.web import charts, nav
from lendbridge.web.i18n import N_, gettext_
from lendbridge.web.labels import label
from lendbridge.web.pages import staff_dashboard_queries as q
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("/staff", openapi_extra=page(nav.STAFF))
def staff_home(request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    today = calendar.business_date(session)
    context: dict[str, Any] = {"today": today}
    book = None
    if user.may("loans.read") or user.may("collections.read"):
        book = q.portfolio(session)
    if book is not None and user.may("loans.read"):
        months = q.by_month(session, today)
        classes, buckets = book.classes, book.buckets
        context.update(
            headline=book.headline(months[-1].disbursed),
            months=months,
            month_chart=charts.grouped(
                [p.month.strftime("%m") for p in months],
                [p.disbursed for p in months],
                [p.outstanding for p in months],
            ),
            classes=[(label(s.key, "classification"), s) for s in classes],
            class_chart=charts.grouped(
                [label(s.key, "classification") for s in classes], [s.loans for s in classes]
            ),
            buckets=[(label(s.key, "delinquency_bucket"), s) for s in buckets],
            bucket_chart=charts.grouped(
                [label(s.key, "delinquency_bucket") for s in buckets], [s.loans for s in buckets]
            ),
        )
    elif book is not None:  # collections only: the queue's size, no money figures
        context["headline"] = book.headline(0)
    if user.may("applications.read"):
        context["outcomes"] = q.application_outcomes(session)
    if user.may("collections.read"):
        promises = q.promises(session)
        context["promises"] = promises
        context["promise_chart"] = charts.grouped(
            [gettext_(N_("Open")), gettext_(N_("Kept")), gettext_(N_("Broken"))],
            [promises.open, promises.kept, promises.broken],
        )
    session.rollback()
    return render(request, "staff/home.html", **context)
