"""Replicators: each mirrors one table's log into one other region (global tables).

A :class:`Replicator` (an asyncio task in the gateway process on the local engine; on the Ray
engine the loop of a ``ReplicatorWorker`` actor, ``replicator_worker.py``) tails every log
partition (shard) of its table through the engine's own log object (so encrypted records are
read as the engine reads them), from a durable per-shard checkpoint.  It keeps only the changes
this region made (an ``ItemChanged`` whose region is ``""`` or this region's name: a change
that came from elsewhere is never sent on, so nothing loops) and sends them in batches to the
target region, whose replication endpoint applies each one as a last-writer-wins replicated
write (``core/replication.py``).  Only once the target has acknowledged a batch does the
checkpoint move past it; a target that is down is retried with exponential backoff.  After a
restart of either side replication resumes from the checkpoint, losing nothing (a batch sent
twice is harmless: an equal version is a no-op).

A new replica has no checkpoint: its replicator first **backfills** it.  For each shard it loads
the newest snapshot (which keeps the items' versions and tombstones) and sends every item and
tombstone it holds (``core/backfill.py``), then follows the log from the snapshot's
``replay_from``; a shard without a usable snapshot is sent from the start of its log.  So items
whose early history log retention removed (``actors/retention.py``) still reach the new replica.
The checkpoint is saved once every shard's backfill was acknowledged (a restart before that sends
the backfill again: harmless, last writer wins).  Sending goes through
``send(region, operation, body)``, injected by the gateway (``gateway/replication.py``: SigV4 over
HTTP), so this module does no HTTP itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from .. import logs
from ..core import backfill, replication
from ..events.log import LogError
from ..schemas.events import ItemChanged
from . import records
from .background import BackgroundLoop

Send = Callable[[str, str, dict], Awaitable[dict]]

log = logs.get("replicator")

BATCH = 500  # records read per shard per round
IDLE = 0.02  # seconds between polls of an idle log
MAX_BACKOFF = 5.0
SLOW_READ = 0.005  # seconds per shard: a round slower than that reads the shards in parallel after


class Checkpoints:
    """Per (table id, target region): the next log offset to send of each shard.  Files under
    ``directory`` (written atomically), or in memory without one."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._memory: dict[tuple[str, str], dict[int, int]] = {}

    def _path(self, table_id: str, region: str) -> Path:
        assert self.directory is not None
        return self.directory / table_id / f"{region}.json"

    def load(self, table_id: str, region: str) -> dict[int, int] | None:
        if self.directory is None:
            found = self._memory.get((table_id, region))
            return dict(found) if found is not None else None
        try:
            raw = json.loads(self._path(table_id, region).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return {int(shard): int(offset) for shard, offset in raw["offsets"].items()}

    def save(self, table_id: str, region: str, offsets: dict[int, int]) -> None:
        if self.directory is None:
            self._memory[(table_id, region)] = dict(offsets)
            return
        path = self._path(table_id, region)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"offsets": {str(k): v for k, v in offsets.items()}}))
        os.replace(temporary, path)

    def drop(self, table_id: str, region: str) -> None:
        if self.directory is None:
            self._memory.pop((table_id, region), None)
            return
        try:
            self._path(table_id, region).unlink()
        except FileNotFoundError:
            pass

    # departures: replicas deleted here (DeleteTable) that other regions have not dropped yet, as
    # [{"TableName", "TableId", "Region"}]; kept until each region acknowledged
    def departures(self) -> list[dict]:
        if self.directory is None:
            return [dict(d) for d in self._memory.get(("departures", ""), [])]  # type: ignore[arg-type]
        try:
            return list(json.loads((self.directory / "departures.json").read_text()))
        except (FileNotFoundError, ValueError):
            return []

    def save_departures(self, found: list[dict]) -> None:
        if self.directory is None:
            self._memory[("departures", "")] = [dict(d) for d in found]  # type: ignore[assignment]
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / "departures.tmp"
        temporary.write_text(json.dumps(found))
        os.replace(temporary, self.directory / "departures.json")


