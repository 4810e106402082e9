"""Replicators as Ray actors on the Ray engine: one ``ReplicatorWorker`` per (table, target region).

``options.replicator`` makes the worker an actor (named ``<prefix>-replicator-<table id>-<region>``,
``max_restarts=-1``).  A synchronous actor, like the hook workers: ``__init__`` starts a thread
running a :class:`~.replicator.Replicator` on an event loop of its own, reading the table's log
through its own handle (the cluster's log factory: sealed records are read as the hosts wrote them)
and its newest snapshots (the backfill of a new replica), and sending through ``wiring.outbound``
(the region's endpoint client or the Kafka mirror).  Its checkpoint is the same file as the
gateway's (``<data-dir>/replication/<table id>/<region>.json``), so when Ray restarts a worker whose
process died (``kill -9``), ``__init__`` runs again and resumes from the checkpoint, losing
nothing; a batch sent twice is harmless (last writer wins).  The gateway's
:class:`RayReplicator` is the handle the replication service keeps: it starts and stops the actor
and polls its stats for ``/metrics``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .. import logs
from .replicator import Checkpoints, Replicator, ReplicatorStats

log = logs.get("replicator")

POLL = 0.25  # seconds between two polls of a worker's stats


@dataclass(frozen=True)
class ReplicatorWiring:
    """How a worker reaches the log, the snapshots, its checkpoint and the target (picklable)."""

    log_factory: Callable[[], Any]
    snapshots: Any  # a SnapshotStore, or None
    checkpoint_dir: str
    outbound: Callable[[], Any]  # makes an object with ``async call(region, op, body)`` and ``async close()``


class ReplicatorWorker:
    def __init__(self, table: str, table_id: str, target: str, local_region: str, wiring: ReplicatorWiring) -> None:
        self.table, self.table_id, self.target, self.local_region = table, table_id, target, local_region
        self.wiring = wiring
        self._replicator: Replicator | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._reported = 0  # latencies already handed to the gateway
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"replicator-{target}", daemon=True)
        self._thread.start()
        self._ready.wait(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception:  # noqa: BLE001 - logged; Ray keeps the actor (pid/stats still answer)
            log.exception("replicator_worker_failed", table=self.table, target=self.target)

    async def _run(self) -> None:
        event_log = self.wiring.log_factory()
        outbound = self.wiring.outbound()
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._replicator = Replicator(event_log, self.table, self.table_id, self.target, self.local_region,
                                      outbound.call, Checkpoints(self.wiring.checkpoint_dir),
                                      snapshots=self.wiring.snapshots)
        self._replicator.start()
        self._ready.set()
        log.info("replicator_worker_started", table=self.table, target=self.target, pid=os.getpid())
        try:
            await self._stop.wait()
        finally:
            await self._replicator.stop()
            await outbound.close()
            event_log.close()

    def pid(self) -> int:
        return os.getpid()

    def stats(self) -> dict:
        """The replicator's stats, with the latencies measured since the last call."""
        if self._replicator is None:
            return {"pending": 0, "sent": 0, "latency_ms": 0.0, "errors": 0, "last_error": "", "backfilled": 0,
                    "latencies": [], "pid": os.getpid()}
        stats = self._replicator.stats
        fresh = min(stats.sent - self._reported, len(stats.latencies))
        self._reported = stats.sent
        latencies = list(stats.latencies)[len(stats.latencies) - fresh:] if fresh > 0 else []
        return {"pending": stats.pending, "sent": stats.sent, "latency_ms": stats.latency_ms, "errors": stats.errors,
                "last_error": stats.last_error, "backfilled": stats.backfilled, "latencies": latencies,
                "pid": os.getpid()}

    def stop(self) -> None:
        """Stop replicating (then the actor is killed); the checkpoint stays."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


class RayReplicator:
    """The gateway's handle on one worker: the same ``start``/``stop``/``stats``/``table_id`` as a
    :class:`~.replicator.Replicator` task, so the replication service treats both alike."""

    def __init__(self, config: Any, table: str, table_id: str, target: str, local_region: str,
                 wiring: ReplicatorWiring, *, poll: float = POLL) -> None:
        self.table, self.table_id, self.target = table, table_id, target
        self.name = f"{config.prefix}-replicator-{table_id}-{target}"
        self._config, self._local, self._wiring, self._poll = config, local_region, wiring, poll
        self.stats = ReplicatorStats(table, local_region, target)
        self._actor: Any = None
        self._task: asyncio.Task | None = None
        self.pids: list[int] = []  # the worker's processes seen so far (a restart adds one)
        self._base = 0  # changes the earlier processes sent

    def start(self) -> None:
        from . import options
        from .client import RemoteActor, spawn

        handle = spawn(options.replicator(self.name, detached=self._config.detached), self.table, self.table_id,
                       self.target, self._local, self._wiring)
        self._actor = RemoteActor(handle, self.name, self._config.call_timeout)
        self._task = asyncio.get_running_loop().create_task(self._follow(), name=f"poll-{self.name}")

    async def _follow(self) -> None:
        while True:
            try:
                found = await self._actor.call("stats")
            except Exception as error:  # noqa: BLE001 - restarting (Ray brings it back): poll again
                self.stats.last_error = f"worker unavailable: {type(error).__name__}"
            else:
                self._update(found)
            await asyncio.sleep(self._poll)

    def _update(self, found: dict) -> None:
        stats = self.stats
        stats.pending, stats.latency_ms, stats.errors = found["pending"], found["latency_ms"], found["errors"]
        stats.last_error, stats.backfilled = found["last_error"], found["backfilled"]
        stats.latencies.extend(found["latencies"])
        if not self.pids or self.pids[-1] != found["pid"]:
            self.pids.append(found["pid"])
            self._base = stats.sent  # a new incarnation counts from zero
        stats.sent = self._base + found["sent"]

    async def pid(self) -> int:
        return await self._actor.call("pid")

    async def stop(self) -> None:
        import ray

        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._actor is None:
            return
        try:
            await self._actor.call("stop")
        except Exception as error:  # noqa: BLE001 - a dead worker has nothing to stop
            log.warning("replicator_stop_failed", actor=self.name, error=repr(error))
        ray.kill(self._actor.handle, no_restart=True)
        self._actor = None
