"""The loan contract PDF: its text read back from the file, the embedded font, byte-identical
output for the same terms, and the amount in Chinese capital numerals (人民币大写)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from pypdf.generic import ContentStream, DictionaryObject, TextStringObject

from lendbridge.origination.contract_pdf import (
    RMB_UPPER_LIMIT,
    ContractTerms,
    ScheduleLine,
    format_amount,
    format_yuan,
    render,
    rmb_upper,
)

SIGNED_AT = dt.datetime(2026, 1, 15, 6, 3, 5, tzinfo=dt.UTC)  # 14:03:05 in Shanghai


def schedule(count: int, principal: int) -> tuple[ScheduleLine, ...]:
    """Equal principal, the last instalment taking the remainder; interest falling with it."""
    base = principal // count
    lines = []
    for number in range(1, count + 1):
        part = base + (principal - base * count if number == count else 0)
        interest = 5_000 - number * 3 if count < 1000 else 0
        fee = 100
        lines.append(
            ScheduleLine(
                number=number,
                due_date=dt.date(2026, 2, 15) + dt.timedelta(days=30 * (number - 1)),
                principal=part,
                interest=interest,
                fee=fee,
                total=part + interest + fee,
            )
        )
    return tuple(lines)


def make_terms(count: int = 3, principal: int = 500_000, **changes: object) -> ContractTerms:
    lines = schedule(count, principal)
    terms = ContractTerms(
        contract_number="LB-C-2026-000123",
        lender_name="蓝桥小额贷款有限公司",
        borrower_name="欧阳娜娜",
        borrower_resident_id="11010519491231002X",
        borrower_phone_masked="138****5678",
        bank_card_masked="622202******1234",
        bank_name="中国工商银行",
        product_name="随心借",
        product_code="LOAN-EQI",
        purpose_zh="日常消费",
        currency="CNY",
        principal=principal,
        disbursed=principal,
        upfront_fee=0,
        annual_rate_percent="18.00",
        apr_percent="19.56",
        ear_percent="19.72",
        term=count,
        term_unit_zh="个月",
        method_zh="等额本金",
        repayment_day_text="每月15日",
        penalty_text="借款人逾期还款的，按逾期本金每日万分之五计收罚息。",
        prepayment_text="借款人可随时提前偿还全部或部分借款，不收取违约金。",
        schedule=lines,
        total_interest=sum(line.interest for line in lines),
        total_fees=sum(line.fee for line in lines),
        total_repayment=sum(line.total for line in lines),
        signed_at=SIGNED_AT,
        signing_method="短信验证码电子签名",
        application_id="0193f0a2-0000-7000-8000-000000000001",
        decision_ref="0193f0a2-0000-7000-8000-00000000000d",
    )
    return dataclasses.replace(terms, **changes)  # type: ignore[arg-type]


# --- reading the text back -----------------------------------------------------------------

_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")


def _to_unicode(font: DictionaryObject) -> dict[bytes, str]:
    cmap = font["/ToUnicode"].get_object().get_data()
    return {
        bytes.fromhex(code.decode()): bytes.fromhex(text.decode()).decode("utf-16-be")
        for code, text in _BFCHAR.findall(cmap)
    }


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text, one line per text-showing operation, decoded through the font's
    ToUnicode map (what a reader uses to copy and search text).

    pypdf's own ``extract_text`` is not used: it reads the Type0 font's embedded encoding
    CMap (code -> CID, which fpdf2 writes for CID-keyed OpenType fonts) as a one-byte
    StandardEncoding and garbles every character past the first 256 used."""
    reader = PdfReader(io.BytesIO(pdf))
    texts = []
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        maps = {name: _to_unicode(ref.get_object()) for name, ref in fonts.items()}
        current: dict[bytes, str] = {}
        lines = []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = maps[operands[0]]
            elif operator in (b"Tj", b"TJ"):
                parts = operands[0] if operator == b"TJ" else [operands[0]]
                raw = b"".join(
                    p.original_bytes if isinstance(p, TextStringObject) else bytes(p)
                    for p in parts
                    if isinstance(p, (bytes, str))
                )
                lines.append("".join(current[raw[i : i + 2]] for i in range(0, len(raw), 2)))
        texts.append("\n".join(lines))
    return texts


# --- the document --------------------------------------------------------------------------


