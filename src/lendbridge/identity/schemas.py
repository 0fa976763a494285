"""Identity request and response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from lendbridge.kit.schemas import StrictModel

Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[a-z][a-z0-9_.-]{2,63}$")]
Password = Annotated[str, Field(min_length=1, max_length=128)]
OneTimeCodeText = Annotated[str, Field(min_length=6, max_length=12, pattern=r"^[0-9 ]{6,12}$")]


class StaffSignIn(StrictModel):
    username: Username
    password: Password
    totp_code: OneTimeCodeText | None = Field(
        default=None, description="From the authenticator app, or one unused recovery code."
    )


class RefreshIn(StrictModel):
    refresh_token: Annotated[str, Field(min_length=20, max_length=200)]


class TokensOut(BaseModel):
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    access_token: str
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    refresh_expires_at: dt.datetime
    session_id: uuid.UUID
    user_id: uuid.UUID
    roles: list[str]
    mfa_enrolment_required: bool = Field(
        description="Staff without an enrolled authenticator: the token only allows enrolling."
    )


class MfaEnrolmentOut(BaseModel):
    secret: str = Field(description="Base32 TOTP secret, shown once.")
    otpauth_uri: str


class MfaConfirmIn(StrictModel):
    code: OneTimeCodeText


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Single-use; shown once. Store them safely.")


class MeOut(BaseModel):
    user_id: uuid.UUID
    kind: str
    username: str | None
    phone: str | None = Field(description="Masked.")
    roles: list[str]
    permissions: list[str]
    kyc_level: str
    mfa_enabled: bool


PhoneText = Annotated[
    str,
    Field(
        min_length=11,
        max_length=20,
        description="Mainland mobile number; +86, spaces and dashes are accepted.",
        examples=["13812345678"],
    ),
]
SmsCode = Annotated[str, Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


class CodeRequest(StrictModel):
    phone: PhoneText


class CodeSent(BaseModel):
    sent: bool = True
    expires_in: int = Field(description="Seconds the code stays valid.")


class RegisterIn(StrictModel):
    phone: PhoneText
    code: SmsCode
    password: Password
    kind: Literal["borrower", "investor"] = "borrower"


class CustomerSignIn(StrictModel):
    phone: PhoneText
    password: Password


class SignInEventOut(BaseModel):
    at: dt.datetime
    client_address: str | None
    region: str | None
    device_id: str | None
    outcome: str
