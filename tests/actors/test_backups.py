"""Backups below the gateway (``actors/backups.py``): a table as of an offset, transactions all or
nothing at a cut, instants to offsets, and the backup catalog surviving a restart."""

from __future__ import annotations

import asyncio
import time

from dynamoray.actors import records, snapshots
from dynamoray.actors.backups import BACKUPS_TOPIC, service_for, table_topic
from dynamoray.actors.cuts import items_of, offset_at, offsets_at, table_at, tables_at
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotStore
from dynamoray.core import keys
from dynamoray.core.commands import INSERT, MODIFY, ItemChange, PreparedTransaction
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog

from .helpers import description, put

SCHEMA = keys.KeySchema("p", "S")
TABLE = "0f0e0d0c-0b0a-0908-0706-050403020100"


def item(p: str, v: str) -> dict:
    return {"p": {"S": p}, "v": {"S": v}}


def change(p: str, v: str, old: str | None = None) -> ItemChange:
    return ItemChange(MODIFY if old else INSERT, {"p": {"S": p}}, item(p, old) if old else None, item(p, v))


def transaction_log():
    """A log with plain writes, then a transaction changing a and b, committed in two records."""
    log = MemoryLog()
    topic = table_topic(TABLE)
    log.create_topic(topic, 1)
    encode = records.change_encoder(TABLE)
    tx = PreparedTransaction("tx-1", ({"p": {"S": "a"}}, {"p": {"S": "b"}}),
                             (change("a", "tx", "0"), change("b", "tx", "0")))
    with log.open_writer(topic, 0) as writer:
        writer.append([encode(change("a", "0")), encode(change("b", "0")), encode(change("c", "0"))])
        (prepared,) = writer.append([records.encode_prepared(TABLE, tx)])
        (first,) = writer.append([records.encode_transaction_change(TABLE, "tx-1", tx.changes[0])])
        writer.append([records.encode_transaction_change(TABLE, "tx-1", tx.changes[1]),
                       records.encode_released(TABLE, "tx-1", "COMMIT")])
        (after,) = writer.append([encode(change("c", "1", "0"))])
    return log, prepared, first, after


def values(state) -> dict:
    return {i["p"]["S"]: i["v"]["S"] for i in items_of(state)}


def test_a_cut_inside_a_transactions_commit_holds_all_of_it_or_none():
    log, prepared, first, after = transaction_log()
    assert values(table_at(log, TABLE, SCHEMA, prepared)) == {"a": "0", "b": "0", "c": "0"}  # decided? not here
    assert values(table_at(log, TABLE, SCHEMA, first)) == {"a": "tx", "b": "tx", "c": "0"}  # completed
    assert values(table_at(log, TABLE, SCHEMA, first + 1)) == {"a": "tx", "b": "tx", "c": "0"}
    assert values(table_at(log, TABLE, SCHEMA, after)) == {"a": "tx", "b": "tx", "c": "1"}
    assert values(table_at(log, TABLE, SCHEMA, -1)) == {}


def test_a_snapshot_taken_inside_the_commit_gives_the_same_cuts(tmp_path):
    log, prepared, first, after = transaction_log()
    store = SnapshotStore(tmp_path)
    state = snapshots.rebuild(log, table_topic(TABLE), TABLE, SCHEMA, upto=first).state
    header, captured = snapshots.capture(state, TABLE)
    assert header.replay_from == prepared  # the prepared transaction pulls the replay back
    snapshots.write_snapshot(store, log, table_topic(TABLE), header, captured)
    assert values(table_at(log, TABLE, SCHEMA, first, store)) == {"a": "tx", "b": "tx", "c": "0"}
    assert values(table_at(log, TABLE, SCHEMA, after, store)) == {"a": "tx", "b": "tx", "c": "1"}
    assert values(table_at(log, TABLE, SCHEMA, prepared, store)) == {"a": "0", "b": "0", "c": "0"}


def test_an_instant_maps_to_the_last_record_committed_at_or_before_it():
    now = [1_700_000_000_000]
    log = MemoryLog(clock=lambda: now[0])
    log.create_topic(table_topic(TABLE), 1)
    with log.open_writer(table_topic(TABLE), 0) as writer:
        for _step in range(3):
            writer.append([b"x", b"y"])  # two records per millisecond
            now[0] += 1
    assert offset_at(log, TABLE, 1_700_000_000.0) == 1
    assert offset_at(log, TABLE, 1_700_000_000.0015) == 3
    assert offset_at(log, TABLE, 1_699_999_999.999) == -1
    assert offset_at(log, TABLE, 1_800_000_000.0) == 5


