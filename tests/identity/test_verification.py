"""Identity verification: the documented development identities and the HTTP adapter
against a local server."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import uscc as stdnum_uscc

from lendbridge.identity.validation import (
    normalize_mobile,
    normalize_name,
    parse_bank_card,
    parse_resident_id,
    parse_uscc,
)
from lendbridge.identity.verification import (
    CARD_HOLDER_MISMATCH,
    CARD_INVALID,
    CARD_NOT_BOUND_TO_MOBILE,
    DEVELOPMENT_ENTERPRISES,
    DEVELOPMENT_PERSONS,
    ENTERPRISE_NAME_MISMATCH,
    LEGAL_REPRESENTATIVE_MISMATCH,
    NAME_MISMATCH,
    PROVIDER_UNAVAILABLE,
    RESIDENT_ID_NOT_FOUND,
    USCC_NOT_FOUND,
    DevelopmentVerifier,
    HttpVerifier,
    IdentityVerifier,
    VerificationResult,
)

TODAY = dt.date(2026, 1, 15)
DOC = Path(__file__).parents[2] / "docs" / "identity-test-data.md"

# The documented persons: name, resident ID, card, mobile, outcome, reasons.
PERSONS: list[tuple[str, str, str | None, str | None, str, tuple[str, ...]]] = [
    ("张伟", "110105199003071239", "6222020200012345670", "13800000001", "match", ()),
    ("李娜", "31010419880520006X", "6217000200023456783", "13800000002", "match", ()),
    ("王芳", "440305199512310469", "6228480200034567897", "13800000003", "match", ()),
    ("阿依古丽·买买提", "65010220000229028X", "6216610200045678905", "13800000004", "match", ()),
    ("张伟", "110108198507150314", None, None, "mismatch", (NAME_MISMATCH,)),
    ("赵敏", "110108198507150314", None, None, "mismatch", (NAME_MISMATCH,)),
    (
        "刘洋",
        "310115199211110570",
        "6225880200056787",
        "13800000006",
        "mismatch",
        (CARD_NOT_BOUND_TO_MOBILE,),
    ),
    ("刘洋", "310115199211110570", "6225880200056787", None, "match", ()),
    ("黄丽", "440106198901010129", None, None, "failed", (PROVIDER_UNAVAILABLE,)),
    (
        "张伟",
        "440106198901010129",
        "6222020200012345670",
        "13800000001",
        "failed",
        (PROVIDER_UNAVAILABLE,),
    ),
]
ENTERPRISES: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("北京示例科技有限公司", "91110105MA01DEM23X", "张伟", "match", ()),
    ("深圳样例贸易有限公司", "91440305MA5F7K3P6A", "王芳", "match", ()),
    (
        "上海测试咨询有限公司",
        "91310104MA1G8R2W5P",
        "李娜",
        "mismatch",
        (LEGAL_REPRESENTATIVE_MISMATCH,),
    ),
    ("某某有限公司", "91110108MA00B7LN83", "赵敏", "mismatch", (ENTERPRISE_NAME_MISMATCH,)),
    ("广州演示物流有限公司", "91440106MA59Q4TCXL", "黄丽", "failed", (PROVIDER_UNAVAILABLE,)),
]


@pytest.fixture
def dev() -> DevelopmentVerifier:
    return DevelopmentVerifier()


# --- the result type ---------------------------------------------------------------------


def test_result_invariants() -> None:
    assert VerificationResult("match", (), "p", "r").matched
    failed = VerificationResult("failed", (PROVIDER_UNAVAILABLE,), "p", None)
    assert failed.retryable
    assert not failed.matched
    with pytest.raises(ValueError, match="unknown outcome"):
        VerificationResult("maybe", (), "p", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        VerificationResult("mismatch", (), "p", None)
    with pytest.raises(ValueError, match="no reasons"):
        VerificationResult("match", (NAME_MISMATCH,), "p", None)


def test_both_verifiers_satisfy_the_protocol(dev: DevelopmentVerifier) -> None:
    assert isinstance(dev, IdentityVerifier)
    assert isinstance(HttpVerifier("https://kyc.example.com", "key"), IdentityVerifier)


# --- the development verifier ------------------------------------------------------------


@pytest.mark.parametrize(("name", "resident_id", "card", "mobile", "outcome", "reasons"), PERSONS)
def test_documented_persons(
    dev: DevelopmentVerifier,
    name: str,
    resident_id: str,
    card: str | None,
    mobile: str | None,
    outcome: str,
    reasons: tuple[str, ...],
) -> None:
    result = dev.verify_person(name, resident_id, bank_card=card, reserved_mobile=mobile)
    assert (result.outcome, result.reasons) == (outcome, reasons)
    assert result.provider == "development"
    assert result.reference is not None
    assert result.reference.startswith("dev-")


@pytest.mark.parametrize(("name", "uscc", "legal", "outcome", "reasons"), ENTERPRISES)
def test_documented_enterprises(
    dev: DevelopmentVerifier,
    name: str,
    uscc: str,
    legal: str,
    outcome: str,
    reasons: tuple[str, ...],
) -> None:
    result = dev.verify_enterprise(name, uscc, legal)
    assert (result.outcome, result.reasons) == (outcome, reasons)


def test_documented_numbers_are_valid() -> None:
    """Every documented number passes validation, so it can go through the whole flow."""
    for resident_id, person in DEVELOPMENT_PERSONS.items():
        assert parse_resident_id(resident_id, today=TODAY).number == resident_id
        if person.name is not None:
            assert normalize_name(person.name) == person.name
        if person.bank_card is not None:
            assert parse_bank_card(person.bank_card).bin_matched
        if person.reserved_mobile is not None:
            assert normalize_mobile(person.reserved_mobile) == person.reserved_mobile
    for uscc in DEVELOPMENT_ENTERPRISES:
        assert parse_uscc(uscc) == uscc


def test_documented_identities_are_in_the_doc_and_the_docstring() -> None:
    import lendbridge.identity.verification as module

    doc = DOC.read_text("utf-8")
    docstring = module.__doc__ or ""
    numbers = [
        *DEVELOPMENT_PERSONS,
        *DEVELOPMENT_ENTERPRISES,
        *(p.bank_card for p in DEVELOPMENT_PERSONS.values() if p.bank_card),
        *(p.reserved_mobile for p in DEVELOPMENT_PERSONS.values() if p.reserved_mobile),
    ]
    for number in numbers:
        assert number in doc, number
        assert number in docstring, number


def test_listed_identity_under_another_name(dev: DevelopmentVerifier) -> None:
    result = dev.verify_person("张卫", "110105199003071239")
    assert (result.outcome, result.reasons) == ("mismatch", (NAME_MISMATCH,))


def test_two_and_three_element_checks(dev: DevelopmentVerifier) -> None:
    assert dev.verify_person("张伟", "110105199003071239").matched
    assert dev.verify_person("张伟", "110105199003071239", bank_card="6222020200012345670").matched


def test_listed_card_with_the_wrong_mobile(dev: DevelopmentVerifier) -> None:
    result = dev.verify_person(
        "张伟", "110105199003071239", bank_card="6222020200012345670", reserved_mobile="13800000002"
    )
    assert result.reasons == (CARD_NOT_BOUND_TO_MOBILE,)


def test_listed_card_with_another_person(dev: DevelopmentVerifier) -> None:
    result = dev.verify_person("李娜", "31010419880520006X", bank_card="6222020200012345670")
    assert (result.outcome, result.reasons) == ("mismatch", (CARD_HOLDER_MISMATCH,))
    stranger = dev.verify_person("路人", "110105199001010010", bank_card="6222020200012345670")
    assert stranger.reasons == (CARD_HOLDER_MISMATCH,)


def test_general_rule_for_other_persons(dev: DevelopmentVerifier) -> None:
    other = "110105199001010010"
    assert parse_resident_id(other, today=TODAY)
    assert dev.verify_person("路人甲", other).matched
    assert dev.verify_person(
        "路人甲", other, bank_card="6222020200099999993", reserved_mobile="13912345678"
    ).matched
    assert dev.verify_person("  ", other).reasons == (NAME_MISMATCH,)
    assert dev.verify_person("路人甲", "110105199001010011").reasons == (RESIDENT_ID_NOT_FOUND,)
    assert dev.verify_person("路人甲", other, bank_card="6222020200099999994").reasons == (
        CARD_INVALID,
    )
    assert dev.verify_person(
        "路人甲", other, bank_card="6222020200099999993", reserved_mobile="12345"
    ).reasons == (CARD_NOT_BOUND_TO_MOBILE,)


def test_general_rule_for_other_enterprises(dev: DevelopmentVerifier) -> None:
    stem = "91310115MA1K3L4M0"
    code = stem + stdnum_uscc.calc_check_digit(stem)
    assert parse_uscc(code) == code
    assert dev.verify_enterprise("测试公司", code, "路人甲").matched
    assert dev.verify_enterprise("", code, "").reasons == (
        ENTERPRISE_NAME_MISMATCH,
        LEGAL_REPRESENTATIVE_MISMATCH,
    )
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert dev.verify_enterprise("测试公司", wrong, "路人甲").reasons == (USCC_NOT_FOUND,)


def test_listed_enterprise_under_other_names(dev: DevelopmentVerifier) -> None:
    result = dev.verify_enterprise("北京示例科技公司", "91110105MA01DEM23X", "李娜")
    assert result.reasons == (ENTERPRISE_NAME_MISMATCH, LEGAL_REPRESENTATIVE_MISMATCH)


def test_development_references_are_deterministic(dev: DevelopmentVerifier) -> None:
    first = dev.verify_person("张伟", "110105199003071239")
    assert DevelopmentVerifier().verify_person("张伟", "110105199003071239") == first
    assert dev.verify_person("李娜", "31010419880520006X").reference != first.reference


def test_mobile_without_card_is_a_programming_error(dev: DevelopmentVerifier) -> None:
    with pytest.raises(ValueError, match="bank card"):
        dev.verify_person("张伟", "110105199003071239", reserved_mobile="13800000001")
    with pytest.raises(ValueError, match="bank card"):
        HttpVerifier("https://kyc.example.com", "key").verify_person(
            "张伟", "110105199003071239", reserved_mobile="13800000001"
        )


# --- the HTTP verifier against a local server --------------------------------------------

Reply = tuple[int, Any]  # status and a JSON value (bytes are sent as they are)


@dataclass
class Provider:
    """A stub provider: records requests and answers with ``reply(path, body)``."""

    url: str
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    reply: Callable[[str, dict[str, Any]], Reply] = lambda path, body: (200, {})
    delay: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def provider() -> Iterator[Provider]:
    stub: Provider

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if stub.delay:
                stub.release.wait(stub.delay)
            status, payload = stub.reply(self.path, body)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", f"{stub.url}/elsewhere")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # the client may have given up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    stub = Provider(url=f"http://{host!s}:{port}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def verifier(provider: Provider, timeout: float = 2.0) -> HttpVerifier:
    return HttpVerifier(provider.url, "test-key", timeout=timeout, provider="stub-kyc")


def test_http_match_sends_the_documented_request(provider: Provider) -> None:
    provider.reply = lambda path, body: (
        200,
        {"outcome": "match", "reasons": [], "reference": "r1"},
    )
    result = verifier(provider).verify_person(
        "张伟", "110105199003071239", bank_card="6222020200012345670", reserved_mobile="13800000001"
    )
    assert result == VerificationResult("match", (), "stub-kyc", "r1")
    [(path, headers, body)] = provider.requests
    assert path == "/v1/person-verifications"
    assert headers["authorization"] == "Bearer test-key"
    assert headers["content-type"].startswith("application/json")
    assert headers["x-request-id"]
    assert body == {
        "name": "张伟",
        "resident_id": "110105199003071239",
        "bank_card": "6222020200012345670",
        "reserved_mobile": "13800000001",
    }


def test_http_two_element_check_leaves_out_card_and_mobile(provider: Provider) -> None:
    provider.reply = lambda path, body: (200, {"outcome": "match", "reasons": []})
    result = verifier(provider).verify_person("张伟", "110105199003071239")
    assert result.matched
    assert result.reference is None
    assert provider.requests[0][2] == {"name": "张伟", "resident_id": "110105199003071239"}


def test_http_mismatch(provider: Provider) -> None:
    provider.reply = lambda path, body: (
        200,
        {"outcome": "mismatch", "reasons": ["name_mismatch"], "reference": "r2"},
    )
    result = verifier(provider).verify_person("张卫", "110105199003071239")
    assert (result.outcome, result.reasons, result.reference) == (
        "mismatch",
        (NAME_MISMATCH,),
        "r2",
    )
    assert not result.retryable


def test_http_enterprise(provider: Provider) -> None:
    provider.reply = lambda path, body: (
        200,
        {"outcome": "mismatch", "reasons": ["legal_representative_mismatch"], "reference": "e1"},
    )
    result = verifier(provider).verify_enterprise(
        "上海测试咨询有限公司", "91310104MA1G8R2W5P", "李娜"
    )
    assert result.reasons == (LEGAL_REPRESENTATIVE_MISMATCH,)
    [(path, _, body)] = provider.requests
    assert path == "/v1/enterprise-verifications"
    assert body == {
        "name": "上海测试咨询有限公司",
        "uscc": "91310104MA1G8R2W5P",
        "legal_representative": "李娜",
    }


def test_http_500_is_failed(provider: Provider) -> None:
    provider.reply = lambda path, body: (500, {"error": "boom"})
    result = verifier(provider).verify_person("张伟", "110105199003071239")
    assert (result.outcome, result.reasons) == ("failed", (PROVIDER_UNAVAILABLE,))
    assert result.retryable
    assert result.detail == "HTTP 500"
    assert result.provider == "stub-kyc"


@pytest.mark.parametrize("status", [400, 401, 404, 429, 503])
def test_http_error_statuses_are_failed(provider: Provider, status: int) -> None:
    provider.reply = lambda path, body: (status, {})
    result = verifier(provider).verify_person("张伟", "110105199003071239")
    assert (result.outcome, result.detail) == ("failed", f"HTTP {status}")


def test_http_timeout_is_failed(provider: Provider) -> None:
    provider.delay = 5.0
    provider.reply = lambda path, body: (200, {"outcome": "match", "reasons": []})
    result = verifier(provider, timeout=0.2).verify_person("张伟", "110105199003071239")
    assert (result.outcome, result.reasons, result.detail) == (
        "failed",
        (PROVIDER_UNAVAILABLE,),
        "timed out",
    )


def test_http_redirect_is_not_followed(provider: Provider) -> None:
    provider.reply = lambda path, body: (307, {})
    result = verifier(provider).verify_person("张伟", "110105199003071239")
    assert (result.outcome, result.detail) == ("failed", "HTTP 307")
    assert [path for path, _, _ in provider.requests] == ["/v1/person-verifications"]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        [],
        {"outcome": "perhaps", "reasons": []},
        {"reasons": []},
        {"outcome": "match", "reasons": "none"},
        {"outcome": "match", "reasons": [1]},
        {"outcome": "match", "reasons": ["name_mismatch"]},
        {"outcome": "mismatch", "reasons": []},
        {"outcome": "match", "reasons": [], "reference": 7},
    ],
)
def test_http_malformed_answers_are_failed(provider: Provider, payload: Any) -> None:
    provider.reply = lambda path, body: (200, payload)
    result = verifier(provider).verify_person("张伟", "110105199003071239")
    assert (result.outcome, result.reasons) == ("failed", (PROVIDER_UNAVAILABLE,))
    assert result.detail in ("response is not JSON", "malformed response")


def test_http_oversized_answer_is_failed(provider: Provider) -> None:
    provider.reply = lambda path, body: (
        200,
        {"outcome": "match", "reasons": [], "reference": "x" * 100_000},
    )
    result = verifier(provider).verify_person("张伟", "110105199003071239")
    assert (result.outcome, result.detail) == ("failed", "response too large")


def test_http_provider_failed_answer(provider: Provider) -> None:
    provider.reply = lambda path, body: (200, {"outcome": "failed", "reasons": []})
    result = verifier(provider).verify_person("张伟", "110105199003071239")
    assert (result.outcome, result.reasons) == ("failed", (PROVIDER_UNAVAILABLE,))
    provider.reply = lambda path, body: (200, {"outcome": "failed", "reasons": ["upstream_busy"]})
    assert verifier(provider).verify_person("张伟", "110105199003071239").reasons == (
        "upstream_busy",
    )


def test_http_connection_refused_is_failed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    result = HttpVerifier(f"http://127.0.0.1:{port}", "key", timeout=2).verify_person(
        "张伟", "110105199003071239"
    )
    assert (result.outcome, result.reasons) == ("failed", (PROVIDER_UNAVAILABLE,))
    assert result.detail.startswith("connection failed")


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("http://kyc.example.com", "https"),
        ("ftp://kyc.example.com", "https"),
        ("file:///etc/passwd", "https"),
        ("kyc.example.com", "https"),
        ("https://kyc.example.com/?a=1", "query"),
    ],
)
def test_http_base_url_must_be_https(base_url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpVerifier(base_url, "key")


def test_http_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="api_key"):
        HttpVerifier("https://kyc.example.com", "")
    with pytest.raises(ValueError, match="timeout"):
        HttpVerifier("https://kyc.example.com", "key", timeout=0)
    assert "secret" not in repr(HttpVerifier("https://kyc.example.com/", "secret-key"))


def test_http_base_url_with_a_path(provider: Provider) -> None:
    provider.reply = lambda path, body: (200, {"outcome": "match", "reasons": []})
    HttpVerifier(provider.url + "/kyc/", "k").verify_enterprise(
        "北京示例科技有限公司", "91110105MA01DEM23X", "张伟"
    )
    assert provider.requests[0][0] == "/kyc/v1/enterprise-verifications"
