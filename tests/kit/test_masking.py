"""Masks for personal data: the documented shapes, and no clear value on any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendbridge.kit.masking import (
    mask_address,
    mask_bank_card,
    mask_email,
    mask_name,
    mask_phone,
    mask_resident_id,
    mask_value,
)

# Values without the mask character or the separators the number masks drop, so a result can be
# compared with its input position by position.
plain_text = st.text(
    alphabet=st.characters(exclude_characters="*@ -\t\u3000", exclude_categories=("Cs", "Cc", "Z")),
)


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("resident_id", "11010519491231002X", "110105********002X"),
        ("resident_id", "110105491231002", "110105*****1002"),  # the old 15-digit number
        ("phone", "13812345678", "138****5678"),
        ("phone", "138 1234-5678", "138****5678"),
        ("bank_card", "6222021234561234", "622202******1234"),
        ("bank_card", "6222 0212 3456 1234 567", "622202*********4567"),
        ("name", "张三", "张*"),
        ("name", "欧阳娜娜", "欧***"),
        ("name", "Alice Smith", "A**********"),
        ("email", "alice@example.com", "a***@example.com"),
        ("email", "a@example.com", "***@example.com"),
        ("address", "北京市朝阳区建国路88号", "北京市朝阳区****"),
    ],
)
def test_documented_shapes(kind, value, masked):
    assert mask_value(kind, value) == masked


@pytest.mark.parametrize(
    ("function", "value", "masked"),
    [
        (mask_resident_id, "1101051949", "**********"),  # nothing would stay hidden
        (mask_phone, "1381234", "*******"),
        (mask_bank_card, "6222021234", "**********"),
        (mask_name, "张", "*"),
        (mask_email, "alice.example.com", "*****************"),
        (mask_address, "上海市", "上****"),
        (mask_address, "上", "****"),
        (mask_phone, "", ""),
        (mask_address, "   ", ""),
    ],
)
def test_short_or_odd_input_is_masked_entirely(function, value, masked):
    assert function(value) == masked


@pytest.mark.parametrize(
    ("function", "head", "tail"),
    [(mask_resident_id, 6, 4), (mask_phone, 3, 4), (mask_bank_card, 6, 4)],
)
@given(value=plain_text.filter(lambda v: v == v.strip()))
def test_numbers_show_at_most_their_ends_and_hide_the_middle(function, head, tail, value):
    masked = function(value)
    assert len(masked) == len(value)
    if len(value) >= 4:
        assert masked != value
    hidden = len(value) - head - tail
    if hidden >= 4:
        assert masked == value[:head] + "*" * hidden + value[-tail:]
    else:
        assert set(masked) <= {"*"}


@given(value=plain_text.filter(lambda v: v == v.strip()))
def test_names_show_only_their_first_character(value):
    masked = mask_name(value)
    assert len(masked) == len(value)
    assert masked[1:] == "*" * (len(value) - 1)
    if len(value) >= 2:
        assert masked != value


@given(local=plain_text, domain=plain_text)
def test_emails_show_one_character_of_the_local_part_at_most(local, domain):
    value = f"{local}@{domain}"
    masked = mask_email(value)
    assert masked != value
    masked_local, _, _ = masked.rpartition("@")
    assert masked_local.endswith("***")
    assert len(masked_local) <= 4


@given(value=plain_text.filter(lambda v: v == v.strip()))
def test_addresses_show_at_most_six_characters_and_half_of_a_short_one(value):
    masked = mask_address(value)
    if not value:
        assert masked == ""
        return
    shown = masked.removesuffix("****")
    assert masked.endswith("****")
    assert value.startswith(shown)
    assert len(shown) <= min(6, len(value) // 2)
    assert masked != value


@given(kind=st.sampled_from(["resident_id", "phone", "bank_card", "name", "email", "address"]))
def test_mask_value_dispatches_reveals_on_request_and_passes_none(kind):
    assert mask_value(kind, None) is None
    assert mask_value(kind, "11010519491231002X", reveal=True) == "11010519491231002X"
    assert mask_value(kind, "11010519491231002X") != "11010519491231002X"


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown kind"):
        mask_value("passport", "E12345678")  # type: ignore[arg-type]
