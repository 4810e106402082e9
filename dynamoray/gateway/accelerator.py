"""The accelerator (DAX): the gateway's DynamoDB API on its own port, with a cache in front of the engine.

``dynamoray serve --dax-port PORT`` serves, beside the main port, a second :class:`Gateway` that
shares the main one's authentication and IAM but whose engine is a :class:`CachingEngine`:

- eventually consistent GetItem and each key of BatchGetItem go through the item cache, Query and
  Scan through the query cache (``core/cache.py``, negative results included);
- ``ConsistentRead=true``, TransactGetItems and everything else pass through to the engine;
- writes go to the engine, then their new image goes to the item cache (write-through);
- a :class:`LogFeed` tails every shard of each table the accelerator has read, from the end of
  its log, through the engine's own log object (records are encrypted at rest), and applies each
  change (including TTL deletions and other clients' writes) to the cache within a poll interval.

The cache lives in the server process: a restart starts it empty, and a table is followed again
from the end of its log on its next read (there is nothing to replay).

The accelerator's requests go through the main gateway's telemetry (:class:`CachedTelemetry`):
IAM, throttling, metrics, usage and the audit log as on the main port, except that what a cache
hit answered consumes no capacity of the table (as on DAX); a miss consumes what the table read
cost.  The engine notes each hit in a per-request :class:`_Hits` (a context variable).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any, Awaitable, Callable

from .. import logs
from ..core import cache as core_cache, capacity as core_capacity, keys, values
from ..core.cache import MISSING, CacheSettings, DaxCache
from ..core.commands import Page, QuerySpec, ScanSpec
from ..events.log import LogError
from ..schemas.events import ItemChanged

log = logs.get("accelerator")

IDLE = 0.01  # seconds between two polls of the followed logs
BATCH = 1000  # records read per shard per poll


class LogFeed:
    """Applies the changes of followed tables' logs to a :class:`DaxCache`, from the end of each
    log at the moment it is followed."""

    def __init__(self, engine: Any, cache: DaxCache, clock: Callable[[], float], idle: float = IDLE) -> None:
        self._engine = engine
        self._cache = cache
        self._clock = clock
        self._idle = idle
        self._positions: dict[str, tuple[str, dict[int, int]]] = {}  # table -> (topic, shard -> next offset)
        self._starting: dict[str, asyncio.Task] = {}
        self._task: asyncio.Task | None = None
        self.applied = 0  # changes applied since start

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._starting.values()) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping
                pass

    def follow(self, table: str) -> None:
        """Start following ``table`` in the background (no-op if it is or is being followed)."""
        if table in self._positions or table in self._starting:
            return
        task = asyncio.get_running_loop().create_task(self._position(table))
        self._starting[table] = task
        task.add_done_callback(lambda _t: self._starting.pop(table, None))

    def forget(self, table: str) -> None:
        self._positions.pop(table, None)
        self._cache.unfollow(table)

    async def _position(self, table: str) -> None:
        from ..actors.records import table_topic

        try:
            description = await self._engine.describe_table(table)
            topic = table_topic(description["TableId"])
            log_ = await self._engine.stream_log()
            ends = await asyncio.to_thread(_ends, log_, topic)
        except Exception as error:  # noqa: BLE001 - no such table, or no log: it stays uncached
            log.debug("follow_failed", table=table, error=str(error))
            return
        self._positions[table] = (topic, ends)
        self._cache.follow(table, self._clock())

    async def _run(self) -> None:
        while True:
            try:
                busy = await self._poll()
            except Exception as error:  # noqa: BLE001 - e.g. the log is closing: try again later
                log.warning("feed_failed", error=str(error))
                busy = False
            if not busy:
                await asyncio.sleep(self._idle)

    async def _poll(self) -> bool:
        """One round over the followed tables; whether it found changes."""
        if not self._positions:
            return False
        log_ = await self._engine.stream_log()
        followed = {table: (topic, dict(ends)) for table, (topic, ends) in self._positions.items()}
        found = await asyncio.to_thread(_read, log_, followed)
        busy = False
        for table, result in found.items():
            if table not in self._positions or self._positions[table][0] != followed[table][0]:
                continue  # forgotten (or followed anew) meanwhile
            if isinstance(result, LogError):  # the table was deleted: drop what is cached of it
                self.forget(table)
                continue
            changes, after = result
            now = self._clock()
            for key, image in changes:
                self._cache.apply_change(table, key, image, now)
            self.applied += len(changes)
            busy = busy or bool(changes)
            self._positions[table] = (followed[table][0], after)
        return busy


def _ends(log_: Any, topic: str) -> dict[int, int]:
    return {shard: log_.end_offset(topic, shard) for shard in range(log_.partition_count(topic))}


def _read(log_: Any, followed: dict[str, tuple[str, dict[int, int]]]) -> dict[str, Any]:
    """Blocking (a worker thread): per table, its item changes (key, new image) after its offsets
    and the offsets after them, or the LogError that reading raised."""
    from ..actors.records import CODEC

    out: dict[str, Any] = {}
    for table, (topic, offsets) in followed.items():
        changes: list[tuple[dict, dict | None]] = []
        try:
            for shard, offset in offsets.items():
                batch = log_.read(topic, shard, offset, BATCH)
                for record in batch:
                    event = CODEC.decode(record.value)
                    if type(event) is ItemChanged:  # transaction locks and other records change no item
                        changes.append((event.keys, event.new_image))
                if batch:
                    offsets[shard] = batch[-1].offset + 1
        except LogError as error:
            out[table] = error
            continue
        out[table] = (changes, offsets)
    return out


class CachingEngine:
    """The engine protocol over ``engine``, with reads through a :class:`DaxCache` (see the module)."""

    def __init__(self, engine: Any, cache: DaxCache, feed: LogFeed, clock: Callable[[], float]) -> None:
        self._engine = engine
        self.cache = cache
        self.feed = feed
        self._clock = clock

    def __getattr__(self, name: str) -> Any:  # every other call of the protocol passes through
        return getattr(self._engine, name)

    async def get(self, table: str, key: dict, projection: Any = None, consistent: bool = False) -> dict | None:
        if consistent or projection is not None:
            return await self._engine.get(table, key, projection, consistent)
        found = self.cache.get_item(table, key, self._clock())
        if found is not MISSING:
            hits = _HITS.get()
            if hits is not None:  # the read this hit saved the table: what GetItem charges for it
                size = values.item_size(found) if found is not None else 0
                hits.items[table] = hits.items.get(table, 0) + core_capacity.read_half_units(size)
            return found
        self.feed.follow(table)
        ticket = self.cache.begin()
        item = await self._engine.get(table, key, None, False)
        self.cache.fill_item(table, key, item, ticket, self._clock())
        return item

    async def query(self, table: str, spec: QuerySpec, consistent: bool = False) -> Page:
        return await self._page("query", table, spec, consistent)

    async def scan(self, table: str, spec: ScanSpec, consistent: bool = False) -> Page:
        return await self._page("scan", table, spec, consistent)

    async def _page(self, kind: str, table: str, spec: Any, consistent: bool) -> Page:
        read = getattr(self._engine, kind)
        if consistent:
            return await read(table, spec, True)
        request = f"{kind}:{spec!r}"  # the canonical request: the parsed spec, placeholders resolved
        found = self.cache.get_page(table, request, self._clock())
        if found is not MISSING:
            hits = _HITS.get()
            if hits is not None:
                hits.pages.add(table)
            return found
        self.feed.follow(table)
        ticket = self.cache.begin()
        page = await read(table, spec, False)
        self.cache.fill_page(table, request, page, page.items, ticket, self._clock())
        return page

    async def write(self, table: str, command: Any) -> Any:
        ticket = self.cache.begin()
        outcome = await self._engine.write(table, command)
        change = outcome.change
        if change is not None:  # write-through
            self.cache.write_through(table, change.keys, change.new_image, ticket, self._clock())
        return outcome

    async def transact_write(self, actions: list[tuple[str, Any]], *args: Any, **kwargs: Any) -> Any:
        result = await self._engine.transact_write(actions, *args, **kwargs)
        for table, command in actions:  # the new images come from the log; drop the old ones now
            key = getattr(command, "key", None)
            if key is None and getattr(command, "item", None) is not None:
                key = keys.extract_key(await self._engine.key_schema(table), command.item)
            if key is not None:
                self.cache.items.pop((table, core_cache.key_token(key)))
        return result

    async def delete_table(self, name: str) -> dict:
        result = await self._engine.delete_table(name)
        self.feed.forget(name)
        return result


class Accelerator:
    """The accelerator's cache, log feed and caching engine: a gateway service (start/stop)."""

    def __init__(self, engine: Any, settings: CacheSettings | None = None,
                 clock: Callable[[], float] = time.monotonic, idle: float = IDLE) -> None:
        self.cache = DaxCache(settings or CacheSettings())
        self.feed = LogFeed(engine, self.cache, clock, idle)
        self.engine = CachingEngine(engine, self.cache, self.feed, clock)

    def start(self) -> None:
        self.feed.start()

    async def stop(self) -> None:
        await self.feed.stop()

    def collector(self) -> "_Collector":
        """What ``/metrics`` registers (``gateway/metrics.py``)."""
        return _Collector(self.metrics())

    def metrics(self) -> dict[str, dict[str, float]]:
        """Per cache ("item", "query"): hits, misses, evictions, expirations, refused, entries, bytes."""
        return self.cache.stats()


