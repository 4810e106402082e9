"""A lean HTTP/1.1 server for the gateway: an asyncio protocol, no framework.

Why not aiohttp's web server: measured here with the same signed keep-alive load, a trivial
handler costs 80-110 µs of server CPU per request through ``aiohttp.web`` and 22-27 µs through a
bare protocol, and the whole DynamoDB pipeline behind it (SigV4, JSON, validation, a GetItem) is
about 65 µs.  The HTTP layer was most of the cost of a read.

What it speaks: HTTP/1.1 and 1.0, keep-alive (the SDKs' connection pools), ``Content-Length`` and
``chunked`` request bodies, ``Expect: 100-continue``, and requests pipelined on one connection
(answered one at a time, in order), in the clear or over TLS.  Every response carries ``Content-Length``.  A malformed request
gets a 400, headers over 64 KiB a 431, a body over ``max_body`` a 413, and the connection is closed.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from .. import logs

log = logs.get("http")

MAX_HEAD = 64 * 1024
_REASONS = {100: "Continue", 200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable"}


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]  # names in lower case; repeated headers joined with ", "
    body: bytes
    remote: str | None
    version: str = "HTTP/1.1"
    secure: bool = False  # came over TLS (``aws:SecureTransport``)
    endpoint_id: str | None = None  # the listener's endpoint id (``aws:SourceVpce``), if it has one


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class _Clock:
    """The ``Date`` header, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def date(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, email.utils.formatdate(now, usegmt=True)
        return self._value


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self._head: tuple | None = None  # the parsed head of the request whose body is arriving
        self._continued = False  # "100 Continue" sent for it
        self._busy = False  # a request is being handled: the next one waits in the buffer
        self._paused = False
        self.transport: asyncio.Transport | None = None
        self.remote: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.remote = peer[0] if peer else None
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next()
        elif len(self._buffer) > MAX_HEAD and not self._paused:  # a pipelining client: slow it down
            self._paused = True
            self.transport.pause_reading()

    def _next(self) -> None:
        """Start handling the next complete request in the buffer, if there is one."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._paused:
            self._paused = False
            transport.resume_reading()
        try:
            request = self._parse()
        except _BadRequest as bad:
            self._write(HttpResponse(bad.status, b""), keep_alive=False)
            return
        if request is not None:
            self._busy = True
            asyncio.get_running_loop().create_task(self._serve(request))

    def _parse(self) -> HttpRequest | None:
        buffer = self._buffer
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise _BadRequest(431)
                return None
            if end > MAX_HEAD:
                raise _BadRequest(431)
            self._head = _parse_head(bytes(buffer[:end]), self._server.max_body) + (end + 4,)
            self._continued = False
        method, target, version, headers, length, start = self._head
        if length is None:  # chunked
            body, consumed = _dechunk(buffer, start, self._server.max_body)
            if body is None:
                return self._await_body(headers)
        else:
            consumed = start + length
            if len(buffer) < consumed:
                return self._await_body(headers)
            body = bytes(buffer[start:consumed])
        del buffer[:consumed]
        self._head = None
        path, _, query = target.partition("?")
        server = self._server
        return HttpRequest(method, path, query, headers, body, self.remote, version, server.secure, server.endpoint_id)

    def _await_body(self, headers: dict[str, str]) -> None:
        """The body is not all here yet (a client that asked first is told to send it)."""
        if not self._continued and headers.get("expect", "").lower() == "100-continue":
            self._continued = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return None

    async def _serve(self, request: HttpRequest) -> None:
        try:
            response = await self._server.handler(request)
        except Exception:  # noqa: BLE001 - the handler renders its own errors; this is a last resort
            log.exception("http_handler_failed", path=request.path)
            response = HttpResponse(500, b"")
        self._busy = False
        if self._write(response, _keep_alive(request), request.version):
            self._next()

    def _write(self, response: HttpResponse, keep_alive: bool, version: str = "HTTP/1.1") -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        body = response.body
        extra = "".join(f"{name}: {value}\r\n" for name, value in response.headers)
        if self._server.server_id is not None:
            extra += f"x-dynamoray-gateway: {self._server.server_id}\r\n"
        if not keep_alive:
            extra += "Connection: close\r\n"
        elif version == "HTTP/1.0":
            extra += "Connection: keep-alive\r\n"
        head = (f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}\r\n"
                f"Content-Type: {response.content_type}\r\nContent-Length: {len(body)}\r\n{extra}"
                f"Date: {self._server.clock.date()}\r\n\r\n")
        transport.write(head.encode("latin-1") + body)
        if not keep_alive:
            transport.close()
        return keep_alive


def _keep_alive(request: HttpRequest) -> bool:
    connection = request.headers.get("connection", "").lower()
    if request.version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


def _parse_head(head: bytes, max_body: int) -> tuple:
    """(method, target, version, headers, body length or None for chunked)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400)
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name[-1] in " \t":
            raise _BadRequest(400)
        name, value = name.lower(), value.strip(" \t")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    encoding = headers.get("transfer-encoding")
    if encoding is not None:
        if encoding.lower() != "chunked":
            raise _BadRequest(501)
        return method, target, version, headers, None
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError:
        raise _BadRequest(400) from None
    if length < 0:
        raise _BadRequest(400)
    if length > max_body:
        raise _BadRequest(413)
    return method, target, version, headers, length


def _dechunk(buffer: bytearray, start: int, max_body: int) -> tuple[bytes | None, int]:
    """A complete chunked body from ``start`` and where it ends, or (None, 0) if more is needed."""
    chunks, position = [], start
    total = 0
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None, 0
        try:
            size = int(bytes(buffer[position:line_end]).split(b";")[0].strip(), 16)
        except ValueError:
            raise _BadRequest(400) from None
        total += size
        if total > max_body:
            raise _BadRequest(413)
        data_start = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return None, 0
            return b"".join(chunks), trailer_end + 4
        if len(buffer) < data_start + size + 2:
            return None, 0
        chunks.append(bytes(buffer[data_start:data_start + size]))
        position = data_start + size + 2


class HttpServer:
    """Serves ``handler`` on a listening socket; :meth:`close` drops every connection.

    With ``ssl`` (an ``ssl.SSLContext``, see ``tls.py``) it speaks HTTPS only; ``endpoint_id``
    is this listener's endpoint id, which requests carry (``aws:SourceVpce``)."""

    def __init__(self, handler: Handler, *, max_body: int, ssl: Any = None, endpoint_id: str | None = None,
                 reuse_port: bool = False, server_id: str | None = None) -> None:
        self.handler = handler
        # gateway replicas (``replicas.py``): every process binds the same port with SO_REUSEPORT and
        # the kernel spreads the connections over them; ``server_id`` names this process in an
        # ``x-dynamoray-gateway`` header on every response
        self.reuse_port = reuse_port
        self.server_id = server_id
        self.max_body = max_body
        self.ssl = ssl
        self.secure = ssl is not None
        self.endpoint_id = endpoint_id or None
        self.clock = _Clock()
        self.connections: set[_Connection] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port, reuse_address=True,
                                                reuse_port=self.reuse_port or None, ssl=self.ssl)
        return self._server.sockets[0].getsockname()[:2]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        self.connections.clear()
