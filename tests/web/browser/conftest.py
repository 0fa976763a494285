"""Browser tests: the whole platform served by uvicorn on a free local port, driven by
Playwright in Debian's Chromium (``/usr/bin/chromium``; Playwright's own browser download is
not used). Each test gets a fresh browser context at a phone or a desktop width, in Chinese or
English; any console error or failed request fails the test, and screenshots are left under
``test-artifacts/screenshots/`` as artifacts of the run."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from lendbridge.config import Settings
from lendbridge.web import i18n

CHROMIUM = Path(os.environ.get("LENDBRIDGE_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
LANGUAGES = {"zh_CN": "zh-CN", "en": "en-US"}
# Each journey runs in both languages at both widths.
EVERY_VARIANT = [(width, language) for width in VIEWPORTS for language in LANGUAGES]

if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: run ./dev setup's browser step (apt install chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402 (after the skip: it needs the browser)
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)


@dataclass
class LiveServer:
    url: str
    var_dir: Path
    engine: Engine
    app: Any

    def last_code(self, phone: str) -> str:
        """The one-time code the development SMS sender last 'sent' to ``phone``."""
        message = self.app.state.sms.last_to(phone)
        assert message is not None, f"no SMS to {phone}"
        return str(message.params["code"])


@pytest.fixture
def live_server(engine: Engine, tmp_path: Path) -> Iterator[LiveServer]:
    """The platform (API + pages) on 127.0.0.1 and a free port, on the test's database."""
    from lendbridge.app import create_app

    settings = Settings(
        database_url=str(engine.url),
        var_dir=tmp_path / "var",
        log_format="console",
        log_level="WARNING",
    )
    app = create_app(settings, engine=engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield LiveServer(
        url=f"http://127.0.0.1:{port}", var_dir=settings.var_dir, engine=engine, app=app
    )
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    yield browser
    browser.close()


@dataclass
class Visit:
    """One person's browser tab, with what went wrong in it collected as it happens."""

    page: Page
    base: str
    name: str
    problems: list[str] = field(default_factory=list)
    shots: int = 0

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, label: str) -> Path:
        """A full-page screenshot, kept as an artifact of the test run."""
        self.shots += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.page.url)


def _watch(visit: Visit, allowed_statuses: set[int]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium also logs every 4xx document as a console error: an allowed status is not one.
        status = re.search(r"responded with a status of (\d+)", message.text)
        if status and int(status.group(1)) in allowed_statuses:
            return
        visit.problems.append(f"console error: {message.text}")

    def on_failed(request: Request) -> None:
        if request.failure == "net::ERR_ABORTED":  # cancelled: the page moved on (a favicon)
            return
        visit.problems.append(f"request failed: {request.method} {request.url} {request.failure}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.status not in allowed_statuses:
            visit.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )

    visit.page.on("console", on_console)
    visit.page.on("pageerror", lambda error: visit.problems.append(f"page error: {error}"))
    visit.page.on("requestfailed", on_failed)
    visit.page.on("response", on_response)


def text(message: str, language: str) -> str:
    """A page text as the given language shows it (the journeys speak both)."""
    i18n.use(language)
    try:
        return i18n.gettext_(message)
    finally:
        i18n.use(i18n.DEFAULT_LOCALE)


@pytest.fixture
def open_tab(
    chromium: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """``open_tab("phone", "zh_CN")``: a new browser (own cookies) at that width and language.
    Pages that answer a form with its errors (4xx) are allowed by ``allow``."""
    contexts = []
    visits: list[Visit] = []
    test_name = re.sub(r"[^\w.-]+", "_", request.node.name)

    def make(
        viewport: str = "desktop", language: str = "zh_CN", allow: set[int] | None = None
    ) -> Visit:
        context = chromium.new_context(
            viewport=VIEWPORTS[viewport], locale=LANGUAGES[language], base_url=live_server.url
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        if language != "zh_CN":
            context.add_cookies([{"name": "lb_lang", "value": language, "url": live_server.url}])
        visit = Visit(
            page=context.new_page(),
            base=live_server.url,
            name=f"{test_name}-{viewport}-{language}-{len(visits) + 1}",
        )
        _watch(visit, allow or set())
        visits.append(visit)
        return visit

    yield make
    for context in contexts:
        context.close()
    problems = [p for visit in visits for p in visit.problems]
    assert not problems, "\n".join(problems)