class _Collector:
    """``dynamoray_dax_{hits,misses,evictions,expirations,refused_fills}_total{cache}``,
    ``dynamoray_dax_hit_ratio{cache}``, ``dynamoray_dax_entries{cache}``, ``dynamoray_dax_bytes{cache}``
    (``cache``: ``item`` or ``query``)."""

    COUNTERS = (("hits", "hits", "Cache hits"), ("misses", "misses", "Cache misses (expired entries included)"),
                ("evictions", "evictions", "Entries evicted to stay under the memory bound"),
                ("expirations", "expirations", "Entries found past their TTL"),
                ("refused_fills", "refused", "Fills refused: the key changed while it was read"))

    def __init__(self, stats: dict[str, dict[str, float]]) -> None:
        self._stats = stats

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for name, member, text in self.COUNTERS:
            family = CounterMetricFamily(f"dynamoray_dax_{name}", text, labels=["cache"])
            for cache, stats in self._stats.items():
                family.add_metric([cache], stats[member])
            yield family
        ratio = GaugeMetricFamily("dynamoray_dax_hit_ratio", "Hits / (hits + misses) since start", labels=["cache"])
        entries = GaugeMetricFamily("dynamoray_dax_entries", "Entries in the cache", labels=["cache"])
        size = GaugeMetricFamily("dynamoray_dax_bytes", "Bytes the cache's entries count", labels=["cache"])
        for cache, stats in self._stats.items():
            lookups = stats["hits"] + stats["misses"]
            ratio.add_metric([cache], stats["hits"] / lookups if lookups else 0.0)
            entries.add_metric([cache], stats["entries"])
            size.add_metric([cache], stats["bytes"])
        yield from (ratio, entries, size)


