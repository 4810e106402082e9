"""Global tables across a rebuild from snapshots: every shard of a table with replicas is
snapshotted after its last change, the reopened engine loads the snapshots (replaying nothing of
the items' history) and still holds each item's version and tombstone, so a late replicated write
older than them loses as it would have before the restart."""

from __future__ import annotations

import asyncio
import time

from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotPolicy, SnapshotStore
from dynamoray.core import global_tables
from dynamoray.core.commands import DeleteCommand, ReplicatedWriteCommand
from dynamoray.events.embedded import EmbeddedLog

from .helpers import description, key, put

LOCAL, OTHER = "us-east-1", "eu-west-1"
T = int(time.time() * 1000) - 60_000  # versions a minute old (tombstones are kept 24 h)


def engine_at(tmp_path) -> LocalEngine:
    return LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"),
                       snapshot_policy=SnapshotPolicy(every_events=1), shards=2)


async def snapshotted(engine: LocalEngine, table_id: str) -> None:
    """Wait until every shard's newest snapshot holds its last change."""
    group, store = engine._groups["gt"], engine.snapshot_store
    last = [state.applied_offset for state in group.states]
    for _ in range(400):
        await group.settled()
        if all(offset < 0 or (store.offsets(table_id, shard) or [-1])[0] >= offset
               for shard, offset in enumerate(last)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no snapshot of the last change")


def versions(engine: LocalEngine) -> dict:
    states = engine._groups["gt"].states
    return {p: [s.version_of(key(p)) for s in states if s.version_of(key(p)) is not None] for p in "abcd"}


def replicated(p: str, version: tuple, value: str | None = "late") -> ReplicatedWriteCommand:
    item = None if value is None else {**key(p), "v": {"S": value}}
    return ReplicatedWriteCommand(key(p), item, version, LOCAL)


def test_a_rebuild_from_snapshots_keeps_versions_and_tombstones_so_older_writes_lose(tmp_path):
    table_ids: list[str] = []

    async def first() -> dict:
        engine = engine_at(tmp_path)
        await engine.open()
        desc = await engine.create_table(description("gt"))
        table_ids.append(desc["TableId"])
        await engine.replace_table("gt", global_tables.with_replica(desc, OTHER, "ACTIVE"))
        await engine.write("gt", put("a", v="local"))  # stamped with this region's clock
        await engine.write("gt", replicated("b", (T + 5_000, OTHER), "remote"))
        await engine.write("gt", replicated("c", (T + 6_000, OTHER), "remote"))
        await engine.write("gt", replicated("c", (T + 7_000, OTHER), None))  # a tombstone
        await engine.write("gt", put("d", v="gone"))
        await engine.write("gt", DeleteCommand(key("d")))  # a local tombstone
        found = versions(engine)
        await snapshotted(engine, desc["TableId"])
        await engine.close()
        return found

    async def reopened(before: dict) -> None:
        engine = engine_at(tmp_path)
        await engine.open()
        # rebuilt from the snapshots (which hold every item change, see snapshotted): only their
        # own SnapshotTaken records are replayed after them
        assert engine.replayed < 6
        assert versions(engine) == before
        (a_version,), (d_version,) = before["a"], before["d"]
        for command in (replicated("a", (a_version[0] - 1, "zz-late")), replicated("b", (T + 4_999, "zz-late")),
                        replicated("d", (d_version[0] - 1, "zz-late")),
                        replicated("c", (T + 6_999, "zz-late")), replicated("c", (T + 7_000, "aa-late"))):
            assert (await engine.write("gt", command)).change is None, command
        assert [await engine.get("gt", key(p)) for p in "abc"] == [
            {**key("a"), "v": {"S": "local"}}, {**key("b"), "v": {"S": "remote"}}, None]
        newer = await engine.write("gt", replicated("c", (T + 7_001, "aa-late"), "back"))
        assert newer.change is not None and newer.change.new_image["v"] == {"S": "back"}
        await engine.close()

    before = run(first())
    assert before["a"][0][1] == "" and before["b"] == [(T + 5_000, OTHER)] and before["c"] == [(T + 7_000, OTHER)]
    assert before["d"][0][0] > before["a"][0][0] - 1 and before["d"][0][1] == ""
    store = SnapshotStore(tmp_path / "snapshots")
    assert all(store.offsets(table_ids[0], shard) for shard in range(2))
    run(reopened(before))


def run(coro):
    return asyncio.run(coro)
