"""The back-office dashboard on a book of N loans (PostgreSQL); called by web_pages.py.

The book is written in SQL (``INSERT … SELECT generate_series``), foreign keys and triggers
off for the load (``session_replication_role = replica``), because the figure measured is the
reading, not the writing: N loans over the 24 months before the business date, in every status
(about 55 % paid off, 30 % active, 8 % overdue across the buckets and classifications, 3 %
written off, 2 % restructured, the rest pending or cancelled), N applications with their
outcomes, 2 % of the loans with a promise to pay, and the loan book's principal account with
a day total for every day. Then ANALYZE, and the dashboard page is requested for a staff member
with every read permission, after two warm-ups.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

import benchlib

LOANS_SQL = """
INSERT INTO loan (
  id, idempotency_key, request_hash, customer_id, product_code, product_version, currency,
  principal, annual_rate_percent, term, upfront_fee, upfront_fee_deducted, installment_fee,
  disbursement_amount, bank_card_id, customer_account, status, created_on, start_date,
  maturity_date, disbursed_on, closed_on, disbursement_attempts, principal_outstanding,
  interest_outstanding, fee_outstanding, penalty_outstanding, version, created_at, updated_at,
  dpd, delinquency_bucket, classification, provision, restructure_count, written_off, recovered
)
SELECT
  gen_random_uuid(), 'bench:' || g, repeat('0', 64), gen_random_uuid(), 'CONSUMER-EI', 1, 'CNY',
  principal, '18.00', 12, 0, false, 0, principal, gen_random_uuid(), 'bench', status, day, day,
  day + 365, CASE WHEN status IN ('pending_disbursement', 'cancelled') THEN NULL ELSE day END,
  CASE WHEN status IN ('paid_off', 'written_off', 'cancelled') THEN day + 200 END, 1,
  CASE WHEN status IN ('active', 'overdue', 'restructured') THEN principal / 2 ELSE 0 END,
  0, 0, 0, 1, now(), now(),
  dpd, bucket, class, 0, 0,
  CASE WHEN status = 'written_off' THEN principal / 2 ELSE 0 END, 0
FROM (
  SELECT g, principal, day, status,
    CASE WHEN status = 'overdue' THEN CAST(1 + g % 120 AS integer) ELSE 0 END AS dpd,
    CASE WHEN status <> 'overdue' THEN 'current' WHEN g % 120 < 30 THEN 'M1'
         WHEN g % 120 < 60 THEN 'M2' WHEN g % 120 < 90 THEN 'M3' ELSE 'M3+' END AS bucket,
    CASE WHEN status <> 'overdue' THEN 'normal' WHEN g % 120 < 30 THEN 'special_mention'
         WHEN g % 120 < 60 THEN 'substandard' WHEN g % 120 < 90 THEN 'doubtful'
         ELSE 'loss' END AS class
  FROM (
    SELECT g, 100000 + (g * 7919 % 4900000) AS principal,
      CAST(:today AS date) - CAST(g * 104729 % 730 AS integer) AS day,
      CASE WHEN g % 100 < 55 THEN 'paid_off' WHEN g % 100 < 85 THEN 'active'
           WHEN g % 100 < 93 THEN 'overdue' WHEN g % 100 < 96 THEN 'written_off'
           WHEN g % 100 < 98 THEN 'restructured' WHEN g % 100 < 99 THEN 'pending_disbursement'
           ELSE 'cancelled' END AS status
    FROM generate_series(CAST(1 AS bigint), :n) AS g
  ) base
) shaped
"""

APPLICATIONS_SQL = """
INSERT INTO loan_application (
  id, idempotency_key, request_hash, customer_id, product_code, product_version, currency,
  amount, term, purpose, employment, monthly_income, declared_monthly_obligations, features,
  status, applied_on, reasons, created_at, updated_at
)
SELECT gen_random_uuid(), 'bench:' || g, repeat('0', 64), gen_random_uuid(), 'CONSUMER-EI', 1,
  'CNY', 1000000, 12, 'consumption', 'employed', 1000000, 0, '{}'::json,
  CASE WHEN g % 10 < 5 THEN 'active' WHEN g % 10 < 6 THEN 'expired' WHEN g % 10 < 9
       THEN 'declined' ELSE 'in_review' END,
  CAST(:today AS date) - CAST(g * 7907 % 730 AS integer), '[]'::json, now(), now()