def test_the_contract_states_parties_amounts_and_every_instalment() -> None:
    terms = make_terms(count=3, principal=500_000)
    text = "\n".join(page_texts(render(terms)))
    assert "借款合同" in text
    assert "合同编号：LB-C-2026-000123" in text
    assert "借款人：欧阳娜娜" in text
    assert "11010519491231002X" in text
    assert "138****5678" in text
    assert "人民币（小写）¥5,000.00" in text
    assert "人民币（大写）伍仟元整" in text
    assert "年利率（单利）：18.00%" in text
    assert "年化综合资金成本（APR）：19.56%" in text
    assert "中国人民银行公告〔2021〕第3号" in text
    assert "中国工商银行  622202******1234" in text
    lines = text.splitlines()
    for line in terms.schedule:
        assert format_amount(line.total) in lines
        assert line.due_date.isoformat() in lines
    assert format_amount(terms.total_repayment) in lines
    assert "签署时间：2026年01月15日 14:03:05（北京时间，UTC+8）" in text
    assert "签署方式：短信验证码电子签名" in text
    assert f"审批决定编号：{terms.decision_ref}" in text
    assert "争议解决" in text


@pytest.mark.parametrize("count", [36, 360])
def test_a_long_schedule_runs_over_pages_with_its_header_on_each(count: int) -> None:
    terms = make_terms(count=count, principal=36_000_000)
    pages = page_texts(render(terms))
    rows: list[str] = []
    for number, page in enumerate(pages, start=1):
        lines = page.splitlines()
        dates = [i for i, line in enumerate(lines) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", line)]
        if dates:
            assert "期数" in lines[: dates[0]], "a page of the schedule without its header row"
            rows += [lines[i - 1] for i in dates]  # the instalment number precedes its date
        assert f"第 {number} 页 / 共 {len(pages)} 页" in page.replace("\n", "")
    assert rows == [str(n) for n in range(1, count + 1)]
    assert len(pages) >= count // 45
    assert "签署方式：短信验证码电子签名" in pages[-1]


def test_the_font_is_embedded_as_a_subset() -> None:
    reader = PdfReader(io.BytesIO(render(make_terms())))
    font = reader.pages[0]["/Resources"]["/Font"]["/F1"].get_object()
    assert re.fullmatch(r"/[A-Z]{6}\+NotoSansSC", font["/BaseFont"])
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    files = [key for key in ("/FontFile2", "/FontFile3") if key in descriptor]
    assert files
    data = descriptor[files[0]].get_object().get_data()
    assert 10_000 < len(data) < 1_000_000  # the glyphs used, not the 8 MB font


def test_the_same_terms_give_the_same_bytes() -> None:
    terms = make_terms(count=12)
    first = render(terms)
    assert render(make_terms(count=12)) == first
    assert render(dataclasses.replace(terms, signed_at=SIGNED_AT + dt.timedelta(seconds=1))) != (
        first
    )
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata is not None
    assert reader.metadata.creation_date == SIGNED_AT
    assert "/ID" in reader.trailer


def test_figures_that_do_not_add_up_are_refused() -> None:
    terms = make_terms()
    with pytest.raises(ValueError, match="total repayment"):
        render(dataclasses.replace(terms, total_repayment=terms.total_repayment + 1))
    with pytest.raises(ValueError, match="loan amount"):
        render(dataclasses.replace(terms, principal=terms.principal + 1))
    with pytest.raises(ValueError, match="CNY"):
        render(dataclasses.replace(terms, currency="USD"))
    with pytest.raises(ValueError, match="timezone"):
        render(dataclasses.replace(terms, signed_at=dt.datetime(2026, 1, 15, 14, 3, 5)))  # noqa: DTZ001


def test_amounts_in_figures() -> None:
    assert format_yuan(500_000) == "¥5,000.00"
    assert format_yuan(0) == "¥0.00"
    assert format_yuan(5) == "¥0.05"
    assert format_amount(123_456_789_01) == "123,456,789.01"
    with pytest.raises(ValueError, match="negative"):
        format_amount(-1)


# --- 人民币大写 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "expected"),
    [
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角"),
        (55, "伍角伍分"),
        (100, "壹元整"),
        (1_000, "壹拾元整"),
        (1_100, "壹拾壹元整"),
        (10_100, "壹佰零壹元整"),
        (11_000, "壹佰壹拾元整"),
        (101_000, "壹仟零壹拾元整"),
        (500_000, "伍仟元整"),
        (10_000_00, "壹万元整"),
        (1_000_05, "壹仟元零伍分"),
        (100_010_00, "壹拾万零壹拾元整"),
        (1_234_567, "壹万贰仟叁佰肆拾伍元陆角柒分"),
        (1_001_000_00, "壹佰万零壹仟元整"),
        (1_0000_0000_00, "壹亿元整"),
        (1_0001_0000_00, "壹亿零壹万元整"),
        (1_0000_1000_00, "壹亿零壹仟元整"),
        (1_0000_0001_00, "壹亿零壹元整"),
        (10_0000_0000_00, "壹拾亿元整"),
        (RMB_UPPER_LIMIT - 1, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        # The examples of the PBoC's 《正确填写票据和结算凭证的基本规定》 (where it allows two
        # forms, the one without the optional 零).
        (1_409_50, "壹仟肆佰零玖元伍角"),
        (6_007_14, "陆仟零柒元壹角肆分"),
        (1_680_32, "壹仟陆佰捌拾元叁角贰分"),
        (107_000_53, "壹拾万零柒仟元伍角叁分"),
        (16_409_02, "壹万陆仟肆佰零玖元零贰分"),
        (325_04, "叁佰贰拾伍元零肆分"),
    ],
)
def test_rmb_upper(fen: int, expected: str) -> None:
    assert rmb_upper(fen) == expected


def test_rmb_upper_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="negative"):
        rmb_upper(-1)
    with pytest.raises(ValueError, match="too large"):
        rmb_upper(RMB_UPPER_LIMIT)
    with pytest.raises(TypeError):
        rmb_upper(True)


