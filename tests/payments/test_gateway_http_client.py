"""The gateway's small callback HTTP client against hand-written servers: framings,
keep-alive, servers that close, and answers that are not HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from lendbridge.payments.gateway.http_client import HttpClient, HttpError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def _run(answers: list[bytes], posts: int, close_after_each: bool = False) -> list[int | str]:
    """Serve ``answers`` in turn (one per request) and POST ``posts`` times."""
    requests: list[bytes] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while answers:
                requests.append(await _read_request(reader))
                writer.write(answers.pop(0))
                await writer.drain()
                if close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def main() -> list[int | str]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = HttpClient()
        results: list[int | str] = []
        for _ in range(posts):
            try:
                status = await client.post(
                    f"http://127.0.0.1:{port}/cb?x=1", b'{"a":1}', {"X-A": "b"}, timeout=10
                )
                results.append(status)
            except HttpError as exc:
                results.append(f"error: {exc}")
        await client.close()
        server.close()
        await server.wait_closed()
        results.append(f"connections={connections}")
        return results

    results = asyncio.run(main())
    assert all(b"POST /cb?x=1 HTTP/1.1\r\n" in r and r.endswith(b'{"a":1}') for r in requests)
    assert all(b"X-A: b\r\n" in r and b"Content-Length: 7\r\n" in r for r in requests)
    return results


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_keep_alive_reuses_one_connection() -> None:
    assert _run([OK, OK, OK], posts=3) == [200, 200, 200, "connections=1"]


def test_a_closed_kept_alive_connection_is_replaced() -> None:
    assert _run([OK, OK], posts=2, close_after_each=True) == [200, 200, "connections=2"]


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n3;x=y\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 201 Created\r\n\r\nread until the end",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ],
)
def test_answer_framings(answer: bytes) -> None:
    status = 204 if b" 204 " in answer else 201
    assert _run([answer, OK], posts=2)[:2] == [status, 200]


@pytest.mark.parametrize(
    "answer",
    [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"],
)
def test_answers_that_are_not_complete_http_are_errors(answer: bytes) -> None:
    (result, _) = _run([answer], posts=1, close_after_each=True)
    assert str(result).startswith("error")


def test_urls_must_be_http() -> None:
    async def main() -> None:
        await HttpClient().post("ftp://example.test/", b"", {}, timeout=1)

    with pytest.raises(HttpError, match="not an http"):
        asyncio.run(main())
