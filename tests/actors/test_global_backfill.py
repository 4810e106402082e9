"""Global tables: a new replica is backfilled from the newest snapshot of each shard plus the log
after it.  The source table's early log is truncated by log retention (``actors/retention.py``,
with a clock the test moves), so a replicator that replayed the retained log alone would miss the
items written early; the new replica must hold every item, with the same versions, and keep the
source's tombstones (an older write arriving later loses there as it does in the source)."""

from __future__ import annotations

import asyncio

from dynamoray.actors import backups
from dynamoray.actors.backups import BackupService, DirectoryBackupFiles
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.records import table_topic
from dynamoray.actors.replicator import Checkpoints, Replicator
from dynamoray.actors.retention import LogRetention
from dynamoray.actors.snapshots import SnapshotPolicy, SnapshotStore
from dynamoray.core import backfill, global_tables, replication
from dynamoray.core.commands import DeleteCommand, ReplicatedWriteCommand, ScanSpec
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.gateway.replication import apply_batch

from .helpers import description, key, put

DAY = 86_400.0
T0 = 1_700_000_000.0
SOURCE, TARGET = "us-east-1", "eu-west-1"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)


async def settle(engine: LocalEngine, name: str) -> None:
    for shard in engine._groups[name].shards:
        while shard.snapshots.task is not None:
            await asyncio.wait([shard.snapshots.task])


async def items(engine: LocalEngine, name: str) -> dict:
    return {i["p"]["S"]: i.get("v", {}).get("S") for i in (await engine.scan(name, ScanSpec())).items}


def versions(engine: LocalEngine, name: str, region: str, names) -> dict:
    states = engine._groups[name].states
    out = {}
    for p in names:
        (found,) = [s.version_of(key(p)) for s in states if s.version_of(key(p)) is not None
                    or s.lookup(key(p)) is not None]
        out[p] = replication.comparable(found, region)
    return out


async def source_with_trimmed_log(tmp_path, clock: Clock) -> tuple[LocalEngine, dict]:
    """A table written over two days, its log truncated by retention, then made global (versioned
    writes and a tombstone after that)."""
    log = EmbeddedLog(tmp_path / "log", clock=clock.ms, synchronous="NORMAL")
    store = SnapshotStore(tmp_path / "snapshots")
    engine = LocalEngine(log, snapshots=store, snapshot_policy=SnapshotPolicy(every_events=10), shards=2)
    await engine.open()
    backups._SERVICES[engine] = service = BackupService(engine, log, DirectoryBackupFiles(tmp_path / "backups"),
                                                        store, clock=clock)
    await service.open()
    retention = LogRetention(engine, interval=DAY / 2, min_age=DAY / 4, clock=clock)
    desc = await engine.create_table(description("gt"))
    for round_ in range(5):
        clock.now = T0 + round_ * DAY / 2
        for i in range(30):
            clock.now += 0.001
            await engine.write("gt", put(f"r{round_}-{i}", v=f"{round_}"))
        await settle(engine, "gt")
        clock.now += 60
        await retention.run_round()
    desc = await engine.replace_table("gt", global_tables.with_replica(desc, TARGET, "ACTIVE"))
    await engine.write("gt", put("late", v="versioned"))
    await engine.write("gt", put("r0-0", v="rewritten"))
    await engine.write("gt", DeleteCommand(key("r0-1")))  # a tombstone
    for i in range(12):  # enough for a snapshot holding the tombstone in every shard
        await engine.write("gt", put(f"pad{i}", v="x"))
    await settle(engine, "gt")
    return engine, desc


