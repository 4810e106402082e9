"""The TTL sweeper: deletes expired items, through the normal write path.

One sweeper runs per gateway process (``gateway/runner.py`` starts it with the gateway and stops
it with it), on either engine, through the engine's public calls only:

1. Every round it reads the TTL settings of all tables (``engine.ttl_settings()``, one call).
2. For each table with TTL enabled it pages through an eventually consistent Scan of the items
   expired now, projected to their keys: a ``ScanSpec`` with ``expiry=(attribute, now)``, which
   each shard answers from its expiry index (``core/ttl_index.py``), visiting only expired items;
   the filter (``core/ttl.py``: ``expiry_filter``) is kept as a check.  On the Ray engine such a
   scan is served by the gateway's follower, with no actor call.
3. Each key found becomes an :class:`~dynamoray.core.commands.ExpireCommand`, written like any
   write: decided by the partition against its current state (plus the writes in flight), so an
   item rewritten meanwhile with a later TTL, or without one, survives, and a lost race is skipped
   silently.  The deletion is an ItemChanged in the table's log, by the principal
   ``dynamodb.amazonaws.com`` (type ``Service``): streams show it as ``userIdentity``, backups and
   point-in-time recovery and followers see it like any delete.  It consumes no capacity.

Pacing: after each page the sweeper sleeps in proportion to the time the page took, so that it
keeps to about ``share`` of the time (a bounded share of a core on the local engine), and rounds
start ``interval`` seconds after the previous one ends.  The cost of a round is O(expired items)
(plus, once per shard after a change of TTL attribute, or after a start on the Ray engine,
building the index: O(items)); the round after TTL is turned off on a table drops its index.
See ``docs/ttl.md`` for the figures.

Several gateways on one cluster each run a sweeper: their deletions are idempotent (the second
finds the item gone and changes nothing).  The sweeper keeps no state, so a restart simply starts
the next round from the beginning.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from .. import logs
from ..core import ttl, ttl_index
from ..core.commands import ExpireCommand, Item, ScanSpec
from ..core.errors import DynamoError
from ..core.expressions import ast
from .background import BackgroundLoop

log = logs.get("ttl")

DEFAULT_INTERVAL = 5.0  # seconds between the end of a round and the start of the next
DEFAULT_SHARE = 0.25  # the share of the time a sweep may keep busy
PAGE_SIZE = 1000  # items a scan page looks at
WRITE_CONCURRENCY = 64  # deletions in flight at once (they share group commits)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """One round (or one table of it): tables swept, items scanned, items the filter found
    expired, items deleted, and the busy seconds (pacing sleeps excluded)."""

    tables: int = 0
    scanned: int = 0
    expired: int = 0
    deleted: int = 0
    seconds: float = 0.0

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(self.tables + other.tables, self.scanned + other.scanned,
                           self.expired + other.expired, self.deleted + other.deleted,
                           self.seconds + other.seconds)


class TtlSweeper(BackgroundLoop):
    """Deletes expired items of every TTL-enabled table, round after round (see the module
    docstring).  ``start()`` and ``stop()`` run it on the current event loop; ``sweep()`` runs
    one round (tests)."""

    task_name = "ttl-sweeper"

    def __init__(self, engine: Any, interval: float = DEFAULT_INTERVAL, *, share: float = DEFAULT_SHARE,
                 page_size: int = PAGE_SIZE, clock: Callable[[], float] = time.time,
                 timer: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if interval <= 0 or not 0 < share <= 1:
            raise ValueError("the interval must be positive and the share in (0, 1]")
        self.engine = engine
        self.interval = interval
        self.share = share
        self.page_size = page_size
        self._clock = clock  # wall clock, seconds since the epoch: what TTL values compare with
        self._timer = timer  # monotonic, for pacing
        self._sleep = sleep
        self._task: asyncio.Task | None = None
        self.rounds = 0  # completed rounds
        self.totals = SweepResult()
        self.last: SweepResult | None = None
        self._swept: dict[str, str] = {}  # table -> the TTL attribute its shards index (last round)

    # --- lifecycle ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad round must not stop expiry for good
                log.exception("ttl_sweep_failed")
            await self._sleep(self.interval)

    # --- a round -----------------------------------------------------------------------------

    async def sweep(self) -> SweepResult:
        """One round over every table with TTL enabled."""
        total = SweepResult()
        settings = await self.engine.ttl_settings()
        swept: dict[str, str] = {}
        for table, setting in sorted(settings.items()):
            attribute = ttl.attribute_of(setting)
            if attribute is None:
                continue
            swept[table] = attribute
            try:
                total += await self.sweep_table(table, attribute)
            except DynamoError as error:  # e.g. the table was deleted meanwhile
                log.info("ttl_table_skipped", table=table, error=error.error_type)
        await self._release(swept)
        self.rounds += 1
        self.totals += total
        self.last = total
        if total.deleted:
            log.info("ttl_swept", tables=total.tables, scanned=total.scanned, deleted=total.deleted,
                     seconds=round(total.seconds, 3))
        return total

    async def _release(self, swept: dict[str, str]) -> None:
        """Drop the expiry index of the tables swept last round whose TTL is off now (one scan
        that reaches every shard: ``core/ttl_index.py``)."""
        gone, self._swept = [(t, a) for t, a in self._swept.items() if t not in swept], swept
        for table, attribute in gone:
            try:
                await self.engine.scan(table, ttl_index.release_spec(attribute), consistent=False)
            except DynamoError:  # the table was deleted: its shards went with it
                pass

    async def sweep_table(self, table: str, attribute: str) -> SweepResult:
        """Delete the expired items of one table (one paginated scan)."""
        schema = await self.engine.key_schema(table)
        keys_only = ast.Projection(tuple(ast.Path((name,)) for name in schema.names))
        result = SweepResult(tables=1)
        start: Item | None = None
        while True:
            began = self._timer()
            now = int(self._clock())
            spec = ScanSpec(limit=self.page_size, exclusive_start=start, projection=keys_only,
                            filter=ttl.expiry_filter(attribute, now), expiry=(attribute, now))
            page = await self.engine.scan(table, spec, consistent=False)
            deleted = await self._expire_all(table, attribute, page.items)
            busy = self._timer() - began
            result += SweepResult(0, page.scanned_count, len(page.items), deleted, busy)
            start = page.last_evaluated_key
            if start is None:
                return result
            await self._pace(busy)

    async def _expire_all(self, table: str, attribute: str, keys: list[Item]) -> int:
        deleted = 0
        for i in range(0, len(keys), WRITE_CONCURRENCY):
            chunk = keys[i:i + WRITE_CONCURRENCY]
            done = await asyncio.gather(*(self._expire(table, attribute, key) for key in chunk))
            deleted += sum(done)
        return deleted

    async def _expire(self, table: str, attribute: str, key: Item) -> bool:
        try:
            outcome = await self.engine.write(table, ExpireCommand(key, attribute, int(self._clock())))
        except DynamoError as error:  # e.g. a transaction holds the item: the next round retries
            log.debug("ttl_delete_skipped", table=table, error=error.error_type)
            return False
        return outcome.change is not None

    async def _pace(self, busy: float) -> None:
        """Sleep so that busy time stays about ``share`` of the total."""
        pause = busy * (1 - self.share) / self.share
        await self._sleep(pause if pause > 0 else 0)
