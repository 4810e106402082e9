"""The automatic splitter: a gateway service that splits a table's hottest or largest range onto
another host (``serve --split-bytes/--split-writes``; off by default).

Every ``interval`` seconds it asks the hosts for the load of every open shard (its items' bytes
and its applied log offset: ``PartitionHost.shard_loads``; a hibernated table is not opened for
it), turns the offsets' growth since the last round into writes per second, and hands the loads
to the pure policy (``partition_map.choose_split``).  At most one split a round; a split the mover
refuses (a transaction holding locks, a host that would own two ranges of the table) is logged
and tried again at a later round.  Tables with secondary indexes are split like any other.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

from .. import logs
from ..core import errors, partition_map as pm
from .background import RoundsLoop

DEFAULT_INTERVAL = 10.0

log = logs.get("splitter")


class Splitter(RoundsLoop):
    round_log, round_failed = log, "split_round_failed"
    task_name = "dynamoray-splitter"

    def __init__(self, engine: Any, thresholds: pm.SplitThresholds, interval: float = DEFAULT_INTERVAL, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.engine = engine
        self.thresholds = thresholds
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, tuple[float, dict[int, int]]] = {}  # table id -> (when, offset by shard)
        self.splits = 0


    async def run_round(self) -> pm.SplitChoice | None:
        """One look at every table; the split made (None: none was due)."""
        engine = self.engine
        for name in await engine.list_tables():
            ref = await engine._ref(name)
            loads = self._loads(ref.table_id, await engine._routed(ref, "shard_loads", ()))
            choice = pm.choose_split(engine._map(ref), loads, self.thresholds, len(engine._hosts))
            if choice is None:
                continue
            try:
                await engine.split_partition(name, choice.range_start, choice.at, choice.new_host)
            except errors.DynamoError as error:
                log.info("split_deferred", table=name, range=choice.range_start, reason=error.message)
                continue
            self.splits += 1
            log.info("split", table=name, range=choice.range_start, at=choice.at, host=choice.new_host)
            return choice
        return None

    def _loads(self, table_id: str, rows: list) -> dict[int, pm.ShardLoad]:
        now = self._clock()
        offsets = {shard: offset for shard, _, offset in rows}
        before = self._last.get(table_id)
        self._last[table_id] = (now, offsets)
        loads = {}
        for shard, size, offset in rows:
            rate = 0.0
            if before is not None and shard in before[1] and now > before[0]:
                rate = max(0, offset - before[1][shard]) / (now - before[0])
            loads[shard] = pm.ShardLoad(size, rate)
        return loads
