"""Snapshots on disk (``actors/snapshots.py``): the store, rebuild from snapshot + tail, the policy
in both engines (no Ray: the host is driven as a plain class), and crashes mid-write."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dynamoray.actors import records, snapshots
from dynamoray.actors.host import EmbeddedLogAt, LogPerTopic, PartitionHost
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.records import table_topic
from dynamoray.actors.snapshots import PartitionSnapshots, SnapshotPolicy, SnapshotStore, rebuild
from dynamoray.core import keys, partition, snapshot
from dynamoray.core.commands import INSERT, ItemChange, PreparedTransaction, ScanSpec
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.schemas.events import SnapshotTaken

from .helpers import description, key, new_table, put

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = keys.KeySchema("p", "S")


def run(coro):
    return asyncio.run(coro)


def change(i: int, value: str = "v") -> ItemChange:
    k = {"p": {"S": f"k{i}"}}
    return ItemChange(INSERT, k, None, {**k, "v": {"S": value}})


def fill(log, topic: str, count: int, start: int = 0) -> None:
    encode = records.change_encoder("t")
    with log.open_writer(topic, 0) as writer:
        for base in range(start, start + count, 500):
            writer.append([encode(change(i % 300, str(i))) for i in range(base, min(base + 500, start + count))])


def snap(store: SnapshotStore, log, topic: str, table_id: str = "t") -> int:
    """Rebuild the topic and snapshot it; returns the snapshot's offset."""
    state = rebuild(log, topic, table_id, SCHEMA).state
    header, captured = snapshots.capture(state, table_id)
    snapshots.write_snapshot(store, log, topic, header, captured, keep=10)
    return header.offset


@pytest.fixture
def log(tmp_path):
    log = EmbeddedLog(tmp_path / "log")
    log.create_topic("topic", 1)
    yield log
    log.close()


@pytest.fixture
def store(tmp_path):
    return SnapshotStore(tmp_path / "snapshots")


# --- the store and rebuild ------------------------------------------------------------------------


def test_rebuild_loads_the_newest_snapshot_and_replays_only_the_tail(log, store):
    fill(log, "topic", 1000)
    first = snap(store, log, "topic")
    fill(log, "topic", 700, start=1000)
    second = snap(store, log, "topic")
    fill(log, "topic", 40, start=1700)
    rebuilt = rebuild(log, "topic", "t", SCHEMA, store)
    whole = rebuild(log, "topic", "t", SCHEMA)
    assert (first, second) == (999, 1699)
    assert rebuilt.snapshot_offset == 1699 and rebuilt.replayed == 40
    assert whole.snapshot_offset is None and whole.replayed == 1740
    assert list(rebuilt.state.collections.items()) == list(whole.state.collections.items())
    assert (rebuilt.state.item_count, rebuilt.state.size_bytes) == (whole.state.item_count, whole.state.size_bytes)
    assert store.offsets("t") == [1699, 999]


