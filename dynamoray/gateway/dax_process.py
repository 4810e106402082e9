"""``dynamoray dax --upstream URL``: the accelerator as a process of its own, in front of a server.

Like a DAX cluster node: it speaks DynamoDB's HTTP API to the clients, answers eventually
consistent GetItem, BatchGetItem, Query and Scan from an item cache and a query cache
(``core/cache.py``: TTL, LRU under a byte bound, negative entries), and sends everything else to
the upstream server over keep-alive HTTP (the SDK's aiohttp transport).

- **Requests pass through signed.** A request the caches do not answer (a miss, a write, a
  consistent read, any other operation) is forwarded to the upstream byte for byte, with the
  client's own SigV4 headers (the ``Host`` it signed included).  The upstream checks the
  signature and IAM as for any client, and its answer (status, ``__type``, message) comes back
  unchanged.  The accelerator never signs a client's request with credentials of its own.
- **Hits are authenticated locally.** A cached answer is served only to a request signed with
  credentials given to the accelerator (``--credentials``; its signature is checked here, as the
  gateway does) and only if the upstream allowed the same principal the same action on the same
  table (or index) within ``auth_ttl`` seconds.  Requests signed by anyone else are always
  forwarded.  As on DAX, IAM conditions on items (``dynamodb:LeadingKeys``, ``dynamodb:Attributes``)
  are checked by the upstream only for the requests it sees.
- **Fresh from the change feed.** Each table read or written through the accelerator is followed
  with the upstream's ``GetChanges`` feed (``change_feed.py``) by the SDK's follower
  (``sdk/accelerator.py``, :class:`ItemAccelerator`), signed with the accelerator's credentials.
- **Write-through.** A write's new image (PutItem's item, DeleteItem's absence, UpdateItem's
  ALL_NEW attributes) goes to the item cache; otherwise the key is evicted.
- **Upstream down.** A request that cannot be forwarded gets DynamoDB's 503 ``ServiceUnavailable``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .. import logs
from ..core import cache as core_cache
from ..core import errors
from ..core.cache import MISSING, CacheSettings, DaxCache
from . import dax_requests as plans
from .auth import Authenticator, Principal
from .http import HttpRequest, HttpResponse, HttpServer
from .sdk import AsyncClient, flows
from .sdk.accelerator import AcceleratorConfig, ItemAccelerator
from .sdk.errors import DynamoDBError, EndpointConnectionError
from .sdk.retry import RetryConfig
from .sdk.transport import AsyncTransport
from .server import MAX_REQUEST_BYTES, render_error

log = logs.get("dax")

DYNAMODB = "DynamoDB_20120810"
JSON_TYPE = "application/x-amz-json-1.0"
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "DeleteTable"})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "expect", "te",
                        "upgrade", "proxy-connection", "proxy-authorization", "trailer"})
PASSED_HEADERS = ("x-amzn-requestid", "x-amz-crc32")  # the body is passed decoded (aiohttp)
_IDS = itertools.count(1)


@dataclass(frozen=True)
class DaxSettings:
    """``upstream``: the server's URL; ``access_key``/``secret_key``: the accelerator's credentials
    (its feed and DescribeTable calls, and the signatures it checks itself)."""

    upstream: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    cache: CacheSettings = field(default_factory=CacheSettings)
    poll_interval: float = 0.02  # seconds between two rounds of the change feed
    auth_ttl: float = 60.0  # seconds an upstream "allowed" stands for cache hits (and a key schema is kept)
    timeout: float = 30.0  # seconds a forwarded request may take


def _answer(status: int, body: bytes, content_type: str = JSON_TYPE, headers: list | None = None) -> HttpResponse:
    return HttpResponse(status, body, content_type, headers if headers is not None else [
        ("x-amzn-RequestId", f"DAX{os.getpid():08X}{next(_IDS):021X}"), ("x-amz-crc32", str(zlib.crc32(body)))])


class DaxProxy:
    """The accelerator: :meth:`handle` is the HTTP handler; :meth:`start`/:meth:`close` its feed."""

    def __init__(self, settings: DaxSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        s = settings.cache
        self.follower = ItemAccelerator(AcceleratorConfig(item_ttl=s.item_ttl, max_bytes=s.item_bytes,
                                                          poll_interval=settings.poll_interval, settle=s.settle),
                                        clock)
        self.follower.cache = DaxCache(s)  # items and pages, kept fresh by the SDK's follower
        self.cache: DaxCache = self.follower.cache
        self.client = AsyncClient(settings.upstream, region=settings.region, access_key=settings.access_key,
                                  secret_key=settings.secret_key, timeout=settings.timeout,
                                  retry=RetryConfig(max_attempts=2, base_delay=0.05, max_backoff=0.5))
        self.transport = AsyncTransport(settings.upstream, max_connections=64, timeout=settings.timeout)
        self.auth = Authenticator()
        self.auth.add_key(settings.access_key, settings.secret_key,
                          Principal(settings.access_key, f"dax:{settings.access_key}", ""))
        self._allowed: dict[tuple, float] = {}  # (access key, action, table, index) -> until
        self._schemas: dict[str, tuple[list[str], float]] = {}  # table -> (key attribute names, until)
        self._feed: asyncio.Task | None = None
        self.forwarded = 0
        self.answered = 0

    # --- the feed --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._feed is None:
            self._feed = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        async def call(operation: str, payload: dict, service: str) -> dict:
            return await self.client.call(operation, service, **payload)

        while True:
            await asyncio.sleep(self.settings.poll_interval)
            try:
                await flows.run_async(self.follower.poll(), call)
            except Exception as error:  # noqa: BLE001 - the feed failed: serve nothing stale
                log.warning("dax_feed_failed", error=str(error))
                self.follower.forget_all()

    async def close(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.cancel()
            try:
                await feed
            except asyncio.CancelledError:
                pass
        await self.transport.close()
        await self.client.close()

    # --- requests --------------------------------------------------------------------------------

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            return self._local_page(request.path)
        prefix, _, op = request.headers.get("x-amz-target", "").partition(".")
        body: Any = None
        if prefix == DYNAMODB and (op in READS or op in WRITES):
            try:
                body = orjson.loads(request.body)
            except orjson.JSONDecodeError:
                body = None
        if not isinstance(body, dict):
            return await self._forward(request, None, None, None)
        plan = plans.plan_read(op, body) if op in READS else None
        if plan is not None:
            answer = self._from_cache(request, plan)
            if answer is not None:
                self.answered += 1
                return _answer(200, orjson.dumps(answer))
        return await self._forward(request, op, body, plan)

    def _principal(self, request: HttpRequest) -> str | None:
        """The access key of a request signed with the accelerator's credentials, else None."""
        try:
            return self.auth.verify(request.method, request.path, request.query, request.headers,
                                    request.body).access_key
        except errors.DynamoError:
            return None

    def _from_cache(self, request: HttpRequest, plan: plans.ReadPlan) -> dict | None:
        principal = self._principal(request)
        if principal is None:
            return None
        now = self._clock()
        for table, index in plan.resources:
            if self._allowed.get((principal, plan.op, table, index), 0.0) <= now:
                return None
        if plan.page is not None:
            page = self.cache.get_page(plan.table, plan.page, now)  # type: ignore[arg-type]
            return None if page is MISSING else plans.hit_response(plan, page)
        found: dict[str, list[dict | None]] = {}
        for table, listed in plan.keys.items():
            items = found[table] = []
            for key in listed:
                item = self.cache.get_item(table, key, now)
                if item is MISSING:
                    return None
                items.append(item)
        return plans.hit_response(plan, found)

    async def _forward(self, request: HttpRequest, op: str | None, body: dict | None,
                       plan: plans.ReadPlan | None) -> HttpResponse:
        tables = self._tables(op, body, plan)
        ticket = self.cache.begin()
        for table in tables:
            ticket = self.follower.begin(table)  # followed from now on (the ticket is the same)
        headers = {name: value for name, value in request.headers.items() if name not in HOP_BY_HOP}
        try:
            raw = await self.transport.send(request.body, headers)
        except EndpointConnectionError as error:
            log.warning("dax_upstream_unreachable", error=str(error))
            failure = errors.service_unavailable(f"The accelerator could not reach its upstream: {error}")
            return _answer(failure.status, render_error(failure))
        self.forwarded += 1
        if 200 <= raw.status < 300 and op is not None:
            try:
                await self._learn(request, op, body, plan, orjson.loads(raw.body), ticket)  # type: ignore[arg-type]
            except Exception as error:  # noqa: BLE001 - the client still gets the upstream's answer
                log.warning("dax_learn_failed", op=op, error=repr(error))
                for table in tables:
                    self.cache.items.drop_group(table)
        passed = [(name, raw.headers[name]) for name in PASSED_HEADERS if name in raw.headers]
        return _answer(raw.status, raw.body, raw.headers.get("content-type", JSON_TYPE), passed)

    @staticmethod
    def _tables(op: str | None, body: dict | None, plan: plans.ReadPlan | None) -> list[str]:
        if plan is not None:
            return list(plan.keys) if plan.keys else [plan.table]  # type: ignore[list-item]
        if op in ("PutItem", "UpdateItem", "DeleteItem") and isinstance(body.get("TableName"), str):  # type: ignore[union-attr]
            return [body["TableName"]]  # type: ignore[index]
        if op == "BatchWriteItem" and isinstance(body.get("RequestItems"), dict):  # type: ignore[union-attr]
            return [t for t in body["RequestItems"] if isinstance(t, str)]  # type: ignore[index]
        return []

    # --- what an upstream answer teaches the caches ---------------------------------------------

    async def _learn(self, request: HttpRequest, op: str, body: dict, plan: plans.ReadPlan | None,
                     answer: dict, ticket: core_cache.Ticket) -> None:
        if plan is not None:
            self._fill(plan, answer, ticket)
            principal = self._principal(request)
            if principal is not None:
                until = self._clock() + self.settings.auth_ttl
                for table, index in plan.resources:
                    self._allowed[(principal, op, table, index)] = until
            return
        effects = plans.write_effects(op, body, answer)
        for table, item in effects.items_of:
            names = await self._key_names(table) if isinstance(table, str) else None
            split = plans.item_key(item, names) if names is not None else None
            if split is None:
                effects.drop.append(table)
            else:
                effects.images.append((table, *split))
        for table, key, image in effects.images:
            self.follower.wrote(table, key, image, ticket)
        for table, key in effects.evict:
            self.follower.evict(table, key)
        for table in effects.drop:
            if isinstance(table, str):
                self.cache.items.drop_group(table)
        for table in effects.forget:
            if isinstance(table, str):
                self._schemas.pop(table, None)
                self.follower.forget(table)

    def _fill(self, plan: plans.ReadPlan, answer: dict, ticket: core_cache.Ticket) -> None:
        if plan.page is not None:
            page = plans.cacheable_page(answer)
            self.cache.fill_page(plan.table, plan.page, page, page.get("Items") or [], ticket,  # type: ignore[arg-type]
                                 self._clock())
        elif plan.op == "GetItem":
            ((table, (key,)),) = plan.keys.items()
            self.follower.fill(table, key, answer.get("Item"), ticket)
        else:
            for table, results in plans.batch_results(plan, answer).items():
                for key, item in results:
                    self.follower.fill(table, key, item, ticket)

    async def _key_names(self, table: str) -> list[str] | None:
        """The table's key attribute names (DescribeTable with the accelerator's credentials)."""
        now = self._clock()
        known = self._schemas.get(table)
        if known is not None and known[1] > now:
            return known[0]
        try:
            description = (await self.client.call("DescribeTable", TableName=table))["Table"]
        except DynamoDBError as error:
            log.warning("dax_describe_failed", table=table, error=str(error))
            return None
        names = [k["AttributeName"] for k in description["KeySchema"]]
        self._schemas[table] = (names, now + self.settings.auth_ttl)
        return names

    # --- GET pages -------------------------------------------------------------------------------

    def _local_page(self, path: str) -> HttpResponse:
        if path == "/health":
            return HttpResponse(200, b'{"status": "ok"}', "application/json")
        if path == "/metrics":
            return HttpResponse(200, self.metrics_text(), "text/plain; version=0.0.4; charset=utf-8")
        return HttpResponse(404, b"", "application/json")

    def metrics(self) -> dict[str, dict[str, float]]:
        """Per cache ("item", "query"): hits, misses, evictions, expirations, refused, entries, bytes."""
        return self.cache.stats()

    def metrics_text(self) -> bytes:
        """``/metrics``: the server accelerator's ``dynamoray_dax_*`` families, for this process."""
        from prometheus_client import CollectorRegistry, generate_latest

        from .accelerator import _Collector

        registry = CollectorRegistry()
        registry.register(_Collector(self.metrics()))
        return generate_latest(registry)


async def serve(settings: DaxSettings, host: str, port: int, ready: Callable[[str, int], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set (or SIGINT/SIGTERM)."""
    proxy = DaxProxy(settings)
    server = HttpServer(proxy.handle, max_body=MAX_REQUEST_BYTES + 1024)
    bound = await server.start(host, port)
    proxy.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    if ready is not None:
        ready(*bound)
    try:
        await stop.wait()
    finally:
        await server.close()
        await proxy.close()


def run(settings: DaxSettings, host: str, port: int) -> int:
    def ready(bound_host: str, bound_port: int) -> None:
        print(f"dynamoray dax: serving on http://{bound_host}:{bound_port}, upstream {settings.upstream}",
              file=sys.stderr, flush=True)

    asyncio.run(serve(settings, host, port, ready))
    return 0
