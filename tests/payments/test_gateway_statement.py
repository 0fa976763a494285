"""Statement files and fees of the simulated gateway."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from lendbridge.payments.gateway.config import FeeSchedule
from lendbridge.payments.gateway.server import RunningGateway
from lendbridge.payments.gateway.statement import (
    COLUMNS,
    major_units,
    mask_account,
    render,
    write_statement,
)
from lendbridge.payments.gateway.testkit import SignedClient, wait_until
from lendbridge.payments.gateway.testkit import sample_order_json as order_body

pytest_plugins = ["tests.payments.gateway_fixtures"]

DAY = dt.date(2026, 1, 15)
SHANGHAI_MIDNIGHT = dt.datetime(2026, 1, 15, 16, 30, tzinfo=dt.UTC)  # 00:30 on the 16th there


def _rows(client: SignedClient, day: dt.date) -> list[dict[str, str]]:
    response = client.get(f"/v1/statements/{day.isoformat()}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.mark.parametrize(
    ("fees", "amount", "fee"),
    [
        (FeeSchedule(bps=Decimal(20)), 250, 1),  # 0.5 fen rounds half up
        (FeeSchedule(bps=Decimal(20)), 249, 0),  # 0.498 fen rounds down
        (FeeSchedule(bps=Decimal(20)), 1_250, 3),  # 2.5 -> 3, not banker's 2
        (FeeSchedule(bps=Decimal("2.5")), 1_000_000, 250),
        (FeeSchedule(fixed=50, bps=Decimal(10)), 12_345, 62),  # 50 + 12.345 -> 62
        (FeeSchedule(fixed=50, bps=Decimal(10), maximum=1_000), 10_000_000, 1_000),
        (FeeSchedule(bps=Decimal(10), minimum=200), 100, 200),
        (FeeSchedule(), 2**63 - 1, 0),
    ],
)
def test_fees_are_integer_minor_units_rounded_half_up(
    fees: FeeSchedule, amount: int, fee: int
) -> None:
    assert fees.fee(amount) == fee


def test_fee_schedules_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="negative"):
        FeeSchedule(fixed=-1)
    with pytest.raises(ValueError, match="maximum"):
        FeeSchedule(minimum=10, maximum=5)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("6222021234561234", "6222****1234"),
        ("622202123456123456", "6222****3456"),
        ("62220212", "****0212"),
        ("1234", "****"),
    ],
)
def test_accounts_are_masked(number: str, masked: str) -> None:
    assert mask_account(number) == masked


def test_amounts_print_in_major_units_with_the_currency_decimals() -> None:
    assert major_units(123_456, "CNY") == "1234.56"
    assert major_units(100, "CNY") == "1.00"
    assert major_units(5, "CNY") == "0.05"
    assert major_units(0, "CNY") == "0.00"
    assert major_units(1_234, "JPY") == "1234"


def test_the_statement_lists_what_moved_money_on_the_trade_date(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_trade_date(DAY)
    signed_client.post_order(order_body("P1", amount=123_456))
    signed_client.post_order(order_body("C1", amount=100, direction="collect"))
    sim_gateway.set_faults(failure_rates={"INSUFFICIENT_FUNDS": 1.0})
    signed_client.post_order(order_body("F1"))  # failed: moved nothing, not listed
    rows = _rows(signed_client, DAY)
    assert [row["order_no"] for row in rows] == ["P1", "C1"]
    first = rows[0]
    assert tuple(first) == COLUMNS
    assert first["trade_date"] == "2026-01-15"
    assert first["amount"] == "1234.56"
    assert first["fee"] == "1.73"  # 0.50 + 0.1 % of 1234.56 = 1.73456 -> 1.73
    assert first["currency"] == "CNY"
    assert first["status"] == "SUCCESS"
    assert first["direction"] == "pay"
    assert first["account"] == "6222****1234"
    assert first["channel_ref"] == sim_gateway.order("P1").channel_ref  # type: ignore[union-attr]
    assert dt.datetime.fromisoformat(first["completed_at"]).utcoffset() == dt.timedelta(hours=8)
    assert (rows[1]["direction"], rows[1]["amount"], rows[1]["fee"]) == ("collect", "1.00", "0.50")
    assert _rows(signed_client, DAY + dt.timedelta(days=1)) == []


def test_a_reversal_is_a_line_of_its_own_on_its_trade_date(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_trade_date(DAY)
    signed_client.post_order(order_body("P1"))
    sim_gateway.set_trade_date(DAY + dt.timedelta(days=1))
    httpx.post(f"{sim_gateway.base_url}/admin/orders/P1/reverse").raise_for_status()
    (success,) = _rows(signed_client, DAY)
    (reversal,) = _rows(signed_client, DAY + dt.timedelta(days=1))
    assert success["status"] == "SUCCESS"  # a closed day's statement does not change
    assert (reversal["status"], reversal["amount"], reversal["fee"]) == (
        "REVERSED",
        "123.45",
        "0.00",
    )
    assert reversal["channel_ref"] == success["channel_ref"]


def test_each_merchant_sees_only_its_own_lines(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_trade_date(DAY)
    signed_client.post_order(order_body("P1"))
    other = SignedClient(
        sim_gateway.base_url, "M0002", sim_gateway.gateway.config.merchants["M0002"]
    )
    other.post_order(order_body("Q1"))
    assert [row["order_no"] for row in _rows(other, DAY)] == ["Q1"]
    assert [row["order_no"] for row in _rows(signed_client, DAY)] == ["P1"]


def test_fees_can_change_at_runtime(sim_gateway: RunningGateway, signed_client: SignedClient):
    sim_gateway.set_trade_date(DAY)
    answer = httpx.post(f"{sim_gateway.base_url}/admin/fees", json={"fixed": 200, "bps": "1.5"})
    assert answer.json() == {"fixed": 200, "bps": "1.5", "minimum": 0, "maximum": None}
    signed_client.post_order(order_body("P1", amount=1_000_000))
    assert _rows(signed_client, DAY)[0]["fee"] == "3.50"  # 2.00 + 1.50
    refused = httpx.post(f"{sim_gateway.base_url}/admin/fees", json={"bps": 1.5})
    assert refused.status_code == 400  # a float is never taken for money


def test_the_trade_date_follows_the_clock_in_shanghai(sim_gateway: RunningGateway) -> None:
    from lendbridge.kit import clock

    with clock.use_clock(clock.fixed(SHANGHAI_MIDNIGHT)):
        assert sim_gateway.gateway.trade_date() == dt.date(2026, 1, 16)
        answer = httpx.post(f"{sim_gateway.base_url}/admin/trade-date", json={"trade_date": None})
        assert answer.json() == {"trade_date": "2026-01-16"}
    answer = httpx.post(
        f"{sim_gateway.base_url}/admin/trade-date", json={"trade_date": "2026-02-01"}
    )
    assert answer.json() == {"trade_date": "2026-02-01"}


def test_statement_requests_are_signed_and_dated(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    assert signed_client.get("/v1/statements/2026-13-01").status_code == 400
    forged = SignedClient(sim_gateway.base_url, sim_gateway.merchant_id, b"guess")
    assert forged.get("/v1/statements/2026-01-15").status_code == 401


def test_a_long_statement_streams_in_chunks_and_writes_to_a_file(
    sim_gateway: RunningGateway, signed_client: SignedClient, tmp_path: Path
) -> None:
    sim_gateway.set_trade_date(DAY)
    for index in range(3):
        signed_client.post_order(order_body(f"P{index}"))
    wait_until(lambda: sim_gateway.stats()["executions"] == 3)
    entries = sim_gateway.gateway.book.statement(DAY)
    chunks = list(render(DAY, entries * 400, sim_gateway.gateway.tz))  # 1,200 lines
    assert len(chunks) == 3
    assert b"".join(chunks).count(b"\r\n") == 1_201
    path = tmp_path / "statement.csv"
    written = sim_gateway.write_statement(path, DAY)
    assert written == path.stat().st_size
    assert write_statement(tmp_path / "same.csv", DAY, entries, sim_gateway.gateway.tz) == written
    fetched = signed_client.get(f"/v1/statements/{DAY.isoformat()}").content
    assert path.read_bytes() == fetched
