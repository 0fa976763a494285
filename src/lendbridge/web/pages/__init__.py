"""The page routers, in the order they are matched: signing in, the back office (``staff_*``:
dashboard, review, search, loans, audit; ``office_*``: approvals, products, collections,
payments, close of business, users) and the borrower portal (``portal_*``)."""

from __future__ import annotations

from fastapi import APIRouter

from lendbridge.web.pages import (
    office_approvals,
    office_close,
    office_collections,
    office_payments,
    office_products,
    office_recon,
    office_users,
    portal_apply,
    portal_home,
    portal_identity,
    portal_loans,
    portal_needs,
    portal_notifications,
    portal_register,
    signin,
    staff_audit,
    staff_dashboard,
    staff_loans,
    staff_review,
    staff_search,
)

ROUTERS: list[APIRouter] = [
    signin.router,
    staff_dashboard.router,
    staff_review.router,
    staff_search.router,
    staff_loans.router,
    staff_audit.router,
    office_approvals.router,
    office_products.router,
    office_collections.router,
    office_payments.router,
    office_recon.router,
    office_close.router,
    office_users.router,
    portal_home.router,
    portal_register.router,
    portal_identity.router,
    portal_apply.router,
    portal_loans.router,
    portal_notifications.router,
    portal_needs.router,
]
