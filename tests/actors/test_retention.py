"""Log retention (``actors/retention.py``) with a clock the test moves: rounds over simulated days
truncate each table's log to its recovery window (PITR on) or to what snapshots need (PITR off),
and every instant of the window still restores exactly; a restart still brings every item back."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors import backups
from dynamoray.actors.backups import BackupService, DirectoryBackupFiles
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.records import table_topic
from dynamoray.actors.retention import LogRetention, truncate_shard
from dynamoray.actors.snapshots import SnapshotPolicy, SnapshotStore
from dynamoray.core import errors
from dynamoray.core.commands import ScanSpec
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog

from .helpers import description, put

DAY = 86_400.0
T0 = 1_700_000_000.0
ROUNDS = 6  # of writes, half a day apart
ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)


async def settle(engine: LocalEngine, name: str) -> None:
    """Wait for the snapshots being written (on worker threads)."""
    for shard in engine._groups[name].shards:
        while shard.snapshots.task is not None:
            await asyncio.wait([shard.snapshots.task])


def values(items) -> dict:
    return {i["p"]["S"]: i["v"]["S"] for i in items}


async def scenario(tmp_path, clock: Clock):
    log = EmbeddedLog(tmp_path / "log", clock=clock.ms, synchronous="NORMAL")
    store = SnapshotStore(tmp_path / "snapshots")
    engine = LocalEngine(log, snapshots=store, snapshot_policy=SnapshotPolicy(every_events=10), shards=2)
    await engine.open()
    service = BackupService(engine, log, DirectoryBackupFiles(tmp_path / "backups"), store, clock=clock)
    backups._SERVICES[engine] = service
    await service.open()
    retention = LogRetention(engine, interval=DAY / 2, min_age=DAY / 4, clock=clock)
    for name in ("t", "u"):
        await engine.create_table(description(name))
    await service.update_continuous("t", {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 1})
    states, truncated = [], []
    for round_ in range(ROUNDS):
        clock.now = T0 + round_ * DAY / 2
        for i in range(30):
            clock.now += 0.001
            for name in ("t", "u"):
                await engine.write(name, put(f"k{i % 25}", v=f"{round_}-{i}"))
        if round_ % 2:
            for i in range(round_):
                await engine.write("t", put(f"k{i}", v=f"again-{round_}"))
        for name in ("t", "u"):
            await settle(engine, name)
        states.append(values((await engine.scan("t", ScanSpec())).items))
        clock.now += 60
        truncated.append(await retention.run_round())
    return log, store, engine, service, states, truncated


def test_retention_keeps_the_recovery_window_restorable_and_truncates_the_rest(tmp_path):
    clock = Clock()

    async def run():
        log, store, engine, service, states, truncated = await scenario(tmp_path, clock)
        t, u = [(await engine.describe_table(n))["TableId"] for n in ("t", "u")]
        starts = {n: [log.start_offset(table_topic(i), s) for s in range(2)] for n, i in (("t", t), ("u", u))}
        pinned = {n: [store.pinned(i, s) for s in range(2)] for n, i in (("t", t), ("u", u))}
        window = (await service.describe_continuous("t"))["PointInTimeRecoveryDescription"]
        earliest = window["EarliestRestorableDateTime"]
        restored = {}
        for target, when in (("at_earliest", earliest), ("later", T0 + 2 * DAY + 1)):
            await service.restore_to_point_in_time("t", {"TargetTableName": target, "RestoreDateTime": when},
                                                   ARN + target)
        await asyncio.wait(list(service.restores.values()))
        for target in ("at_earliest", "later"):
            restored[target] = values((await engine.scan(target, ScanSpec())).items)
        with pytest.raises(errors.DynamoError) as too_early:
            await service.restore_to_point_in_time("t", {"TargetTableName": "x", "RestoreDateTime": earliest - 1},
                                                   ARN + "x")
        await engine.close()
        log = EmbeddedLog(tmp_path / "log")
        reopened = LocalEngine(log, snapshots=store, shards=2)
        await reopened.open()
        after = {n: values((await reopened.scan(n, ScanSpec())).items) for n in ("t", "u")}
        await reopened.close()
        return states, truncated, starts, pinned, earliest, restored, too_early.value, after

    states, truncated, starts, pinned, earliest, restored, too_early, after = asyncio.run(run())
    assert earliest == clock.now - DAY  # the window: PITR has been on for longer than its period
    assert restored["at_earliest"] == states[3]  # the rounds up to the window's start, exactly
    assert restored["later"] == states[4]
    assert too_early.error_type == "InvalidRestoreTimeException"
    assert all(start > 0 for start in starts["t"]), starts  # truncated...
    assert all(su > st for su, st in zip(starts["u"], starts["t"])), starts  # ...and PITR off keeps less
    assert truncated[0] == []  # no checkpoint has aged enough yet
    assert {cut.table for cut in truncated[1]} == {"u"}  # PITR off: a quarter of a day is kept
    assert {cut.table for cut in truncated[-1]} == {"t", "u"}
    assert all(len(p) <= 3 for p in pinned["t"] + pinned["u"]), pinned  # old checkpoints are unpinned
    assert after["t"] == states[-1] and len(after["u"]) == 25  # a restart still rebuilds everything


def test_a_shard_without_a_snapshot_old_enough_keeps_its_whole_log(tmp_path):
    log = MemoryLog()
    log.create_topic(table_topic("tid"), 1)
    with log.open_writer(table_topic("tid"), 0) as writer:
        writer.append([b"x"] * 5)
    store = SnapshotStore(tmp_path)
    assert truncate_shard(log, store, "tid", 0, since=T0, now=T0 + 1) is None
    assert log.start_offset(table_topic("tid"), 0) == 0


def test_retention_runs_round_after_round_until_stopped():
    slept = []

    class Engine:  # no snapshot store: every log is kept whole
        snapshot_store = None

    async def run():
        async def sleep(seconds):
            slept.append(seconds)
            if len(slept) > 3:
                await asyncio.Event().wait()  # parks until stopped

        retention = LogRetention(Engine(), interval=7.0, sleep=sleep)
        retention.start()
        while len(slept) <= 3:
            await asyncio.sleep(0)
        await retention.stop()
        return retention.rounds

    assert asyncio.run(run()) == 3 and slept[:3] == [7.0, 7.0, 7.0]
    with pytest.raises(ValueError):
        LogRetention(Engine(), interval=0)
