"""The loan contract (借款合同) as a PDF in Chinese: a pure renderer, no database, no clock.

The same :class:`ContractTerms` always give byte-identical bytes, so the sha256 recorded in the
audit trail can be checked by rendering again: the creation date is the signing time, and the
file identifier (/ID) is fpdf2's default, an MD5 of the document's own bytes and that date.

The text is set in Noto Sans SC (思源黑体), shipped by the ``pylopdf_fonts_zh_cn`` package under
the SIL Open Font License 1.1, which allows embedding; fpdf2 embeds only the subset of glyphs
the contract uses (about 100 KB instead of 8 MB).

Amounts are integer fen throughout and formatted with integer arithmetic: in figures
(``¥5,000.00``) and in Chinese capital numerals (:func:`rmb_upper`, 人民币大写), as the
People's Bank of China's rules for writing amounts on payment instruments require.

The disclosures follow what a consumer loan contract of a small-loan company carries: the
annual rate and the annualised total cost of credit (年化综合资金成本, APR by the internal rate
of return, PBoC announcement 〔2021〕 No. 3), every fee, the full repayment schedule, the
consequences of late payment, prepayment, credit reporting, dispute resolution and the
electronic signature (《中华人民共和国电子签名法》).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

SHANGHAI = ZoneInfo("Asia/Shanghai")
FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_FILE = "NotoSansSC-Regular.otf"
FONT = "cjk"

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿")
# 9999亿… yuan: far beyond any loan, and the largest amount the three sections can write.
RMB_UPPER_LIMIT = 10**12 * 100


@dataclass(frozen=True)
class ScheduleLine:
    """One instalment of the repayment schedule, in integer fen."""

    number: int
    due_date: dt.date
    principal: int
    interest: int
    fee: int
    total: int


@dataclass(frozen=True)
class ContractTerms:
    """Everything the contract says, decided before rendering (amounts in integer fen, rates
    as decimal strings such as ``"18.00"``). ``borrower_resident_id`` is printed as given."""

    contract_number: str
    lender_name: str
    borrower_name: str
    borrower_resident_id: str
    borrower_phone_masked: str
    bank_card_masked: str
    bank_name: str
    product_name: str
    product_code: str
    purpose_zh: str
    currency: str
    principal: int
    disbursed: int
    upfront_fee: int
    annual_rate_percent: str
    apr_percent: str
    ear_percent: str
    term: int
    term_unit_zh: str
    method_zh: str
    repayment_day_text: str
    penalty_text: str
    prepayment_text: str
    schedule: tuple[ScheduleLine, ...]
    total_interest: int
    total_fees: int
    total_repayment: int
    signed_at: dt.datetime
    signing_method: str
    application_id: str
    decision_ref: str


# --- amounts ----------------------------------------------------------------------------


def format_amount(fen: int) -> str:
    """Fen as yuan with thousands separators and two decimals, ``500000`` -> ``5,000.00``."""
    if fen < 0:
        raise ValueError("a contract amount is never negative")
    yuan, cents = divmod(fen, 100)
    return f"{yuan:,}.{cents:02d}"


def format_yuan(fen: int) -> str:
    """``500000`` -> ``¥5,000.00``."""
    return "¥" + format_amount(fen)


def rmb_upper(fen: int) -> str:
    """An amount in fen in Chinese capital numerals (人民币大写), as the PBoC's rules for
    writing amounts on payment instruments (《支付结算办法》附件《正确填写票据和结算凭证的
    基本规定》) have it:

    - the yuan are read as a Chinese number, with 壹 always written before 拾 (¥10 is
      壹拾元); a run of zeros between two non-zero digits is one 零, also across 万 and 亿
      (¥100,010 壹拾万零壹拾元, ¥6,007.14 陆仟零柒元壹角肆分); zeros at the end are silent;
    - 元 follows the yuan (left out when there are none: ¥0.05 伍分), then 整 if there are
      no jiao and fen (¥5,000 伍仟元整); an amount ending in 角 or 分 has no 整
      (¥1,409.50 壹仟肆佰零玖元伍角);
    - no jiao but fen: 零 after 元 (¥325.04 叁佰贰拾伍元零肆分);
    - where the yuan digit is zero but the jiao is not, the rules allow writing 零 or not;
      it is not written here (¥1,680.32 壹仟陆佰捌拾元叁角贰分), so an amount has at most
      one 零 per run of zeros;
    - zero is 零元整.
    """
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("the amount is an integer number of fen")
    if fen < 0:
        raise ValueError("a contract amount is never negative")
    if fen >= RMB_UPPER_LIMIT:
        raise ValueError("the amount is too large to write in capital numerals")
    if fen == 0:
        return "零元整"
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    text = _yuan_upper(yuan) + "元" if yuan else ""
    if jiao == 0 and fen_digit == 0:
        return text + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen_digit:
        text += _DIGITS[fen_digit] + "分"
    return text


def _yuan_upper(yuan: int) -> str:
    digits = str(yuan)
    parts: list[str] = []
    zero_pending = False
    for offset, char in enumerate(digits):
        position = len(digits) - 1 - offset
        digit = int(char)
        if digit:
            if zero_pending:
                parts.append("零")
                zero_pending = False
            parts.append(_DIGITS[digit] + _UNITS[position % 4])
        else:
            zero_pending = True
        if position % 4 == 0 and position > 0:
            section = digits[max(0, offset - 3) : offset + 1]
            if int(section):
                parts.append(_SECTIONS[position // 4])
    return "".join(parts)


# --- the document -----------------------------------------------------------------------


@functools.cache
def font_path() -> Path:
    """The Noto Sans SC file inside the installed font package (a plain directory)."""
    path = Path(str(resources.files(FONT_PACKAGE).joinpath(FONT_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{FONT_FILE} is not in the installed {FONT_PACKAGE} package")
    return path


class _ContractPdf(FPDF):
    def __init__(self, contract_number: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.contract_number = contract_number

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110)
        self.cell(
            0,
            5,
            f"合同编号：{self.contract_number}    第 {self.page_no()} 页 / 共 {{nb}} 页",
            align=Align.C,
        )
        self.set_text_color(0)


_BODY = 10.0
_LINE = 6.0
_MARGIN = 18.0


def _check(terms: ContractTerms) -> None:
    """Refuse terms whose figures disagree: a contract must never show a schedule that does
    not add up to the amounts stated above it."""
    if terms.currency != "CNY":
        raise ValueError("the contract is written for loans in renminbi (CNY)")
    if terms.signed_at.tzinfo is None:
        raise ValueError("signed_at must be timezone-aware")
    if not terms.schedule:
        raise ValueError("the repayment schedule is empty")
    for line in terms.schedule:
        if line.total != line.principal + line.interest + line.fee:
            raise ValueError(f"instalment {line.number}: the total is not the sum of its parts")
    if sum(line.principal for line in terms.schedule) != terms.principal:
        raise ValueError("the schedule's principal does not add up to the loan amount")
    if sum(line.interest for line in terms.schedule) != terms.total_interest:
        raise ValueError("the schedule's interest does not add up to the total interest")
    if sum(line.total for line in terms.schedule) != terms.total_repayment:
        raise ValueError("the schedule does not add up to the total repayment")


def render(terms: ContractTerms) -> bytes:
    """The signed loan contract as PDF bytes; the same terms give the same bytes."""
    _check(terms)
    pdf = _ContractPdf(terms.contract_number)
    pdf.set_creation_date(terms.signed_at)
    pdf.set_title(f"借款合同 {terms.contract_number}")
    pdf.set_author(terms.lender_name)
    pdf.set_subject("借款合同")
    pdf.set_lang("zh-CN")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=18)
    # Parsed for every document (about 0.1 s of a 0.45 s render): fpdf2 has no way to share a
    # parsed font between documents, and its subsetter cuts the parsed font down in place
    # when the file is written, so a shared one would be wrong for the next contract.
    pdf.add_font(FONT, fname=font_path())
    pdf.add_page()

    pdf.set_font(FONT, size=18)
    pdf.cell(0, 12, "借款合同", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.cell(
        0,
        5,
        f"合同编号：{terms.contract_number}",
        align=Align.R,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)
    _paragraph(
        pdf,
        "借款人与贷款人在平等、自愿的基础上，依据《中华人民共和国民法典》等法律法规，"
        "就借款事宜达成如下协议。本合同为电子合同，借款人已仔细阅读并充分理解全部条款，"
        "贷款人已就利率、费用、年化综合资金成本、逾期后果等重要内容向借款人作出提示和说明。",
    )

    _heading(pdf, "第一条  合同双方")
    _lines(
        pdf,
        [
            f"贷款人：{terms.lender_name}",
            f"借款人：{terms.borrower_name}",
            f"借款人居民身份证号码：{terms.borrower_resident_id}",
            f"借款人联系电话：{terms.borrower_phone_masked}",
        ],
    )

    _heading(pdf, "第二条  借款金额、用途与发放")
    first, last = terms.schedule[0], terms.schedule[-1]
    _lines(
        pdf,
        [
            f"借款产品：{terms.product_name}（产品编号 {terms.product_code}）",
            f"借款金额：人民币（小写）{format_yuan(terms.principal)}",
            f"借款金额：人民币（大写）{rmb_upper(terms.principal)}",
            f"借款用途：{terms.purpose_zh}",
            f"放款时一次性收取的费用：{format_yuan(terms.upfront_fee)}"
            f"（人民币大写 {rmb_upper(terms.upfront_fee)}）",
            f"实际发放金额：{format_yuan(terms.disbursed)}"
            f"（人民币大写 {rmb_upper(terms.disbursed)}）",
            f"收款及还款账户：{terms.bank_name}  {terms.bank_card_masked}",
        ],
    )
    _paragraph(
        pdf,
        "借款人承诺借款仅用于上述用途，不用于购房、偿还住房贷款、股票、债券、期货、"
        "金融衍生品、资产管理产品等投资，不用于法律法规禁止的其他用途。贷款人将借款发放至"
        "上述账户，借款人授权贷款人在每期还款日从该账户扣收当期应还款项。",
    )

    _heading(pdf, "第三条  借款期限")
    _lines(
        pdf,
        [
            f"借款期限：{terms.term}{terms.term_unit_zh}，自借款发放之日起计算。",
            f"首期还款日：{_date_zh(first.due_date)}；末期还款日：{_date_zh(last.due_date)}。",
        ],
    )

    _heading(pdf, "第四条  利率、费用与年化综合资金成本")
    _lines(
        pdf,
        [
            f"年利率（单利）：{terms.annual_rate_percent}%",
            f"年化综合资金成本（APR）：{terms.apr_percent}%",
            f"实际年利率（复利折算）：{terms.ear_percent}%",
            f"利息合计：{format_yuan(terms.total_interest)}",
            f"费用合计：{format_yuan(terms.total_fees)}",
            f"应还总额：{format_yuan(terms.total_repayment)}",
        ],
    )
    _paragraph(
        pdf,
        "年化综合资金成本依照中国人民银行公告〔2021〕第3号，为借款人实际承担的全部借款成本"
        "（包括利息及与借款直接相关的各类费用）与实际占用本金的年化比率，按内部收益率法计算。"
        "除本合同列明的利息和费用外，贷款人不向借款人收取其他任何费用；利息不在本金中预先扣除。",
    )

    _heading(pdf, "第五条  还款方式")
    _lines(pdf, [f"还款方式：{terms.method_zh}", f"还款日：{terms.repayment_day_text}"])

    _heading(pdf, "第六条  还款计划", keep_with=30)
    _schedule_table(pdf, terms)

    _heading(pdf, "第七条  逾期还款")
    _paragraph(pdf, terms.penalty_text)
    _heading(pdf, "第八条  提前还款")
    _paragraph(pdf, terms.prepayment_text)
    _heading(pdf, "第九条  信用信息")
    _paragraph(
        pdf,
        "借款人同意贷款人依法向金融信用信息基础数据库及其他依法设立的征信机构查询、报送"
        "借款人的信用信息，包括本合同项下的借款及还款情况；逾期记录可能影响借款人的信用。",
    )
    _heading(pdf, "第十条  争议解决")
    _paragraph(
        pdf,
        "本合同适用中华人民共和国法律。因本合同引起的或与本合同有关的争议，双方应协商解决；"
        "协商不成的，任何一方均可依法向有管辖权的人民法院提起诉讼。",
    )
    _heading(pdf, "第十一条  合同生效")
    _paragraph(
        pdf,
        "本合同以电子方式订立，依照《中华人民共和国电子签名法》，借款人的可靠电子签名与手写签名"
        "具有同等法律效力。本合同自借款人完成电子签名之时成立并生效，至借款本息及费用全部清偿时终止。",
    )

    _signature_block(pdf, terms)
    return bytes(pdf.output())


def _date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _heading(pdf: FPDF, text: str, keep_with: float = 14) -> None:
    """A clause heading, moved to the next page with what follows it (``keep_with`` mm)
    rather than left alone at the foot of a page."""
    if pdf.will_page_break(2 + 8 + keep_with):
        pdf.add_page()
    else:
        pdf.ln(2)
    pdf.set_font(FONT, size=11.5)
    pdf.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=_BODY)


def _lines(pdf: FPDF, lines: list[str]) -> None:
    pdf.set_font(FONT, size=_BODY)
    for line in lines:
        pdf.multi_cell(0, _LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, size=_BODY)
    pdf.multi_cell(0, _LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


_COLUMNS = ("期数", "还款日", "本金", "利息", "费用", "应还合计")
_WIDTHS = (14, 30, 33, 33, 28, 36)  # mm, the 174 mm between the margins
_ALIGN = ("CENTER", "CENTER", "RIGHT", "RIGHT", "RIGHT", "RIGHT")


def _schedule_table(pdf: FPDF, terms: ContractTerms) -> None:
    """Every instalment, the header row repeated on each page the table runs onto."""
    pdf.set_font(FONT, size=9)
    pdf.set_draw_color(160)
    heading = FontFace(fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=_WIDTHS,
        text_align=_ALIGN,
        line_height=5.5,
        headings_style=heading,
        repeat_headings=1,
        cell_fill_mode=TableCellFillMode.NONE,
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for title in _COLUMNS:
            header.cell(title, align=Align.C)
        for line in terms.schedule:
            table.row(
                (
                    str(line.number),
                    line.due_date.isoformat(),
                    format_amount(line.principal),
                    format_amount(line.interest),
                    format_amount(line.fee),
                    format_amount(line.total),
                )
            )
        table.row(
            (
                "合计",
                "",
                format_amount(terms.principal),
                format_amount(terms.total_interest),
                format_amount(sum(line.fee for line in terms.schedule)),
                format_amount(terms.total_repayment),
            )
        )
    pdf.set_font(FONT, size=_BODY)


def _signature_block(pdf: FPDF, terms: ContractTerms) -> None:
    signed = terms.signed_at.astimezone(SHANGHAI)
    if pdf.will_page_break(60):
        pdf.add_page()
    pdf.ln(4)
    pdf.set_draw_color(120)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(3)
    _heading(pdf, "签署")
    _lines(
        pdf,
        [
            f"贷款人：{terms.lender_name}（电子签章）",
            f"借款人：{terms.borrower_name}（电子签名）",
            f"签署时间：{signed:%Y年%m月%d日 %H:%M:%S}（北京时间，UTC+8）",
            f"签署方式：{terms.signing_method}",
            f"借款申请编号：{terms.application_id}",
            f"审批决定编号：{terms.decision_ref}",
        ],
    )
