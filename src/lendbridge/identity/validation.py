"""Pure validation of Chinese identity data for real-name verification (实名认证, KYC).

- :func:`normalize_mobile` — a mainland mobile number (11 digits, ``1[3-9]…``), with or
  without ``+86`` / ``0086`` / ``86``, spaces and dashes.
- :func:`parse_resident_id` — an 18-digit resident identity number (居民身份证号码, GB 11643):
  the check digit, the birth date (a real date, not after the business date), the region code
  (the first six digits, looked up in python-stdnum's administrative-division table) and the
  sex (the 17th digit: odd is male).
- :func:`parse_uscc` — a Unified Social Credit Code (统一社会信用代码, GB 32100) and its check
  character.
- :func:`parse_bank_card` — a bank card number: 12–19 digits, the Luhn check, and the issuing
  bank from the BIN table shipped in ``data/card_bins.csv`` (longest prefix wins; an unknown
  BIN is accepted with bank ``unknown``).
- :func:`normalize_name` — a personal name: Chinese (with the middle dot of minority and
  transliterated names, 阿依古丽·买买提) or Latin.

Nothing here touches a database or reads the clock: the business date is passed in. Input is
normalised the way people type it (full-width digits, spaces, dashes, a lowercase ``x``).
Every rejection is a :class:`~lendbridge.kit.errors.ValidationFailed` subclass with its own
stable code, carrying one :class:`~lendbridge.kit.errors.FieldError`; messages say what is
wrong without repeating the number, so they can be logged.

Region codes: python-stdnum's own ``validate`` also requires the county code to have existed
in the birth year. Numbers are assigned when a person is first registered, often years after
birth (everyone born before 1984 was numbered later; 天河区 440106 dates from 1985 and
numbers many people born before it), so that rule would turn real customers away. Here a
code is accepted when stdnum's table knows it and it was still in use in or after the birth
year; a code withdrawn before the person was born, or absent from the table, is rejected.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Literal

from stdnum import luhn, numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

from lendbridge.kit.errors import ValidationFailed, field_error

# --- errors -----------------------------------------------------------------------------


class InvalidMobile(ValidationFailed):
    code = "identity.invalid_mobile"
    title = "The mobile number is not a mainland China mobile number"


class InvalidResidentId(ValidationFailed):
    code = "identity.invalid_resident_id"
    title = "The resident identity number is not valid"


class ResidentIdMalformed(InvalidResidentId):
    code = "identity.resident_id_malformed"
    title = "The resident identity number must be 17 digits and a check digit (0-9 or X)"


class ResidentIdLegacyFormat(InvalidResidentId):
    code = "identity.resident_id_legacy_format"
    title = "15-digit first-generation resident identity numbers are not accepted"


class ResidentIdCheckDigitWrong(InvalidResidentId):
    code = "identity.resident_id_check_digit"
    title = "The check digit of the resident identity number does not match"


class ResidentIdBirthDateImpossible(InvalidResidentId):
    code = "identity.resident_id_birth_date"
    title = "The birth date in the resident identity number is not a real date"


class ResidentIdBirthDateInFuture(InvalidResidentId):
    code = "identity.resident_id_birth_date_in_future"
    title = "The birth date in the resident identity number is in the future"


class ResidentIdRegionUnknown(InvalidResidentId):
    code = "identity.resident_id_region_unknown"
    title = "The region code of the resident identity number is not known"


class InvalidUscc(ValidationFailed):
    code = "identity.invalid_uscc"
    title = "The Unified Social Credit Code is not valid"


class UsccMalformed(InvalidUscc):
    code = "identity.uscc_malformed"
    title = "A Unified Social Credit Code is 18 digits and capital letters"


class UsccCheckCharacterWrong(InvalidUscc):
    code = "identity.uscc_check_character"
    title = "The check character of the Unified Social Credit Code does not match"


class InvalidBankCard(ValidationFailed):
    code = "identity.invalid_bank_card"
    title = "The bank card number is not valid"


class BankCardMalformed(InvalidBankCard):
    code = "identity.bank_card_malformed"
    title = "A bank card number is 12 to 19 digits"


class BankCardCheckDigitWrong(InvalidBankCard):
    code = "identity.bank_card_check_digit"
    title = "The check digit of the bank card number does not match"


class InvalidName(ValidationFailed):
    code = "identity.invalid_name"
    title = "The name is not valid"


# --- shared normalisation ----------------------------------------------------------------

# Dashes people type between digit groups, besides the ASCII hyphen.
_DASHES = "-‐‑‒–—―−﹣－"
_DIGITS = re.compile(r"[0-9]+")


def _compact(value: str) -> str:
    """NFKC (full-width digits and letters become ASCII), without whitespace or dashes."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if not ch.isspace() and ch not in _DASHES)


