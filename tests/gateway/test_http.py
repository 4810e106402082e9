"""The gateway's own HTTP/1.1 server (``gateway/http.py``), spoken to over raw sockets."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from dynamoray.gateway.http import HttpRequest, HttpResponse, HttpServer


def run(coro):
    return asyncio.run(coro)


async def echo(request: HttpRequest) -> HttpResponse:
    if request.path == "/slow":
        await asyncio.sleep(0.05)
    payload = {"method": request.method, "path": request.path, "query": request.query,
               "body": request.body.decode(), "target": request.headers.get("x-amz-target"),
               "version": request.version, "remote": request.remote}
    return HttpResponse(200, orjson.dumps(payload), headers=[("x-amzn-RequestId", "R1")])


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    headers = {}
    while (line := await reader.readline()) != b"\r\n":
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def with_server(scenario, max_body: int = 1024):
    server = HttpServer(echo, max_body=max_body)
    host, port = await server.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        return await scenario(reader, writer)
    finally:
        writer.close()
        await server.close()


def post(body: bytes, path: str = "/", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def test_keep_alive_serves_several_requests_on_one_connection():
    async def scenario(reader, writer):
        out = []
        for i in range(3):
            writer.write(post(f'{{"n": {i}}}'.encode(), path=f"/?q={i}"))
            out.append(await read_response(reader))
        return out

    answers = run(with_server(scenario))
    assert [orjson.loads(body)["body"] for _, _, body in answers] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']
    status, headers, body = answers[2]
    assert status == 200
    assert (headers["content-type"], headers["x-amzn-requestid"]) == ("application/json", "R1")
    assert "connection" not in headers and "date" in headers
    parsed = orjson.loads(body)
    assert (parsed["path"], parsed["query"], parsed["target"], parsed["remote"]) == (
        "/", "q=2", "DynamoDB_20120810.GetItem", "127.0.0.1")


def test_pipelined_requests_are_answered_in_order():
    async def scenario(reader, writer):
        writer.write(post(b"first", path="/slow") + post(b"second"))
        return [orjson.loads((await read_response(reader))[2])["body"] for _ in range(2)]

    assert run(with_server(scenario)) == ["first", "second"]


def test_a_body_split_over_many_packets_and_a_chunked_body():
    async def scenario(reader, writer):
        raw = post(b'{"k": "' + b"v" * 300 + b'"}')
        for i in range(0, len(raw), 7):
            writer.write(raw[i:i + 7])
            await writer.drain()
            await asyncio.sleep(0)
        first = await read_response(reader)
        writer.write(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
        return first, await read_response(reader)

    first, chunked = run(with_server(scenario))
    assert len(orjson.loads(first[2])["body"]) == 309
    assert orjson.loads(chunked[2])["body"] == "hello world"


def test_expect_100_continue_is_answered_before_the_body():
    async def scenario(reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = await reader.readline()
        await reader.readline()
        writer.write(b"body")
        return interim, await read_response(reader)

    interim, (status, _, body) = run(with_server(scenario))
    assert interim == b"HTTP/1.1 100 Continue\r\n"
    assert (status, orjson.loads(body)["body"]) == (200, "body")


def test_http_1_0_and_connection_close_end_the_connection():
    async def scenario(reader, writer):
        writer.write(b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi")
        answer = await read_response(reader)
        return answer, await reader.read()

    (status, headers, body), rest = run(with_server(scenario))
    assert (status, headers["connection"], orjson.loads(body)["version"], rest) == (200, "close", "HTTP/1.0", b"")

    async def closing(reader, writer):
        writer.write(post(b"x", extra="Connection: close\r\n"))
        answer = await read_response(reader)
        return answer[1]["connection"], await reader.read()

    assert run(with_server(closing)) == ("close", b"")


@pytest.mark.parametrize("raw, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nNo-Colon-Here\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
])
def test_bad_requests_get_an_error_status_and_the_connection_closes(raw, status):
    async def scenario(reader, writer):
        writer.write(raw)
        answer = await read_response(reader)
        return answer[0], answer[1].get("connection"), await reader.read()

    assert run(with_server(scenario)) == (status, "close", b"")
