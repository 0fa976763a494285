"""Real-name verification (实名认证) through a pluggable identity-verification provider.

A person is verified on name + resident identity number, optionally with a bank card and the
mobile number the bank holds for it (银行预留手机号): the two-, three- and four-element
checks. An enterprise is verified on name + Unified Social Credit Code + legal
representative. Callers pass values already normalised by :mod:`lendbridge.identity.validation`
(``normalize_name``, ``parse_resident_id(...).number``, ``parse_bank_card(...).number``,
``normalize_mobile``, ``parse_uscc``); verifiers compare them as given.

Every verifier answers with a :class:`VerificationResult` whose ``outcome`` is

- ``"match"`` — every element given matches the authoritative record;
- ``"mismatch"`` — a definitive no, with the reasons (``name_mismatch``,
  ``card_not_bound_to_mobile``, …): do not retry with the same data;
- ``"failed"`` — the provider could not answer (``provider_unavailable``): retryable.

Two implementations:

- :class:`DevelopmentVerifier` — deterministic and offline, for tests, development and the
  demo. It answers from the fixed test identities below (also in
  ``docs/identity-test-data.md``); any other input follows the general rule.
- :class:`HttpVerifier` — the adapter for a real provider over HTTPS (request and response
  shape in its docstring).

Development test identities (every number is valid, computed with python-stdnum; the cards
carry real public BINs but are made up; the mobiles are 138000000xx). Full table:
``docs/identity-test-data.md``.

Persons (name, resident ID, bank card, reserved mobile → outcome):

- 张伟, 110105199003071239 (北京 朝阳区, male), ICBC 6222020200012345670, 13800000001
  → ``match``
- 李娜, 31010419880520006X (上海 徐汇区, female; check digit X), CCB 6217000200023456783,
  13800000002 → ``match``
- 王芳, 440305199512310469 (深圳 南山区, female), ABC 6228480200034567897, 13800000003
  → ``match``
- 阿依古丽·买买提, 65010220000229028X (乌鲁木齐 天山区, female, born 29 February 2000),
  BOC 6216610200045678905, 13800000004 → ``match``
- any name, 110108198507150314 (北京 海淀区) → ``mismatch`` (``name_mismatch``): on record
  under a name no caller can give.
- 刘洋, 310115199211110570 (上海 浦东新区), CMB 6225880200056787, any mobile → ``mismatch``
  (``card_not_bound_to_mobile``); without a mobile → ``match``.
- anything with 440106198901010129 (广州 天河区) → ``failed`` (``provider_unavailable``).

A listed identity matches only under its listed name, its card only with its listed mobile;
a listed card given with another resident ID gives ``card_holder_mismatch``.

General rule for any other person: ``match`` when the name is not blank and the resident ID
is 18 characters with a correct check digit (else ``name_mismatch`` /
``resident_id_not_found``); a bank card not listed above matches when it is 12–19 digits
passing Luhn (else ``card_invalid``), and a mobile given with it matches when it is an
11-digit mainland mobile (else ``card_not_bound_to_mobile``). The development verifier is no
authority: it never checks that a person exists.

Enterprises (name, USCC, legal representative → outcome):

- 北京示例科技有限公司, 91110105MA01DEM23X, 张伟 → ``match``
- 深圳样例贸易有限公司, 91440305MA5F7K3P6A, 王芳 → ``match``
- 上海测试咨询有限公司, 91310104MA1G8R2W5P, any legal representative → ``mismatch``
  (``legal_representative_mismatch``)
- any name, 91110108MA00B7LN83 (legal representative 赵敏) → ``mismatch``
  (``enterprise_name_mismatch``)
- anything with 91440106MA59Q4TCXL → ``failed`` (``provider_unavailable``)

A listed enterprise matches only under its listed name and legal representative. General rule
for any other enterprise: ``match`` when the name and the legal representative are not blank
and the USCC has a correct check character (else ``enterprise_name_mismatch`` /
``legal_representative_mismatch`` / ``uscc_not_found``).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from stdnum import luhn
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from lendbridge.kit.logging import get_logger

log = get_logger(__name__)

Outcome = Literal["match", "mismatch", "failed"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

# Reasons. Providers may add their own; these are the ones lendbridge knows.
NAME_MISMATCH = "name_mismatch"
RESIDENT_ID_NOT_FOUND = "resident_id_not_found"
CARD_INVALID = "card_invalid"
CARD_HOLDER_MISMATCH = "card_holder_mismatch"
CARD_NOT_BOUND_TO_MOBILE = "card_not_bound_to_mobile"
ENTERPRISE_NAME_MISMATCH = "enterprise_name_mismatch"
LEGAL_REPRESENTATIVE_MISMATCH = "legal_representative_mismatch"
USCC_NOT_FOUND = "uscc_not_found"
PROVIDER_UNAVAILABLE = "provider_unavailable"


@dataclass(frozen=True)
class VerificationResult:
    """A provider's answer. ``reasons`` is empty for a match and never empty otherwise;
    ``reference`` is the provider's id for the check (keep it for audit) when it gave one;
    ``detail`` says for the logs why a check failed (``HTTP 500``, ``timed out``) and never
    holds personal data."""

    outcome: Outcome
    reasons: tuple[str, ...]
    provider: str
    reference: str | None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        if (self.outcome == "match") == bool(self.reasons):
            raise ValueError("a match has no reasons; a mismatch or failure has at least one")

    @property
    def matched(self) -> bool:
        return self.outcome == "match"

    @property
    def retryable(self) -> bool:
        """The provider could not answer; the same request may succeed later."""
        return self.outcome == "failed"


@runtime_checkable
class IdentityVerifier(Protocol):
    """An identity-verification provider. Implementations never raise for provider trouble:
    they answer ``failed``. They raise ``ValueError`` for a call that makes no sense
    (a reserved mobile without a bank card)."""

    def verify_person(
        self,
        name: str,
        resident_id: str,
        *,
        bank_card: str | None = None,
        reserved_mobile: str | None = None,
    ) -> VerificationResult: ...

    def verify_enterprise(
        self, name: str, uscc: str, legal_representative: str
    ) -> VerificationResult: ...


def _require_card_for_mobile(bank_card: str | None, reserved_mobile: str | None) -> None:
    if reserved_mobile is not None and bank_card is None:
        raise ValueError("a reserved mobile is checked against a bank card: give the card too")


# --- development provider ----------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    name: str | None  # None: on record under a name no caller can give
    bank_card: str | None = None
    reserved_mobile: str | None = None  # None with a card: bound to a mobile nobody can give
    unavailable: bool = False


@dataclass(frozen=True)
class _Enterprise:
    name: str | None
    legal_representative: str | None
    unavailable: bool = False


DEVELOPMENT_PERSONS: dict[str, _Person] = {
    "110105199003071239": _Person("张伟", "6222020200012345670", "13800000001"),
    "31010419880520006X": _Person("李娜", "6217000200023456783", "13800000002"),
    "440305199512310469": _Person("王芳", "6228480200034567897", "13800000003"),
    "65010220000229028X": _Person("阿依古丽·买买提", "6216610200045678905", "13800000004"),
    "110108198507150314": _Person(None),
    "310115199211110570": _Person("刘洋", "6225880200056787", None),
    "440106198901010129": _Person("黄丽", unavailable=True),
}
DEVELOPMENT_ENTERPRISES: dict[str, _Enterprise] = {
    "91110105MA01DEM23X": _Enterprise("北京示例科技有限公司", "张伟"),
    "91440305MA5F7K3P6A": _Enterprise("深圳样例贸易有限公司", "王芳"),
    "91310104MA1G8R2W5P": _Enterprise("上海测试咨询有限公司", None),
    "91110108MA00B7LN83": _Enterprise(None, "赵敏"),
    "91440106MA59Q4TCXL": _Enterprise("广州演示物流有限公司", "黄丽", unavailable=True),
}
_CARD_HOLDERS = {
    person.bank_card: resident_id
    for resident_id, person in DEVELOPMENT_PERSONS.items()
    if person.bank_card is not None
}
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_CARD = re.compile(r"[0-9]{12,19}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_USCC = re.compile(r"[0-9]{8}[0-9ABCDEFGHJKLMNPQRTUWXY]{10}")


class DevelopmentVerifier:
    """Deterministic offline verifier: the test identities and the general rule of the
    module docstring. The reference is a hash of the request, so the same request gets the
    same reference (``dev-…``)."""

    provider = "development"

    def verify_person(
        self,
        name: str,
        resident_id: str,
        *,
        bank_card: str | None = None,
        reserved_mobile: str | None = None,
    ) -> VerificationResult:
        _require_card_for_mobile(bank_card, reserved_mobile)
        reference = self._reference("person", name, resident_id, bank_card, reserved_mobile)
        record = DEVELOPMENT_PERSONS.get(resident_id)
        if record is not None and record.unavailable:
            return self._unavailable(reference)
        reasons: list[str] = []
        if record is not None:
            if record.name is None or name != record.name:
                reasons.append(NAME_MISMATCH)
        elif not _RESIDENT_ID.fullmatch(resident_id) or (
            ric.calc_check_digit(resident_id) != resident_id[-1]
        ):
            reasons.append(RESIDENT_ID_NOT_FOUND)
        elif not name.strip():
            reasons.append(NAME_MISMATCH)
        if bank_card is not None:
            reasons.extend(self._card_reasons(resident_id, bank_card, reserved_mobile))
        return self._result(reasons, reference)

    def verify_enterprise(
        self, name: str, uscc: str, legal_representative: str
    ) -> VerificationResult:
        reference = self._reference("enterprise", name, uscc, legal_representative)
        record = DEVELOPMENT_ENTERPRISES.get(uscc)
        if record is not None and record.unavailable:
            return self._unavailable(reference)
        reasons: list[str] = []
        if record is not None:
            if record.name is None or name != record.name:
                reasons.append(ENTERPRISE_NAME_MISMATCH)
            if record.legal_representative is None or (
                legal_representative != record.legal_representative
            ):
                reasons.append(LEGAL_REPRESENTATIVE_MISMATCH)
        elif not _USCC.fullmatch(uscc) or stdnum_uscc.calc_check_digit(uscc) != uscc[-1]:
            reasons.append(USCC_NOT_FOUND)
        else:
            if not name.strip():
                reasons.append(ENTERPRISE_NAME_MISMATCH)
            if not legal_representative.strip():
                reasons.append(LEGAL_REPRESENTATIVE_MISMATCH)
        return self._result(reasons, reference)

    @staticmethod
    def _card_reasons(resident_id: str, bank_card: str, reserved_mobile: str | None) -> list[str]:
        holder = _CARD_HOLDERS.get(bank_card)
        if holder is not None:
            if holder != resident_id:
                return [CARD_HOLDER_MISMATCH]
            bound = DEVELOPMENT_PERSONS[holder].reserved_mobile
            if reserved_mobile is not None and reserved_mobile != bound:
                return [CARD_NOT_BOUND_TO_MOBILE]
            return []
        if not _CARD.fullmatch(bank_card) or luhn.checksum(bank_card) != 0:
            return [CARD_INVALID]
        if reserved_mobile is not None and not _MOBILE.fullmatch(reserved_mobile):
            return [CARD_NOT_BOUND_TO_MOBILE]
        return []

    def _result(self, reasons: list[str], reference: str) -> VerificationResult:
        outcome: Outcome = "mismatch" if reasons else "match"
        return VerificationResult(outcome, tuple(reasons), self.provider, reference)

    def _unavailable(self, reference: str) -> VerificationResult:
        return VerificationResult(
            "failed",
            (PROVIDER_UNAVAILABLE,),
            self.provider,
            reference,
            "development test identity: the provider is unavailable",
        )

    @staticmethod
    def _reference(*parts: str | None) -> str:
        text = "\x1f".join(part or "" for part in parts)
        return "dev-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


# --- HTTP provider -----------------------------------------------------------------------

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would resend the API key and personal data elsewhere: treat it as an
    error (the 3xx surfaces as ``HTTPError``)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        return None


class HttpVerifier:
    """Adapter for an identity-verification provider over HTTP(S).

    Requests (``Authorization: Bearer <api_key>``, ``Content-Type: application/json``,
    ``X-Request-ID: <uuid>``, UTF-8 JSON)::

        POST {base_url}/v1/person-verifications
        {"name": "张伟", "resident_id": "110105199003071239",
         "bank_card": "6222020200012345670", "reserved_mobile": "13800000001"}
        (bank_card and reserved_mobile are left out when not given)

        POST {base_url}/v1/enterprise-verifications
        {"name": "北京示例科技有限公司", "uscc": "91110105MA01DEM23X",
         "legal_representative": "张伟"}

    Response, status 200::

        {"outcome": "match" | "mismatch" | "failed",
         "reasons": ["name_mismatch", ...],     # empty for match, at least one otherwise
         "reference": "provider's id for this check"}   # optional

    Anything else — another status (redirects are not followed), a timeout, a connection
    error, a body that is not that JSON or is over ``max_response_bytes`` — gives outcome
    ``failed`` with reason ``provider_unavailable`` and a ``detail`` for the logs. A provider
    ``failed`` without reasons gets ``provider_unavailable``.

    ``base_url`` must be https; plain http is allowed only to a loopback host (tests, a local
    stub). ``timeout`` (seconds) applies to connecting and to each read.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 5.0,
        provider: str = "http",
        max_response_bytes: int = 64 * 1024,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an https:// URL")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("base_url must use https (plain http only to a loopback host)")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        if not api_key:
            raise ValueError("api_key is required")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.provider = provider
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"HttpVerifier({self._base_url!r}, provider={self.provider!r})"

    def verify_person(
        self,
        name: str,
        resident_id: str,
        *,
        bank_card: str | None = None,
        reserved_mobile: str | None = None,
    ) -> VerificationResult:
        _require_card_for_mobile(bank_card, reserved_mobile)
        payload = {"name": name, "resident_id": resident_id}
        if bank_card is not None:
            payload["bank_card"] = bank_card
        if reserved_mobile is not None:
            payload["reserved_mobile"] = reserved_mobile
        return self._post("/v1/person-verifications", payload)

    def verify_enterprise(
        self, name: str, uscc: str, legal_representative: str
    ) -> VerificationResult:
        payload = {"name": name, "uscc": uscc, "legal_representative": legal_representative}
        return self._post("/v1/enterprise-verifications", payload)

    def _post(self, path: str, payload: dict[str, str]) -> VerificationResult:
        # The scheme was checked in __init__: https, or http to a loopback host.
        request = urllib.request.Request(  # noqa: S310
            self._base_url + path,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "X-Request-ID": uuid.uuid4().hex,
            },
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                status = response.status
                body = response.read(self._max_response_bytes + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            return self._unavailable(path, f"HTTP {exc.code}")
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return self._unavailable(path, "timed out")
            return self._unavailable(path, f"connection failed: {type(exc.reason).__name__}")
        except TimeoutError:
            return self._unavailable(path, "timed out")
        except (OSError, http.client.HTTPException) as exc:
            return self._unavailable(path, f"connection failed: {type(exc).__name__}")
        if status != 200:
            return self._unavailable(path, f"HTTP {status}")
        if len(body) > self._max_response_bytes:
            return self._unavailable(path, "response too large")
        return self._parse(path, body)

    def _parse(self, path: str, body: bytes) -> VerificationResult:
        try:
            data = json.loads(body.decode("utf-8"))
        except ValueError:
            return self._unavailable(path, "response is not JSON")
        if not isinstance(data, dict):
            return self._unavailable(path, "malformed response")
        outcome, reasons, reference = (
            data.get("outcome"),
            data.get("reasons", []),
            data.get("reference"),
        )
        if (
            outcome not in OUTCOMES
            or not isinstance(reasons, list)
            or not all(isinstance(reason, str) and reason for reason in reasons)
            or not (reference is None or isinstance(reference, str))
        ):
            return self._unavailable(path, "malformed response")
        if outcome == "failed":
            detail = "the provider answered failed"
            log.warning("identity.provider_failed", provider=self.provider, path=path)
            return VerificationResult(
                "failed",
                tuple(reasons) or (PROVIDER_UNAVAILABLE,),
                self.provider,
                reference,
                detail,
            )
        if (outcome == "match") == bool(reasons):
            return self._unavailable(path, "malformed response")
        checked: Outcome = "match" if outcome == "match" else "mismatch"
        return VerificationResult(checked, tuple(reasons), self.provider, reference)

    def _unavailable(self, path: str, detail: str) -> VerificationResult:
        log.warning(
            "identity.provider_unavailable", provider=self.provider, path=path, detail=detail
        )
        return VerificationResult("failed", (PROVIDER_UNAVAILABLE,), self.provider, None, detail)
