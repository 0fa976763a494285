"""The SMS senders: the development outbox, and the HTTP gateway adapter against a local
server (success, gateway error, unreachable)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lendbridge.kit.notify import DevelopmentSms, HttpSms, Message, NotificationFailed

MESSAGE = Message("13800000001", "register_code", {"code": "123456", "minutes": "5"})


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict], list[int]]]:
    received: list[dict] = []
    statuses = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(
                {"auth": self.headers["Authorization"], **json.loads(self.rfile.read(length))}
            )
            self.send_response(statuses[0])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms", received, statuses
    server.shutdown()


def test_development_outbox_keeps_every_message(tmp_path: Path) -> None:
    sms = DevelopmentSms(tmp_path / "outbox.jsonl")
    sms.send(MESSAGE)
    assert sms.last_to("13800000001") == MESSAGE
    line = json.loads((tmp_path / "outbox.jsonl").read_text(encoding="utf-8"))
    assert "123456" in line["text"]


def test_http_gateway_receives_template_and_params(gateway) -> None:
    url, received, _ = gateway
    HttpSms(url, "secret-key").send(MESSAGE)
    assert received == [
        {
            "auth": "Bearer secret-key",
            "phone": "13800000001",
            "template": "register_code",
            "params": {"code": "123456", "minutes": "5"},
        }
    ]


def test_http_gateway_errors_are_notification_failures(gateway) -> None:
    url, _, statuses = gateway
    statuses[0] = 500
    with pytest.raises(NotificationFailed, match="500"):
        HttpSms(url, "k").send(MESSAGE)
    with pytest.raises(NotificationFailed, match="could not be reached"):
        HttpSms("http://127.0.0.1:9/sms", "k", timeout=1).send(MESSAGE)
