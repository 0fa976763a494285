"""The ledger's HTTP API end to end: every route, idempotency, and bad input refused with a
problem document that names the field and writes nothing."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from lendbridge.kit.money import MAX_MINOR_UNITS

V1 = "/v1/ledger"
TABLES = (
    "ledger_entry",
    "ledger_posting",
    "ledger_batch",
    "ledger_hold",
    "ledger_fx_conversion",
    "ledger_account_day",
)
CHART = [
    {"code": "bank", "name": "Bank", "type": "asset", "currency": "CNY"},
    {"code": "wallet", "name": "Wallet", "type": "liability", "currency": "CNY", "min_balance": 0},
    {"code": "income", "name": "Fees", "type": "income", "currency": "CNY"},
    {"code": "bank.usd", "name": "Bank USD", "type": "asset", "currency": "USD"},
    {"code": "fx.cny", "name": "FX position CNY", "type": "equity", "currency": "CNY"},
    {"code": "fx.usd", "name": "FX position USD", "type": "equity", "currency": "USD"},
]
_keys = itertools.count()


def new_key() -> str:
    return f"test-key-{next(_keys)}"


def lines(debit: str, credit: str, amount: Any, currency: str = "CNY") -> list[dict[str, Any]]:
    return [
        {"account": debit, "side": "debit", "amount": amount, "currency": currency},
        {"account": credit, "side": "credit", "amount": amount, "currency": currency},
    ]


def entry(debit: str = "bank", credit: str = "wallet", amount: Any = 10_000, **extra: Any) -> dict:
    return {"postings": lines(debit, credit, amount), **extra}


def assert_problem(
    response: Any, status: int, *, field: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem document with the status, naming ``field`` when given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    for key in ("type", "title", "status", "detail", "code", "errors", "request_id"):
        assert key in body, body
    assert body["status"] == status
    assert body["type"].endswith(body["code"])
    assert body["request_id"] == response.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        fields = [e["field"] for e in body["errors"]]
        assert field in fields, body
        assert all(e["message"] for e in body["errors"])
    return body


@pytest.fixture
def api(client: TestClient) -> TestClient:
    for account in CHART:
        response = client.post(f"{V1}/accounts", json=account)
        assert response.status_code == 201, response.text
    return client


def post_entry(api: TestClient, body: dict[str, Any], key: str | None = None) -> Any:
    return api.post(f"{V1}/entries", json=body, headers={"Idempotency-Key": key or new_key()})


def fund(api: TestClient, amount: int, account: str = "wallet") -> dict[str, Any]:
    response = post_entry(api, entry("bank", account, amount))
    assert response.status_code == 201, response.text
    return response.json()


def balance(api: TestClient, code: str, **params: str) -> dict[str, Any]:
    response = api.get(f"{V1}/accounts/{code}/balance", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def snapshot(api: TestClient, engine: Engine) -> Callable[[], dict[str, Any]]:
    """Row counts of every ledger table, account totals and the trial balance."""

    def take() -> dict[str, Any]:
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
            totals = conn.execute(
                text(
                    "SELECT code, status, debits_posted, credits_posted, debits_pending, "
                    "credits_pending FROM ledger_account ORDER BY code"
                )
            ).all()
        trial = api.get(f"{V1}/trial-balance")
        assert trial.status_code == 200
        return {"counts": counts, "accounts": [tuple(r) for r in totals], "tb": trial.json()}

    return take


@pytest.fixture
def funded(api: TestClient) -> TestClient:
    """The chart with 1,000 in the wallet, so "nothing changed" is not trivially true."""
    fund(api, 1_000)
    return api


@pytest.fixture
def unchanged(funded: TestClient, snapshot: Callable[[], dict[str, Any]]) -> Iterator[None]:
    """Asserts at the end of the test that nothing was written."""
    before = snapshot()
    yield
    assert snapshot() == before


# --- accounts -----------------------------------------------------------------------------


def test_open_read_and_list_accounts(api: TestClient) -> None:
    got = api.get(f"{V1}/accounts/wallet")
    assert got.status_code == 200
    assert got.json()["normal_side"] == "credit"
    assert got.json()["min_balance"] == 0
    assert got.json()["status"] == "open"
    again = api.post(f"{V1}/accounts", json=CHART[1])
    assert again.status_code == 201
    assert again.json() == got.json()

    first = api.get(f"{V1}/accounts", params={"limit": 4}).json()
    rest = api.get(f"{V1}/accounts", params={"limit": 4, "after": first[-1]["code"]}).json()
    codes = [a["code"] for a in first + rest]
    assert codes == sorted(a["code"] for a in CHART)


def test_account_conflicts_and_unknown_codes(api: TestClient) -> None:
    assert_problem(
        api.post(f"{V1}/accounts", json={**CHART[0], "name": "Other bank"}),
        409,
        code="ledger.duplicate_account",
    )
    assert_problem(api.get(f"{V1}/accounts/nope"), 404, code="ledger.account_not_found")
    assert_problem(api.get(f"{V1}/accounts/nope/balance"), 404)
    assert_problem(api.get(f"{V1}/accounts/nope/statement"), 404)
    assert_problem(
        api.post(f"{V1}/accounts", json={**CHART[0], "code": "x", "currency": "cny"}),
        422,
        field="currency",
    )
    assert_problem(
        api.post(f"{V1}/accounts", json={**CHART[0], "code": "x", "min_balance": 5}),
        422,
        field="min_balance",
    )
    assert_problem(
        api.post(f"{V1}/accounts", json={**CHART[0], "code": "x", "type": "cash"}),
        422,
        field="type",
    )


def test_frozen_and_closed_accounts_refuse_postings(
    api: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    fund(api, 5_000)
    frozen = api.post(f"{V1}/accounts/wallet/status", json={"status": "frozen"})
    assert frozen.status_code == 200
    assert frozen.json()["status"] == "frozen"
    before = snapshot()
    assert_problem(
        post_entry(api, entry("bank", "wallet", 100)),
        409,
        field="postings.1.account",
        code="ledger.account_not_open",
    )
    hold = {"debit_account": "wallet", "credit_account": "bank", "amount": 1, "currency": "CNY"}
    assert_problem(
        api.post(f"{V1}/holds", json=hold, headers={"Idempotency-Key": new_key()}),
        409,
        field="debit_account",
    )
    assert snapshot() == before

    assert api.post(f"{V1}/accounts/wallet/status", json={"status": "open"}).status_code == 200
    assert post_entry(api, entry("wallet", "bank", 5_000)).status_code == 201

    # Closing needs a zero balance; closed is final.
    assert_problem(
        api.post(f"{V1}/accounts/bank.usd/status", json={"status": "bogus"}), 422, field="status"
    )
    assert api.post(f"{V1}/accounts/wallet/status", json={"status": "closed"}).status_code == 200
    assert_problem(post_entry(api, entry("bank", "wallet", 1)), 409, field="postings.1.account")
    assert_problem(
        api.post(f"{V1}/accounts/wallet/status", json={"status": "open"}),
        409,
        code="ledger.illegal_status_change",
    )
    fund(api, 10, account="income")
    assert_problem(
        api.post(f"{V1}/accounts/income/status", json={"status": "closed"}),
        409,
        code="ledger.illegal_status_change",
    )


# --- entries --------------------------------------------------------------------------------


def test_post_entry_read_it_back_and_balances(api: TestClient) -> None:
    response = post_entry(api, entry(description="top-up", metadata={"order": 7}), key="k-1")
    assert response.status_code == 201, response.text
    posted = response.json()
    assert posted["idempotency_key"] == "k-1"
    assert posted["effective_date"] == "2026-01-15"
    assert [(p["account"], p["side"], p["amount"]) for p in posted["postings"]] == [
        ("bank", "debit", 10_000),
        ("wallet", "credit", 10_000),
    ]
    assert api.get(f"{V1}/entries/{posted['id']}").json() == posted
    assert balance(api, "wallet")["balance"] == 10_000
    assert balance(api, "bank")["balance"] == 10_000
    assert balance(api, "wallet")["available"] == 10_000
    assert_problem(
        api.get(f"{V1}/entries/0190b7c8-7d4a-7000-8000-000000000000"),
        404,
        code="ledger.entry_not_found",
    )
    assert_problem(api.get(f"{V1}/entries/not-a-uuid"), 422, field="entry_id")


def test_idempotent_replay_writes_nothing(
    api: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    first = post_entry(api, entry(description="once"), key="pay-1")
    assert first.status_code == 201
    before = snapshot()
    again = post_entry(api, entry(description="once"), key="pay-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert snapshot() == before


def test_same_key_different_body_is_a_conflict_naming_the_fields(
    api: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    assert post_entry(api, entry(description="once"), key="pay-2").status_code == 201
    before = snapshot()
    body = assert_problem(
        post_entry(api, entry(amount=10_001, description="twice"), key="pay-2"),
        409,
        code="idempotency_key_reused",
    )
    fields = {e["field"] for e in body["errors"]}
    assert {"postings", "description"} <= fields
    assert snapshot() == before


def test_key_of_a_refused_request_stays_usable(
    api: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    before = snapshot()
    assert_problem(post_entry(api, entry(amount=0), key="retry-me"), 422)
    assert_problem(post_entry(api, entry(debit="ghost"), key="retry-me"), 422)
    assert_problem(post_entry(api, entry("wallet", "bank", 1), key="retry-me"), 409)
    assert snapshot() == before
    ok = post_entry(api, entry(), key="retry-me")
    assert ok.status_code == 201
    assert ok.json()["idempotency_key"] == "retry-me"


BAD_ENTRIES: list[tuple[str, Any, str]] = [
    ("unknown account", entry(debit="ghost"), "postings.0.account"),
    ("currency mismatch", {"postings": lines("bank", "income", 5, "USD")}, "postings.0.currency"),
    (
        "unbalanced",
        {"postings": [lines("bank", "wallet", 5)[0], lines("bank", "wallet", 4)[1]]},
        "postings",
    ),
    ("zero amount", entry(amount=0), "postings.0.amount"),
    ("negative amount", entry(amount=-5), "postings.0.amount"),
    ("amount past 2^63", entry(amount=2**63), "postings.0.amount"),
    ("huge amount", entry(amount=10**30), "postings.0.amount"),
    ("float amount", entry(amount=100.0), "postings.0.amount"),
    ("fractional amount", entry(amount=100.5), "postings.0.amount"),
    ("string amount", entry(amount="100"), "postings.0.amount"),
    ("boolean amount", entry(amount=True), "postings.0.amount"),
    ("null amount", entry(amount=None), "postings.0.amount"),
    (
        "total past 2^63",
        {
            "postings": [
                {"account": "bank", "side": "debit", "amount": MAX_MINOR_UNITS, "currency": "CNY"},
                {"account": "bank", "side": "debit", "amount": 1, "currency": "CNY"},
                {
                    "account": "wallet",
                    "side": "credit",
                    "amount": MAX_MINOR_UNITS,
                    "currency": "CNY",
                },
                {"account": "wallet", "side": "credit", "amount": 1, "currency": "CNY"},
            ]
        },
        "postings",
    ),
    ("one posting", {"postings": lines("bank", "wallet", 5)[:1]}, "postings"),
    ("no postings", {"postings": []}, "postings"),
    ("postings missing", {"description": "x"}, "postings"),
    ("postings not a list", {"postings": {"account": "bank"}}, "postings"),
    (
        "bad side",
        {"postings": [{**lines("bank", "wallet", 5)[0], "side": "left"}]},
        "postings.0.side",
    ),
    ("lower-case currency", {"postings": lines("bank", "wallet", 5, "cny")}, "postings.0.currency"),
    ("unknown field", entry(colour="red"), "colour"),
    (
        "unknown posting field",
        {"postings": [{**lines("bank", "wallet", 5)[0], "x": 1}]},
        "postings.0.x",
    ),
    ("impossible date", entry(effective_date="2026-02-30"), "effective_date"),
    ("month 13", entry(effective_date="2026-13-01"), "effective_date"),
    ("date as number", entry(effective_date=0), "effective_date"),
    ("date as timestamp string", entry(effective_date="1768435200"), "effective_date"),
    ("date with time", entry(effective_date="2026-01-15T00:00:00"), "effective_date"),
    ("local date format", entry(effective_date="15/01/2026"), "effective_date"),
    ("description too long", entry(description="x" * 501), "description"),
    ("metadata not an object", entry(metadata=[1, 2]), "metadata"),
    ("bad event type", entry(event_type="Not Valid"), "event_type"),
    ("body is a list", [entry()], "body"),
    ("body is a string", "postings", "body"),
]


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in BAD_ENTRIES], ids=[c[0] for c in BAD_ENTRIES]
)
def test_bad_entry_is_refused_naming_the_field(
    funded: TestClient, unchanged: None, body: Any, field: str
) -> None:
    response = funded.post(
        f"{V1}/entries",
        content=json.dumps(body),
        headers={"Idempotency-Key": new_key(), "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422, field=field)
    assert problem["detail"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "field"),
    [
        ('{"postings": [', {}, 422, "body"),
        ("{'postings': []}", {}, 422, "body"),
        ("", {}, 422, "body"),
        ("null", {}, 422, "body"),
        (json.dumps(entry()), {"Idempotency-Key": None}, 422, "Idempotency-Key"),
        (json.dumps(entry()), {"Idempotency-Key": "has space"}, 422, "Idempotency-Key"),
        (json.dumps(entry()), {"Idempotency-Key": "k" * 201}, 422, "Idempotency-Key"),
        (json.dumps(entry()), {"Idempotency-Key": ""}, 422, "Idempotency-Key"),
    ],
    ids=[
        "truncated JSON",
        "single quotes",
        "empty body",
        "null body",
        "no idempotency key",
        "key with space",
        "key too long",
        "empty key",
    ],
)
def test_malformed_requests(
    funded: TestClient,
    snapshot: Callable[[], dict[str, Any]],
    content: str,
    headers: dict[str, str | None],
    status: int,
    field: str,
) -> None:
    before = snapshot()
    sent = {"Content-Type": "application/json", "Idempotency-Key": new_key(), **headers}
    sent = {k: v for k, v in sent.items() if v is not None}
    response = funded.post(f"{V1}/entries", content=content, headers=sent)
    assert_problem(response, status, field=field)
    assert snapshot() == before


def test_oversized_bodies_are_refused_with_and_without_content_length(
    funded: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    limit = funded.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    body = json.dumps(entry(description="x" * (limit + 10))).encode()
    before = snapshot()
    with_length = funded.post(
        f"{V1}/entries",
        content=body,
        headers={"Idempotency-Key": new_key(), "Content-Type": "application/json"},
    )
    assert "content-length" in {k.lower() for k in with_length.request.headers}
    assert_problem(with_length, 413, field="body", code="payload_too_large")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    chunked = funded.post(
        f"{V1}/entries",
        content=chunks(),
        headers={"Idempotency-Key": new_key(), "Content-Type": "application/json"},
    )
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in {k.lower() for k in chunked.request.headers}
    assert_problem(chunked, 413, field="body")
    assert snapshot() == before


def test_balance_limit_refuses_overdraft(
    funded: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    before = snapshot()
    body = assert_problem(
        post_entry(funded, entry("wallet", "bank", 1_001)),
        409,
        field="postings",
        code="ledger.balance_limit_exceeded",
    )
    assert "wallet" in body["detail"]
    assert snapshot() == before
    assert post_entry(funded, entry("wallet", "bank", 1_000)).status_code == 201
    assert balance(funded, "wallet")["balance"] == 0


def test_account_total_past_64_bits_is_refused_naming_the_posting(
    api: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    assert post_entry(api, entry("bank", "income", MAX_MINOR_UNITS)).status_code == 201
    before = snapshot()
    body = assert_problem(post_entry(api, entry("bank", "income", 1)), 422)
    assert body["code"] == "ledger.amount_overflow"
    assert snapshot() == before
    # The refusal must say which posting overflowed, like every other refusal does.
    assert any(e["field"].startswith("postings.") for e in body["errors"]), body


# --- batches and reversals ----------------------------------------------------------------


def test_batch_is_all_or_nothing_and_idempotent(
    api: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    batch = {"entries": [entry(amount=300), entry("wallet", "income", 100)]}
    first = api.post(f"{V1}/batches", json=batch, headers={"Idempotency-Key": "b-1"})
    assert first.status_code == 201, first.text
    assert len(first.json()["entries"]) == 2
    assert {e["batch_id"] for e in first.json()["entries"]} == {first.json()["id"]}
    assert balance(api, "wallet")["balance"] == 200

    before = snapshot()
    again = api.post(f"{V1}/batches", json=batch, headers={"Idempotency-Key": "b-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert_problem(
        api.post(
            f"{V1}/batches", json={"entries": [entry(amount=1)]}, headers={"Idempotency-Key": "b-1"}
        ),
        409,
        field="entries",
        code="idempotency_key_reused",
    )
    bad = {"entries": [entry(amount=5), entry(debit="ghost")]}
    assert_problem(
        api.post(f"{V1}/batches", json=bad, headers={"Idempotency-Key": "b-2"}),
        422,
        field="entries.1.postings.0.account",
    )
    overdraw = {"entries": [entry(amount=5), entry("wallet", "bank", 1_000)]}
    assert_problem(
        api.post(f"{V1}/batches", json=overdraw, headers={"Idempotency-Key": "b-3"}),
        409,
        field="entries.1.postings",
    )
    assert_problem(
        api.post(f"{V1}/batches", json={"entries": []}, headers={"Idempotency-Key": "b-4"}),
        422,
        field="entries",
    )
    assert snapshot() == before


def test_reversal_mirrors_once(api: TestClient, snapshot: Callable[[], dict[str, Any]]) -> None:
    posted = fund(api, 700)
    url = f"{V1}/entries/{posted['id']}/reverse"
    reversed_ = api.post(url, json={"description": "typo"}, headers={"Idempotency-Key": "r-1"})
    assert reversed_.status_code == 201, reversed_.text
    mirror = reversed_.json()
    assert mirror["reverses_id"] == posted["id"]
    assert [(p["account"], p["side"], p["amount"]) for p in mirror["postings"]] == [
        ("bank", "credit", 700),
        ("wallet", "debit", 700),
    ]
    assert balance(api, "wallet")["balance"] == 0
    before = snapshot()
    replay = api.post(url, json={"description": "typo"}, headers={"Idempotency-Key": "r-1"})
    assert replay.status_code == 201
    assert replay.json()["id"] == mirror["id"]
    assert_problem(
        api.post(url, headers={"Idempotency-Key": "r-2"}), 409, code="ledger.already_reversed"
    )
    missing = f"{V1}/entries/0190b7c8-7d4a-7000-8000-000000000000/reverse"
    assert_problem(api.post(missing, headers={"Idempotency-Key": "r-3"}), 404)
    assert_problem(
        api.post(url, json={"effective_date": "yesterday"}, headers={"Idempotency-Key": "r-4"}),
        422,
        field="effective_date",
    )
    assert_problem(api.post(url), 422, field="Idempotency-Key")
    assert snapshot() == before


# --- holds ----------------------------------------------------------------------------------


def place_hold(api: TestClient, amount: int, **extra: Any) -> Any:
    body = {
        "debit_account": "wallet",
        "credit_account": "income",
        "amount": amount,
        "currency": "CNY",
        **extra,
    }
    return api.post(f"{V1}/holds", json=body, headers={"Idempotency-Key": new_key()})


def test_hold_partial_post_once(funded: TestClient, snapshot: Callable[[], dict[str, Any]]) -> None:
    placed = place_hold(funded, 600, expires_at="2100-01-01T00:00:00+08:00")
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert hold["status"] == "pending"
    assert funded.get(f"{V1}/holds/{hold['id']}").json() == hold
    wallet = balance(funded, "wallet")
    assert (wallet["balance"], wallet["available"], wallet["debits_pending"]) == (1_000, 400, 600)

    url = f"{V1}/holds/{hold['id']}"
    key = {"Idempotency-Key": new_key()}
    assert_problem(
        funded.post(f"{url}/post", json={"amount": 601}, headers=key),
        422,
        field="amount",
        code="ledger.hold_amount_exceeded",
    )
    assert_problem(funded.post(f"{url}/post", json={"amount": 0}, headers=key), 422, field="amount")
    posted = funded.post(f"{url}/post", json={"amount": 450}, headers=key)
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "posted"
    assert posted.json()["posted_amount"] == 450
    wallet = balance(funded, "wallet")
    assert (wallet["balance"], wallet["available"], wallet["debits_pending"]) == (550, 550, 0)
    entry_id = posted.json()["entry_id"]
    assert funded.get(f"{V1}/entries/{entry_id}").json()["hold_id"] == hold["id"]

    before = snapshot()
    same = funded.post(f"{url}/post", json={"amount": 450}, headers=key)
    assert same.status_code == 200
    assert same.json() == posted.json()
    assert_problem(
        funded.post(f"{url}/post", json={"amount": 100}, headers={"Idempotency-Key": new_key()}),
        409,
        code="ledger.hold_not_pending",
    )
    assert_problem(
        funded.post(f"{url}/void", headers={"Idempotency-Key": new_key()}),
        409,
        code="ledger.hold_not_pending",
    )
    assert snapshot() == before


def test_hold_void_once(funded: TestClient, snapshot: Callable[[], dict[str, Any]]) -> None:
    hold = place_hold(funded, 300).json()
    url = f"{V1}/holds/{hold['id']}"
    voided = funded.post(f"{url}/void", headers={"Idempotency-Key": new_key()})
    assert voided.status_code == 200
    assert voided.json()["status"] == "voided"
    assert balance(funded, "wallet")["available"] == 1_000
    before = snapshot()
    again = funded.post(f"{url}/void", headers={"Idempotency-Key": new_key()})
    assert again.status_code == 200
    assert again.json() == voided.json()
    assert_problem(
        funded.post(f"{url}/post", headers={"Idempotency-Key": new_key()}),
        409,
        code="ledger.hold_not_pending",
    )
    assert snapshot() == before


def test_full_post_without_body_and_hold_refusals(
    funded: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    hold = place_hold(funded, 1_000).json()
    before = snapshot()
    assert_problem(place_hold(funded, 1), 409, field="amount", code="ledger.balance_limit_exceeded")
    assert_problem(place_hold(funded, 0), 422, field="amount")
    assert_problem(place_hold(funded, 5, currency="USD"), 422, field="currency")
    assert_problem(place_hold(funded, 5, debit_account="ghost"), 422, field="debit_account")
    assert_problem(
        place_hold(funded, 5, expires_at="2020-01-01T00:00:00Z"), 422, field="expires_at"
    )
    assert_problem(place_hold(funded, 5, expires_at="2100-01-01T00:00:00"), 422, field="expires_at")
    assert_problem(place_hold(funded, 5, expires_at=4102444800), 422, field="expires_at")
    assert_problem(place_hold(funded, 5, credit_account="wallet"), 422, field="credit_account")
    missing = f"{V1}/holds/0190b7c8-7d4a-7000-8000-000000000000"
    assert_problem(funded.get(missing), 404, code="ledger.hold_not_found")
    assert_problem(funded.post(f"{missing}/void", headers={"Idempotency-Key": "v"}), 404)
    assert_problem(funded.post(f"{V1}/holds/{hold['id']}/void"), 422, field="Idempotency-Key")
    assert snapshot() == before
    posted = funded.post(f"{V1}/holds/{hold['id']}/post", headers={"Idempotency-Key": new_key()})
    assert posted.status_code == 200
    assert posted.json()["posted_amount"] == 1_000
    assert balance(funded, "income")["balance"] == 1_000


# --- reads ----------------------------------------------------------------------------------


def test_statement_pages_cover_every_posting_once_with_running_balance(api: TestClient) -> None:
    amounts = [(i * 37) % 500 + 1 for i in range(23)]
    for i, amount in enumerate(amounts):
        if i % 5 == 4:
            assert post_entry(api, entry("wallet", "bank", amount)).status_code == 201
        else:
            assert post_entry(api, entry("bank", "wallet", amount)).status_code == 201
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = api.get(f"{V1}/accounts/wallet/statement", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["lines"]) <= 4
        seen.extend(body["lines"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 6
    ids = [line["posting_id"] for line in seen]
    assert len(ids) == len(set(ids)) == len(amounts)
    assert ids == sorted(ids)
    running = 0
    for i, (line, amount) in enumerate(zip(seen, amounts, strict=True)):
        running += -amount if i % 5 == 4 else amount
        assert line["amount"] == amount
        assert line["balance_after"] == running
    assert running == balance(api, "wallet")["balance"]


def test_statement_refuses_bad_cursor_and_limits(api: TestClient) -> None:
    url = f"{V1}/accounts/wallet/statement"
    for cursor in ("garbage!", "eDo1", "cDp4", "x" * 101):
        assert_problem(api.get(url, params={"cursor": cursor}), 422, field="cursor")
    assert_problem(api.get(url, params={"limit": 0}), 422, field="limit")
    assert_problem(api.get(url, params={"limit": 501}), 422, field="limit")
    assert_problem(api.get(url, params={"limit": "ten"}), 422, field="limit")
    assert_problem(api.get(url, params={"from": "2026-02-31"}), 422, field="from")
    assert_problem(api.get(url, params={"to": "0"}), 422, field="to")


def test_as_of_balances_and_trial_balance(api: TestClient) -> None:
    fund(api, 1_000)  # dated today, 2026-01-15
    dated = post_entry(api, entry(amount=50, effective_date="2026-01-10"))
    assert dated.status_code == 201
    assert (
        post_entry(api, entry("wallet", "income", 30, effective_date="2026-01-12")).status_code
        == 201
    )
    assert balance(api, "wallet", as_of="2026-01-09")["balance"] == 0
    assert balance(api, "wallet", as_of="2026-01-10")["balance"] == 50
    assert balance(api, "wallet", as_of="2026-01-12")["balance"] == 20
    assert balance(api, "wallet", as_of="2026-01-15")["balance"] == 1_020
    assert balance(api, "wallet")["balance"] == 1_020
    assert balance(api, "wallet", as_of="2026-01-12")["as_of"] == "2026-01-12"

    tb = api.get(f"{V1}/trial-balance").json()
    assert tb["totals"] == [{"currency": "CNY", "debit": 1_050, "credit": 1_050, "balanced": True}]
    by_account = {line["account"]: (line["debit"], line["credit"]) for line in tb["lines"]}
    assert by_account == {"bank": (1_050, 0), "income": (0, 30), "wallet": (0, 1_020)}
    earlier = api.get(f"{V1}/trial-balance", params={"as_of": "2026-01-11"}).json()
    assert earlier["totals"] == [{"currency": "CNY", "debit": 50, "credit": 50, "balanced": True}]
    assert api.get(f"{V1}/trial-balance", params={"currency": "USD"}).json()["totals"] == []

    for params in ({"as_of": "0"}, {"as_of": "2026-1-5"}, {"as_of": "tomorrow"}):
        assert_problem(api.get(f"{V1}/trial-balance", params=params), 422, field="as_of")
        assert_problem(api.get(f"{V1}/accounts/wallet/balance", params=params), 422, field="as_of")
    assert_problem(
        api.get(f"{V1}/trial-balance", params={"currency": "usd"}), 422, field="currency"
    )


# --- currency exchange ----------------------------------------------------------------------


def fx(api: TestClient, key: str, **overrides: Any) -> Any:
    body = {
        "source_account": "bank",
        "target_account": "bank.usd",
        "source_fx_account": "fx.cny",
        "target_fx_account": "fx.usd",
        "source_amount": 71_234,
        "rate": "0.14",
        **overrides,
    }
    return api.post(f"{V1}/fx-conversions", json=body, headers={"Idempotency-Key": key})


def test_fx_conversion_is_two_linked_entries(
    api: TestClient, snapshot: Callable[[], dict[str, Any]]
) -> None:
    fund(api, 100_000)
    done = fx(api, "fx-1")
    assert done.status_code == 201, done.text
    out = done.json()
    assert (out["source_currency"], out["target_currency"]) == ("CNY", "USD")
    assert out["source_entry"]["link_id"] == out["target_entry"]["link_id"]
    assert balance(api, "bank.usd")["balance"] == 9_973  # 712.34 * 0.14 = 99.7276 -> 99.73
    assert balance(api, "bank")["balance"] == 100_000 - 71_234
    tb = api.get(f"{V1}/trial-balance").json()
    assert all(t["balanced"] for t in tb["totals"])

    before = snapshot()
    assert fx(api, "fx-1").json() == out
    assert_problem(fx(api, "fx-2", rate=0.14), 422, field="rate")
    assert_problem(fx(api, "fx-2", rate="abc"), 422, field="rate")
    assert_problem(fx(api, "fx-2", rate="1e3"), 422, field="rate")
    assert_problem(fx(api, "fx-2", rate="0"), 422, field="rate")
    assert_problem(fx(api, "fx-2", source_amount=10.5), 422, field="source_amount")
    assert_problem(fx(api, "fx-2", target_account="ghost"), 422, field="target_account")
    assert_problem(fx(api, "k" * 201), 422, field="Idempotency-Key")
    assert snapshot() == before
    longest = fx(api, "k" * 200, source_amount=100)  # the derived ":source" key still fits
    assert longest.status_code == 201, longest.text


# --- request ids ----------------------------------------------------------------------------


def test_request_id_is_echoed_or_generated(api: TestClient) -> None:
    mine = api.get(f"{V1}/accounts/bank", headers={"X-Request-ID": "req-123.abc"})
    assert mine.headers["x-request-id"] == "req-123.abc"
    generated = api.get(f"{V1}/accounts/bank")
    assert len(generated.headers["x-request-id"]) == 32
    invalid = api.get(f"{V1}/accounts/bank", headers={"X-Request-ID": "bad id\twith spaces"})
    assert invalid.headers["x-request-id"] != "bad id\twith spaces"
    problem = api.get(f"{V1}/accounts/ghost", headers={"X-Request-ID": "trace-42"})
    assert assert_problem(problem, 404)["request_id"] == "trace-42"


def test_an_unknown_query_parameter_is_refused_by_name(api):
    response = api.get(f"{V1}/accounts", params={"limt": 5})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.limt"
    assert api.get(f"{V1}/accounts", params={"limit": 5}).status_code == 200


def test_a_query_parameter_given_twice_is_refused_by_name(api):
    response = api.get(f"{V1}/accounts", params=[("limit", "5"), ("limit", "500")])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.limit"


def test_nul_characters_are_refused_by_field_on_every_database(api):
    body = {"code": "9999.1", "name": "bad\u0000name", "type": "asset", "currency": "CNY"}
    response = api.post(f"{V1}/accounts", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    query = api.get(f"{V1}/accounts", params={"owner_type": "x\u0000"})
    assert query.status_code == 422
    assert query.json()["errors"][0]["field"] == "owner_type"


def test_changes_to_the_books_are_audited_with_their_actor(api, engine):
    posted = post_entry(api, entry(), key="audited-1")
    assert posted.status_code == 201
    me = api.get("/v1/me").json()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, actor_id, actor_role, target_id FROM audit_record "
                "WHERE action LIKE 'ledger.%' ORDER BY seq"
            )
        ).all()
    actions = [r.action for r in rows]
    assert actions.count("ledger.open_account") == len(CHART)  # the api fixture's chart
    assert actions[-1] == "ledger.post_entry"
    assert rows[-1].actor_id == me["user_id"]
    assert rows[-1].target_id == posted.json()["id"]
