"""The HTTP front door: DynamoDB's JSON 1.0 protocol, on the gateway's own HTTP/1.1 server
(``http.py``).

One POST route takes every operation: ``X-Amz-Target: DynamoDB_20120810.<Op>`` (or
``DynamoDBStreams_20120810.<Op>``).  The pipeline is: SigV4 -> target -> JSON -> service-model
validation -> the operation's handler.  :func:`render_error` is the only place where errors become
HTTP; anything that is not a :class:`DynamoError` becomes a 500 InternalServerError and is logged.
"""

from __future__ import annotations

import functools
import itertools
import os
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from .. import logs
from ..core import errors
from ..core.errors import DynamoError
from ..events.encryption import KeyInaccessible
from ..schemas.validate import validate_request
from . import metrics, operations
from .admin import ADMIN_PREFIX, ADMIN_SERVICE
from . import sse as sse_keys
from .regions import REPLICATION_PREFIX, REPLICATION_SERVICE
from .change_feed import FEED_PREFIX, FEED_SERVICE  # also registers its GetChanges
from . import replication as _replication  # noqa: F401 - registers the replication endpoint
from .auth import Authenticator
from .context import RequestContext
from .http import HttpRequest, HttpResponse, HttpServer

CONTENT_TYPE = "application/x-amz-json-1.0"
MAX_REQUEST_BYTES = 16 * 1024 * 1024
TARGET_PREFIXES = {"DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodbstreams"}
TARGET_PREFIXES[ADMIN_PREFIX] = ADMIN_SERVICE  # the admin API (gateway/admin.py), root only
TARGET_PREFIXES[REPLICATION_PREFIX] = REPLICATION_SERVICE  # global tables (gateway/replication.py), root only
TARGET_PREFIXES[FEED_PREFIX] = FEED_SERVICE  # the change feed of caches (gateway/change_feed.py)

log = logs.get("gateway")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    region: str = "us-east-1"
    account_id: str = "000000000000"


_REQUEST_IDS = itertools.count(1)
_ID_PREFIX = os.urandom(8).hex().upper()  # per process; the counter makes each id unique in it


def _request_id() -> str:
    """32 upper-case hex digits, like DynamoDB's (no urandom call per request)."""
    return f"{_ID_PREFIX}{next(_REQUEST_IDS) & 0xFFFFFFFFFFFFFFFF:016X}"


def _headers(body: bytes, request_id: str) -> list[tuple[str, str]]:
    return [("x-amzn-RequestId", request_id), ("x-amz-crc32", str(zlib.crc32(body)))]


def render_error(error: DynamoError) -> bytes:
    """The one place a DynamoError becomes the body of an HTTP response (status ``error.status``)."""
    return orjson.dumps(error.wire_body())


def _parse_target(target: str | None) -> tuple[str, str]:
    prefix, _, name = (target or "").partition(".")
    service = TARGET_PREFIXES.get(prefix)
    if service is None or not name:
        raise errors.unknown_operation()
    return service, name


def _parse_json(body: bytes) -> dict:
    if len(body) > MAX_REQUEST_BYTES:
        raise DynamoError(
            "RequestEntityTooLarge",
            f"Request size {len(body)} exceeded {MAX_REQUEST_BYTES} bytes",
            status=413,
        )
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        raise errors.serialization("Start of structure or map found where not expected") from None
    if not isinstance(payload, dict):
        raise errors.serialization("Start of structure or map found where not expected")
    return payload