def test_the_backup_catalog_and_files_survive_a_restart(tmp_path):
    desc = description("t")

    async def first():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"))
        await engine.open()
        await engine.create_table(desc)
        for i in range(5):
            await engine.write("t", put(f"k{i}", v=str(i)))
        service = await service_for(engine)
        backup = await service.create_backup("t", "kept")
        await service.update_continuous("t", {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 3})
        await engine.close()
        return backup

    async def second(arn: str):
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"))
        await engine.open()
        service = await service_for(engine)
        found = service.backup(arn)
        pitr = await service.describe_continuous("t")
        created = await service.restore_from_backup(arn, {"TargetTableName": "copy"}, "arn:aws:dynamodb:x:1:table/copy")
        await asyncio.wait(list(service.restores.values()))
        page = await engine.describe_table("copy")
        await engine.close()
        return found, pitr, created, page

    backup = asyncio.run(first())
    found, pitr, created, table = asyncio.run(second(backup.backup_arn))
    assert found == backup and found.item_count == 5
    assert (tmp_path / "backups" / backup.location).is_file()
    assert pitr["PointInTimeRecoveryDescription"]["RecoveryPeriodInDays"] == 3
    assert created["TableStatus"] == "CREATING"
    assert (table["TableStatus"], table["ItemCount"]) == ("ACTIVE", 5)
    assert table["RestoreSummary"]["RestoreInProgress"] is False


def test_the_catalog_is_a_topic_of_the_engines_log():
    async def scenario():
        engine = LocalEngine()
        await engine.create_table(description("t"))
        service = await service_for(engine)
        await service.create_backup("t", "one")
        assert await service_for(engine) is service
        log = await engine.stream_log()
        return [records.CODEC.decode(v) for v in records.read_all(log, BACKUPS_TOPIC)]

    (event,) = asyncio.run(scenario())
    assert type(event).__name__ == "BackupCreated" and event.backup_name == "one"
    assert event.created <= time.time() * 1000


def test_every_instant_across_a_two_shard_commit_restores_all_of_it_or_none():
    """Each record of a transaction across two shards is stamped a millisecond after the previous
    one; restoring to every millisecond across its commit gives the items before it or after it,
    never a mix: from the first sign of the COMMIT in either shard on, all of it."""
    now = [1_700_000_000_000]
    log = MemoryLog(clock=lambda: now[0])
    topic = table_topic(TABLE)
    log.create_topic(topic, 2)
    on = [log.open_writer(topic, shard) for shard in range(2)]

    def append(shard: int, value: bytes) -> None:
        now[0] += 1
        on[shard].append([value])

    tx = {0: PreparedTransaction("tx-1", ({"p": {"S": "a"}},), (change("a", "tx", "0"),)),
          1: PreparedTransaction("tx-1", ({"p": {"S": "b"}},), (change("b", "tx", "0"),))}
    for shard, p in ((0, "a"), (1, "b")):
        append(shard, records.change_encoder(TABLE, shard)(change(p, "0")))
    written = now[0]
    for shard in (0, 1):
        append(shard, records.encode_prepared(TABLE, tx[shard], shard))
    first_sign = now[0] + 1
    for shard in (1, 0):  # shard 1 applies its part first
        append(shard, records.encode_transaction_change(TABLE, "tx-1", tx[shard].changes[0], shard))
        append(shard, records.encode_released(TABLE, "tx-1", "COMMIT", shard))
    seen = {}
    for ms in range(written, now[0] + 2):
        cuts = offsets_at(log, TABLE, ms / 1000)
        seen[ms] = {i["p"]["S"]: i["v"]["S"] for i in items_of(*tables_at(log, TABLE, SCHEMA, cuts))}
    for ms, found in seen.items():
        assert found == ({"a": "tx", "b": "tx"} if ms >= first_sign else {"a": "0", "b": "0"}), (ms, found)
    assert len(seen) == 8  # before the prepares, between them, at each commit record, after
