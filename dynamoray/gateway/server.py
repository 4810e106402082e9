"""The HTTP front door: DynamoDB's JSON 1.0 protocol over aiohttp.

One POST route takes every operation: ``X-Amz-Target: DynamoDB_20120810.<Op>`` (or
``DynamoDBStreams_20120810.<Op>``).  The pipeline is: SigV4 -> target -> JSON -> service-model
validation -> the operation's handler.  :func:`render_error` is the only place where errors become
HTTP; anything that is not a :class:`DynamoError` becomes a 500 InternalServerError and is logged.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from .. import logs
from ..core import errors
from ..core.errors import DynamoError
from ..schemas.validate import validate_request
from . import operations
from .auth import Authenticator
from .context import RequestContext

CONTENT_TYPE = "application/x-amz-json-1.0"
MAX_REQUEST_BYTES = 16 * 1024 * 1024
TARGET_PREFIXES = {"DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodbstreams"}

log = logs.get("gateway")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    region: str = "us-east-1"
    account_id: str = "000000000000"


def _response(status: int, payload: dict[str, Any], request_id: str) -> web.Response:
    body = orjson.dumps(payload)
    return web.Response(
        status=status,
        body=body,
        headers={
            "Content-Type": CONTENT_TYPE,
            "x-amzn-RequestId": request_id,
            "x-amz-crc32": str(zlib.crc32(body)),
        },
    )


def render_error(error: DynamoError, request_id: str) -> web.Response:
    """The one place a DynamoError becomes an HTTP response."""
    return _response(error.status, error.wire_body(), request_id)


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

    async def handle(self, request: web.Request) -> web.Response:
        request_id = uuid.uuid4().hex.upper()
        try:
            body = await request.read()
            headers = {k.lower(): v for k, v in request.headers.items()}
            principal = self.authenticator.verify(
                request.method, request.raw_path.split("?")[0], request.query_string, headers, body
            )
            service, name = _parse_target(headers.get("x-amz-target"))
            handler = operations.find(service, name)
            if handler is None:
                raise DynamoError("UnknownOperationException", f"dynamoray does not implement {name}")
            payload = _parse_json(body)
            validate_request(service, name, payload)
            ctx = RequestContext(
                self.engine, principal, self.config.region, self.config.account_id, request_id
            )
            result = await handler(ctx, payload)
            return _response(200, result, request_id)
        except DynamoError as error:
            return render_error(error, request_id)
        except Exception:  # the only catch-all: an unexpected failure is a 500, logged with its trace
            log.exception("request_failed", request_id=request_id)
            return render_error(errors.internal_server_error(), request_id)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES + 1024)
        app.router.add_get("/health", self.health)
        app.router.add_post("/{tail:.*}", self.handle)
        return app

