"""Masks for personal data in API responses, pages and logs (110105********002X, 138****5678).

Every function is total: short or odd input is masked entirely rather than shown, and nothing
raises on a value, since a mask runs while a response is rendered and an exception there would
either fail the request or tempt a fallback to the clear value. Whether the caller's role may
see the clear value is the caller's decision (``mask_value(..., reveal=True)``), made in one
place per response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, overload

MaskKind = Literal["resident_id", "phone", "bank_card", "name", "email", "address"]

MASK = "*"
# At least this many characters are hidden when the ends of a value are shown; below it the
# visible ends would give most of the value away, so all of it is masked.
MIN_HIDDEN = 4
# Separators people type inside numbers ("138 1234 5678", "6222-0212-…"); masked output is
# given without them.
_NUMBER_SEPARATORS = str.maketrans("", "", " -\t\u3000")


def _ends(value: str, head: int, tail: int) -> str:
    """Show ``head`` and ``tail`` characters and mask the rest, keeping the length (so the
    format stays recognisable), or mask everything when too little would be hidden."""
    hidden = len(value) - head - tail
    if hidden < MIN_HIDDEN:
        return MASK * len(value)
    return value[:head] + MASK * hidden + value[len(value) - tail :]


def _number(value: str) -> str:
    return value.strip().translate(_NUMBER_SEPARATORS)


def mask_resident_id(value: str) -> str:
    """Resident identity card number (居民身份证号): first 6 (the region) and last 4 shown,
    ``11010519491231002X`` -> ``110105********002X``."""
    return _ends(_number(value), 6, 4)


def mask_phone(value: str) -> str:
    """Mobile number: first 3 (the carrier prefix) and last 4 shown,
    ``13812345678`` -> ``138****5678``."""
    return _ends(_number(value), 3, 4)


def mask_bank_card(value: str) -> str:
    """Bank card number: first 6 (the issuer, BIN) and last 4 shown,
    ``6222021234561234`` -> ``622202******1234``."""
    return _ends(_number(value), 6, 4)


def mask_name(value: str) -> str:
    """Personal name: the first character (usually the surname) shown, every other character
    masked, ``张三`` -> ``张*``, ``欧阳娜娜`` -> ``欧***``; a one-character name -> ``*``."""
    name = value.strip()
    if len(name) < 2:
        return MASK * len(name)
    return name[0] + MASK * (len(name) - 1)


def mask_email(value: str) -> str:
    """E-mail: the first character of the local part and the domain shown, the rest replaced
    by a fixed ``***`` (which also hides the local part's length),
    ``alice@example.com`` -> ``a***@example.com``. Without an ``@`` it is all masked."""
    email = value.strip()
    local, at, domain = email.rpartition("@")
    if not at:
        return MASK * len(email)
    shown = local[0] if len(local) >= 2 else ""
    return f"{shown}***@{domain}"


def mask_address(value: str) -> str:
    """Postal address: the first 6 characters (province, city, district) then ``****``,
    ``北京市朝阳区建国路88号`` -> ``北京市朝阳区****``; a shorter address shows at most
    half of itself."""
    address = value.strip()
    if not address:
        return ""
    return address[: min(6, len(address) // 2)] + MASK * 4


_MASKS: dict[str, Callable[[str], str]] = {
    "resident_id": mask_resident_id,
    "phone": mask_phone,
    "bank_card": mask_bank_card,
    "name": mask_name,
    "email": mask_email,
    "address": mask_address,
}


@overload
def mask_value(kind: MaskKind, value: str, *, reveal: bool = False) -> str: ...
@overload
def mask_value(kind: MaskKind, value: None, *, reveal: bool = False) -> None: ...
def mask_value(kind: MaskKind, value: str | None, *, reveal: bool = False) -> str | None:
    """Mask ``value`` as a ``kind`` of personal data, or return it as it is when ``reveal``
    (the caller's role needs the clear value). ``None`` stays ``None``. An unknown kind is a
    programming error and raises ``ValueError``."""
    mask = _MASKS.get(kind)
    if mask is None:
        raise ValueError(f"unknown kind of personal data {kind!r}; one of {sorted(_MASKS)}")
    if value is None or reveal:
        return value
    return mask(value)
