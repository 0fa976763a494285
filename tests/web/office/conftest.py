"""Back office page fixtures: the loans ``Book`` of tests/servicing (its payments world
included) for the collections, payments and close pages, and a second person's browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.payments.conftest import payments  # noqa: F401  (the fixture)
from tests.servicing.conftest import book  # noqa: F401  (the fixture)
from tests.web.conftest import Browser


@pytest.fixture
def other_browser(web_app: FastAPI) -> Iterator[Browser]:
    """A second person's browser (each staff member signs in once: a TOTP code works once)."""
    with TestClient(web_app, raise_server_exceptions=False) as client:
        yield Browser(client)
