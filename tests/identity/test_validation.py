"""Validation of mobiles, resident identity numbers, USCCs, bank cards and names."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from lendbridge.identity.validation import (
    UNKNOWN_BANK,
    BankCardCheckDigitWrong,
    BankCardMalformed,
    InvalidBankCard,
    InvalidMobile,
    InvalidName,
    InvalidResidentId,
    InvalidUscc,
    ResidentId,
    ResidentIdBirthDateImpossible,
    ResidentIdBirthDateInFuture,
    ResidentIdCheckDigitWrong,
    ResidentIdLegacyFormat,
    ResidentIdMalformed,
    ResidentIdRegionUnknown,
    UsccCheckCharacterWrong,
    UsccMalformed,
    card_bins,
    lookup_bin,
    normalize_mobile,
    normalize_name,
    parse_bank_card,
    parse_resident_id,
    parse_uscc,
)
from lendbridge.kit.errors import FieldError, ValidationFailed

TODAY = dt.date(2026, 1, 15)


def resident_id(region: str, birth: str, sequence: str) -> str:
    """A number with the right check digit (python-stdnum computes it)."""
    body = region + birth + sequence
    return body + ric.calc_check_digit(body + "0")


def card(prefix: str, length: int) -> str:
    body = prefix.ljust(length - 1, "7")
    return body + luhn.calc_check_digit(body)


# --- mobile ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+86 138 1234 5678",
        "86-138-1234-5678",
        "+8613812345678",
        "+86-138-1234-5678",
        "8613812345678",
        "0086 138 1234 5678",
        " 138 1234 5678 ",
        "(+86) 138-1234-5678",
        "１３８１２３４５６７８",  # full-width digits
    ],
)
def test_mobile_formats_give_the_national_number(value: str) -> None:
    assert normalize_mobile(value) == "13812345678"


@pytest.mark.parametrize("second", "3456789")
def test_mobile_second_digit_3_to_9(second: str) -> None:
    number = f"1{second}812345678"
    assert normalize_mobile(number) == number


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is required"),
        ("   ", "is required"),
        ("12812345678", "starts with 13 to 19"),
        ("10812345678", "starts with 13 to 19"),
        ("23812345678", "starts with 13 to 19"),
        ("1381234567", "11 digits, got 10"),
        ("138123456789", "11 digits, got 12"),
        ("+1 415 555 0100", "only mainland China (+86)"),
        ("+852 9123 4567", "only mainland China (+86)"),
        ("+86 10 6512 3456", "11 digits, got 10"),
        ("138-1234-567a", "only digits"),
        ("138.1234.5678", "only digits"),
    ],
)
def test_bad_mobiles_are_rejected(value: str, message: str) -> None:
    with pytest.raises(InvalidMobile) as caught:
        normalize_mobile(value)
    assert message in caught.value.errors[0].message


def test_mobile_error_names_the_field() -> None:
    with pytest.raises(InvalidMobile) as caught:
        normalize_mobile("12345", field="applicant.mobile")
    error = caught.value
    assert isinstance(error, ValidationFailed)
    assert error.status == 422
    assert error.code == "identity.invalid_mobile"
    assert error.errors == [FieldError("applicant.mobile", error.errors[0].message)]
    assert str(error).startswith("applicant.mobile: ")


# --- resident identity number ------------------------------------------------------------


def test_resident_id_fields() -> None:
    parsed = parse_resident_id("110105199003071239", today=TODAY)
    assert parsed == ResidentId(
        number="110105199003071239",
        birth_date=dt.date(1990, 3, 7),
        sex="male",
        region_code="110105",
        province="北京市",
        county="朝阳区",
    )
    assert parsed.age_on(TODAY) == 35


def test_resident_id_check_digit_x_any_case_and_separators() -> None:
    for typed in ("31010419880520006X", "31010419880520006x", "310104 19880520 006x"):
        parsed = parse_resident_id(typed, today=TODAY)
        assert parsed.number == "31010419880520006X"
        assert (parsed.sex, parsed.province, parsed.county) == ("female", "上海市", "徐汇区")


def test_resident_id_full_width_input() -> None:
    parsed = parse_resident_id("４４０３０５１９９５１２３１０４６９", today=TODAY)
    assert parsed.number == "440305199512310469"
    assert (parsed.province, parsed.county) == ("广东省", "南山区")


def test_sex_from_the_17th_digit() -> None:
    for sequence, sex in [("011", "male"), ("019", "male"), ("010", "female"), ("008", "female")]:
        number = resident_id("110105", "19900307", sequence)
        assert parse_resident_id(number, today=TODAY).sex == sex


def test_repr_masks_the_birth_date() -> None:
    parsed = parse_resident_id("110105199003071239", today=TODAY)
    assert parsed.masked == "110105********1239"
    assert "19900307" not in repr(parsed)
    assert "19900307" not in str(parsed)


def test_wrong_check_digit() -> None:
    with pytest.raises(ResidentIdCheckDigitWrong) as caught:
        parse_resident_id("110105199003071238", today=TODAY)
    assert caught.value.code == "identity.resident_id_check_digit"
    assert "check digit" in caught.value.errors[0].message
    assert "1239" not in str(caught.value)  # the expected digit is not given away


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("", ResidentIdMalformed, "is required"),
        ("11010519900307123", ResidentIdMalformed, "18 characters"),
        ("1101051990030712391", ResidentIdMalformed, "18 characters"),
        ("11010519900307123A", ResidentIdMalformed, "17 digits followed by a digit or X"),
        ("X10105199003071239", ResidentIdMalformed, "17 digits followed by a digit or X"),
        ("110105900307123", ResidentIdLegacyFormat, "15-digit first-generation"),
    ],
)
def test_malformed_resident_ids(value: str, error: type[InvalidResidentId], message: str) -> None:
    with pytest.raises(error) as caught:
        parse_resident_id(value, today=TODAY, field="borrower.resident_id")
    assert caught.value.errors[0].field == "borrower.resident_id"
    assert message in caught.value.errors[0].message


def test_every_resident_id_error_is_an_invalid_resident_id() -> None:
    for error in (
        ResidentIdMalformed,
        ResidentIdLegacyFormat,
        ResidentIdCheckDigitWrong,
        ResidentIdBirthDateImpossible,
        ResidentIdBirthDateInFuture,
        ResidentIdRegionUnknown,
    ):
        assert issubclass(error, InvalidResidentId)
        assert error.code.startswith("identity.resident_id")
    codes = {
        e.code
        for e in (
            ResidentIdMalformed,
            ResidentIdLegacyFormat,
            ResidentIdCheckDigitWrong,
            ResidentIdBirthDateImpossible,
            ResidentIdBirthDateInFuture,
            ResidentIdRegionUnknown,
        )
    }
    assert len(codes) == 6


def test_29_february_in_a_leap_year() -> None:
    parsed = parse_resident_id(resident_id("650102", "20000229", "028"), today=TODAY)
    assert parsed.birth_date == dt.date(2000, 2, 29)
    assert parsed.number == "65010220000229028X"


@pytest.mark.parametrize("birth", ["19990229", "19000229", "19900230", "19901301", "19900001"])
def test_impossible_birth_dates(birth: str) -> None:
    # 1900 was not a leap year (divisible by 100, not by 400).
    with pytest.raises(ResidentIdBirthDateImpossible) as caught:
        parse_resident_id(resident_id("110105", birth, "123"), today=TODAY)
    assert "not a real birth date" in caught.value.errors[0].message


def test_birth_before_1900_is_impossible() -> None:
    with pytest.raises(ResidentIdBirthDateImpossible, match="before the year 1900"):
        parse_resident_id(resident_id("110105", "18991231", "123"), today=TODAY)


def test_birth_date_after_the_business_date() -> None:
    tomorrow = resident_id("110105", "20260116", "123")
    with pytest.raises(ResidentIdBirthDateInFuture) as caught:
        parse_resident_id(tomorrow, today=TODAY)
    assert "after the business date 2026-01-15" in caught.value.errors[0].message
    # The same number is fine once the business date has moved on; born today is fine.
    next_day = dt.date(2026, 1, 16)
    assert parse_resident_id(tomorrow, today=next_day).age_on(next_day) == 0
    assert (
        parse_resident_id(resident_id("110105", "20260115", "123"), today=TODAY).age_on(TODAY) == 0
    )


def test_unknown_region_code() -> None:
    for region in ("999999", "119999", "000000"):
        with pytest.raises(ResidentIdRegionUnknown) as caught:
            parse_resident_id(resident_id(region, "19900307", "123"), today=TODAY)
        assert region in caught.value.errors[0].message
        assert "not a known administrative division code" in caught.value.errors[0].message


def test_region_code_withdrawn_before_birth() -> None:
    # 110103 崇文区 merged into 东城区 in 2010: nobody born after 2010 gets it.
    with pytest.raises(ResidentIdRegionUnknown, match="withdrawn in 2010"):
        parse_resident_id(resident_id("110103", "20150101", "123"), today=TODAY)
    parsed = parse_resident_id(resident_id("110103", "19800101", "123"), today=TODAY)
    assert parsed.county == "崇文区"


def test_region_code_created_after_birth_is_accepted() -> None:
    # 440106 天河区 dates from 1985; people born before were numbered there later.
    # python-stdnum's own validate() rejects these real numbers.
    number = resident_id("440106", "19790101", "012")
    assert not ric.is_valid(number)
    parsed = parse_resident_id(number, today=TODAY)
    assert (parsed.province, parsed.county) == ("广东省", "天河区")


def test_county_name_of_the_birth_year() -> None:
    # 440305: 南头区办事处 1983-1989, then 南山区.
    early = parse_resident_id(resident_id("440305", "19850101", "012"), today=TODAY)
    late = parse_resident_id(resident_id("440305", "19950101", "012"), today=TODAY)
    before = parse_resident_id(resident_id("440305", "19700101", "012"), today=TODAY)
    assert (early.county, late.county, before.county) == ("南头区办事处", "南山区", "南头区办事处")


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (dt.date(1990, 3, 7), 0),
        (dt.date(2008, 3, 6), 17),  # the day before the 18th birthday
        (dt.date(2008, 3, 7), 18),  # the birthday
        (dt.date(2008, 12, 31), 18),
        (dt.date(2026, 1, 15), 35),
    ],
)
def test_age_on(on: dt.date, age: int) -> None:
    assert parse_resident_id("110105199003071239", today=TODAY).age_on(on) == age


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (dt.date(2018, 2, 28), 17),  # common year: not yet 18 on 28 February
        (dt.date(2018, 3, 1), 18),
        (dt.date(2020, 2, 28), 19),  # leap year: the birthday itself
        (dt.date(2020, 2, 29), 20),
    ],
)
def test_age_of_someone_born_on_29_february(on: dt.date, age: int) -> None:
    assert parse_resident_id("65010220000229028X", today=TODAY).age_on(on) == age


def test_age_before_birth_is_an_error() -> None:
    parsed = parse_resident_id("110105199003071239", today=TODAY)
    with pytest.raises(ValueError, match="before the birth date"):
        parsed.age_on(dt.date(1990, 3, 6))


REGIONS = ["110105", "310104", "440305", "650102", "110108", "320102", "510104"]
CHECK_CHARACTERS = "0123456789X"


@given(
    region=st.sampled_from(REGIONS),
    birth=st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2007, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    shift=st.integers(min_value=1, max_value=10),
)
def test_any_altered_check_digit_is_rejected(
    region: str, birth: dt.date, sequence: int, shift: int
) -> None:
    valid = resident_id(region, birth.strftime("%Y%m%d"), f"{sequence:03d}")
    assert parse_resident_id(valid, today=TODAY).number == valid
    wrong = CHECK_CHARACTERS[(CHECK_CHARACTERS.index(valid[-1]) + shift) % 11]
    with pytest.raises(ResidentIdCheckDigitWrong):
        parse_resident_id(valid[:-1] + wrong, today=TODAY)


@given(
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_typo_is_rejected(position: int, delta: int) -> None:
    valid = "110105199003071239"
    typo = str((int(valid[position]) + delta) % 10)
    with pytest.raises(InvalidResidentId):
        parse_resident_id(valid[:position] + typo + valid[position + 1 :], today=TODAY)


# --- USCC --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91110105MA01DEM23X", "91110105MA01DEM23X"),
        ("91110000600037341L", "91110000600037341L"),  # python-stdnum's own example
        ("91110105ma01dem23x", "91110105MA01DEM23X"),
        ("9111 0105 MA01 DEM2 3X", "91110105MA01DEM23X"),
        ("91-110105-MA01DEM23-X", "91110105MA01DEM23X"),
    ],
)
def test_valid_uscc(value: str, expected: str) -> None:
    assert parse_uscc(value) == expected


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("", UsccMalformed, "is required"),
        ("91110105MA01DEM23", UsccMalformed, "18 characters, got 17"),
        ("A1110105MA01DEM23X", UsccMalformed, "first 8 characters must be digits"),
        ("91110105MA01DEI23X", UsccMalformed, "other than I, O, S, V and Z"),
        ("91110105MA01DEM23Y", UsccCheckCharacterWrong, "check character"),
        ("91110105MA01DEM33X", UsccCheckCharacterWrong, "check character"),
    ],
)
def test_invalid_uscc(value: str, error: type[InvalidUscc], message: str) -> None:
    with pytest.raises(error) as caught:
        parse_uscc(value, field="enterprise.uscc")
    assert isinstance(caught.value, InvalidUscc)
    assert caught.value.errors[0].field == "enterprise.uscc"
    assert message in caught.value.errors[0].message


@given(
    body=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=10, max_size=10),
    region=st.sampled_from(REGIONS),
    shift=st.integers(min_value=1, max_value=30),
)
def test_any_altered_uscc_check_character_is_rejected(body: str, region: str, shift: int) -> None:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    stem = "91" + region + body[:9]
    valid = stem + stdnum_uscc.calc_check_digit(stem + "0")
    assert parse_uscc(valid) == valid
    wrong = alphabet[(alphabet.index(valid[-1]) + shift) % 31]
    with pytest.raises(UsccCheckCharacterWrong):
        parse_uscc(valid[:-1] + wrong)


# --- bank card ---------------------------------------------------------------------------


def test_known_card() -> None:
    parsed = parse_bank_card("6222 0202 0001 2345 670")
    assert parsed.number == "6222020200012345670"
    assert (parsed.bank_code, parsed.bank_name, parsed.card_type) == (
        "ICBC",
        "中国工商银行",
        "debit",
    )
    assert parsed.bin == "622202"
    assert parsed.bin_matched
    assert parsed.last4 == "5670"
    assert parsed.masked == "622202*********5670"
    assert "0200012345" not in repr(parsed)


@pytest.mark.parametrize(
    ("prefix", "length", "bank_code", "card_type"),
    [
        ("621700", 19, "CCB", "debit"),
        ("436745", 16, "CCB", "credit"),
        ("622848", 19, "ABC", "debit"),
        ("621661", 19, "BOC", "debit"),
        ("622262", 19, "COMM", "debit"),
        ("622588", 16, "CMB", "debit"),
        ("621799", 19, "PSBC", "debit"),
        ("622690", 16, "CITIC", "debit"),
        ("622908", 18, "CIB", "debit"),
        ("622521", 16, "SPDB", "debit"),
        ("622622", 16, "CMBC", "debit"),
        ("622600", 16, "CMBC", "credit"),
        ("622538", 16, "SPABANK", "debit"),
        ("622666", 16, "CEB", "debit"),
        ("622630", 16, "HXBANK", "debit"),
    ],
)
def test_issuing_bank_from_the_bin(
    prefix: str, length: int, bank_code: str, card_type: str
) -> None:
    parsed = parse_bank_card(card(prefix, length))
    assert (parsed.bank_code, parsed.card_type, parsed.bin) == (bank_code, card_type, prefix)


def test_longest_bin_prefix_wins() -> None:
    # PSBC lists both 622150 and the 8-digit 62215049.
    assert lookup_bin(card("62215049", 19)) == card_bins()["62215049"]
    assert parse_bank_card(card("62215049", 19)).bin == "62215049"
    assert parse_bank_card(card("62215050", 19)).bin == "622150"


def test_unknown_bin_is_accepted_and_says_so() -> None:
    number = card("999999", 16)
    parsed = parse_bank_card(number)
    assert parsed.number == number
    assert (parsed.bank_code, parsed.bank_name) == (UNKNOWN_BANK, UNKNOWN_BANK) == ("unknown",) * 2
    assert parsed.card_type is None
    assert parsed.bin is None
    assert not parsed.bin_matched


@pytest.mark.parametrize("length", [12, 13, 16, 18, 19])
def test_card_lengths(length: int) -> None:
    assert len(parse_bank_card(card("622202", length)).number) == length


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("", BankCardMalformed, "is required"),
        (card("622202", 11), BankCardMalformed, "12 to 19 digits, got 11"),
        (card("622202", 20), BankCardMalformed, "12 to 19 digits, got 20"),
        ("6222 0202 0001 2345 67O", BankCardMalformed, "only digits"),
        ("6222020200012345671", BankCardCheckDigitWrong, "check digit"),
        ("6222020200012345607", BankCardCheckDigitWrong, "check digit"),  # last two swapped
    ],
)
def test_invalid_cards(value: str, error: type[InvalidBankCard], message: str) -> None:
    with pytest.raises(error) as caught:
        parse_bank_card(value, field="repayment.card")
    assert isinstance(caught.value, InvalidBankCard)
    assert caught.value.errors[0].field == "repayment.card"
    assert message in caught.value.errors[0].message


@given(
    prefix=st.sampled_from(sorted(card_bins())),
    body=st.text(alphabet="0123456789", min_size=12, max_size=12),
    position=st.integers(min_value=0, max_value=15),
    delta=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_card_typo_is_rejected(
    prefix: str, body: str, position: int, delta: int
) -> None:
    stem = (prefix + body)[:15]
    valid = stem + luhn.calc_check_digit(stem)
    assert parse_bank_card(valid).number == valid
    typo = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1 :]
    with pytest.raises(BankCardCheckDigitWrong):
        parse_bank_card(typo)


def test_bin_table_is_well_formed() -> None:
    table = card_bins()
    assert len(table) >= 40
    assert card_bins() is table  # read once
    banks = {entry.bank_code for entry in table.values()}
    assert banks == {
        "ICBC",
        "CCB",
        "ABC",
        "BOC",
        "COMM",
        "CMB",
        "PSBC",
        "CITIC",
        "CIB",
        "SPDB",
        "CMBC",
        "SPABANK",
        "CEB",
        "HXBANK",
    }
    for prefix, entry in table.items():
        assert prefix == entry.bin
        assert prefix.isdigit()
        assert 4 <= len(prefix) <= 10
        assert entry.card_type in ("debit", "credit")
    assert len({entry.bank_name for entry in table.values()}) == len(banks)


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张伟", "张伟"),
        ("  张伟 ", "张伟"),
        ("张 伟", "张伟"),
        ("欧阳 娜娜", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提"),
        ("王〇", "王〇"),
        ("John   Smith", "John Smith"),
        ("Mary-Jane O’Brien", "Mary-Jane O'Brien"),
        ("J. R. R. Tolkien", "J. R. R. Tolkien"),
        ("José Müller", "José Müller"),
        ("Ｊｏｈｎ Ｓｍｉｔｈ", "John Smith"),
        ("李", "李"),
        ("𠮷田", "𠮷田"),  # an Extension B character
    ],
)
def test_names(value: str, expected: str) -> None:
    assert normalize_name(value) == expected


def test_name_length_limit() -> None:
    assert normalize_name("张" * 50) == "张" * 50
    with pytest.raises(InvalidName, match="at most 50 characters, got 51"):
        normalize_name("张" * 51)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is required"),
        ("   ", "is required"),
        ("张伟1", "contains '1'"),
        ("张伟@", "contains '@'"),
        ("Иван", "contains 'И'"),
        ("김철수", "contains '김'"),
        ("·买买提", "must start with a letter"),
        ("阿依古丽·", "middle dot"),
        ("阿依古丽··买买提", "middle dot"),
        ("-John", "must start with a letter"),
        ("John-", "must not end with '-'"),
    ],
)
def test_bad_names(value: str, message: str) -> None:
    with pytest.raises(InvalidName) as caught:
        normalize_name(value, field="borrower.name")
    assert caught.value.errors[0].field == "borrower.name"
    assert message in caught.value.errors[0].message