FROM generate_series(CAST(1 AS bigint), :n) AS g
"""

PROMISES_SQL = """
INSERT INTO collection_promise (
  id, loan_id, idempotency_key, request_hash, amount, currency, promised_date, status,
  created_on, created_at, created_by, updated_at
)
SELECT gen_random_uuid(), id, 'bench:' || id, repeat('0', 64), 50000, 'CNY',
  CAST(:today AS date) - 3,
  (ARRAY['open', 'kept', 'broken', 'cancelled'])[1 + (abs(hashtext(id::text)) % 4)],
  CAST(:today AS date) - 10, now(), 'bench', now()
FROM loan WHERE status = 'overdue' AND dpd % 4 = 0
"""

DAYS_SQL = """
INSERT INTO ledger_account_day (account_id, day, debits, credits)
SELECT a.id, CAST(:today AS date) - d, 300000000 + d * 1000, 200000000
FROM ledger_account a, generate_series(0, 729) AS d WHERE a.code = :code
"""


def build_book(engine: Any, loans: int) -> dict[str, float]:
    from lendbridge.ledger.chart import load_chart
    from lendbridge.servicing.accounting import PRINCIPAL

    timings: dict[str, float] = {}
    with Session(engine) as session:
        load_chart(session)
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        values = {"today": benchlib.TODAY, "n": loans}
        for name, sql in (("loans", LOANS_SQL), ("applications", APPLICATIONS_SQL)):
            started = time.perf_counter()
            conn.execute(text(sql), values)
            timings[name] = time.perf_counter() - started
        conn.execute(text(PROMISES_SQL), {"today": benchlib.TODAY})
        conn.execute(text(DAYS_SQL), {"today": benchlib.TODAY, "code": PRINCIPAL})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return timings


def run(loans: int, repeat: int) -> dict[str, Any]:
    import pyotp
    from fastapi.testclient import TestClient

    from lendbridge.app import create_app
    from lendbridge.config import Settings
    from lendbridge.identity import catalog, mfa
    from lendbridge.identity.users import create_staff, seed_catalog
    from lendbridge.kit.actor import system_actor
    from lendbridge.kit.crypto import Keyring
    from lendbridge.kit.db import make_engine
    from lendbridge.kit.logging import configure_logging
    from lendbridge.kit.migrate import upgrade

    # A throwaway token secret and keyring for this run's own database (run outside a
    # configured deployment, the application would refuse to start without them).
    os.environ.setdefault("LENDBRIDGE_TOKEN_SECRET", secrets.token_urlsafe(48))
    os.environ.setdefault("LENDBRIDGE_MASTER_KEYS", Keyring.generate().to_env())
    os.environ.setdefault("LENDBRIDGE_RUN_JOBS", "false")
    name = benchlib.db_name("dashboard")
    url = benchlib.create_database(name)
    try:
        engine = make_engine(url)
        upgrade(engine)
        benchlib.start_calendar(engine)
        print(f"\nbuilding a book of {loans:,} loans and {loans:,} applications …")
        timings = build_book(engine, loans)
        print("  " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
        # The application configures the keyring the staff member's secret is encrypted with.
        app = create_app(Settings(database_url=url, log_level="WARNING"), engine=engine)
        configure_logging("WARNING", "console")
        with Session(engine) as session:
            seed_catalog(session)
            size = session.execute(
                text("SELECT pg_size_pretty(pg_total_relation_size('loan'))")
            ).scalar_one()
            readers = sorted(
                r for r, (_, perms) in catalog.ROLES.items() if perms & catalog.READ_ONLY
            )
            user = create_staff(
                session,
                username="bench.dashboard",
                password="bench password 2026",
                roles=tuple(readers),
                by=system_actor("bench"),
            )
            secret, _ = mfa.begin_enrolment(session, user)
            mfa.confirm_enrolment(session, user, pyotp.TOTP(secret).now())
            user.totp_last_step = None
            session.commit()
        print(f"  loan table with indexes: {size}")
        with TestClient(app, raise_server_exceptions=True) as client:
            form = client.get("/staff/login")
            token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post(
                "/staff/login",
                data={
                    "csrf_token": token,
                    "username": "bench.dashboard",
                    "password": "bench password 2026",
                    "totp_code": pyotp.TOTP(secret).now(),
                },
            )
            for _ in range(2):
                assert client.get("/staff").status_code == 200
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                answer = client.get("/staff")
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200
        figures = benchlib.latency_summary(times)
        print(
            f"dashboard at {loans:,} loans: p50 {figures['p50_ms']:.0f} ms, "
            f"p95 {figures['p95_ms']:.0f} ms, max {figures['max_ms']:.0f} ms; target < "
            f"{1000:.0f} ms: {benchlib.verdict(figures['max_ms'] < 1000)}"
        )
        engine.dispose()
        return {"loans": loans, "build_s": timings, "loan_table": size, **figures}
    finally:
        benchlib.drop_database(name)
