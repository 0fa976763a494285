"""A scripted in-memory channel for service tests (the simulated gateway over HTTP is used
by the integration tests)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping

from lendbridge.payments.channel_config import DEFAULT_ERROR_CLASSES
from lendbridge.payments.channels.base import (
    CallbackRejected,
    ChannelAnswer,
    ChannelRequest,
    ErrorClass,
    Outcome,
)


class FakeChannel:
    """Answers ``submit`` from a script (default: success) and remembers what it executed;
    ``query`` answers what the channel knows. Like a real channel it deduplicates by
    order_no: an order it already has is never executed twice."""

    name = "sim"

    def __init__(self) -> None:
        self.script: deque[ChannelAnswer | str] = deque()
        self.known: dict[str, Outcome] = {}
        self.executions: Counter[str] = Counter()
        self.requests: list[ChannelRequest] = []
        self.queries: list[str] = []
        self.lock = threading.Lock()
        # Called with each request after the channel decided its answer and before the
        # platform receives it: how a test makes a callback overtake the answer.
        self.before_answer: Callable[[ChannelRequest, ChannelAnswer], None] | None = None

    def will(self, *answers: str) -> None:
        """Queue answers: 'ok', 'processing', 'timeout' (executed, answer lost), 'lost'
        (never arrived), or an error code such as 'SYSTEM_BUSY'."""
        self.script.extend(answers)

    def submit(self, request: ChannelRequest) -> ChannelAnswer:
        answer = self._submit(request)
        if self.before_answer is not None:
            self.before_answer(request, answer)
        return answer

    def _submit(self, request: ChannelRequest) -> ChannelAnswer:
        with self.lock:
            self.requests.append(request)
            no = request.order_no
            if no in self.known:  # dedup by order_no, as the gateway does
                return ChannelAnswer(no, self.known[no], channel_ref=f"ref-{no[:8]}")
            step = self.script.popleft() if self.script else "ok"
            if step == "ok":
                self.known[no] = Outcome.SUCCEEDED
                self.executions[no] += 1
                return ChannelAnswer(no, Outcome.SUCCEEDED, channel_ref=f"ref-{no[:8]}")
            if step == "processing":
                self.known[no] = Outcome.PROCESSING
                return ChannelAnswer(no, Outcome.PROCESSING, channel_ref=f"ref-{no[:8]}")
            if step == "timeout":
                self.known[no] = Outcome.SUCCEEDED
                self.executions[no] += 1
                return ChannelAnswer(no, Outcome.UNKNOWN)
            if step == "lost":
                return ChannelAnswer(no, Outcome.UNKNOWN)
            assert isinstance(step, str)
            if self.classify(step) == ErrorClass.FINAL:
                self.known[no] = Outcome.FAILED
            return ChannelAnswer(no, Outcome.FAILED, error_code=step, message=step.lower())

    def finish(self, order_no: str, outcome: Outcome) -> None:
        """The channel completes a processing order (or reverses a succeeded one)."""
        with self.lock:
            if outcome == Outcome.SUCCEEDED and self.known.get(order_no) != Outcome.SUCCEEDED:
                self.executions[order_no] += 1
            self.known[order_no] = outcome

    def query(self, order_no: str) -> ChannelAnswer:
        with self.lock:
            self.queries.append(order_no)
            outcome = self.known.get(order_no, Outcome.NOT_FOUND)
            return ChannelAnswer(order_no, outcome, channel_ref=f"ref-{order_no[:8]}")

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: dt.datetime
    ) -> ChannelAnswer:
        if headers.get("x-signature") != "good":
            raise CallbackRejected("bad signature")
        data = json.loads(body)
        return ChannelAnswer(
            data["order_no"], Outcome(data["status"]), error_code=data.get("error_code")
        )

    def fetch_statement(self, day: dt.date) -> Iterator[bytes]:
        yield b""

    def classify(self, error_code: str) -> ErrorClass:
        return DEFAULT_ERROR_CLASSES.get(error_code, ErrorClass.RETRYABLE)