def test_a_corrupt_newest_snapshot_falls_back_to_an_older_one_then_to_the_whole_log(log, store):
    fill(log, "topic", 600)
    snap(store, log, "topic")
    fill(log, "topic", 300, start=600)
    snap(store, log, "topic")
    newest = store.path("t", 0, 899)
    newest.write_bytes(newest.read_bytes()[:-100])
    rebuilt = rebuild(log, "topic", "t", SCHEMA, store)
    assert rebuilt.snapshot_offset == 599 and rebuilt.replayed == 300
    older = store.path("t", 0, 599)
    data = bytearray(older.read_bytes())
    data[len(data) // 2] ^= 0xFF
    older.write_bytes(bytes(data))
    rebuilt = rebuild(log, "topic", "t", SCHEMA, store)
    assert rebuilt.snapshot_offset is None and rebuilt.replayed == 900
    assert rebuilt.state.item_count == 300


def test_snapshots_past_the_log_end_or_of_another_table_are_not_used(log, store):
    fill(log, "topic", 100)
    snap(store, log, "topic")
    assert rebuild(log, "topic", "t", SCHEMA, store).snapshot_offset == 99
    other = store.path("t", 0, 50)
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(store.path("t", 0, 99).read_bytes().replace(b'"offset":99', b'"offset":50', 1))
    os.replace(store.path("t", 0, 99), store.path("t", 0, 5000))  # a file claiming a future offset
    rebuilt = rebuild(log, "topic", "t", SCHEMA, store)
    assert rebuilt.snapshot_offset is None and rebuilt.replayed == 100  # 5000 > end; 50 is corrupt
    assert rebuild(log, "topic", "u", SCHEMA, store).snapshot_offset is None


def test_rebuild_up_to_an_offset_uses_a_snapshot_at_or_before_it(log, store):
    fill(log, "topic", 400)
    snap(store, log, "topic")
    fill(log, "topic", 400, start=400)
    snap(store, log, "topic")
    rebuilt = rebuild(log, "topic", "t", SCHEMA, store, upto=550)
    assert rebuilt.snapshot_offset == 399 and rebuilt.replayed == 151
    assert rebuilt.state.lookup({"p": {"S": "k250"}}) == change(250, "550").new_image


def test_writes_are_atomic_and_prune_keeps_the_newest(store):
    header = snapshot.SnapshotHeader("t", 0, 0, 1, 0, SCHEMA, 0, 0)
    for offset in (5, 9, 7, 12):
        store.write("t", 0, offset, snapshot.encode(snapshot.SnapshotHeader(
            "t", 0, offset, offset + 1, 0, SCHEMA, 0, 0), []))
    stale = store.directory("t", 0) / "00000000000000000020.snap.1.2.tmp"
    stale.write_bytes(b"half a snap")
    assert store.offsets("t") == [12, 9, 7, 5]
    assert store.prune("t", 0, keep=2, protect=[5]) == [7]
    assert store.offsets("t") == [12, 9, 5]
    store.clean_temporary("t", 0)
    assert stale.exists()  # it may be a write in progress
    store.clean_temporary("t", 0, older_than=0)
    assert not stale.exists()
    store.drop("t")
    assert store.offsets("t") == [] and not (store.root / "t").exists()
    assert header.offset == 0


def test_the_snapshot_is_recorded_in_the_log(log, store):
    fill(log, "topic", 10)
    state = rebuild(log, "topic", "t", SCHEMA).state
    header, captured = snapshots.capture(state, "t")
    with log.open_writer("topic", 0) as writer:
        snapshots.write_snapshot(store, log, "topic", header, captured, writer)
    last = log.read("topic", 0, 10, 1)[0]
    event = records.CODEC.decode(last.value)
    assert isinstance(event, SnapshotTaken)
    assert (event.table_id, event.offset, event.location) == ("t", 9, "t/0/00000000000000000009.snap")
    assert event.timestamp == log.read("topic", 0, 9, 1)[0].timestamp > 0
    assert event.time_index == [[event.timestamp, 9]]
    rebuilt = rebuild(log, "topic", "t", SCHEMA, store)  # the record folds as nothing
    assert rebuilt.snapshot_offset == 9 and rebuilt.replayed == 1 and rebuilt.state.item_count == 10


def test_a_prepared_transaction_pulls_the_replay_start_back_to_its_record():
    state = partition.PartitionState(SCHEMA)
    for i in range(5):
        partition.evolve(state, change(i), i)
    prepared = PreparedTransaction("tx-1", (key("k1"),), (change(1, "t"),))
    partition.evolve_prepared(state, prepared, 5)
    partition.evolve(state, change(9), 6)
    header, _ = snapshots.capture(state, "t")
    assert (header.offset, header.replay_from) == (6, 5)


def test_the_policy_reads_its_settings_from_the_environment():
    policy = SnapshotPolicy.from_env({"DYNAMORAY_SNAPSHOT_EVERY_EVENTS": "10", "DYNAMORAY_SNAPSHOT_KEEP": "3"})
    assert policy == SnapshotPolicy(every_events=10, keep=3)
    assert SnapshotPolicy.from_env({}) == SnapshotPolicy()


# --- the engines ---------------------------------------------------------------------------------


def _snapshot_records(log, topic: str) -> list[SnapshotTaken]:
    found = [records.CODEC.decode(v) for v in records.read_all(log, topic)]
    return [e for e in found if isinstance(e, SnapshotTaken)]


async def _settle(snaps: PartitionSnapshots) -> None:
    while snaps.task is not None:
        await asyncio.wait([snaps.task])


def test_the_local_engine_snapshots_every_n_events_and_reopens_from_snapshot_plus_tail(tmp_path):
    policy = SnapshotPolicy(every_events=100)
    desc = description("t")

    async def write_some(count: int) -> LocalEngine:
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snap"),
                             snapshot_policy=policy, shards=1)  # one shard: the offsets are those of its log
        await engine.open()
        if "t" not in await engine.list_tables():
            await engine.create_table(desc)
        for i in range(count):
            await engine.write("t", put(f"k{i % 120}", v=str(i)))
            await _settle(engine._groups["t"].shards[0].snapshots)  # one at a time: the offsets are then exact
        return engine

    async def first():
        engine = await write_some(350)
        await engine.close()

    async def reopen():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snap"),
                             snapshot_policy=policy)
        await engine.open()
        page = await engine.scan("t", ScanSpec())
        item = await engine.get("t", key("k109"))
        replayed = engine.replayed
        await engine.close()
        return page, item, replayed

    run(first())
    page, item, replayed = run(reopen())
    log = EmbeddedLog(tmp_path / "log")
    try:
        taken = _snapshot_records(log, table_topic(desc["TableId"]))
    finally:
        log.close()
    assert [e.offset for e in taken] == [99, 200, 301]  # each SnapshotTaken takes an offset too
    assert SnapshotStore(tmp_path / "snap").offsets(desc["TableId"]) == [301, 200]  # keep=2
    assert replayed == 350 + 3 - 302  # the records after the last snapshot (one is SnapshotTaken)
    assert page.count == 120 and item["v"] == {"S": "349"}


