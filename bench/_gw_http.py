"""Keep-alive HTTP/1.1 connections for the load generator.

``raw`` (the default) is a minimal HTTP/1.1 client on asyncio streams: it writes the request bytes
at once and parses only the status line and the body framing (Content-Length or chunked), so it
costs a few tens of microseconds per call and stays far from being the bottleneck.  ``aiohttp``
uses aiohttp's client session (one connection per client) as a cross-check; it costs about three
times as much CPU per call.  Both talk to one ``host:port`` only.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Protocol


class HttpError(Exception):
    """The peer broke the HTTP framing or closed the connection."""


class Connection(Protocol):
    sends_on_start: bool  # True when start() has written the request before it returns

    async def open(self) -> None: ...

    def start(self, headers: dict[str, str], body: bytes) -> Awaitable[tuple[int, bytes]]: ...

    async def close(self) -> None: ...


def encode_request(headers: dict[str, str], body: bytes) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST / HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers expected: the blank line that ends the body
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One response: (status, body, keep_alive)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise HttpError(f"connection closed: {exc}") from None
    if not head.startswith(b"HTTP/1."):
        raise HttpError(f"not an HTTP response: {head[:40]!r}")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        body = await reader.readexactly(int(head[at + 17 : lower.index(b"\r\n", at + 2)]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        body = await _read_chunked(reader)
    else:
        raise HttpError("response has neither Content-Length nor chunked encoding")
    return status, body, b"\r\nconnection: close" not in lower


class RawConnection:
    """One keep-alive connection; reconnects if the server closed it."""

    sends_on_start = True

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)

    def start(self, headers: dict[str, str], body: bytes) -> Awaitable[tuple[int, bytes]]:
        if self._writer is None:
            return self._reopen_and_call(headers, body)
        self._writer.write(encode_request(headers, body))
        return self._receive()

    async def _reopen_and_call(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        await self.open()
        return await self.start(headers, body)

    async def _receive(self) -> tuple[int, bytes]:
        status, body, keep_alive = await read_response(self._reader)
        if not keep_alive:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = self._reader = None


class AiohttpConnection:
    """aiohttp's client: a session limited to one connection."""

    sends_on_start = False

    def __init__(self, host: str, port: int) -> None:
        self._url = f"http://{host}:{port}/"
        self._session = None

    async def open(self) -> None:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=1)
        self._session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))

    async def _call(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        headers = {k: v for k, v in headers.items() if k != "Host"}  # aiohttp sets the same Host
        async with self._session.post(self._url, data=body, headers=headers) as response:
            return response.status, await response.read()

    def start(self, headers: dict[str, str], body: bytes) -> Awaitable[tuple[int, bytes]]:
        return self._call(headers, body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


CLIENTS = {"raw": RawConnection, "aiohttp": AiohttpConnection}


def connection(kind: str, host: str, port: int) -> Connection:
    return CLIENTS[kind](host, port)
