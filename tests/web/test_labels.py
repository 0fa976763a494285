"""The words for stored codes: every enum member has them, in both languages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lendbridge.servicing.models import LoanStatus
from lendbridge.web import i18n
from lendbridge.web.labels import ENUMS, VOCABULARIES, label, tone


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    yield
    i18n.use(i18n.DEFAULT_LOCALE)


@pytest.mark.parametrize("vocabulary", sorted(ENUMS))
def test_every_member_of_the_enum_has_words(vocabulary: str) -> None:
    missing = [m.value for m in ENUMS[vocabulary] if m.value not in VOCABULARIES[vocabulary]]
    assert missing == []


def test_a_code_reads_in_the_page_language() -> None:
    i18n.use("zh_CN")
    assert label(LoanStatus.PAID_OFF, "loan_status") == "已结清"
    assert label("missing_at_channel", "break_kind") == "渠道缺失"
    i18n.use("en")
    assert label(LoanStatus.PAID_OFF, "loan_status") == "Paid off"
    assert label("paid_off", "loan_status") == "Paid off"


def test_an_unknown_code_is_shown_as_stored_and_an_unknown_vocabulary_fails() -> None:
    i18n.use("en")
    assert label("brand_new_status", "loan_status") == "brand_new_status"
    assert label(None, "loan_status") == "—"
    with pytest.raises(KeyError):
        label("active", "loan_statuses")


def test_tone_marks_good_and_bad_news() -> None:
    assert tone(LoanStatus.OVERDUE) == "bad"
    assert tone("paid_off") == "ok"
    assert tone("in_review") == ""
