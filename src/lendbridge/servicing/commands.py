"""``lendbridge schedule``: a repayment plan, its total interest, APR and effective annual
rate, from the command line. Pure calculation: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lendbridge.kit.errors import ValidationFailed
from lendbridge.kit.money import minor_digits, to_major
from lendbridge.servicing.schedule import (
    DayCount,
    Frequency,
    InterestPeriod,
    Method,
    Schedule,
    Terms,
    apr,
    build_schedule,
)
from lendbridge.servicing.schemas import schedule_out

console = Console(highlight=False, soft_wrap=True)

# The engine names its fields; the command's options carry the user's words for them.
_OPTION_OF = {
    "annual_rate_percent": "--annual-rate",
    "upfront_fee_fixed": "--upfront-fee",
    "installment_fee_fixed": "--installment-fee",
    "upfront_fee_deducted": "--upfront-fee-paid",
}


def _minor_units(text: str, currency: str, option: str, *, zero_ok: bool) -> int:
    """A major-unit decimal string ("5000.00") as exact minor units; never through float."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a decimal number", param_hint=option) from None
    minor = value.scaleb(minor_digits(currency)) if value.is_finite() else value
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise typer.BadParameter(
            f"{text!r} is not an amount of {currency} (at most {minor_digits(currency)} "
            "decimal places)",
            param_hint=option,
        )
    if minor < 0 or (minor == 0 and not zero_ok):
        raise typer.BadParameter(f"{text!r} must be {'≥' if zero_ok else '>'} 0", param_hint=option)
    return int(minor)


def _percent(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a decimal number", param_hint=option) from None
    if not value.is_finite():
        raise typer.BadParameter(f"{text!r} is not a finite number", param_hint=option)
    return value


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def schedule_command(
    principal: Annotated[
        str, typer.Option(help="Amount lent in major units, a decimal string, e.g. 5000.00.")
    ],
    annual_rate: Annotated[str, typer.Option(help="Annual interest rate in percent, e.g. 12.")],
    term: Annotated[int, typer.Option(help="Number of installments; single: days.")],
    frequency: Annotated[Frequency, typer.Option(help="Repayment frequency.")],
    method: Annotated[Method, typer.Option(help="Amortisation method.")],
    start: Annotated[str, typer.Option(help="Disbursement date, YYYY-MM-DD.")],
    day_count: Annotated[
        DayCount, typer.Option(case_sensitive=False, help="Day-count convention.")
    ] = DayCount.ACT_365F,
    interest_period: Annotated[
        InterestPeriod,
        typer.Option(help="Interest per repayment period (rate / periods a year) or daily."),
    ] = InterestPeriod.REPAYMENT,
    principal_grace: Annotated[
        int, typer.Option(help="Leading installments of interest only.")
    ] = 0,
    interest_grace: Annotated[
        int, typer.Option(help="Leading periods whose interest is waived.")
    ] = 0,
    installment_multiple: Annotated[
        str | None,
        typer.Option(
            help="equal_installment: round the installment to this many major units (1 = "
            "whole yuan). Default: the minor unit."
        ),
    ] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    upfront_fee: Annotated[
        str, typer.Option(help="Upfront fee, major units (deducted unless --upfront-fee-paid).")
    ] = "0",
    upfront_fee_percent: Annotated[
        str, typer.Option(help="Upfront fee, percent of the principal.")
    ] = "0",
    upfront_fee_paid: Annotated[
        bool, typer.Option("--upfront-fee-paid", help="The borrower pays it at the start.")
    ] = False,
    installment_fee: Annotated[str, typer.Option(help="Fee per installment, major units.")] = "0",
    installment_fee_percent: Annotated[
        str, typer.Option(help="Fee per installment, percent of the principal.")
    ] = "0",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print a repayment schedule with its total interest, APR and effective annual rate.
    Amounts are in major units on input; --json prints integer minor units."""
    currency = currency.upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise typer.BadParameter(f"{currency!r} is not an ISO 4217 code", param_hint="--currency")
    multiple = (
        1
        if installment_multiple is None
        else _minor_units(installment_multiple, currency, "--installment-multiple", zero_ok=False)
    )
    try:
        terms = Terms(
            principal=_minor_units(principal, currency, "--principal", zero_ok=False),
            currency=currency,
            annual_rate_percent=_percent(annual_rate, "--annual-rate"),
            term=term,
            frequency=frequency,
            method=method,
            start=_date(start, "--start"),
            day_count=day_count,
            interest_period=interest_period,
            principal_grace=principal_grace,
            interest_grace=interest_grace,
            installment_multiple=multiple,
            upfront_fee_fixed=_minor_units(upfront_fee, currency, "--upfront-fee", zero_ok=True),
            upfront_fee_percent=_percent(upfront_fee_percent, "--upfront-fee-percent"),
            upfront_fee_deducted=not upfront_fee_paid,
            installment_fee_fixed=_minor_units(
                installment_fee, currency, "--installment-fee", zero_ok=True
            ),
            installment_fee_percent=_percent(installment_fee_percent, "--installment-fee-percent"),
        )
        schedule = build_schedule(terms)
    except ValidationFailed as refusal:
        field = refusal.errors[0].field if refusal.errors else "principal"
        option = _OPTION_OF.get(field, "--" + field.replace("_", "-"))
        message = refusal.errors[0].message if refusal.errors else refusal.detail
        raise typer.BadParameter(message, param_hint=option) from None
    rates = apr(schedule)
    if as_json:
        typer.echo(schedule_out(schedule, rates).model_dump_json(indent=2))
        return
    _print(schedule, str(rates.apr), str(rates.ear))


def _print(schedule: Schedule, annual: str, effective: str) -> None:
    currency = schedule.terms.currency

    def money(amount: int) -> str:
        return f"{to_major(amount, currency):,.{minor_digits(currency)}f}"

    t = schedule.terms
    table = Table(
        title=f"Repayment schedule / 还款计划: {money(t.principal)} {currency}, "
        f"{t.annual_rate_percent} % a year, {t.method.value}, {t.frequency.value}"
    )
    table.add_column("No.", justify="right")
    table.add_column("Due date")
    for column in ("Principal", "Interest", "Fee", "Total", "Balance"):
        table.add_column(column, justify="right")
    for row in schedule.installments:
        table.add_row(
            str(row.number),
            row.due_date.isoformat(),
            money(row.principal),
            money(row.interest),
            money(row.fee),
            money(row.total),
            money(row.balance),
        )
    console.print(table)
    console.print(f"total interest:  {money(schedule.total_interest)} {currency}")
    console.print(f"total fees:      {money(schedule.total_fees)} {currency}")
    console.print(f"total repayment: {money(schedule.total_repayment)} {currency}")
    console.print(f"disbursed:       {money(schedule.disbursed)} {currency}")
    console.print(f"APR (IRR basis): {annual} %")
    console.print(f"effective annual rate: {effective} %")
