"""Global tables below the gateway: versioned writes in the engine, and the replicator's loop
(filtering, checkpoints, retries) against a fake target."""

from __future__ import annotations

import asyncio

from dynamoray.actors import records
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.replicator import Checkpoints, Replicator
from dynamoray.core import global_tables
from dynamoray.core.commands import ReplicatedWriteCommand
from dynamoray.events.embedded import EmbeddedLog

from .helpers import description, key, put

LOCAL, OTHER = "us-east-1", "eu-west-1"


def run(coro):
    return asyncio.run(coro)


async def _global_engine(log=None, shards: int = 2) -> tuple[LocalEngine, dict]:
    engine = LocalEngine(log, shards=shards)
    await engine.open()
    desc = await engine.create_table(description("gt"))
    desc = await engine.replace_table("gt", global_tables.with_replica(desc, OTHER, "ACTIVE"))
    return engine, desc


def test_a_table_with_replicas_versions_its_writes_and_a_restart_keeps_the_versions(tmp_path):
    def versions(engine: LocalEngine) -> dict:
        states = engine._groups["gt"].states
        return {p: next(s.version_of(key(p)) for s in states if s.lookup(key(p)) is not None) for p in "ab"}

    async def first() -> dict:
        engine, _ = await _global_engine(EmbeddedLog(tmp_path / "log"))
        await engine.write("gt", put("a", v="1"))
        await engine.write("gt", ReplicatedWriteCommand(key("b"), {**key("b"), "v": {"S": "2"}}, (5, OTHER), LOCAL))
        found = versions(engine)
        await engine.close()
        return found

    async def reopened() -> dict:
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), shards=2)
        await engine.open()
        found = versions(engine)
        await engine.close()
        return found

    before = run(first())
    assert before["a"][1] == "" and before["a"][0] > 1_600_000_000_000  # this region's clock, in ms
    assert before["b"] == (5, OTHER)
    assert run(reopened()) == before  # rebuilt from the log's events


def test_the_replicator_sends_only_local_changes_and_moves_its_checkpoint_after_the_ack():
    async def scenario() -> None:
        engine, desc = await _global_engine()
        log = await engine.stream_log()
        await engine.write("gt", put("a", v="1"))
        await engine.write("gt", ReplicatedWriteCommand(key("b"), {**key("b"), "v": {"S": "2"}}, (5, OTHER), LOCAL))
        await engine.write("gt", put("c", v="3"))
        sent: list[dict] = []
        failures = [2]

        async def send(region: str, operation: str, body: dict) -> dict:
            assert (region, operation, body["SourceRegion"]) == (OTHER, "ApplyChanges", LOCAL)
            if failures[0]:  # the target is down twice: retried, the checkpoint stays
                failures[0] -= 1
                raise ConnectionError("down")
            sent.extend(body["Changes"])
            return {}

        checkpoints = Checkpoints()
        replicator = Replicator(log, "gt", desc["TableId"], OTHER, LOCAL, send, checkpoints, idle=0.005,
                                max_backoff=0.02)
        replicator.start()
        await asyncio.wait_for(replicator.caught_up.wait(), 10)
        assert sorted(c["Keys"]["p"]["S"] for c in sent) == ["a", "c"]  # "b" came from the other region
        assert all(c["Version"][1] == LOCAL and c["Version"][0] > 0 for c in sent)
        assert replicator.stats.errors == 2 and replicator.stats.sent == 2 and replicator.stats.pending == 0
        topic = records.table_topic(desc["TableId"])
        assert checkpoints.load(desc["TableId"], OTHER) == {s: log.end_offset(topic, s) for s in range(2)}
        await replicator.stop()
        # a new replicator resumes from the checkpoint: only what was written since is sent
        sent.clear()
        await engine.write("gt", put("d", v="4"))
        again = Replicator(log, "gt", desc["TableId"], OTHER, LOCAL, send, checkpoints, idle=0.005)
        again.caught_up.clear()
        again.start()
        await asyncio.sleep(0.05)
        await asyncio.wait_for(again.caught_up.wait(), 10)
        await again.stop()
        assert [c["Keys"]["p"]["S"] for c in sent] == ["d"]
        await engine.close()

    run(scenario())


def test_checkpoints_survive_in_files(tmp_path):
    checkpoints = Checkpoints(tmp_path)
    assert checkpoints.load("t1", OTHER) is None
    checkpoints.save("t1", OTHER, {0: 5, 1: 7})
    assert Checkpoints(tmp_path).load("t1", OTHER) == {0: 5, 1: 7}
    checkpoints.drop("t1", OTHER)
    assert Checkpoints(tmp_path).load("t1", OTHER) is None