def test_the_host_snapshots_on_hibernation_and_reopens_from_it(tmp_path):
    logs = LogPerTopic(EmbeddedLogAt(str(tmp_path / "log")))
    setup = EmbeddedLog(tmp_path / "log")
    refs = [new_table(setup, f"t{i}")[1] for i in range(2)]
    setup.close()
    policy = SnapshotPolicy(every_events=10_000, on_close_events=50)
    store = SnapshotStore(tmp_path / "snap")

    async def scenario():
        host = PartitionHost(logs, max_open=1, snapshots=store, snapshot_policy=policy)
        for i in range(80):
            await host.write(refs[0], put(f"k{i}", v=str(i)))
        await host.get(refs[1], key("x"))  # t0 hibernates: 80 events since the last snapshot
        for _ in range(200):
            if store.offsets(refs[0].table_id):
                break
            await asyncio.sleep(0.02)
        item = await host.get(refs[0], key("k42"))  # reopened from the snapshot
        info = host.info()
        host.close()
        return item, info

    item, info = run(scenario())
    assert item == {"p": {"S": "k42"}, "v": {"S": "42"}}
    assert store.offsets(refs[0].table_id) == [79]
    assert info["hibernations"] >= 2 and info["opened"] == 3
    assert info["replayed"] <= 2  # t1 was empty; t0 replays at most its SnapshotTaken record


def test_the_host_deletes_a_dropped_tables_snapshots(tmp_path):
    logs = LogPerTopic(EmbeddedLogAt(str(tmp_path / "log")))
    setup = EmbeddedLog(tmp_path / "log")
    _, ref = new_table(setup, "t")
    setup.close()
    store = SnapshotStore(tmp_path / "snap")

    async def scenario():
        host = PartitionHost(logs, snapshots=store, snapshot_policy=SnapshotPolicy(every_events=5))
        for i in range(12):
            await host.write(ref, put(f"k{i}"))
        snaps = host._open[ref.table_id].group.shards[0].snapshots
        await _settle(snaps)
        before = store.offsets(ref.table_id)
        await host.drop(ref)
        host.close()
        return before

    assert run(scenario())
    assert store.offsets(ref.table_id) == [] and not (store.root / ref.table_id).exists()


# --- crashes --------------------------------------------------------------------------------------


def test_a_crash_while_writing_a_snapshot_leaves_the_previous_one_usable(tmp_path, log, store):
    fill(log, "topic", 300)
    first = snap(store, log, "topic")
    log.close()
    started = tmp_path / "started"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.actors.snapshot_writer", str(tmp_path / "log"), str(store.root), str(started)],
        cwd=ROOT, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.01)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stderr.close()
    assert len(list(store.directory("t", 0).glob("*.tmp"))) == 1  # killed mid-write
    offsets = store.offsets("t")
    assert offsets == [3299, first]  # the child's whole snapshot (300 + 3,000 changes), and ours
    reopened = EmbeddedLog(tmp_path / "log")
    try:
        rebuilt = rebuild(reopened, "topic", "t", SCHEMA, store)
        whole = rebuild(reopened, "topic", "t", SCHEMA)
        assert rebuilt.snapshot_offset == offsets[0]
        assert rebuilt.replayed == reopened.end_offset("topic", 0) - offsets[0] - 1
        assert list(rebuilt.state.collections.items()) == list(whole.state.collections.items())
        assert rebuilt.state.item_count == 2000
    finally:
        reopened.close()