# --- mobile ------------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalize_mobile(value: str, field: str = "phone") -> str:
    """The 11-digit national number of a mainland China mobile: ``13812345678`` from
    ``13812345678``, ``+86 138 1234 5678``, ``86-138-1234-5678``, ``+8613812345678`` or
    ``0086 138…``. Raises :class:`InvalidMobile`."""
    text = _compact(value).replace("(", "").replace(")", "")
    if not text:
        raise field_error(InvalidMobile, field, "is required")
    if text.startswith("+"):
        if not text.startswith("+86"):
            raise field_error(
                InvalidMobile, field, "only mainland China (+86) mobile numbers are accepted"
            )
        text = text[3:]
    elif text.startswith("0086") and len(text) == 15:
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not _DIGITS.fullmatch(text):
        raise field_error(
            InvalidMobile, field, "may contain only digits, spaces, dashes and a leading +86"
        )
    if len(text) != 11:
        raise field_error(
            InvalidMobile, field, f"a mainland mobile number has 11 digits, got {len(text)}"
        )
    if not _MOBILE.fullmatch(text):
        raise field_error(
            InvalidMobile, field, "a mainland mobile number starts with 13 to 19 (1 then 3-9)"
        )
    return text


# --- resident identity number ------------------------------------------------------------

Sex = Literal["male", "female"]

_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
_PERIOD = re.compile(r"\[(\d{4})?-(\d{4})?\](.+)")


@dataclass(frozen=True, repr=False)
class ResidentId:
    """A checked 18-digit resident identity number and what it encodes.

    ``repr`` shows the number with the birth date masked, so logging the object does not
    leak it whole; use ``number`` where the full value is needed."""

    number: str
    """18 characters, the check digit ``X`` in upper case."""
    birth_date: dt.date
    sex: Sex
    """From the 17th digit: odd is male, even is female."""
    region_code: str
    """The first six digits: the administrative division where the number was assigned."""
    province: str
    """Province-level name, from python-stdnum's table (北京市)."""
    county: str
    """County-level name, from python-stdnum's table (朝阳区); the name in use in the birth
    year where the table records renamings."""

    def age_on(self, on: dt.date) -> int:
        """Age in completed years on ``on`` (pass the business date). The birthday counts
        from its own day; a 29 February birthday counts from 1 March in common years."""
        if on < self.birth_date:
            raise ValueError("the date is before the birth date")
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def masked(self) -> str:
        """The region code and the last four characters, the birth date hidden."""
        return f"{self.number[:6]}********{self.number[-4:]}"

    def __repr__(self) -> str:
        return f"ResidentId({self.masked!r}, sex={self.sex!r}, region_code={self.region_code!r})"


