"""``lendbridge schedule``: the table, the JSON form, and refusals that name the option."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lendbridge.cli import app

BASE = [
    "schedule",
    "--principal",
    "5000.00",
    "--annual-rate",
    "12",
    "--term",
    "18",
    "--frequency",
    "monthly",
    "--method",
    "equal_installment",
    "--start",
    "2022-11-01",
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_prints_the_plan_with_totals_and_rates(runner: CliRunner) -> None:
    result = runner.invoke(app, BASE)
    assert result.exit_code == 0, result.output
    assert "2022-12-01" in result.stdout
    assert "304.91" in result.stdout  # the level payment
    assert "304.94" in result.stdout  # the last installment absorbs the rounding
    assert "total interest:  488.41 CNY" in result.stdout
    assert "APR (IRR basis): 12.0006 %" in result.stdout
    assert "effective annual rate: 12.6831 %" in result.stdout


def test_json_is_integer_minor_units_and_decimal_strings(runner: CliRunner) -> None:
    result = runner.invoke(app, [*BASE, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    first = body["installments"][0]
    assert first == {
        "number": 1,
        "due_date": "2022-12-01",
        "principal": 25_491,
        "interest": 5_000,
        "fee": 0,
        "total": 30_491,
        "balance": 474_509,
    }
    assert len(body["installments"]) == 18
    assert body["installments"][-1]["balance"] == 0
    assert body["total_interest"] == 48_841
    assert (body["apr"], body["ear"]) == ("12.0006", "12.6831")


def test_every_option(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        [
            *BASE[:-3],
            "equal_principal",
            "--start",
            "2024-01-31",
            "--day-count",
            "act/act",
            "--interest-period",
            "daily",
            "--principal-grace",
            "2",
            "--interest-grace",
            "1",
            "--upfront-fee",
            "50",
            "--installment-fee-percent",
            "0.1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    rows = body["installments"]
    assert rows[0]["due_date"] == "2024-02-29"
    assert rows[0]["interest"] == 0  # waived
    assert [r["principal"] for r in rows[:2]] == [0, 0]
    assert {r["fee"] for r in rows} == {500}
    assert body["upfront_fee"] == 5_000
    assert body["disbursed"] == 495_000


def test_installment_multiple_in_major_units(runner: CliRunner) -> None:
    result = runner.invoke(app, [*BASE, "--installment-multiple", "1", "--json"])
    assert result.exit_code == 0, result.output
    totals = [r["total"] for r in json.loads(result.stdout)["installments"]]
    assert set(totals[:-1]) == {30_500}


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        (["--principal", "5000.001"], "--principal"),
        (["--principal", "abc"], "--principal"),
        (["--principal", "-1"], "--principal"),
        (["--annual-rate", "NaN"], "--annual-rate"),
        (["--annual-rate", "5000"], "--annual-rate"),
        (["--start", "2022-13-01"], "--start"),
        (["--term", "0"], "--term"),
        (["--principal-grace", "18"], "--principal-grace"),
        (["--installment-multiple", "0"], "--installment-multiple"),
        (["--upfront-fee", "5000"], "--upfront-fee"),
        (["--currency", "C1"], "--currency"),
    ],
)
def test_bad_input_names_the_option(runner: CliRunner, changes: list[str], option: str) -> None:
    args = list(BASE)
    for name, value in zip(changes[::2], changes[1::2], strict=True):
        if name in args:
            args[args.index(name) + 1] = value
        else:
            args += [name, value]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}" in result.output


def test_unknown_method_is_refused(runner: CliRunner) -> None:
    args = list(BASE)
    args[args.index("--method") + 1] = "balloon"
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--method" in result.output
