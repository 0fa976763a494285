"""``POST /v1/schedules/preview``: public, integer minor units, problem details naming the
field for every refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lendbridge.app import create_app
from lendbridge.config import Settings

URL = "/v1/schedules/preview"


@pytest.fixture(scope="module")
def anonymous() -> Iterator[TestClient]:
    """No token: the calculator is public, and it needs no database."""
    app = create_app(Settings(database_url="sqlite://", log_format="console"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def body(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "principal": 28_000_000,
        "annual_rate_percent": "8.4",
        "term": 20,
        "start": "2024-01-31",
    }
    values.update(changes)
    return values


def test_preview_without_signing_in(anonymous: TestClient) -> None:
    response = anonymous.post(URL, json=body())
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["currency"] == "CNY"
    rows = out["installments"]
    assert [r["total"] for r in rows[:19]] == [1_505_172] * 19
    assert rows[0]["due_date"] == "2024-02-29"
    assert rows[-1]["balance"] == 0
    assert out["total_interest"] == 2_103_445
    assert (out["apr"], out["ear"]) == ("8.4000", "8.7311")


def test_preview_with_every_field(anonymous: TestClient) -> None:
    response = anonymous.post(
        URL,
        json=body(
            principal=1_000_000,
            annual_rate_percent="12",
            term=12,
            currency="CNY",
            frequency="biweekly",
            method="flat",
            day_count="30/360",
            interest_period="daily",
            principal_grace=1,
            interest_grace=1,
            upfront_fee_fixed=10_000,
            upfront_fee_percent="1",
            upfront_fee_deducted=False,
            installment_fee_fixed=100,
            installment_fee_percent="0.05",
        ),
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["upfront_fee"] == 20_000
    assert out["disbursed"] == 1_000_000
    assert out["installments"][0]["fee"] == 600
    assert out["installments"][0]["interest"] == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"principal": 0}, "principal"),
        ({"principal": "100"}, "principal"),
        ({"principal": 1.5}, "principal"),
        ({"annual_rate_percent": 8.4}, "annual_rate_percent"),
        ({"annual_rate_percent": "1e3"}, "annual_rate_percent"),
        ({"term": 601}, "term"),
        ({"term": 4000, "frequency": "single"}, "term"),
        ({"principal_grace": 20}, "principal_grace"),
        ({"method": "bullet", "principal_grace": 1}, "principal_grace"),
        ({"installment_multiple": 100, "method": "flat"}, "installment_multiple"),
        ({"upfront_fee_fixed": 28_000_000}, "upfront_fee_fixed"),
        ({"upfront_fee_percent": "101"}, "upfront_fee_percent"),
        ({"start": "2024-02-30"}, "start"),
        ({"start": "9999-01-01"}, "term"),
        ({"frequency": "daily"}, "frequency"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_refusals_are_problems_naming_the_field(
    anonymous: TestClient, changes: dict[str, object], field: str
) -> None:
    response = anonymous.post(URL, json=body(**changes))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert [e["field"] for e in problem["errors"]] == [field]


def test_the_largest_request_stays_cheap_and_bounded(anonymous: TestClient) -> None:
    response = anonymous.post(
        URL,
        json=body(
            principal=2**63 - 1,
            annual_rate_percent="999.999999",
            term=600,
            frequency="weekly",
            interest_period="daily",
            day_count="ACT/ACT",
        ),
    )
    # Interest that large cannot be stored: refused, never a 500.
    assert response.status_code == 422
    small = anonymous.post(
        URL,
        json=body(principal=100, annual_rate_percent="999.999999", term=600, frequency="weekly"),
    )
    assert small.status_code == 200, small.text
    assert len(small.json()["installments"]) == 600


def test_signed_in_callers_may_use_it_too(client: TestClient) -> None:
    assert client.post(URL, json=body()).status_code == 200