def attach(main: Any, settings: CacheSettings | None = None, *, clock: Callable[[], float] = time.monotonic,
           idle: float = IDLE) -> Any:
    """Give ``main`` (a :class:`Gateway`, before its startup) an accelerator, and return the
    :class:`Gateway` to serve on the accelerator's port: it shares ``main``'s authentication, IAM
    and settings over the caching engine, and runs no services of its own (the accelerator's log
    feed is one of ``main``'s).  Its requests go through ``main``'s telemetry (:class:`CachedTelemetry`)."""
    from .server import Gateway

    accelerator = Accelerator(main.engine, settings, clock, idle)
    main.accelerator = accelerator
    main.services.append(accelerator)
    gateway = Gateway(accelerator.engine, main.authenticator, main.config)
    gateway.authorizer = main.authorizer
    gateway.keys = main.keys
    gateway.hooks = main.hooks
    gateway.replication = main.replication
    gateway.accelerator = accelerator
    if main.telemetry is not None:  # throttled, metered, audited as on the main port; hits cost nothing
        gateway.telemetry = CachedTelemetry(main.telemetry, accelerator.cache)
    return gateway


# --- telemetry: a cache hit consumes no table capacity ----------------------------------------------


class _Hits:
    """What one request read from the cache: per table, the half units its item hits saved
    (GetItem, BatchGetItem keys), and the tables whose Query or Scan page came from the cache."""

    __slots__ = ("items", "pages")

    def __init__(self) -> None:
        self.items: dict[str, int] = {}
        self.pages: set[str] = set()


