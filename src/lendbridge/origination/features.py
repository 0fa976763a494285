"""The credit model's inputs from an application: the characteristics the application
itself answers (amount, term, age) and the others the applicant gave in ``features``.

Completeness is checked against the champion's own characteristics, so a lender whose model
reads other columns needs no code change: the application must give every characteristic
the model reads (a missing one would score as "missing" and cost points silently), nothing
the model does not know, and for a categorical characteristic one of the categories the
model was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lendbridge.kit.errors import FieldError, ValidationFailed
from lendbridge.kit.money import to_major
from lendbridge.scoring.cleaning import clean_category
from lendbridge.scoring.loaded import ModelInput

MAX_LISTED = 12  # categories named in an error message


@dataclass(frozen=True, slots=True)
class Answers:
    """What the application says of itself, in the units the model was trained in."""

    amount: int  # fen
    currency: str
    term: int
    age: int


# Characteristic name -> how the application answers it. German credit's names; a lender's
# own model with other names is answered entirely from ``features``.
def _major(answers: Answers) -> int | str:
    """The amount in yuan: a whole number as such, else its exact decimal text (stored in
    the application's JSON, which holds no ``Decimal``)."""
    value = to_major(answers.amount, answers.currency)
    return int(value) if value == value.to_integral_value() else str(value)


DERIVED: Mapping[str, Callable[[Answers], int | str]] = {
    "credit_amount": _major,
    "duration_in_month": lambda a: a.term,
    "age_in_years": lambda a: a.age,
}
DERIVED_FROM = {"credit_amount": "amount", "duration_in_month": "term", "age_in_years": "age"}


def model_features(
    inputs: list[ModelInput], given: Mapping[str, int | str], answers: Answers
) -> dict[str, int | str]:
    """The model's input row, or a refusal naming every field at fault (``features.X``)."""
    errors: list[FieldError] = []
    known = {i.name: i for i in inputs}
    for name in sorted(set(given) - set(known)):
        errors.append(FieldError(f"features.{name}", "is not a characteristic of the model"))
    row: dict[str, int | str] = {}
    for item in inputs:
        derive = DERIVED.get(item.name)
        if derive is not None:
            if item.name in given:
                errors.append(
                    FieldError(
                        f"features.{item.name}",
                        f"comes from the application's {DERIVED_FROM[item.name]}; leave it out",
                    )
                )
            row[item.name] = derive(answers)
            continue
        if item.name not in given:
            errors.append(FieldError(f"features.{item.name}", "is required by the credit model"))
            continue
        problem = _check(item, given[item.name])
        if problem:
            errors.append(FieldError(f"features.{item.name}", problem))
        row[item.name] = given[item.name]
    if errors:
        raise ValidationFailed(
            f"the application does not give the credit model what it needs "
            f"({len(errors)} field{'s' if len(errors) > 1 else ''})",
            errors,
        )
    return row


def _check(item: ModelInput, value: object) -> str | None:
    if item.numeric:
        if isinstance(value, bool) or not isinstance(value, int | str):
            return "must be a number"
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return "must be a number"
        return None if number.is_finite() else "must be a finite number"
    if not isinstance(value, str):
        return "must be one of the model's categories (a string)"
    if item.categories and clean_category(value) not in item.categories:
        shown = "; ".join(item.categories[:MAX_LISTED])
        hidden = len(item.categories) - MAX_LISTED
        more = f" (and {hidden} more)" if hidden > 0 else ""
        return f"must be one of: {shown}{more}"
    return None
