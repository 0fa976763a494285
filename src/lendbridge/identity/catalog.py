"""The default roles and permissions: data that ``lendbridge init`` loads into the role and
permission tables (idempotently), where administrators change grants through maker-checker.

Every HTTP route declares one permission (``x-permission`` in the OpenAPI document). Two are
not grants but route classes:

* ``public`` — no token needed (health, registration, login);
* ``self`` — any signed-in user, acting on their own records only (the service filters by the
  caller; another user's record is "not found", never shown).
"""

from __future__ import annotations

from types import MappingProxyType

PUBLIC = "public"
SELF = "self"
ROUTE_CLASSES = frozenset({PUBLIC, SELF})

PERMISSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "ledger.read": "Read accounts, balances, statements, entries and the trial balance",
        "ledger.post": "Post journal entries through the API (system integrations)",
        "ledger.accounts.manage": "Open accounts and change their status",
        "ledger.manual_entry": "Request a manual journal entry (posted once a checker approves)",
        "audit.read": "Query the audit trail, verify its chain, export anchors",
        "identity.users.read": "Look up users (personal data masked)",
        "identity.users.manage": "Create staff users, disable and unlock users",
        "identity.roles.grant": "Request role grants and revocations (maker-checker)",
        "identity.pii.reveal": "Read clear personal data (every read is audited)",
        "approvals.decide": "Approve or reject another user's maker-checker request",
        "payments.read": "Read payment orders, channels, settlements and reconciliations",
        "payments.orders.create": "Create payment orders (system integrations)",
        "payments.manual": "Work the payment manual queue: retry, cancel, resolve",
        "payments.channels.manage": "Configure payment channels",
        "payments.settle": "Settle a channel's business day",
        "payments.recon": "Import channel statements and work reconciliation breaks",
        "products.read": "Read loan products and their versions; quote a loan under a product",
        "products.manage": "Create loan products, save new versions, retire products",
        "loans.read": "Read loans: schedules, balances, transactions, repayments, payoff quotes",
        "loans.manage": "Create loans, disburse them, cancel them before disbursement",
        "loans.repay": "Ask for a customer's repayment of a loan (a payment order)",
        "loans.repay.backdate": "Record a repayment with an earlier effective date (the loan is "
        "replayed from it)",
        "loans.workout.request": "Request a loan's restructure or write-off (maker-checker)",
        "loans.recover": "Book money recovered on a written-off loan (recovery income)",
        "collections.read": "Read the collector queue, contact logs and promises to pay",
        "collections.manage": "Assign overdue loans, log contacts, record and cancel promises",
        "policies.read": "Read decision policies and their versions; run what-if reports",
        "policies.propose": "Propose decision policy versions (activated through maker-checker)",
        "models.read": "Read credit models: versions, metrics, data fingerprints",
        "models.train": "Train credit models on a lender's history (registered as challengers)",
        "models.promote": "Request a credit model's promotion to champion (maker-checker)",
        "applications.read": "Read loan applications, their decisions and offers (applicant "
        "data masked)",
        "applications.review": "Work the manual review queue: approve (possibly a lower limit) "
        "or decline applications",
        "risk_list.read": "Read the risk list (blacklist) entries, masked",
        "risk_list.manage": "Add people, phones and bank cards to the risk list and remove them",
    }
)

READ_ONLY = frozenset(p for p in PERMISSIONS if p.endswith(".read"))

ROLES: MappingProxyType[str, tuple[str, frozenset[str]]] = MappingProxyType(
    {
        "borrower": ("Borrower", frozenset()),
        "investor": ("Investor", frozenset()),
        "admin": (
            "Administrator",
            frozenset(
                {
                    "identity.users.read",
                    "identity.users.manage",
                    "identity.roles.grant",
                    "audit.read",
                    "products.read",
                    "products.manage",
                }
            ),
        ),
        "loan_officer": (
            "Loan officer",
            frozenset(
                {
                    "identity.users.read",
                    "products.read",
                    "loans.read",
                    "loans.manage",
                    "loans.workout.request",
                    "applications.read",
                    "applications.review",
                    "risk_list.read",
                }
            ),
        ),
        "risk_analyst": (
            "Risk analyst",
            frozenset(
                {
                    "ledger.read",
                    "products.read",
                    "loans.read",
                    "collections.read",
                    "policies.read",
                    "policies.propose",
                    "models.read",
                    "models.train",
                    "models.promote",
                    "applications.read",
                    "risk_list.read",
                    "risk_list.manage",
                }
            ),
        ),
        "compliance_officer": (
            "Compliance officer",
            frozenset(
                {
                    "audit.read",
                    "policies.read",
                    "models.read",
                    "identity.users.read",
                    "identity.pii.reveal",
                    "approvals.decide",
                    "products.read",
                    "loans.read",
                    "collections.read",
                    "applications.read",
                    "risk_list.read",
                    "risk_list.manage",
                }
            ),
        ),
        "finance": (
            "Finance",
            # Staff correct the books through maker-checker (ledger.manual_entry), never by
            # posting directly: that is for the platform's own systems (integration).
            frozenset(
                {
                    "ledger.read",
                    "ledger.accounts.manage",
                    "ledger.manual_entry",
                    "payments.read",
                    "payments.manual",
                    "payments.channels.manage",
                    "payments.settle",
                    "payments.recon",
                    "products.read",
                    "products.manage",
                    "loans.read",
                    "loans.repay",
                    "loans.repay.backdate",
                    "loans.workout.request",
                    "loans.recover",
                }
            ),
        ),
        "collector": (
            "Collector",
            frozenset(
                {
                    "identity.users.read",
                    "products.read",
                    "loans.read",
                    "loans.repay",
                    "loans.workout.request",
                    "loans.recover",
                    "collections.read",
                    "collections.manage",
                }
            ),
        ),
        "customer_service": (
            "Customer service",
            frozenset(
                {
                    "identity.users.read",
                    "identity.pii.reveal",
                    "payments.read",
                    "products.read",
                    "loans.read",
                    "loans.repay",
                    "collections.read",
                }
            ),
        ),
        "auditor": ("Auditor (read-only)", READ_ONLY),
        "integration": (
            "System integration (payment callbacks, servicing jobs)",
            frozenset(
                {
                    "ledger.read",
                    "ledger.post",
                    "payments.read",
                    "payments.orders.create",
                    "products.read",
                    "loans.read",
                    "loans.manage",
                    "loans.repay",
                }
            ),
        ),
    }
)

STAFF_ROLES = frozenset(ROLES) - {"borrower", "investor", "integration"}
MACHINE_ROLES = frozenset({"integration"})