class Gateway:
    """Holds what every request needs: the engine, the authenticator and the settings."""

    def __init__(self, engine: Any, authenticator: Authenticator, config: ServerConfig) -> None:
        self.engine = engine
        self.authenticator = authenticator
        self.config = config
        self.authorizer: Any = None  # IAM (gateway/authorize.py): set by build_gateway
        self.keys: Any = None  # encryption at rest (actors/keys.KeyManager), when the server has it
        self.hooks: Any = None  # stored-procedure hooks (actors/hooks.HookService), also in self.services
        # throttling, CloudWatch metrics, audit, usage (gateway/telemetry.Telemetry), also in self.services
        self.telemetry: Any = None
        self.replication: Any = None  # global tables (replication.ReplicationService): set by build_gateway
        self.accelerator: Any = None  # the DAX-like cache (accelerator.Accelerator), with --dax-port
        # background services run with the gateway (``start()`` at startup, ``await stop()`` at
        # cleanup), e.g. the TTL sweeper (actors/ttl.py): set by build_gateway
        self.services: list[Any] = []

    async def serve_http(self, request: HttpRequest) -> HttpResponse:
        """The entry of the HTTP server (``http.py``)."""
        if request.method == "POST":
            status, body, request_id = await self.respond(
                "POST", request.path, request.query, request.headers, request.body, request.remote,
                secure=request.secure, endpoint_id=request.endpoint_id)
            return HttpResponse(status, body, CONTENT_TYPE, _headers(body, request_id))
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(405, b"")
        if request.path == "/health":
            return HttpResponse(200, b'{"status": "ok"}')
        if request.path == "/metrics":
            return HttpResponse(200, await metrics.render(self.engine, self.telemetry, self.replication,
                                                         self.accelerator),
                                metrics.CONTENT_TYPE)
        if request.path.startswith("/dashboard"):  # the live dashboard (gateway/dashboard.py)
            from . import dashboard

            return dashboard.respond(request.path, self.telemetry)
        return HttpResponse(404, b"")

    async def respond(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                      remote: str | None, *, secure: bool = False,
                      endpoint_id: str | None = None) -> tuple[int, bytes, str]:
        """One DynamoDB request: (status, JSON body, request id).
        ``headers`` have lower-case names; ``secure``: it came over TLS; ``endpoint_id``: the
        listener's endpoint id (IAM's ``aws:SecureTransport`` and ``aws:SourceVpce``)."""
        request_id = _request_id()
        payload: Any = None
        try:
            principal = self.authenticator.verify(method, path, query, headers, body)
            service, name = _parse_target(headers.get("x-amz-target"))
            handler = operations.find(service, name)
            if handler is None:
                raise DynamoError("UnknownOperationException", f"dynamoray does not implement {name}")
            payload = _parse_json(body)
            if service not in (ADMIN_SERVICE, REPLICATION_SERVICE, FEED_SERVICE):
                validate_request(service, name, payload)
                if self.keys is not None:  # a table whose KMS key became unusable (gateway/sse.py)
                    sse_keys.guard(self.keys, name, payload)
            ctx = RequestContext(
                self.engine, principal, self.config.region, self.config.account_id, request_id, self.authorizer,
                self.keys, self.hooks, self.telemetry, self.replication,
            )
            if self.telemetry is not None:  # throttling, metrics, audit, usage around IAM + handler (telemetry.py)
                authorize = None if self.authorizer is None else functools.partial(
                    self.authorizer, ctx, service, name, payload, remote, secure=secure, endpoint_id=endpoint_id)
                result = await self.telemetry.run(ctx, service, name, payload, handler, authorize, remote, headers)
                return 200, orjson.dumps(result), request_id
            if self.authorizer is not None:  # IAM, before any work is done
                await self.authorizer(ctx, service, name, payload, remote, secure=secure, endpoint_id=endpoint_id)
            result = await handler(ctx, payload)
            return 200, orjson.dumps(result), request_id
        except DynamoError as error:
            if self.telemetry is not None:
                self.telemetry.refused(error)  # counted unless telemetry.run already did
            return error.status, render_error(error), request_id
        except KeyInaccessible as refused:  # data under a KMS key unusable now: a 400 (docs/security.md)
            error = sse_keys.inaccessible_error(refused, payload)
            return error.status, render_error(error), request_id
        except Exception:  # the only catch-all: an unexpected failure is a 500, logged with its trace
            log.exception("request_failed", request_id=request_id)
            error = errors.internal_server_error()
            return error.status, render_error(error), request_id

    async def startup(self) -> None:
        """Before the first request."""
        if self.authorizer is not None:
            await self.authorizer.on_startup(None)
        for service in self.services:
            service.start()

    async def cleanup(self) -> None:
        """After the last request."""
        for service in reversed(self.services):
            await service.stop()
        if self.authorizer is not None:
            await self.authorizer.on_cleanup(None)

    def http_server(self, ssl: Any = None, endpoint_id: str | None = None) -> HttpServer:
        """The gateway's own HTTP server (``http.py``): what ``dynamoray serve`` runs; HTTPS with
        ``ssl`` (``tls.py``), and ``endpoint_id`` for the listener's requests (``aws:SourceVpce``)."""
        return HttpServer(self.serve_http, max_body=MAX_REQUEST_BYTES + 1024, ssl=ssl, endpoint_id=endpoint_id)

