"""HTTP plumbing: request ids, the body-size limit, the idempotency-key header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from lendbridge.kit import problems
from lendbridge.kit.http import BodySizeLimitMiddleware, RequestContextMiddleware, idempotency_key

LIMIT = 1_000


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(BodySizeLimitMiddleware, limit=LIMIT)
    app.add_middleware(RequestContextMiddleware)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/parsed")
    def parsed(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    @app.post("/keyed")
    def keyed(key: Annotated[str, Depends(idempotency_key)]) -> dict[str, str]:
        return {"key": key}

    return TestClient(app, raise_server_exceptions=False)


def chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("path", ["/echo", "/parsed"])
def test_body_at_the_limit_passes(client: TestClient, path: str) -> None:
    body = b'{"a": "' + b"x" * (LIMIT - 9) + b'"}'
    assert len(body) == LIMIT
    for content in (body, chunks(body)):
        response = client.post(path, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/echo", "/parsed"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_the_limit_is_413(client: TestClient, path: str, chunked: bool) -> None:
    body = b'{"a": "' + b"x" * LIMIT + b'"}'
    content: Any = chunks(body) if chunked else body
    response = client.post(
        path, content=content, headers={"Content-Type": "application/json", "X-Request-ID": "big"}
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == problems.PROBLEM_JSON
    assert response.headers["x-request-id"] == "big"
    body_json = response.json()
    assert body_json["code"] == "payload_too_large"
    assert body_json["errors"] == [{"field": "body", "message": f"larger than {LIMIT} bytes"}]
    assert body_json["request_id"] == "big"
    sent = {k.lower() for k in response.request.headers}
    assert ("content-length" not in sent) == chunked


def test_lying_content_length_is_refused_before_reading(client: TestClient) -> None:
    response = client.post("/echo", content=b"{}", headers={"Content-Length": str(LIMIT + 1)})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("incoming", "echoed"),
    [
        ("abc-123", True),
        ("A.b_c-9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("semi;colon", False),
        ("", False),
    ],
)
def test_request_id_echoed_when_well_formed(
    client: TestClient, incoming: str, echoed: bool
) -> None:
    response = client.post("/echo", content=b"", headers={"X-Request-ID": incoming})
    returned = response.headers["x-request-id"]
    if echoed:
        assert returned == incoming
    else:
        assert returned != incoming
        assert len(returned) == 32
        int(returned, 16)


def test_each_request_gets_its_own_id(client: TestClient) -> None:
    ids = {client.post("/echo", content=b"").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("order-1:attempt", 200),
        ("~" * 200, 200),
        ("k" * 201, 422),
        ("", 422),
        ("with space", 422),
        ("tab\tkey", 422),
    ],
)
def test_idempotency_key_header(client: TestClient, key: str, status: int) -> None:
    response = client.post("/keyed", headers={"Idempotency-Key": key})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {"key": key}
    else:
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_missing_idempotency_key_names_the_header(client: TestClient) -> None:
    response = client.post("/keyed")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
