"""The client's in-process accelerator: ``Client(..., accelerator=True)`` (or an :class:`AcceleratorConfig`).

An item cache in the client's own memory answers an eventually consistent ``Table.get`` without a
request (a hit costs microseconds).  It is the server accelerator's item cache
(``dynamoray.core.cache``: TTL, LRU under a byte bound, negative entries), kept fresh by the
server's change feed (``GetChanges``, ``gateway/change_feed.py``): once a table has been read
through the cache, a feed loop asks for the table's new changes every ``poll_interval`` seconds (a
daemon thread for :class:`Client`, a task for :class:`AsyncClient`) and applies them, so a write
made by anyone reaches the cache within about that interval.  The feed works whether or not the
table has a DynamoDB stream.

What passes through: ``consistent=True``, a ``projection``, queries, scans, batches and
transactions.  The client's own writes go through too, and then: ``put`` caches the item it wrote
(write-through), ``delete`` caches the absence, ``update`` drops the cached item (its new image
comes with the feed).  If the feed fails (the server is unreachable, the table is gone), the
table's entries are dropped: a cache that cannot be kept fresh serves nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core import cache as _cache
from .errors import DynamoDBError
from .flows import Call, Flow

FEED_SERVICE = "dynamoraychanges"
MISSING: Any = _cache.MISSING


@dataclass(frozen=True)
class AcceleratorConfig:
    """``item_ttl``: seconds an item stays cached (DAX's default, 5 minutes); ``max_bytes``: the
    cache's memory bound; ``poll_interval``: seconds between two reads of the change feed;
    ``settle``: a key changed this recently (or a table followed this recently) is not cached from
    a read, which may come from a replica that lags the feed."""

    item_ttl: float = _cache.DEFAULT_ITEM_TTL
    max_bytes: int = 64 * 1024 * 1024
    poll_interval: float = 0.05
    settle: float = _cache.DEFAULT_SETTLE


@dataclass
class _Feed:
    table_id: str | None = None
    positions: dict[str, int] | None = None


class ItemAccelerator:
    """The cache and the feed positions of one client (thread-safe)."""

    def __init__(self, config: AcceleratorConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or AcceleratorConfig()
        self._clock = clock
        settings = _cache.CacheSettings(item_ttl=self.config.item_ttl, query_ttl=0, item_bytes=self.config.max_bytes,
                                        query_bytes=0, settle=self.config.settle)
        self.cache = _cache.DaxCache(settings)
        self._lock = threading.Lock()
        self._feeds: dict[str, _Feed] = {}
        self.applied = 0  # changes applied from the feed

    def lookup(self, table: str, key: dict[str, Any]) -> Any:
        """The cached wire item, None for a cached absence, or MISSING."""
        with self._lock:
            return self.cache.get_item(table, key, self._clock())

    def begin(self, table: str) -> _cache.Ticket:
        """Before a read or a write of ``table``: the table is followed from now on."""
        with self._lock:
            self._feeds.setdefault(table, _Feed())
            return self.cache.begin()

    def fill(self, table: str, key: dict[str, Any], item: dict[str, Any] | None, ticket: _cache.Ticket) -> None:
        with self._lock:
            self.cache.fill_item(table, key, item, ticket, self._clock())

    def wrote(self, table: str, key: dict[str, Any], item: dict[str, Any] | None, ticket: _cache.Ticket) -> None:
        """This client wrote ``item`` (None: deleted) at ``key``."""
        with self._lock:
            self.cache.write_through(table, key, item, ticket, self._clock())

    def evict(self, table: str, key: dict[str, Any]) -> None:
        with self._lock:
            self.cache.items.pop((table, _cache.key_token(key)))

    def forget(self, table: str) -> None:
        """Drop the table's entries; it is followed again from the end of its log."""
        with self._lock:
            self.cache.unfollow(table)
            self._feeds[table] = _Feed()

    def forget_all(self) -> None:
        for table in list(self._feeds):
            self.forget(table)

    def poll(self) -> Flow[int]:
        """One round of the feed over the followed tables: how many changes it applied."""
        applied = 0
        for table in list(self._feeds):
            feed = self._feeds[table]
            payload: dict[str, Any] = {"TableName": table}
            if feed.positions is not None:
                payload.update(TableId=feed.table_id, Positions=feed.positions)
            try:
                answer = yield Call("GetChanges", payload, FEED_SERVICE)
            except DynamoDBError:
                self.forget(table)
                continue
            applied += self._apply(table, answer)
        return applied

    def _apply(self, table: str, answer: dict[str, Any]) -> int:
        changes = answer.get("Changes") or []
        with self._lock:
            now = self._clock()
            if answer.get("Reset"):
                self.cache.unfollow(table)
                self.cache.follow(table, now)
            for change in changes:
                self.cache.apply_change(table, change["Keys"], change.get("NewImage"), now)
            self._feeds[table] = _Feed(answer.get("TableId"), answer.get("Positions"))
            self.applied += len(changes)
        return len(changes)


class FeedThread:
    """The sync client's feed loop: a daemon thread, started on the first cached read."""

    def __init__(self, accelerator: ItemAccelerator, run: Callable[[Flow[int]], int]) -> None:
        self._accelerator = accelerator
        self._run = run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def ensure(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name="dynamoray-accelerator", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._accelerator.config.poll_interval):
            try:
                self._run(self._accelerator.poll())
            except Exception:  # noqa: BLE001 - the feed failed: serve nothing stale
                self._accelerator.forget_all()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
