"""Test harness: every test that asks for a database runs on SQLite and, when
LENDBRIDGE_TEST_POSTGRES_URL is set, on PostgreSQL too. Both are migrated with the real
Alembic migrations once per session; each test then starts from empty tables."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.config import Settings
from lendbridge.identity.users import seed_catalog
from lendbridge.kit import calendar, clock
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import make_engine, make_session_factory
from lendbridge.kit.migrate import upgrade
from lendbridge.models_registry import Base
from lendbridge.servicing import loan_terms

POSTGRES_URL = os.environ.get("LENDBRIDGE_TEST_POSTGRES_URL")
# Every application built by a test signs tokens with this key instead of generating one.
os.environ.setdefault("LENDBRIDGE_TOKEN_SECRET", "test-only-token-secret-0123456789abcdef")
# Personal data in tests is encrypted under a throwaway keyring of this run.
os.environ.setdefault("LENDBRIDGE_MASTER_KEYS", Keyring.generate().to_env())
# Applications built by tests run no background job threads unless a test asks for them.
os.environ.setdefault("LENDBRIDGE_RUN_JOBS", "false")
# Staff who run the ledger API in tests: every role that the ledger routes need.
API_ROLES = ("finance", "integration", "auditor", "admin")
NO_POSTGRES = "LENDBRIDGE_TEST_POSTGRES_URL is not set: PostgreSQL half not run"
BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)),
]
TODAY = dt.date(2026, 1, 15)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A database of its own for this test session (and xdist worker), migrated once."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"lendbridge_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name)
    engine = make_engine(url, pool_size=20)
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(engine: Engine) -> None:
    loan_terms.forget_products()  # product versions cached for the rows about to go
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # The journal refuses TRUNCATE (append-only); test cleanup runs as a replica session,
        # which the append-only triggers do not fire for.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "lendbridge.db"
        shutil.copyfile(sqlite_template, path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        _start_calendar(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        pg: Engine = request.getfixturevalue("postgres_engine")
        _empty_postgres(pg)
        _start_calendar(pg)
        yield pg


@pytest.fixture
def pg_engine(postgres_engine: Engine) -> Engine:
    """PostgreSQL only: for row-lock concurrency and database-trigger tests."""
    _empty_postgres(postgres_engine)
    _start_calendar(postgres_engine)
    return postgres_engine


def _start_calendar(engine: Engine) -> None:
    """What ``lendbridge init`` does: the business date and the default roles."""
    with Session(engine) as session:
        calendar.set_business_date(session, TODAY)
        seed_catalog(session)
        session.commit()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s
        s.rollback()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    from lendbridge.app import create_app

    """The API as a staff user with the roles in ``API_ROLES`` (signed in with MFA)."""
    from tests.identity.factories import bearer

    settings = Settings(database_url=str(engine.url), log_format="console")
    app = create_app(settings, engine=engine)
    with Session(engine) as session:
        headers = bearer(app, session, *API_ROLES)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as test_client:
        yield test_client


class FakeClock:
    """The platform clock under a test's control: starts at 09:00 UTC on TODAY."""

    def __init__(self) -> None:
        self.now = dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def time() -> Iterator[FakeClock]:
    fake = FakeClock()
    with clock.use_clock(fake):
        yield fake