def parse_resident_id(value: str, *, today: dt.date, field: str = "resident_id") -> ResidentId:
    """Check an 18-digit resident identity number (GB 11643) against the business date
    ``today`` and return what it encodes. Spaces, dashes and a lowercase ``x`` are accepted.

    Raises :class:`ResidentIdMalformed`, :class:`ResidentIdLegacyFormat` (15 digits),
    :class:`ResidentIdCheckDigitWrong`, :class:`ResidentIdBirthDateImpossible` (not a real date,
    or before 1900), :class:`ResidentIdBirthDateInFuture` or :class:`ResidentIdRegionUnknown`,
    all subclasses of :class:`InvalidResidentId`."""
    number = _compact(value).upper()
    if not number:
        raise field_error(ResidentIdMalformed, field, "is required")
    if len(number) == 15 and _DIGITS.fullmatch(number):
        raise field_error(
            ResidentIdLegacyFormat,
            field,
            "15-digit first-generation numbers are no longer accepted: enter the 18-digit "
            "number printed on the current resident identity card",
        )
    if len(number) != 18:
        raise field_error(
            ResidentIdMalformed,
            field,
            f"must have 18 characters (17 digits and a check digit), got {len(number)}",
        )
    if not _RESIDENT_ID.fullmatch(number):
        raise field_error(ResidentIdMalformed, field, "must be 17 digits followed by a digit or X")
    if ric.calc_check_digit(number) != number[-1]:
        raise field_error(
            ResidentIdCheckDigitWrong,
            field,
            "the check digit (the last character) does not match the first 17 digits: "
            "check the number for a typing error",
        )
    try:
        birth_date = ric.get_birth_date(number)
    except StdnumValidationError:
        raise field_error(
            ResidentIdBirthDateImpossible,
            field,
            "characters 7 to 14 are not a real birth date (YYYYMMDD)",
        ) from None
    if birth_date < _EARLIEST_BIRTH_DATE:
        raise field_error(
            ResidentIdBirthDateImpossible, field, "the birth date is before the year 1900"
        )
    if birth_date > today:
        raise field_error(
            ResidentIdBirthDateInFuture,
            field,
            f"the birth date is after the business date {today.isoformat()}",
        )
    province, county = _birth_place(number, birth_date.year, field)
    return ResidentId(
        number=number,
        birth_date=birth_date,
        sex="male" if int(number[16]) % 2 else "female",
        region_code=number[:6],
        province=province,
        county=county,
    )


def age_of_verified(number: str, on: dt.date) -> int:
    """Age in completed years on ``on`` of the holder of a number already checked by
    :func:`parse_resident_id` (a stored, verified one): read from characters 7 to 14 alone,
    without the region lookup, which costs milliseconds (decisioning asks on every
    application). The same birthday rule as ``ResidentId.age_on``."""
    birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return ResidentId(number, birth, "male", number[:6], "", "").age_on(on)


def _birth_place(number: str, birth_year: int, field: str) -> tuple[str, str]:
    """Province and county names for the region code (see the module docstring)."""
    try:
        info = ric.get_birth_place(number)
        return info["province"], info["county"]
    except (StdnumValidationError, KeyError):
        pass  # unknown, or not in use in the birth year: decided below
    region = number[:6]
    info = {
        key: text for _, props in numdb.get("cn/loc").info(region) for key, text in props.items()
    }
    province, counties = info.get("province"), info.get("county")
    if not province or not counties:
        raise field_error(
            ResidentIdRegionUnknown,
            field,
            f"the first six digits ({region}) are not a known administrative division code",
        )
    # Each part is "name" or "[start-end]name" (either year may be missing).
    in_use_later: list[tuple[int, str]] = []
    last_end = 0
    for part in counties.split(","):
        match = _PERIOD.fullmatch(part)
        if match is None:
            return province, part
        start, end, name = match.groups()
        if end is None or int(end) >= birth_year:
            in_use_later.append((int(start) if start else 0, name))
        else:
            last_end = max(last_end, int(end))
    if not in_use_later:
        raise field_error(
            ResidentIdRegionUnknown,
            field,
            f"the region code {region} was withdrawn in {last_end}, before the birth year",
        )
    return province, min(in_use_later)[1]


# --- Unified Social Credit Code ----------------------------------------------------------