@dataclass
class ReplicatorStats:
    """What ``/metrics`` shows of one (table, target region)."""

    table: str
    source: str
    target: str
    pending: int = 0  # log records not yet acknowledged by the target
    sent: int = 0  # changes the target acknowledged since start
    latency_ms: float = 0.0  # ReplicationLatency of the last batch (origin commit -> acknowledged)
    latencies: deque = field(default_factory=lambda: deque(maxlen=10_000))  # recent, per change
    errors: int = 0
    last_error: str = ""
    backfilled: int = 0  # items and tombstones sent from snapshots when the replica was created


def wire_change(event: ItemChanged, committed: int, local_region: str) -> dict:
    """One change as the replication endpoint takes it."""
    origin = records.origin_of(event)
    return {
        "Keys": event.keys,
        "Item": event.new_image,  # None: the item was deleted
        "Version": replication.wire_version(origin, local_region),
        "Committed": committed,
    }


def is_local(event: Any, local_region: str) -> bool:
    """Whether this region made the change (only those are sent: nothing loops)."""
    return type(event) is ItemChanged and event.region in ("", local_region)


class Replicator(BackgroundLoop):
    def __init__(self, log_: Any, table: str, table_id: str, target: str, local_region: str, send: Send,
                 checkpoints: Checkpoints, *, batch: int = BATCH, idle: float = IDLE,
                 max_backoff: float = MAX_BACKOFF, clock: Callable[[], float] = time.time,
                 snapshots: Any = None) -> None:
        self._log = log_
        self._snapshots = snapshots  # the engine's SnapshotStore: the backfill starts from it
        self.table = table
        self.table_id = table_id
        self.topic = records.table_topic(table_id)
        self.target = target
        self.local_region = local_region
        self._send = send
        self._checkpoints = checkpoints
        self._batch = batch
        self._idle = idle
        self._max_backoff = max_backoff
        self._clock = clock
        self.stats = ReplicatorStats(table, local_region, target)
        self._task: asyncio.Task | None = None
        self.caught_up = asyncio.Event()  # set whenever a round finds nothing left to send
        self._parallel = False  # read the shards at once (see ``_read``)

    async def _run(self) -> None:
        offsets = await self._start()
        backoff = self._idle
        while True:
            try:
                found, after, pending = await self._read(offsets)
            except LogError as error:  # the table's log went away (deleted) or is unavailable
                self._failed(error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            self.stats.pending = pending
            if after == offsets:
                self.caught_up.set()
                await asyncio.sleep(self._idle)
                continue
            self.caught_up.clear()
            if found:
                try:
                    await self._send(self.target, "ApplyChanges", {
                        "TableName": self.table, "SourceRegion": self.local_region, "Changes": found})
                except Exception as error:  # noqa: BLE001 - the target is down or refused: retry later
                    self._failed(error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                self._acknowledged(found)
            backoff = self._idle
            offsets = after
            await asyncio.to_thread(self._checkpoints.save, self.table_id, self.target, offsets)

    def _failed(self, error: BaseException) -> None:
        self.stats.errors += 1
        message = f"{type(error).__name__}: {error}"
        if message != self.stats.last_error:
            log.warning("replication_failed", table=self.table, target=self.target, error=message)
        self.stats.last_error = message

    def _acknowledged(self, changes: list[dict]) -> None:
        now = self._clock() * 1000
        latencies = [max(0.0, now - change["Committed"]) for change in changes]
        self.stats.latencies.extend(latencies)
        self.stats.latency_ms = sum(latencies) / len(latencies)
        self.stats.sent += len(changes)

    async def _start(self) -> dict[int, int]:
        """Where to follow the log from: the checkpoint, or (a new replica) after the backfill."""
        while True:
            try:
                found = await asyncio.to_thread(self._checkpoints.load, self.table_id, self.target)
                if found is not None:
                    return found
                count = await asyncio.to_thread(self._log.partition_count, self.topic)
                offsets = {}
                for shard in range(count):
                    offsets[shard] = await self._backfill(shard)
                await asyncio.to_thread(self._checkpoints.save, self.table_id, self.target, offsets)
                return offsets
            except LogError as error:  # the table's log is unavailable: try again
                self._failed(error)
                await asyncio.sleep(self._max_backoff)

    async def _backfill(self, shard: int) -> int:
        """Send the shard's newest snapshot (items and tombstones, with their versions); the offset
        to follow the log from after it (the log's start without a usable snapshot)."""
        loaded = await asyncio.to_thread(self._newest_snapshot, shard)
        if loaded is None:
            return await asyncio.to_thread(self._log.start_offset, self.topic, shard)
        changes = list(backfill.snapshot_changes(loaded.state, self.local_region))
        self.stats.pending += len(changes)
        for start in range(0, len(changes), self._batch):
            batch = changes[start:start + self._batch]
            await self._send_until_acknowledged(batch)
            self.stats.backfilled += len(batch)
            self.stats.pending = max(0, self.stats.pending - len(batch))
        log.info("replica_backfilled", table=self.table, target=self.target, shard=shard,
                 snapshot=loaded.header.offset, changes=len(changes))
        return loaded.header.replay_from

    def _newest_snapshot(self, shard: int) -> Any:
        """Blocking: the newest snapshot the log can be followed from (None if there is none)."""
        if self._snapshots is None:
            return None
        start, end = self._log.start_offset(self.topic, shard), self._log.end_offset(self.topic, shard)
        loaded = self._snapshots.load(self.table_id, shard, None, below=end)
        return loaded if loaded is not None and loaded.header.replay_from >= start else None

    async def _send_until_acknowledged(self, changes: list[dict]) -> None:
        backoff = self._idle
        while True:
            try:
                await self._send(self.target, "ApplyChanges", {
                    "TableName": self.table, "SourceRegion": self.local_region, "Changes": changes})
                return
            except Exception as error:  # noqa: BLE001 - the target is down or refused: retry later
                self._failed(error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def _read(self, offsets: dict[int, int]) -> tuple[list[dict], dict[int, int], int]:
        """The local changes after ``offsets`` (up to a batch per shard), the offsets after them, and
        how many records are left after those.  Once a round of reads is slow (on Kafka each read is
        a fetch round trip) the shards are read at once, each on a worker thread."""
        if self._parallel:
            rounds = await asyncio.gather(*(asyncio.to_thread(self._read_shard, shard, offset)
                                            for shard, offset in offsets.items()))
        else:  # one thread hop for every shard while reads are cheap (the embedded log)
            started = time.perf_counter()
            rounds = await asyncio.to_thread(lambda: [self._read_shard(s, o) for s, o in offsets.items()])
            self._parallel = time.perf_counter() - started > SLOW_READ * max(1, len(offsets))
        found: list[dict] = []
        after = dict(offsets)
        pending = 0
        for shard, (changes, next_offset, left) in zip(offsets, rounds):
            found.extend(changes)
            after[shard] = next_offset
            pending += left
        return found, after, pending

    def _read_shard(self, shard: int, offset: int) -> tuple[list[dict], int, int]:
        """Blocking (a worker thread): one shard's local changes after ``offset``, the offset after
        them, and the records not yet acknowledged."""
        found: list[dict] = []
        batch = self._log.read(self.topic, shard, offset, self._batch)
        for record in batch:
            event = records.CODEC.decode(record.value)
            if is_local(event, self.local_region):
                found.append(wire_change(event, record.timestamp, self.local_region))
        after = batch[-1].offset + 1 if batch else offset
        if len(batch) < self._batch:  # the read reached the end (no second call to the log: on Kafka
            return found, after, after - offset  # each one is a fetch round trip)
        return found, after, max(0, self._log.end_offset(self.topic, shard) - offset)
