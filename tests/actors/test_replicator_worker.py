"""The replicator worker (``actors/replicator_worker.py``) without Ray: the class an actor is made
of runs a replicator on a thread of its own over its own log handle, hands each latency to the
gateway once, and stops on request; the gateway's handle merges the stats of a restarted worker."""

from __future__ import annotations

import asyncio
import time

from dynamoray.actors.local import LocalEngine
from dynamoray.actors.replicator import Checkpoints
from dynamoray.actors.replicator_worker import RayReplicator, ReplicatorWiring, ReplicatorWorker
from dynamoray.core import global_tables
from dynamoray.events.embedded import EmbeddedLog

from .helpers import description, put

LOCAL, OTHER = "us-east-1", "eu-west-1"


class FakeOutbound:
    sent: list = []

    async def call(self, region: str, operation: str, body: dict) -> dict:
        FakeOutbound.sent.extend(c["Keys"]["p"]["S"] for c in body["Changes"])
        return {}

    async def close(self) -> None:
        pass


class LogAt:
    def __init__(self, path) -> None:
        self.path = path

    def __call__(self):
        return EmbeddedLog(self.path)


def test_a_worker_replicates_from_its_own_log_handle_and_reports_each_latency_once(tmp_path):
    FakeOutbound.sent = []

    async def prepare() -> tuple[LocalEngine, str]:
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), shards=2)
        await engine.open()
        made = await engine.create_table(description("gt"))
        await engine.replace_table("gt", global_tables.with_replica(made, OTHER, "ACTIVE"))
        for p in "abc":
            await engine.write("gt", put(p, v="1"))
        return engine, made["TableId"]

    engine, table_id = asyncio.run(prepare())
    wiring = ReplicatorWiring(LogAt(tmp_path / "log"), None, str(tmp_path / "checkpoints"), FakeOutbound)
    worker = ReplicatorWorker("gt", table_id, OTHER, LOCAL, wiring)
    try:
        deadline = time.monotonic() + 20
        while sorted(FakeOutbound.sent) != ["a", "b", "c"] and time.monotonic() < deadline:
            time.sleep(0.02)
        first = worker.stats()
        while first["pending"] and time.monotonic() < deadline:
            time.sleep(0.02)
            first = worker.stats()
        again = worker.stats()
    finally:
        worker.stop()
    asyncio.run(engine.close())
    assert sorted(FakeOutbound.sent) == ["a", "b", "c"]
    assert first["sent"] == 3 and first["pending"] == 0 and first["backfilled"] == 0
    assert again["latencies"] == [] and again["sent"] == 3  # each latency handed over once
    assert Checkpoints(tmp_path / "checkpoints").load(table_id, OTHER) is not None  # where a restart resumes
    assert not worker._thread.is_alive()


def test_the_gateway_handle_adds_up_the_changes_of_every_incarnation():
    class Config:
        prefix, detached, call_timeout = "p", False, 5.0

    handle = RayReplicator(Config(), "gt", "tid", OTHER, LOCAL, None)
    assert handle.name == f"p-replicator-tid-{OTHER}"
    base = {"pending": 0, "latency_ms": 1.0, "errors": 0, "last_error": "", "backfilled": 0}
    handle._update({**base, "sent": 5, "latencies": [1.0] * 5, "pid": 10})
    handle._update({**base, "sent": 7, "latencies": [2.0, 2.0], "pid": 10})
    handle._update({**base, "sent": 3, "latencies": [3.0] * 3, "pid": 11})  # restarted by Ray
    assert handle.stats.sent == 10 and handle.pids == [10, 11]
    assert list(handle.stats.latencies) == [1.0] * 5 + [2.0] * 2 + [3.0] * 3


def test_a_replicator_reads_its_shards_at_once_when_reads_are_slow():
    from dynamoray.actors.replicator import Replicator

    class SlowLog:
        """Four empty shards whose every read takes 20 ms (a Kafka fetch round trip)."""

        def __init__(self) -> None:
            self.threads: set = set()

        def read(self, topic, shard, offset, count):
            import threading

            self.threads.add(threading.get_ident())
            time.sleep(0.02)
            return []

    async def scenario():
        log_ = SlowLog()
        replicator = Replicator(log_, "gt", "tid", OTHER, LOCAL, None, Checkpoints())
        offsets = dict.fromkeys(range(4), 0)
        assert await replicator._read(offsets) == ([], offsets, 0)
        sequential = replicator._parallel, len(log_.threads)
        log_.threads.clear()
        await replicator._read(offsets)
        return sequential, len(log_.threads)

    (switched, first_threads), threads = asyncio.run(scenario())
    assert switched and first_threads == 1  # the first round on one thread, found slow
    assert threads > 1  # then the shards at once, each on a worker thread