_USCC = re.compile(r"[0-9]{8}[0-9ABCDEFGHJKLMNPQRTUWXY]{10}")


def parse_uscc(value: str, field: str = "uscc") -> str:
    """The 18-character Unified Social Credit Code (GB 32100), upper case, its check
    character verified with python-stdnum. Raises :class:`UsccMalformed` or
    :class:`UsccCheckCharacterWrong` (both :class:`InvalidUscc`)."""
    code = _compact(value).upper()
    if not code:
        raise field_error(UsccMalformed, field, "is required")
    if len(code) != 18:
        raise field_error(UsccMalformed, field, f"must have 18 characters, got {len(code)}")
    if not _USCC.fullmatch(code):
        raise field_error(
            UsccMalformed,
            field,
            "the first 8 characters must be digits and the other 10 digits or capital letters "
            "other than I, O, S, V and Z",
        )
    if uscc.calc_check_digit(code) != code[-1]:
        raise field_error(
            UsccCheckCharacterWrong,
            field,
            "the check character (the last one) does not match the first 17: check the code "
            "for a typing error",
        )
    return code


# --- bank card ---------------------------------------------------------------------------

CardType = Literal["debit", "credit"]
UNKNOWN_BANK = "unknown"
_BIN = re.compile(r"[0-9]{4,10}")
_CARD_TYPES: tuple[CardType, ...] = ("debit", "credit")


@dataclass(frozen=True)
class BinEntry:
    """One row of ``data/card_bins.csv``."""

    bin: str
    bank_code: str
    bank_name: str
    card_type: CardType


@dataclass(frozen=True, repr=False)
class BankCard:
    """A checked bank card number and its issuer.

    When the BIN is not in the table the card is still valid: ``bank_code`` and ``bank_name``
    are ``"unknown"``, ``card_type`` and ``bin`` are ``None`` and ``bin_matched`` is false.
    ``repr`` masks the number."""

    number: str
    """Digits only."""
    bank_code: str
    bank_name: str
    card_type: CardType | None
    bin: str | None
    """The table prefix that matched (the longest one)."""

    @property
    def bin_matched(self) -> bool:
        return self.bin is not None

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def masked(self) -> str:
        """First six and last four digits, the rest hidden (as card receipts print it)."""
        return f"{self.number[:6]}{'*' * (len(self.number) - 10)}{self.number[-4:]}"

    def __repr__(self) -> str:
        return f"BankCard({self.masked!r}, bank_code={self.bank_code!r})"


