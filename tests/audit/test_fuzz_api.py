"""Schemathesis fuzz of the audit routes, on every test database: never a 5xx, responses
conform to the schema, schema-violating requests are refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from sqlalchemy import create_engine

from tests.audit.factories import write
from tests.audit.test_api import audit_app

schema = schemathesis.openapi.from_asgi("/openapi.json", audit_app(create_engine("sqlite://")))

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.unsupported_method,
]


@pytest.fixture
def fuzz_app(engine):
    write(engine, 12, per_transaction=4)
    return audit_app(engine)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_audit_api_conforms_to_its_schema(case, fuzz_app):
    case.call_and_validate(app=fuzz_app, checks=CHECKS)