_DIGIT = {ch: n for n, ch in enumerate("零壹贰叁肆伍陆柒捌玖")}
_UNIT = {"拾": 10, "佰": 100, "仟": 1000}


def _parse_yuan(text: str) -> int:
    total = section = digit = 0
    for ch in text:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch in _UNIT:
            assert digit, f"{ch} without a digit before it"
            section, digit = section + digit * _UNIT[ch], 0
        elif ch == "万":
            total, section, digit = total + (section + digit) * 10**4, 0, 0
        elif ch == "亿":
            total, section, digit = (total + section + digit) * 10**8, 0, 0
        else:
            raise AssertionError(f"unexpected {ch!r}")
    return total + section + digit


def parse_rmb_upper(text: str) -> int:
    """An independent reader of capital numerals back to fen."""
    if text == "零元整":
        return 0
    body = text.removesuffix("整")
    yuan_text, has_yuan, rest = body.partition("元")
    if not has_yuan:
        yuan_text, rest = "", body
    jiao = fen = 0
    rest = rest.removeprefix("零")
    if "角" in rest:
        digit, rest = rest.split("角")
        jiao = _DIGIT[digit]
    if "分" in rest:
        digit, rest = rest.split("分")
        fen = _DIGIT[digit]
    assert rest == "", f"left over: {rest!r}"
    return _parse_yuan(yuan_text) * 100 + jiao * 10 + fen


# Amounts with many zeros, where the 零 rules matter.
_zero_heavy = st.lists(st.sampled_from("000000123456789"), min_size=1, max_size=14).map(
    lambda digits: int("".join(digits))
)
_amounts = st.one_of(st.integers(0, RMB_UPPER_LIMIT - 1), _zero_heavy)


@given(_amounts)
def test_rmb_upper_reads_back_to_the_amount(fen: int) -> None:
    assert parse_rmb_upper(rmb_upper(fen)) == fen


@given(_amounts)
def test_rmb_upper_structure(fen: int) -> None:
    text = rmb_upper(fen)
    assert set(text) <= set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整")
    assert text.endswith("整") == (fen % 100 == 0)
    assert text.endswith("分") == (fen % 10 != 0)
    assert ("元" in text) == (fen >= 100 or fen == 0)
    if fen:
        assert "零零" not in text
        assert not re.search("零[元万亿角整]", text)
        assert not text.endswith("零")
        assert not text.startswith("零")
    assert not re.search("(^|[^壹贰叁肆伍陆柒捌玖])[拾佰仟]", text)  # 壹拾, never a bare 拾
