"""Server-side page render times with the demo data, and the dashboard at 1,000,000 loans.

Part 1 (``pages``, the embedded default): ``lendbridge init --demo`` into a temporary
directory, then, in this process (no network: the figure is the server's work for a page —
permission check, database reads, template), each demo staff member signs in with password
and TOTP and each demo borrower with phone and password, and every page reachable from their
menu (links followed two levels deep, same site, GET only; downloads skipped) is requested
``--repeat`` times after two warm-ups. Target: p95 under 200 ms for every page.

Part 2 (``dashboard``, PostgreSQL): a database of its own with ``--loans`` loans (and as many
applications) spread over 24 months, all states, classifications and overdue buckets, written
by ``INSERT … SELECT generate_series`` (not through the services: the figure is the reading),
then the back-office dashboard page rendered ``--repeat`` times for a staff member who may see
every section. Target: under 1 s.

    .venv/bin/python bench/web_pages.py                  # both parts
    .venv/bin/python bench/web_pages.py --only pages --repeat 10
    .venv/bin/python bench/web_pages.py --only dashboard --loans 100000
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyotp

import benchlib

PAGE_TARGET_MS = 200.0
DASHBOARD_TARGET_MS = 1000.0
_LINK = re.compile(r'href="(/[^"#]*)"')
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SKIP = re.compile(r"^/(static/|lang/|logout)|/contract$|\.pdf$")


def _client(app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False)


def _csrf(page: httpx.Response) -> str:
    found = _TOKEN.search(page.text)
    if not found:
        raise RuntimeError(f"no CSRF token on {page.url}")
    return found.group(1)


def _crawl(client: Any, start: str, depth: int = 2, limit: int = 80) -> list[str]:
    """Same-site GET pages reachable from ``start`` (menu, then the links on those pages)."""
    seen: list[str] = []
    frontier = [start]
    for _ in range(depth + 1):
        following: list[str] = []
        for path in frontier:
            if path in seen or len(seen) >= limit:
                continue
            answer = client.get(path)
            if answer.status_code != 200 or "text/html" not in answer.headers.get(
                "content-type", ""
            ):
                continue
            seen.append(path)
            for link in _LINK.findall(answer.text):
                target = urlsplit(link).path
                if not SKIP.search(target) and target not in seen:
                    following.append(target)
        frontier = list(dict.fromkeys(following))
    return seen


def _measure(client: Any, paths: list[str], repeat: int) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for path in paths:
        for _ in range(2):
            client.get(path)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = client.get(path)
            times.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {answer.status_code}")
        figures[path] = benchlib.latency_summary(times)
    return figures


def pages(repeat: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="lb-web-bench-"))
    env = {
        **os.environ,
        "LENDBRIDGE_DATABASE_URL": f"sqlite:///{work}/lendbridge.db",
        "LENDBRIDGE_VAR_DIR": str(work / "var"),
        "LENDBRIDGE_RUN_JOBS": "false",
    }
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("lendbridge")), "init", "--demo"],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"init --demo: {time.perf_counter() - started:.0f} s")
    os.environ.update(env)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from lendbridge.app import create_app
    from lendbridge.config import get_settings
    from lendbridge.identity import catalog
    from lendbridge.identity.demo import CUSTOMERS, DEMO_PASSWORD_PREFIX
    from lendbridge.identity.models import User
    from lendbridge.kit.logging import configure_logging

    get_settings.cache_clear()
    app = create_app()
    configure_logging("WARNING", "console")
    engine = app.state.engine
    results: dict[str, Any] = {}
    for role in sorted(catalog.STAFF_ROLES):
        username = f"demo.{role.replace('_', '-')}"
        with Session(engine) as session:
            secret = session.scalar(select(User.totp_secret).where(User.username == username))
        with _client(app) as client:
            form = client.get("/staff/login")
            signed = client.post(
                "/staff/login",
                data={
                    "csrf_token": _csrf(form),
                    "username": username,
                    "password": DEMO_PASSWORD_PREFIX + role,
                    "totp_code": pyotp.TOTP(str(secret)).now(),
                },
            )
            if "/staff/login" in str(signed.url):
                raise RuntimeError(f"{username} could not sign in")
            results[username] = _measure(client, _crawl(client, "/staff"), repeat)
        _report(username, results[username])
    for phone, kind, _identity, _card in CUSTOMERS:
        with _client(app) as client:
            form = client.get("/login")
            signed = client.post(
                "/login",
                data={
                    "csrf_token": _csrf(form),
                    "phone": phone,
                    "password": DEMO_PASSWORD_PREFIX + kind.value,
                },
            )
            if "/login" in str(signed.url):
                raise RuntimeError(f"{phone} could not sign in")
            name = f"{kind.value} {phone[:3]}****{phone[-4:]}"
            results[name] = _measure(client, _crawl(client, "/"), repeat)
        _report(name, results[name])
    worst = max(
        (f["p95_ms"], who, path) for who, pages_ in results.items() for path, f in pages_.items()
    )
    count = sum(len(p) for p in results.values())
    print(
        f"\n{count} page views measured; worst p95 {worst[0]:.1f} ms ({worst[2]} as {worst[1]}); "
        f"target < {PAGE_TARGET_MS:.0f} ms: {benchlib.verdict(worst[0] < PAGE_TARGET_MS)}"
    )
    return {"pages": results, "worst_p95_ms": worst[0], "worst": worst[1:]}


def _report(who: str, figures: dict[str, dict[str, float]]) -> None:
    print(f"\n{who}: {len(figures)} pages")
    for path, f in sorted(figures.items(), key=lambda item: -item[1]["p95_ms"]):
        print(f"  {path:<48} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["pages", "dashboard"])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--loans", type=int, default=1_000_000)
    args = parser.parse_args()
    info = benchlib.print_machine()
    payload: dict[str, Any] = {"machine": info, "command": benchlib.command_line()}
    if args.only in (None, "pages"):
        payload["pages"] = pages(args.repeat)
    if args.only in (None, "dashboard"):
        import web_dashboard

        payload["dashboard"] = web_dashboard.run(args.loans, args.repeat)
    print(f"saved {benchlib.save('web_pages', payload)}")


if __name__ == "__main__":
    main()
