"""The navigation each signed-in person sees: only the pages their permissions open."""

from __future__ import annotations

from dataclasses import dataclass

from lendbridge.web.i18n import N_
from lendbridge.web.sessions import WebUser

# Route classes of pages (besides real permissions): anyone, any signed-in customer (borrower
# or investor, on their own records), any signed-in staff member.
PUBLIC = "public"
CUSTOMER = "self"
STAFF = "staff"


@dataclass(frozen=True)
class Link:
    path: str
    label: str  # an English message id, translated when rendered
    permission: str


# Order is the menu's order. Domains' pages add their links here.
PORTAL: list[Link] = [
    Link("/", N_("Home"), CUSTOMER),
    Link("/apply", N_("Apply"), CUSTOMER),
    Link("/loans", N_("My loans"), CUSTOMER),
    Link("/notifications", N_("Notifications"), CUSTOMER),
    Link("/me/identity", N_("My details"), CUSTOMER),
]
BACK_OFFICE: list[Link] = [
    Link("/staff", N_("Dashboard"), STAFF),
    Link("/staff/review", N_("Manual review"), "applications.review"),
    Link("/staff/search", N_("Search"), STAFF),
    Link("/staff/audit", N_("Audit trail"), "audit.read"),
    Link("/staff/approvals", N_("Approvals"), STAFF),
    Link("/staff/products", N_("Products"), "products.read"),
    Link("/staff/collections", N_("Collections"), "collections.read"),
    Link("/staff/payments/manual", N_("Payments"), "payments.read"),
    Link("/staff/close", N_("Close of business"), "ledger.read"),
    Link("/staff/users", N_("Staff users"), "identity.users.read"),
]


def allowed(user: WebUser | None, permission: str) -> bool:
    if permission == PUBLIC:
        return True
    if user is None:
        return False
    if permission == CUSTOMER:
        return not user.is_staff
    if permission == STAFF:
        return user.is_staff
    return user.is_staff and user.may(permission)


def for_user(user: WebUser | None, path: str) -> list[tuple[Link, bool]]:
    """(link, is the current page) for each page this user may open."""
    if user is None:
        return []
    links = BACK_OFFICE if user.is_staff else PORTAL
    current = max(
        (link.path for link in links if path == link.path or path.startswith(link.path + "/")),
        key=len,
        default=None,
    )
    return [(link, link.path == current) for link in links if allowed(user, link.permission)]
