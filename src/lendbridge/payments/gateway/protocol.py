"""The gateway's wire format: order requests, error codes and their messages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lendbridge.payments.gateway.state import OrderContent

MAX_AMOUNT = 2**63 - 1
ORDER_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
CURRENCY = re.compile(r"[A-Z]{3}")
# What a bank accepts as an account number; anything else fails as INVALID_ACCOUNT (recorded,
# final), the way a real bank refuses a mistyped card rather than the request.
ACCOUNT_NUMBER = re.compile(r"[0-9]{8,32}")
_FIELDS = frozenset(
    {
        "order_no",
        "direction",
        "amount",
        "currency",
        "account_number",
        "account_name",
        "callback_url",
        "memo",
    }
)

# Messages as the bank prints them (its customers and staff read Chinese).
MESSAGES = {
    "INSUFFICIENT_FUNDS": "余额不足",
    "CARD_FROZEN": "卡片已冻结",
    "ACCOUNT_CLOSED": "账户已销户",
    "INVALID_ACCOUNT": "账户信息有误",
    "SYSTEM_BUSY": "系统繁忙，请稍后重试",
    "DUPLICATE_ORDER": "订单号重复且内容不一致",
    "NOT_FOUND": "订单不存在",
    "INVALID_REQUEST": "请求格式错误",
    "UNKNOWN_MERCHANT": "商户不存在",
    "SIGNATURE_INVALID": "签名错误",
    "TIMESTAMP_EXPIRED": "时间戳超出允许范围",
    "FORBIDDEN": "仅限本机访问",
}


class InvalidRequest(Exception):
    pass


@dataclass(frozen=True, slots=True)
class OrderRequest:
    order_no: str
    content: OrderContent
    callback_url: str | None
    memo: str


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def error(code: str, message: str | None = None) -> dict[str, str]:
    return {"error_code": code, "message": message or MESSAGES.get(code, code)}


def _text(data: dict[str, Any], name: str, low: int, high: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise InvalidRequest(f"{name} must be a string of {low} to {high} characters")
    return value


def parse_order(body: bytes) -> OrderRequest:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidRequest("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    unknown = set(data) - _FIELDS
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    order_no = _text(data, "order_no", 1, 64)
    if not ORDER_NO.fullmatch(order_no):
        raise InvalidRequest("order_no: letters, digits, '_', '.', '-' only")
    direction = data.get("direction")
    if direction not in ("pay", "collect"):
        raise InvalidRequest("direction must be 'pay' or 'collect'")
    amount = data.get("amount")
    # bool is an int in Python; JSON true must not pass as 1 fen.
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest("amount must be a positive integer of minor units")
    currency = _text(data, "currency", 3, 3)
    if not CURRENCY.fullmatch(currency):
        raise InvalidRequest("currency must be an ISO 4217 code")
    account_number = _text(data, "account_number", 1, 64)
    account_name = _text(data, "account_name", 1, 100)
    callback_url = data.get("callback_url")
    if callback_url is not None and (
        not isinstance(callback_url, str)
        or not callback_url.startswith(("http://", "https://"))
        or len(callback_url) > 2048
    ):
        raise InvalidRequest("callback_url must be an http(s) URL")
    memo = data.get("memo", "")
    if not isinstance(memo, str) or len(memo) > 256:
        raise InvalidRequest("memo must be a string of at most 256 characters")
    content = OrderContent(direction, amount, currency, account_number, account_name)
    return OrderRequest(order_no, content, callback_url, memo)
