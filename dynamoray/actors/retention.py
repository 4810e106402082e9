"""Log retention: truncate each table's log to what point-in-time recovery and snapshots need.

One :class:`LogRetention` runs per gateway process (``dynamoray serve`` starts it with the gateway,
``--log-retention-interval``).  Every ``interval`` seconds it goes over every table, and over each
shard of it (on a worker thread):

1. ``keep_since``: the instant the log must stay restorable from (``core/retention.py``): the start
   of the PITR window for a table with PITR on, and never less than ``min_age`` ago (24 hours by
   default: DynamoDB Streams' window, hooks and followers that lag).
2. The instant's offset in the shard (the records' commit timestamps), and the *anchor*: the newest
   snapshot at or before it that the log can still replay from.
3. Partition snapshots are pruned to the newest two, so old enough ones are kept from the start:
   each round **pins** the shard's newest snapshot as a checkpoint (``SnapshotStore.pin``:
   ``prune`` keeps it) when the newest pinned one is older than an eighth of the span kept.  The
   anchor is the newest pinned (or kept) snapshot the window has passed; once checked to be still
   there, the log is truncated before its ``replay_from`` (``EventLog.truncate_before``, on the
   embedded log and on Kafka).  Older pins are dropped and the snapshots they kept pruned.

So ``EarliestRestorableDateTime`` stays truthful: every instant of the window rebuilds from the
anchor or a newer snapshot plus the log after it.  A table without a snapshot old enough (a small
table, an engine without a snapshot store) keeps its whole log.  The clock is injected, so a test
can move time; :meth:`LogRetention.run_round` runs one round.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Iterator

from .. import logs
from ..core import errors, retention, snapshot, tables
from ..events.log import EventLog, LogError
from .background import RoundsLoop
from .backups import service_for
from .cuts import offset_at
from .records import table_topic
from .snapshots import SnapshotStore

log = logs.get("retention")

DEFAULT_INTERVAL = 600.0  # seconds between two rounds


@dataclass(frozen=True)
class Truncated:
    """One shard's log truncated: its new start, and the snapshot (anchor) it relies on."""

    table: str
    shard: int
    start: int
    anchor: int


def marks(store: SnapshotStore, table_id: str, shard: int, offsets: Iterable[int],
          cache: dict) -> Iterator[retention.SnapshotMark]:
    """The snapshots at ``offsets`` (newest first), read lazily: a header costs a read of the file,
    and ``cache`` keeps them by offset.  Bad files are skipped."""
    for offset in offsets:
        key = (table_id, shard, offset)
        if key not in cache:
            try:
                header = store.header(table_id, shard, offset)
            except (snapshot.SnapshotError, OSError) as error:
                log.warning("retention_snapshot_skipped", table_id=table_id, shard=shard, offset=offset,
                            error=str(error))
                continue
            cache[key] = retention.SnapshotMark(header.offset, header.replay_from, header.timestamp)
        yield cache[key]


def truncate_shard(log_: EventLog, store: SnapshotStore, table_id: str, shard: int, since: float, now: float,
                   keep: int = 2, cache: dict | None = None) -> tuple[int, int] | None:
    """One shard's round: pin a checkpoint when one is due, then truncate the log so that it stays
    restorable from instant ``since`` (seconds); returns (new start, anchor offset), None when
    nothing was truncated.  Blocking: a worker-thread call."""
    cache = {} if cache is None else cache
    topic = table_topic(table_id)
    offsets, pinned = store.offsets(table_id, shard), set(store.pinned(table_id, shard))
    newest = next(marks(store, table_id, shard, offsets, cache), None)
    newest_pinned = next(marks(store, table_id, shard, [o for o in offsets if o in pinned], cache), None)
    if retention.checkpoint_due(newest_pinned, newest, since, now):
        store.pin(table_id, shard, newest.offset)
    start = log_.start_offset(topic, shard)
    needed = offset_at(log_, table_id, since, shard)
    chosen = retention.anchor(marks(store, table_id, shard, [o for o in offsets if o <= needed], cache),
                              needed, start)
    if chosen is None:
        return None
    store.pin(table_id, shard, chosen.offset)
    if chosen.offset not in store.offsets(table_id, shard):  # pruned before it was pinned: next round
        store.unpin(table_id, shard, chosen.offset)
        return None
    cut = retention.truncation_point(chosen, start)
    if cut is not None:
        log_.truncate_before(topic, shard, cut)
    for older in store.pinned(table_id, shard):
        if older < chosen.offset:
            store.unpin(table_id, shard, older)
    store.prune(table_id, shard, keep)
    return None if cut is None else (cut, chosen.offset)


class LogRetention(RoundsLoop):
    round_log, round_failed = log, "retention_failed"
    """Truncates table logs round after round (see the module docstring).  ``start()`` and
    ``stop()`` run it on the current event loop (a gateway service)."""

    def __init__(self, engine: Any, interval: float = DEFAULT_INTERVAL, *,
                 min_age: float = retention.DEFAULT_MIN_AGE, keep: int = 2,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if interval <= 0 or min_age < 0:
            raise ValueError("the interval must be positive and min_age not negative")
        self.engine = engine
        self.interval = interval
        self.min_age = min_age
        self.keep = keep
        self._clock = clock
        self._sleep = sleep
        self._cache: dict = {}  # (table id, shard, offset) -> SnapshotMark
        self._task: asyncio.Task | None = None
        self.rounds = 0


    async def run_round(self) -> list[Truncated]:
        """One round over every table; returns the shards truncated."""
        self.rounds += 1
        store = getattr(self.engine, "snapshot_store", None)
        if store is None:  # no snapshots: every log is needed whole
            return []
        service = await service_for(self.engine)
        log_ = await self.engine.stream_log()
        done: list[Truncated] = []
        if len(self._cache) > 100_000:  # headers of snapshots long pruned
            self._cache.clear()
        for name in await self.engine.list_tables():
            try:
                source = await self.engine.describe_table(name)
            except errors.DynamoError:
                continue  # deleted meanwhile
            now = self._clock()
            since = retention.keep_since(service.pitr_spec(source["TableId"]), now, self.min_age)
            for shard in range(tables.shard_count(source)):
                try:
                    cut = await asyncio.to_thread(truncate_shard, log_, store, source["TableId"], shard, since,
                                                  now, self.keep, self._cache)
                except LogError as error:  # deleted meanwhile, or the log is unavailable: next round
                    log.info("retention_skipped", table=name, shard=shard, error=str(error))
                    continue
                if cut is not None:
                    done.append(Truncated(name, shard, *cut))
                    log.info("log_truncated", table=name, shard=shard, start=cut[0], anchor=cut[1],
                             since=round(since, 3))
        return done
