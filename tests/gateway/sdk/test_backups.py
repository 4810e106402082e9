"""Backups and point-in-time restores that wait for the restored table, with progress."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest

from dynamoray.gateway.sdk.backups import TextProgress, make_progress
from dynamoray.gateway.sdk.errors import BackupNotFoundException

from .conftest import make_async_client, unique


class Recorder:
    def __init__(self) -> None:
        self.updates: list[tuple[int, int | None]] = []
        self.closed = False

    def update(self, done: int, total: int | None) -> None:
        self.updates.append((done, total))

    def close(self) -> None:
        self.closed = True


def filled_table(client, count: int):
    name = unique("bk")
    table = client.create_table(name, hash_key=("p", "S"))
    with table.batch_writer() as batch:
        for i in range(count):
            batch.put({"p": f"k{i}", "i": i})
    return name, table


def test_backup_restore_waits_and_reports_progress(client):
    name, table = filled_table(client, 300)
    backup = client.create_backup(name, "nightly")
    assert backup["BackupStatus"] == "AVAILABLE" and backup["BackupName"] == "nightly"
    assert client.describe_backup(backup["BackupArn"])["SourceTableDetails"]["ItemCount"] == 300
    assert [b["BackupArn"] for b in client.list_backups(name)] == [backup["BackupArn"]]
    recorder = Recorder()
    target = unique("restored")
    restored = client.restore_table_from_backup(backup["BackupArn"], target, progress=recorder)
    assert restored["TableStatus"] == "ACTIVE" and restored["ItemCount"] == 300
    assert recorder.closed and recorder.updates[-1] == (300, 300)
    assert all(total == 300 and 0 <= done <= 300 for done, total in recorder.updates)
    assert sorted(i["i"] for i in client.table(target).scan().all()) == list(range(300))
    assert client.delete_backup(backup["BackupArn"])["BackupDetails"]["BackupStatus"] == "DELETED"
    with pytest.raises(BackupNotFoundException):
        client.describe_backup(backup["BackupArn"])
    client.delete_table(name)
    client.delete_table(target)


def test_point_in_time_restore(client):
    name, table = filled_table(client, 20)
    pitr = client.enable_point_in_time_recovery(name, recovery_days=7)
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    table.put({"p": "k0", "i": "before"})
    time.sleep(0.05)
    moment = datetime.now(timezone.utc)
    time.sleep(0.05)
    table.put({"p": "k0", "i": "after"})
    then = unique("pitr")
    restored = client.restore_table_to_point_in_time(name, then, at=moment, progress=Recorder())
    assert restored["TableStatus"] == "ACTIVE"
    assert client.table(then).get({"p": "k0"}) == {"p": "k0", "i": "before"}
    latest = unique("pitr")
    client.restore_table_to_point_in_time(name, latest)
    assert client.table(latest).get({"p": "k0"}) == {"p": "k0", "i": "after"}
    for t in (name, then, latest):
        client.delete_table(t)


def test_without_wait_the_restore_returns_at_once(client):
    name, _ = filled_table(client, 5)
    backup = client.create_backup(name, "quick")
    target = unique("nowait")
    described = client.restore_table_from_backup(backup["BackupArn"], target, wait=False)
    assert described["TableName"] == target and described["TableStatus"] in ("CREATING", "ACTIVE")
    client.table(target).wait_until_exists()
    assert len(client.table(target).scan().all()) == 5
    for t in (name, target):
        client.delete_table(t)


def test_progress_true_draws_a_bar(client, capsys):
    name, _ = filled_table(client, 10)
    backup = client.create_backup(name, "bar")
    target = unique("bar")
    client.restore_table_from_backup(backup["BackupArn"], target, progress=True)
    bar = make_progress(True, "x")
    assert bar is not None and type(bar).__name__ == "RichProgress"  # rich is in the test extras
    bar.close()
    text = TextProgress("restoring t")
    text.update(5, 10)
    text.close()
    assert "restoring t: 5/10 items (50%)" in capsys.readouterr().err
    for t in (name, target):
        client.delete_table(t)


def test_async_backup_helpers(sdk_server):
    async def run():
        async with make_async_client(sdk_server.endpoint) as client:
            name = unique("abk")
            table = await client.create_table(name, hash_key=("p", "S"))
            await table.put({"p": "x", "v": 1})
            backup = await client.create_backup(name, "async")
            target = unique("arestored")
            recorder = Recorder()
            await client.restore_table_from_backup(backup["BackupArn"], target, progress=recorder)
            got = await client.table(target).get({"p": "x"})
            listed = await client.list_backups(name)
            for t in (name, target):
                await client.delete_table(t)
            return got, recorder, listed

    got, recorder, listed = asyncio.run(run())
    assert got == {"p": "x", "v": 1} and recorder.updates[-1] == (1, 1) and len(listed) == 1