_HITS: contextvars.ContextVar[_Hits | None] = contextvars.ContextVar("dax_hits", default=None)
_UNITS = ("CapacityUnits", "ReadCapacityUnits")


def discount(response: dict, hits: _Hits) -> None:
    """Take what the cache answered out of the response's ConsumedCapacity (any shape, in place):
    a page from the cache consumed nothing, an item hit nothing of what GetItem charges for it."""
    consumed = response.get("ConsumedCapacity")
    if consumed is None or not (hits.items or hits.pages):
        return
    for entry in consumed if isinstance(consumed, list) else (consumed,):
        table = entry.get("TableName")
        if table in hits.pages:  # the whole page, index reads included
            parts = [entry, entry.get("Table"), *(entry.get("LocalSecondaryIndexes") or {}).values(),
                     *(entry.get("GlobalSecondaryIndexes") or {}).values()]
            _less(parts, float("inf"))
        elif table in hits.items:  # item reads touch the table only
            _less([entry, entry.get("Table")], core_capacity.units(hits.items[table]))


def _less(parts: list, saved: float) -> None:
    for part in parts:
        for unit in _UNITS if part else ():
            if unit in part:
                part[unit] = max(0.0, part[unit] - saved)


class CachedTelemetry:
    """The main gateway's :class:`~dynamoray.gateway.telemetry.Telemetry` for the accelerator's
    port: the same IAM, admission, metrics, usage and audit (everything but :meth:`run` passes
    through), with each handler's ConsumedCapacity discounted by what the cache answered before
    the telemetry charges it."""

    def __init__(self, telemetry: Any, cache: DaxCache) -> None:
        self.telemetry = telemetry
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self.telemetry, name)

    async def run(self, ctx: Any, service: str, name: str, payload: dict,
                  handler: Callable[[Any, dict], Awaitable[dict]], *args: Any, **kwargs: Any) -> dict:
        async def cached(ctx: Any, body: dict) -> dict:
            hits = _Hits()
            token = _HITS.set(hits)
            try:
                result = await handler(ctx, body)
            finally:
                _HITS.reset(token)
            discount(result, hits)
            return result

        return await self.telemetry.run(ctx, service, name, payload, cached, *args, **kwargs,
                                        admit=not self._cached_get(name, payload))

    def _cached_get(self, name: str, payload: dict) -> bool:
        """An eventually consistent GetItem of a cached key: a hit, so not refused by the table's
        throttling (DAX serves it without DynamoDB); an entry that expires meanwhile is a miss
        read without admission, still metered."""
        if name != "GetItem" or payload.get("ConsistentRead") or not isinstance(payload.get("Key"), dict):
            return False
        try:
            return (payload.get("TableName"), core_cache.key_token(payload["Key"])) in self._cache.items
        except (AttributeError, StopIteration, TypeError):  # a malformed key: the handler reports it
            return False
