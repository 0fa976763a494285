"""Request and response bodies of real-name verification, consents and user look-up."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from lendbridge.identity.schemas import PhoneText, SmsCode
from lendbridge.kit.schemas import StrictModel

NameText = Annotated[str, Field(min_length=1, max_length=50, examples=["张伟"])]


class IdentityIn(StrictModel):
    name: NameText
    resident_id: Annotated[
        str, Field(min_length=15, max_length=24, examples=["110105199003071239"])
    ]


class IdentityOut(BaseModel):
    name: str = Field(description="Masked.")
    resident_id: str = Field(description="Masked.")
    kyc_level: str
    verified_at: dt.datetime


class BankCardIn(StrictModel):
    card_number: Annotated[str, Field(min_length=12, max_length=30)]
    reserved_mobile: PhoneText
    step_up_code: SmsCode | None = Field(
        default=None, description="Needed to replace a bound card: an SMS code (change_bank_card)."
    )


class BankCardOut(BaseModel):
    id: uuid.UUID
    card: str = Field(description="Masked card number.")
    bank_code: str
    bank_name: str
    card_type: str | None
    status: str
    bound_at: dt.datetime


class EnterpriseIn(StrictModel):
    name: Annotated[str, Field(min_length=2, max_length=200)]
    uscc: Annotated[str, Field(min_length=18, max_length=24)]
    legal_representative: NameText


class EnterpriseOut(BaseModel):
    id: uuid.UUID
    name: str
    uscc: str
    legal_representative: str = Field(description="Masked.")
    verified_at: dt.datetime


class StepUpIn(StrictModel):
    purpose: Literal["sign_contract", "change_bank_card"]


class AgreementOut(BaseModel):
    code: str
    version: int
    title: str
    body: str
    body_sha256: str
    published_at: dt.datetime


class ConsentIn(StrictModel):
    agreement_code: Annotated[str, Field(min_length=1, max_length=48)]
    version: Annotated[int, Field(ge=1, le=1_000_000)]


class ConsentOut(BaseModel):
    id: uuid.UUID
    agreement_code: str
    version: int
    accepted_at: dt.datetime
    withdrawn_at: dt.datetime | None


class UserOut(BaseModel):
    id: uuid.UUID
    kind: str
    username: str | None
    phone: str | None = Field(description="Masked.")
    name: str | None = Field(description="Masked.")
    resident_id: str | None = Field(description="Masked.")
    status: str
    kyc_level: str
    roles: list[str]


class RevealIn(StrictModel):
    fields: list[Literal["phone", "name", "resident_id", "email", "address"]] = Field(
        min_length=1, max_length=5
    )
    reason: Annotated[str, Field(min_length=5, max_length=500)]


class RevealOut(BaseModel):
    values: dict[str, str | None] = Field(description="Clear values; this read is audited.")


class UserSearchIn(StrictModel):
    phone: PhoneText | None = None
    resident_id: Annotated[str | None, Field(min_length=15, max_length=24)] = None


class StaffIn(StrictModel):
    username: Annotated[
        str, Field(min_length=3, max_length=64, pattern=r"^[a-z][a-z0-9_.-]{2,63}$")
    ]
    password: Annotated[str, Field(min_length=1, max_length=128)]
    roles: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1, max_length=5, description="Granted at once; later grants need a checker."
    )


class UserStatusIn(StrictModel):
    active: bool


class ContactIn(StrictModel):
    email: Annotated[
        str | None,
        Field(
            max_length=200,
            pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$",
            examples=["li.na@example.com"],
        ),
    ] = None
    address: Annotated[str | None, Field(min_length=4, max_length=200)] = None


class ContactOut(BaseModel):
    email: str | None = Field(description="Masked.")
    address: str | None = Field(description="Masked.")
