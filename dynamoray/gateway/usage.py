"""Usage metering, the I/O shell of ``core/usage.py``: request units per table per UTC day, and
storage samples, event-sourced on topic ``dynamoray.usage`` of the engine's log.

On the request path :meth:`UsageMeter.add` only adds to an in-memory total per (table, day,
billing mode).  :meth:`flush` (every ``flush_interval`` seconds from the gateway's telemetry loop,
and on shutdown) appends one ``UsageRecorded`` per total.  :meth:`sample` (every
``storage_interval`` seconds) appends a ``StorageSampled`` per table: its size, billing mode,
provisioned rates, on-demand backup bytes and point-in-time-recovery setting, standing for the
time since the previous sample (the first sample after a start stands for nothing: the time the
server was down is not billed).  :meth:`report` folds the topic, what is still in memory, and a
provisional sample of every table up to now.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from .. import logs
from ..core import throttle, usage as core_usage
from ..core.errors import DynamoError
from ..events.log import EventLog
from ..schemas.events import StorageSampled, UsageRecorded
from .topics import GatewayTopic

USAGE_TOPIC = "dynamoray.usage"
log = logs.get("usage")


class UsageMeter:
    def __init__(self, engine: Any, log_source: Callable[[], Awaitable[EventLog]], *, flush_interval: float = 60.0,
                 storage_interval: float = 3600.0, wall: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.flush_interval = flush_interval
        self.storage_interval = storage_interval
        self.wall = wall
        self._topic = GatewayTopic(USAGE_TOPIC, log_source)
        self._pending: dict[tuple[str, str, str], list[float]] = {}
        self._day_end = 0.0
        self._day = ""
        self._last_sample: float | None = None
        self._lock: asyncio.Lock | None = None

    async def open(self) -> None:
        await self._topic.open()

    # --- the request path --------------------------------------------------------------------------

    def add(self, table: str, mode: str, read_units: float, write_units: float) -> None:
        """Units a request consumed on ``table`` (billing ``mode``), today (UTC)."""
        now = self.wall()
        if now >= self._day_end:
            start = now // 86400 * 86400
            self._day, self._day_end = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%d"), start + 86400
        totals = self._pending.get((table, self._day, mode))
        if totals is None:
            totals = self._pending[(table, self._day, mode)] = [0.0, 0.0, 0.0]
        totals[0] += read_units
        totals[1] += write_units

    def add_replicated(self, table: str, mode: str, write_units: float) -> None:
        """Replicated write units a table's replica applied (global tables: the seam for issue 11)."""
        self.add(table, mode, 0.0, 0.0)
        self._pending[(table, self._day, mode)][2] += write_units

    # --- the background ------------------------------------------------------------------------------

    def _lock_(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def _taken(self) -> list[UsageRecorded]:
        pending, self._pending = self._pending, {}
        return [UsageRecorded(table, day, mode, round(read * 2), round(write * 2), round(replicated * 2))
                for (table, day, mode), (read, write, replicated) in pending.items()]

    async def flush(self) -> None:
        async with self._lock_():
            events = self._taken()
            if not events or not self._topic.opened:
                self._restore(events)
                return
            try:
                await self._topic.append(events)
            except Exception:  # noqa: BLE001 - keep the units for the next flush
                log.exception("usage_flush_failed", events=len(events))
                self._restore(events)

    def _restore(self, events: list[UsageRecorded]) -> None:
        for event in events:
            totals = self._pending.setdefault((event.table_name, event.day, event.billing_mode), [0.0, 0.0, 0.0])
            totals[0] += event.read_units / 2
            totals[1] += event.write_units / 2
            totals[2] += event.replicated_write_units / 2

    async def _samples(self, covers_ms: int, now_ms: int) -> list[StorageSampled]:
        """One StorageSampled per table, standing for the ``covers_ms`` before ``now_ms``."""
        from ..actors.backups import service_for

        backups = await service_for(self.engine)
        backup_bytes: dict[str, int] = {}
        for entry in backups.list_backups({"BackupType": "ALL"})[0]:
            backup_bytes[entry["TableName"]] = backup_bytes.get(entry["TableName"], 0) + int(entry.get("BackupSizeBytes") or 0)
        out = []
        for name in await self.engine.list_tables():
            try:
                description = await self.engine.describe_table(name)
                pitr = await backups.describe_continuous(name)
            except DynamoError:  # deleted meanwhile
                continue
            provisioned = description.get("ProvisionedThroughput") or {}
            enabled = pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
            out.append(StorageSampled(name, now_ms, covers_ms, int(description.get("TableSizeBytes") or 0),
                                      throttle.billing_mode(description), int(provisioned.get("ReadCapacityUnits") or 0),
                                      int(provisioned.get("WriteCapacityUnits") or 0), backup_bytes.get(name, 0), enabled))
        return out

    async def sample(self) -> None:
        """Record every table's storage and settings since the previous sample."""
        async with self._lock_():
            now = self.wall()
            covers = 0 if self._last_sample is None else int((now - self._last_sample) * 1000)
            samples = await self._samples(covers, int(now * 1000))
            if self._topic.opened:
                await self._topic.append(samples)
            self._last_sample = now

    def sample_due(self) -> bool:
        if self.storage_interval == float("inf"):  # another gateway process samples (``replicas.py``)
            return False
        return self._last_sample is None or self.wall() - self._last_sample >= self.storage_interval

    async def close(self) -> None:
        await self.flush()
        await self._topic.close()

    # --- the admin API -----------------------------------------------------------------------------

    async def report(self, prices: core_usage.PriceSheet, start: str | None = None, end: str | None = None,
                     table: str | None = None) -> core_usage.Report:
        """The usage of the days ``start``..``end`` (YYYY-MM-DD, UTC), up to now, priced."""
        await self.flush()
        stored = await asyncio.to_thread(lambda: list(self._topic.events()) if self._topic.opened else [])
        now = self.wall()
        provisional = []
        if self._last_sample is not None:  # the time since the last sample, not recorded yet
            provisional = await self._samples(int((now - self._last_sample) * 1000), int(now * 1000))
        return core_usage.report(core_usage.fold(stored + provisional), prices, start, end, table)
