"""Sending text messages (one-time codes, notices) through a pluggable provider.

* :class:`DevelopmentSms` — for development, tests and the demo: nothing leaves the machine;
  each message is kept in memory and appended to a JSON-lines file (``var/sms-outbox.jsonl``)
  that plays the part of the recipient's phone.
* :class:`HttpSms` — an SMS gateway over HTTP: ``POST {url}`` with a JSON body
  ``{"phone", "template", "params"}`` and the API key in ``Authorization: Bearer``; any
  non-2xx answer or network failure raises :class:`NotificationFailed`.

Messages are templates plus parameters, so that a gateway with registered templates (as
mainland SMS providers require) and the development outbox see the same thing.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lendbridge.kit import clock
from lendbridge.kit.errors import DomainError

TEMPLATES = {
    "register_code": "Your lendbridge registration code is {code}; valid for {minutes} minutes.",
    "already_registered": "This number already has a lendbridge account; sign in instead.",
    "step_up_code": "Your lendbridge code to {action} is {code}; valid for {minutes} minutes.",
    # Repayment reminders of the close of business (servicing/cob/reminders.py): no secrets.
    "repayment_due_soon": "Your lendbridge loan installment of {amount} {currency} is due on "
    "{due_date}; please make sure it can be paid on time.",
    "repayment_due_today": "Your lendbridge loan installment of {amount} {currency} is due "
    "today ({due_date}); please repay today to avoid penalty interest.",
    "repayment_overdue": "Your lendbridge loan installment of {amount} {currency} due on "
    "{due_date} is {days} days overdue; please repay to stop penalty interest.",
}


class NotificationFailed(DomainError):
    status = 503
    code = "notification_failed"
    title = "The message could not be sent; try again shortly"


@dataclass(frozen=True)
class Message:
    phone: str
    template: str
    params: dict[str, str]

    @property
    def text(self) -> str:
        return TEMPLATES[self.template].format(**self.params)


class SmsSender(Protocol):
    def send(self, message: Message) -> None: ...


class DevelopmentSms:
    """Records messages instead of sending them."""

    def __init__(self, outbox: Path | None = None) -> None:
        self.outbox = outbox
        self.sent: list[Message] = []
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self._lock:
            self.sent.append(message)
            if self.outbox is not None:
                self.outbox.parent.mkdir(parents=True, exist_ok=True)
                record = {
                    "at": clock.now().isoformat(),
                    "phone": message.phone,
                    "template": message.template,
                    "text": message.text,
                }
                with self.outbox.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def last_to(self, phone: str) -> Message | None:
        with self._lock:
            return next((m for m in reversed(self.sent) if m.phone == phone), None)


class HttpSms:
    def __init__(self, url: str, api_key: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    def send(self, message: Message) -> None:
        body = json.dumps(
            {"phone": message.phone, "template": message.template, "params": message.params}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is operator configuration
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if not 200 <= response.status < 300:
                    raise NotificationFailed(f"the SMS gateway answered {response.status}")
        except urllib.error.HTTPError as exc:
            raise NotificationFailed(f"the SMS gateway answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise NotificationFailed("the SMS gateway could not be reached") from exc