@functools.cache
def card_bins() -> Mapping[str, BinEntry]:
    """The BIN table, read once from the package data (``data/card_bins.csv``)."""
    path = resources.files("lendbridge.identity") / "data" / "card_bins.csv"
    lines = [line for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
    table: dict[str, BinEntry] = {}
    for row in csv.DictReader(lines):
        prefix, card_type = row["bin"], row["card_type"]
        if not _BIN.fullmatch(prefix) or prefix in table:
            raise ValueError(f"card_bins.csv: bad or repeated BIN {prefix!r}")
        if card_type not in _CARD_TYPES or not row["bank_code"] or not row["bank_name"]:
            raise ValueError(f"card_bins.csv: incomplete row for BIN {prefix}")
        table[prefix] = BinEntry(
            prefix,
            row["bank_code"],
            row["bank_name"],
            "debit" if card_type == "debit" else "credit",
        )
    return MappingProxyType(table)


def lookup_bin(number: str) -> BinEntry | None:
    """The table row whose BIN is the longest prefix of ``number``, if any."""
    table = card_bins()
    for length in range(min(len(number), 10), 3, -1):
        entry = table.get(number[:length])
        if entry is not None:
            return entry
    return None


def parse_bank_card(value: str, field: str = "bank_card") -> BankCard:
    """A bank card number (spaces and dashes allowed), Luhn-checked, with its issuing bank
    from the BIN table. Raises :class:`BankCardMalformed` or :class:`BankCardCheckDigitWrong`
    (both :class:`InvalidBankCard`); an unknown BIN is not an error."""
    number = _compact(value)
    if not number:
        raise field_error(BankCardMalformed, field, "is required")
    if not _DIGITS.fullmatch(number):
        raise field_error(BankCardMalformed, field, "may contain only digits, spaces and dashes")
    if not 12 <= len(number) <= 19:
        raise field_error(BankCardMalformed, field, f"must have 12 to 19 digits, got {len(number)}")
    if luhn.checksum(number) != 0:
        raise field_error(
            BankCardCheckDigitWrong,
            field,
            "the check digit (the last one) does not match: check the number for a typing error",
        )
    entry = lookup_bin(number)
    if entry is None:
        return BankCard(number, UNKNOWN_BANK, UNKNOWN_BANK, None, None)
    return BankCard(number, entry.bank_code, entry.bank_name, entry.card_type, entry.bin)


# --- personal name -----------------------------------------------------------------------

NAME_MAX_LENGTH = 50
# Chinese characters: CJK Unified Ideographs and extensions A to H, compatibility
# ideographs, and 〇 (used in some names).
_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_MIDDLE_DOT = "·"
# What people type for the middle dot of 阿依古丽·买买提 (NFKC has already folded ･ into ・).
_DOT_VARIANTS = str.maketrans(dict.fromkeys("•‧・∙⋅．", _MIDDLE_DOT))
_APOSTROPHES = str.maketrans(dict.fromkeys("’‘ʼ`´", "'"))
_SPACE_BY_CJK = re.compile(f" (?=[{_CJK}{_MIDDLE_DOT}])|(?<=[{_CJK}{_MIDDLE_DOT}]) ")
_SEPARATORS = frozenset(" -'." + _MIDDLE_DOT)


def _is_letter(ch: str) -> bool:
    if _CJK_CHAR.match(ch):
        return True
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN ")


def normalize_name(value: str, field: str = "name") -> str:
    """A personal name as it should be sent to verification: surrounding space stripped,
    runs of spaces collapsed, spaces next to Chinese characters or the middle dot removed
    (``张 三`` → ``张三``), variants of the middle dot folded into ``·``. Chinese names (with
    ``·`` between parts) and Latin names (letters, spaces, ``-``, ``'``, ``.``) are accepted,
    1 to 50 characters. Raises :class:`InvalidName`."""
    text = unicodedata.normalize("NFKC", value)
    text = text.translate(_DOT_VARIANTS).translate(_APOSTROPHES)
    text = "".join("-" if ch in _DASHES else ch for ch in text)
    text = " ".join(text.split())
    text = _SPACE_BY_CJK.sub("", text)
    if _CJK_CHAR.search(text):
        text = text.replace(".", _MIDDLE_DOT)
    if not text:
        raise field_error(InvalidName, field, "is required")
    if len(text) > NAME_MAX_LENGTH:
        raise field_error(
            InvalidName, field, f"must be at most {NAME_MAX_LENGTH} characters, got {len(text)}"
        )
    for ch in text:
        if not _is_letter(ch) and ch not in _SEPARATORS:
            raise field_error(
                InvalidName,
                field,
                f"contains {ch!r}: a name may contain only Chinese characters, Latin letters, "
                "spaces, the middle dot (·), hyphens, apostrophes and periods",
            )
    if not _is_letter(text[0]):
        raise field_error(InvalidName, field, "must start with a letter")
    for index, ch in enumerate(text):
        if ch == _MIDDLE_DOT and not (
            0 < index < len(text) - 1
            and _is_letter(text[index - 1])
            and _is_letter(text[index + 1])
        ):
            raise field_error(
                InvalidName, field, "the middle dot (·) must stand between two parts of the name"
            )
    if text[-1] in "-'":
        raise field_error(InvalidName, field, f"must not end with {text[-1]!r}")
    return text
