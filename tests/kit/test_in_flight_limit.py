"""A burst of more simultaneous requests than the pool has connections is served, not
deadlocked: a real server with a pool of 2 (+2 overflow) answers 24 requests sent at once
(before the in-flight limit, every thread slot ended up held by a request waiting for a
connection held by a request waiting for a thread slot, until the pool's 30 s timeout)."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from tests.identity.factories import bearer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_burst_larger_than_the_pool_is_served(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the pool of connections that can run out is PostgreSQL's (SQLite: one file)")
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, db_pool_size=2, run_jobs=False))
    with Session(engine) as session:
        headers = bearer(app, session, "auditor")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        barrier = threading.Barrier(24)

        def get(_: int) -> int:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                barrier.wait(timeout=10)
                return client.get("/v1/products", headers=headers).status_code

        with ThreadPoolExecutor(24) as pool:
            statuses = list(pool.map(get, range(24)))
        # A deadlock ends in the pool's timeout: 500s, not a slow 200.
        assert statuses == [200] * 24
    finally:
        server.should_exit = True
        thread.join(timeout=10)