def test_a_new_replica_gets_every_item_although_the_early_log_was_truncated(tmp_path):
    clock = Clock()

    async def run():
        source, desc = await source_with_trimmed_log(tmp_path / "source", clock)
        log_ = await source.stream_log()
        topic = table_topic(desc["TableId"])
        starts = [log_.start_offset(topic, shard) for shard in range(2)]
        replayed_alone: set = set()  # what the retained log alone holds
        for shard in range(2):
            for record in log_.read(topic, shard, starts[shard], 100_000):
                from dynamoray.actors import records

                event = records.CODEC.decode(record.value)
                if hasattr(event, "keys") and event.new_image is not None:
                    replayed_alone.add(event.keys["p"]["S"])
        target = LocalEngine(EmbeddedLog(tmp_path / "target" / "log"), shards=3)
        await target.open()
        made = await target.create_table(description("gt"))
        await target.replace_table("gt", global_tables.with_replica(made, SOURCE, "ACTIVE"))
        sent: list[list[dict]] = []

        async def send(region: str, operation: str, body: dict) -> dict:
            assert (region, operation, body["SourceRegion"]) == (TARGET, "ApplyChanges", SOURCE)
            sent.append(body["Changes"])
            return await apply_batch(target, TARGET, body)

        checkpoints = Checkpoints(tmp_path / "checkpoints")
        replicator = Replicator(log_, "gt", desc["TableId"], TARGET, SOURCE, send, checkpoints, idle=0.005,
                                batch=50, snapshots=source.snapshot_store)
        replicator.start()
        await asyncio.wait_for(replicator.caught_up.wait(), 30)
        await replicator.stop()
        expected, got = await items(source, "gt"), await items(target, "gt")
        names = sorted(expected)
        same_versions = (versions(source, "gt", SOURCE, names), versions(target, "gt", TARGET, names))
        # the tombstone went with the backfill: an older write of the deleted item loses here too
        (tomb,) = [s.version_of(key("r0-1")) for s in source._groups["gt"].states if s.version_of(key("r0-1"))]
        older = ReplicatedWriteCommand(key("r0-1"), {**key("r0-1"), "v": {"S": "resurrected"}},
                                       (tomb[0] - 1, "zz-late"), TARGET)
        outcome = await target.write("gt", older)
        stats, saved = replicator.stats, checkpoints.load(desc["TableId"], TARGET)
        await target.close()
        await source.close()
        return starts, replayed_alone, expected, got, same_versions, outcome, stats, saved, sent

    starts, replayed_alone, expected, got, same_versions, outcome, stats, saved, sent = asyncio.run(run())
    assert all(start > 0 for start in starts), starts  # retention truncated every shard's log
    assert not set(expected) <= replayed_alone  # the retained log alone misses early items...
    assert got == expected and "r0-1" not in got and got["r0-0"] == "rewritten"  # ...the backfill does not
    assert len(expected) == 5 * 30 + 1 + 12 - 1
    assert same_versions[0] == same_versions[1]
    assert same_versions[0]["late"][0] > 0 and same_versions[0]["r1-0"] == (0, SOURCE)
    assert outcome.change is None  # the tombstone's version is newer: the late write lost
    assert stats.backfilled > 100 and stats.backfilled + stats.sent >= len(expected)  # mostly from snapshots
    assert max(len(batch) for batch in sent) <= 50
    assert saved is not None and all(offset >= start for offset, start in zip(saved.values(), starts))


def test_snapshot_changes_lists_items_with_versions_then_tombstones():
    from dynamoray.core import keys, partition
    from dynamoray.core.commands import INSERT, REMOVE, ItemChange

    schema = keys.KeySchema("p", "S", "c", "N")
    state = partition.PartitionState(schema)
    a = {"p": {"S": "a"}, "c": {"N": "-1.5"}, "v": {"S": "1"}}
    b = {"p": {"S": "b"}, "c": {"N": "2"}}
    partition.evolve(state, ItemChange(INSERT, {"p": a["p"], "c": a["c"]}, None, a, origin=(7, "")))
    partition.evolve(state, ItemChange(INSERT, {"p": b["p"], "c": b["c"]}, None, b))
    partition.evolve(state, ItemChange(REMOVE, {"p": b["p"], "c": b["c"]}, b, None, origin=(9, "ap-south-1")))
    partition.evolve(state, ItemChange(INSERT, {"p": b["p"], "c": {"N": "3"}}, None, {**b, "c": {"N": "3"}}))
    found = list(backfill.snapshot_changes(state, SOURCE))
    assert sorted(found[:2], key=lambda c: c["Keys"]["p"]["S"]) == [
        {"Keys": {"p": {"S": "a"}, "c": {"N": "-1.5"}}, "Item": a, "Version": [7, SOURCE]},
        {"Keys": {"p": {"S": "b"}, "c": {"N": "3"}}, "Item": {**b, "c": {"N": "3"}}, "Version": [0, SOURCE]},
    ]
    # the tombstone comes after the items, with the removed item's key and version
    assert found[2:] == [{"Keys": {"p": {"S": "b"}, "c": {"N": "2"}}, "Item": None, "Version": [9, "ap-south-1"]}]
