"""Talking to the gateway: DynamoDB's JSON 1.0 protocol over pooled HTTP/1.1 keep-alive connections.

- :class:`Signer` signs with botocore's SigV4 signer and gets its credentials from botocore's
  credential chain (explicit keys, ``AWS_*`` variables, the shared files, a profile, ...).
- :class:`Wire` encodes a request (orjson body, ``X-Amz-Target: DynamoDB_20120810.<Op>`` or
  ``DynamoDBStreams_20120810.<Op>``) and decodes the answer: the CRC32 check of ``x-amz-crc32``,
  then the JSON, or the matching :mod:`errors` exception.
- :class:`SyncTransport` (urllib3's connection pool) and :class:`AsyncTransport` (aiohttp, imported
  only when an async client sends its first request) move bytes; both raise
  :class:`EndpointConnectionError` when no answer comes.  Anything with the same ``send`` method can
  stand in for them (the tests' fault injection does).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import orjson
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError
from botocore.session import Session

from .errors import ChecksumMismatchError, DynamoDBError, EndpointConnectionError, NoCredentialsError, from_response

if TYPE_CHECKING:
    import aiohttp

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGETS = {"dynamodb": "DynamoDB_20120810", "dynamodbstreams": "DynamoDBStreams_20120810"}
TARGETS["dynamoraychanges"] = "DynamoRayChangeFeed_20241101"  # the change feed (accelerator.py)
TARGETS["dynamorayadmin"] = "DynamoRayAdmin_20261126"  # the admin API, root only (forks.py)
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"


def default_endpoint() -> str:
    return os.environ.get("DYNAMORAY_ENDPOINT") or DEFAULT_ENDPOINT


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]  # names in lower case


class Signer:
    """SigV4 for one endpoint and region, credentials from botocore (resolved once, refreshed by botocore)."""

    def __init__(self, endpoint: str, region: str | None = None, access_key: str | None = None,
                 secret_key: str | None = None, session_token: str | None = None,
                 profile: str | None = None) -> None:
        session = Session(profile=profile)
        if access_key is not None and secret_key is not None:
            credentials: Any = Credentials(access_key, secret_key, session_token)
        else:
            try:
                credentials = session.get_credentials()
            except BotoCoreError as error:
                raise NoCredentialsError(f"Unable to locate credentials: {error}") from error
            if credentials is None:
                raise NoCredentialsError("Unable to locate credentials")
        self.region: str = region or session.get_config_variable("region") or "us-east-1"
        self.url = endpoint.rstrip("/") + "/"
        self._auth = SigV4Auth(credentials, "dynamodb", self.region)

    def headers(self, target: str, body: bytes) -> dict[str, str]:
        request = AWSRequest(method="POST", url=self.url, data=body,
                             headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": target})
        self._auth.add_auth(request)
        return dict(request.headers.items())


class Wire:
    """Request encoding and response decoding, shared by the sync and async clients."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def encode(self, service: str, operation: str, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = orjson.dumps(payload)
        return body, self.signer.headers(f"{TARGETS[service]}.{operation}", body)

    @staticmethod
    def decode(response: RawResponse) -> dict[str, Any]:
        """The response's JSON; raises the DynamoDBError of an error answer or a bad checksum."""
        request_id = response.headers.get("x-amzn-requestid")
        expected = response.headers.get("x-amz-crc32")
        if expected is not None and str(zlib.crc32(response.body)) != expected:
            raise ChecksumMismatchError(
                f"The response's CRC32 {zlib.crc32(response.body)} does not match its header {expected}",
                status=response.status, request_id=request_id)
        try:
            body = orjson.loads(response.body) if response.body else {}
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            if response.status >= 300:
                body = {}
            else:
                raise DynamoDBError("The response is not a JSON object", code="InvalidResponse",
                                    status=response.status, request_id=request_id)
        if response.status >= 300:
            raise from_response(response.status, body, request_id)
        return body


class SyncSender(Protocol):
    def send(self, body: bytes, headers: dict[str, str]) -> RawResponse: ...

    def close(self) -> None: ...


class AsyncSender(Protocol):
    async def send(self, body: bytes, headers: dict[str, str]) -> RawResponse: ...

    async def close(self) -> None: ...


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The client TLS context for ``verify``: True (the system's CAs), False (no check, like
    boto3's ``verify=False``) or the path of a CA bundle (a self-signed server certificate)."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)


class SyncTransport:
    """A urllib3 keep-alive pool of up to ``max_connections`` connections (thread-safe)."""

    def __init__(self, endpoint: str, max_connections: int = 10, timeout: float = 60.0,
                 connect_timeout: float = 10.0, verify: bool | str = True) -> None:
        self._path = urlsplit(endpoint).path or "/"
        tls: dict[str, Any] = {}
        if endpoint.startswith("https:"):
            tls["ssl_context"] = tls_context(verify)
            if verify is False:
                tls["cert_reqs"] = "CERT_NONE"
        self._pool = urllib3.connection_from_url(
            endpoint, maxsize=max_connections, block=False, retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=timeout), **tls)

    def send(self, body: bytes, headers: dict[str, str]) -> RawResponse:
        try:
            response = self._pool.urlopen("POST", self._path, body=body, headers=headers, retries=False,
                                          redirect=False, preload_content=True)
        except urllib3.exceptions.HTTPError as error:
            raise EndpointConnectionError(f"Could not reach the endpoint: {error}") from error
        return RawResponse(response.status, response.data, {k.lower(): v for k, v in response.headers.items()})

    def close(self) -> None:
        self._pool.close()


class AsyncTransport:
    """An aiohttp keep-alive pool of up to ``max_connections`` connections.  The aiohttp session is
    made on the first request, on the running loop, so a client can be built outside of one (and
    used again under a later ``asyncio.run``: a new loop gets a new session)."""

    def __init__(self, endpoint: str, max_connections: int = 64, timeout: float = 60.0,
                 connect_timeout: float = 10.0, verify: bool | str = True) -> None:
        self._url = endpoint.rstrip("/") + "/"
        self._tls = tls_context(verify) if endpoint.startswith("https:") else None
        self._max_connections = max_connections
        self._timeout = (timeout, connect_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        total, connect = self._timeout
        connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300,
                                         ssl=self._tls if self._tls is not None else True)
        return aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=total, connect=connect),
            skip_auto_headers=("User-Agent", "Accept-Encoding"), auto_decompress=True)

    async def send(self, body: bytes, headers: dict[str, str]) -> RawResponse:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:  # a session belongs to one event loop
            self._session, self._loop = self._open(), loop
        try:
            async with self._session.post(self._url, data=body, headers=headers) as response:
                data = await response.read()
                return RawResponse(response.status, data, {k.lower(): v for k, v in response.headers.items()})
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise EndpointConnectionError(f"Could not reach the endpoint: {error!r}") from error

    async def close(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = self._loop = None
