"""`ledger check`: a consistent ledger passes, a corrupted cache is pinpointed."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from lendbridge.ledger import service
from lendbridge.ledger.check import Mismatch, check_ledger, counts
from lendbridge.ledger.models import AccountType
from lendbridge.ledger.schemas import HoldIn, ReverseIn
from tests.conftest import TODAY
from tests.ledger import factories as f


def busy_ledger(session):
    """Entries on several days, a reversal, a posted, a voided and a pending hold, FX."""
    f.basic_chart(session)
    f.account(session, "usd-bank", AccountType.ASSET, currency="USD")
    f.account(session, "fx-cny", AccountType.ASSET)
    f.account(session, "fx-usd", AccountType.ASSET, currency="USD")
    f.transfer(session, "bank", "wallet", 100_000, effective_date=TODAY.replace(day=10))
    f.transfer(session, "receivable", "income", 5_000, effective_date=TODAY.replace(day=11))
    wrong = f.transfer(session, "receivable", "income", 1_234)
    service.reverse_entry(session, wrong.id, ReverseIn())
    holds = [
        service.place_hold(
            session,
            HoldIn(debit_account="wallet", credit_account="bank", amount=n, currency="CNY"),
        )
        for n in (10_000, 20_000, 30_000)
    ]
    service.post_hold(session, holds[0].id)
    service.void_hold(session, holds[1].id)
    service.convert_currency(
        session,
        source_account="bank",
        target_account="usd-bank",
        source_amount=50_000,
        rate=Decimal("0.14"),
        source_fx_account="fx-cny",
        target_fx_account="fx-usd",
    )
    session.commit()


def kinds(report):
    return {(m.kind, m.where, m.field) for m in report.mismatches}


def test_a_consistent_ledger_passes(session):
    busy_ledger(session)
    report = check_ledger(session)
    assert report.ok, report.mismatches
    assert report.pending_holds == 1
    assert report.postings == counts(session).postings > 0


def test_an_empty_ledger_passes(session):
    assert check_ledger(session).ok


def test_a_corrupted_posted_total_is_pinpointed(session):
    busy_ledger(session)
    session.execute(
        text("UPDATE ledger_account SET debits_posted = debits_posted + 7 WHERE code = 'bank'")
    )
    session.commit()
    report = check_ledger(session)
    assert not report.ok
    posted = [m for m in report.mismatches if m.kind == "posted total"]
    assert len(posted) == 1
    assert (posted[0].where, posted[0].field) == ("account bank", "debits_posted")
    assert posted[0].found - posted[0].expected == 7
    # The cached totals no longer balance over the ledger either; the postings still do.
    assert ("ledger", "account totals in CNY", "credits") in kinds(report)
    assert not any(m.where == "postings in CNY" for m in report.mismatches)


def test_a_corrupted_pending_total_is_pinpointed(session):
    busy_ledger(session)
    session.execute(
        text("UPDATE ledger_account SET credits_pending = credits_pending + 5 WHERE code = 'bank'")
    )
    session.commit()
    report = check_ledger(session)
    assert kinds(report) == {("pending total", "account bank", "credits_pending")}
    assert report.mismatches[0].found - report.mismatches[0].expected == 5


def test_a_corrupted_day_bucket_is_pinpointed(session):
    busy_ledger(session)
    session.execute(
        text(
            "UPDATE ledger_account_day SET credits = credits + 3 WHERE day = :day AND "
            "account_id = (SELECT id FROM ledger_account WHERE code = 'income')"
        ),
        {"day": TODAY.replace(day=11)},
    )
    session.commit()
    report = check_ledger(session)
    assert kinds(report) == {
        ("day bucket", f"account income on {TODAY.replace(day=11)}", "credits")
    }


def test_mismatch_reads_as_a_sentence():
    line = str(Mismatch("posted total", "account bank", "debits_posted", 10, 17))
    assert line == "posted total: account bank debits_posted is 17, recomputed 10 (off by 7)"
