"""Tables of several shards below the gateway, without Ray: the host's and the local engine's
shard groups, their logs, snapshots, restarts, transactions across shards, backups' cuts and
followers."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors import records
from dynamoray.actors.backups import service_for
from dynamoray.actors.cuts import items_of, tables_at
from dynamoray.actors.client import table_ref
from dynamoray.actors.coordinator import TransactionCoordinator
from dynamoray.actors.follower import FollowerSet
from dynamoray.actors.host import EmbeddedLogAt, LogPerTopic, PartitionHost, SharedLog
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.local_transactions import LocalParticipants
from dynamoray.actors.records import table_topic
from dynamoray.actors.snapshots import SnapshotPolicy, SnapshotStore
from dynamoray.core import keys, saga, tables
from dynamoray.core.commands import INSERT, MODIFY, ItemChange, PreparedTransaction, PutCommand, ScanSpec, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext
from dynamoray.core.shards import value_shard
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog
from dynamoray.schemas.events import ItemChanged

from .helpers import description, key, put

SHARDS = 4
SCHEMA = keys.KeySchema("p", "S")


def run(coro):
    return asyncio.run(coro)


def in_shard(shard: int, prefix: str = "k", count: int = SHARDS) -> str:
    """A partition key that lives in ``shard`` (of ``count``)."""
    return next(f"{prefix}{i}" for i in range(10_000) if value_shard({"S": f"{prefix}{i}"}, count) == shard)


def sharded_table(log, name: str, shards: int = SHARDS):
    """A table description with ``shards`` shards, its topic created in ``log``, and its TableRef."""
    desc = {**description(name), tables.SHARDS: shards}
    ref = table_ref(desc)
    log.create_topic(ref.topic, shards)
    return desc, ref


def logged_keys(log, topic: str) -> dict[int, list[str]]:
    """Each log partition's item changes (partition keys), in log order."""
    out = {}
    for shard in range(log.partition_count(topic)):
        events = [records.CODEC.decode(v) for v in records.read_all(log, topic, shard)]
        out[shard] = [e.keys["p"]["S"] for e in events if isinstance(e, ItemChanged)]
    return out


# --- a host's shard group --------------------------------------------------------------------------


def test_a_tables_items_land_in_the_log_partition_of_their_shard_and_come_back(tmp_path):
    factory = EmbeddedLogAt(str(tmp_path / "log"), synchronous="NORMAL")
    setup = factory()
    _, ref = sharded_table(setup, "t")
    setup.close()
    names = [f"k{i}" for i in range(40)]

    async def write():
        host = PartitionHost(LogPerTopic(factory))
        await asyncio.gather(*(host.write(ref, put(p, v=p)) for p in names))
        stats = await host.stats(ref)
        host.close()
        return stats

    async def reopen():
        host = PartitionHost(LogPerTopic(factory))
        found = [await host.get(ref, key(p)) for p in names]
        page = await host.scan(ref, ScanSpec())
        stats = await host.stats(ref)
        host.close()
        return found, page, stats

    first = run(write())
    found, page, stats = run(reopen())
    log = factory()
    try:
        logged = logged_keys(log, ref.topic)
    finally:
        log.close()
    assert sorted(p for ps in logged.values() for p in ps) == sorted(names)  # each write once
    assert all(logged[s] for s in range(SHARDS))  # every shard took some
    for shard, ps in logged.items():
        assert all(value_shard({"S": p}, SHARDS) == shard for p in ps)
    assert [item["v"]["S"] for item in found] == names
    assert sorted(i["p"]["S"] for i in page.items) == sorted(names) and page.last_evaluated_key is None
    assert stats == first and stats.item_count == 40


def test_a_hosts_shards_snapshot_on_their_own_and_a_dropped_table_loses_them_all(tmp_path):
    factory = EmbeddedLogAt(str(tmp_path / "log"), synchronous="NORMAL")
    setup = factory()
    _, ref = sharded_table(setup, "t")
    setup.close()
    store = SnapshotStore(tmp_path / "snap")
    policy = SnapshotPolicy(every_events=10)

    async def scenario():
        host = PartitionHost(LogPerTopic(factory), snapshots=store, snapshot_policy=policy)
        for i in range(120):
            await host.write(ref, put(f"k{i}", v=str(i)))
        await asyncio.sleep(0.01)  # a snapshot falls due once the batch that made it due is folded
        for shard in host._open[ref.table_id].group.shards:
            while shard.snapshots.task is not None:
                await asyncio.wait([shard.snapshots.task])
        host.close()
        again = PartitionHost(LogPerTopic(factory), snapshots=store, snapshot_policy=policy)
        item = await again.get(ref, key("k77"))
        replayed = again.replayed
        taken = [store.offsets(ref.table_id, shard) for shard in range(SHARDS)]
        await again.drop(ref)
        again.close()
        return item, replayed, taken

    item, replayed, taken = run(scenario())
    assert item == {"p": {"S": "k77"}, "v": {"S": "77"}}
    assert all(taken)  # every shard has its snapshots (<snap>/<table>/<shard>/)
    assert replayed < 4 * 11  # only each shard's tail after its snapshot
    assert not (store.root / ref.table_id).exists()


def test_transact_get_watches_items_in_several_shards():
    log = MemoryLog()
    _, ref = sharded_table(log, "t")
    a, b = in_shard(0, "a"), in_shard(3, "b")

    async def scenario():
        host = PartitionHost(SharedLog(log))
        await host.write(ref, put(a, v="1"))
        await host.write(ref, put(b, v="1"))
        first = await host.snapshot("w1", [(ref, key(a)), (ref, key(b))])
        clean = await host.snapshot_check("w1", [ref])
        await host.snapshot("w2", [(ref, key(a)), (ref, key(b))])
        await host.write(ref, put(b, v="2"))  # a change in shard 3 only
        dirty = await host.snapshot_check("w2", [ref])
        return first, clean, dirty

    first, clean, dirty = run(scenario())
    assert [item["v"]["S"] for _, item in first] == ["1", "1"]
    assert clean is True and dirty is False


def test_a_transaction_on_one_host_prepares_each_shard_and_finishes_them_all():
    log = MemoryLog()
    _, ref = sharded_table(log, "t")
    a, b = in_shard(1, "a"), in_shard(2, "b")

    async def scenario():
        host = PartitionHost(SharedLog(log))
        results = await host.prepare("T", [(ref, [put(a, v="t"), put(b, v="t")])])
        group = host._open[ref.table_id].group
        locked = [bool(state.prepared) for state in group.states]
        with pytest.raises(DynamoError) as caught:
            await host.write(ref, put(b, v="single"))
        await host.finish("T", saga.COMMIT, [ref, ref])
        return results, locked, caught.value, [await host.get(ref, key(p)) for p in (a, b)], group.has_prepared()

    results, locked, error, items, still = run(scenario())
    assert [r.reason for r in results[0]] == [None, None]
    assert locked == [False, True, True, False]
    assert error.error_type == "TransactionConflictException"
    assert [item["v"]["S"] for item in items] == ["t", "t"] and still is False


# --- the local engine: restarts, old tables, transactions across shards --------------------------


def test_a_restart_brings_every_shard_back_and_an_old_one_shard_table_keeps_one(tmp_path):
    async def first():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), shards=1)  # a server from before shards
        await engine.open()
        await engine.create_table(description("old"))
        for i in range(20):
            await engine.write("old", put(f"k{i}", v=str(i)))
        await engine.close()

    async def second():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), shards=SHARDS)
        await engine.open()
        await engine.create_table(description("new"))
        for i in range(20):
            await engine.write("new", put(f"k{i}", v=str(i)))
            await engine.write("old", put(f"k{i}", v=f"again-{i}"))
        await engine.close()

    async def third():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), shards=SHARDS)
        await engine.open()
        out = {}
        for name in ("old", "new"):
            described = await engine.describe_table(name)
            page = await engine.scan(name, ScanSpec())
            out[name] = (described, sorted(i["v"]["S"] for i in page.items))
        await engine.close()
        return out

    run(first())
    run(second())
    found = run(third())
    log = EmbeddedLog(tmp_path / "log")
    try:
        partitions = {name: log.partition_count(table_topic(found[name][0]["TableId"])) for name in found}
    finally:
        log.close()
    assert partitions == {"old": 1, "new": SHARDS}
    assert tables.shard_count(found["old"][0]) == 1 and tables.shard_count(found["new"][0]) == SHARDS
    assert tables.SHARDS not in tables.public_description(found["new"][0])  # DescribeTable does not show it
    assert found["old"][1] == sorted(f"again-{i}" for i in range(20))
    assert found["new"][1] == sorted(str(i) for i in range(20))
    assert found["new"][0]["ItemCount"] == 20


class ShardDown(LocalParticipants):
    """The engine's participants, except that phase 2 fails on the shards in ``down``."""

    def __init__(self, engine, down) -> None:
        super().__init__(engine)
        self.down = set(down)

    async def finish(self, node, transaction_id, decision, participants):
        up = [p for p in participants if (p.table_name, p.shard) not in self.down]
        await super().finish(node, transaction_id, decision, up)
        if len(up) < len(participants):
            raise DynamoError("ServiceUnavailable", "down", status=503)


def transfer(engine: LocalEngine, src: str, dst: str, amount: int) -> saga.TransactWrite:
    ex = ExpressionContext(None, {":a": {"N": str(amount)}, ":m": {"N": str(-amount)}})
    debit = UpdateCommand(key(src), ex.update("ADD n :m"), ex.condition("n >= :a"))
    credit = UpdateCommand(key(dst), ex.update("ADD n :a"))
    return saga.TransactWrite((saga.Action(engine._participant("t", debit), debit),
                               saga.Action(engine._participant("t", credit), credit)))


async def balances(engine: LocalEngine, *names: str) -> list[int]:
    return [int((await engine.get("t", key(p)))["n"]["N"]) for p in names]


def test_a_transaction_across_two_shards_of_a_table_is_atomic_and_survives_a_crash():
    log = MemoryLog()
    src, dst = in_shard(0, "src"), in_shard(2, "dst")

    async def before_crash():
        engine = LocalEngine(log, shards=SHARDS)
        await engine.open()
        await engine.create_table(description("t"))
        for p in (src, dst):
            await engine.write("t", PutCommand({"p": {"S": p}, "n": {"N": "10"}}))
        request = transfer(engine, src, dst, 3)
        assert [a.participant.shard for a in request.actions] == [0, 2]  # one participant per shard
        await engine.transact_write([("t", a.command) for a in request.actions])  # commits both
        with pytest.raises(DynamoError) as cancelled:  # the debit's condition fails: nothing applied
            await engine.transact_write([("t", a.command) for a in transfer(engine, src, dst, 50).actions])
        coordinator = TransactionCoordinator(log, ShardDown(engine, {("t", 2)}), in_thread=False,
                                             redrive_interval=None, finish_deadline=0.05)
        with pytest.raises(DynamoError) as crashed:
            await coordinator.transact_write(transfer(engine, src, dst, 2))
        return cancelled.value, crashed.value, await balances(engine, src, dst), engine._group("t").has_prepared()

    async def after_restart():
        engine = LocalEngine(log, shards=SHARDS)
        await engine.open()
        return await balances(engine, src, dst), engine._group("t").has_prepared()

    cancelled, crashed, during, locked = run(before_crash())
    assert cancelled.error_type == "TransactionCanceledException"
    assert crashed.error_type == "InternalServerError" and during == [5, 13] and locked  # shard 2 not finished
    after, locked_after = run(after_restart())
    assert after == [5, 15] and not locked_after  # the COMMIT was re-driven to shard 2


# --- backups: a cut across shards -----------------------------------------------------------------


def item(p: str, v: str) -> dict:
    return {"p": {"S": p}, "v": {"S": v}}


def change(p: str, v: str, old: str | None = None) -> ItemChange:
    return ItemChange(MODIFY if old else INSERT, {"p": {"S": p}}, item(p, old) if old else None, item(p, v))


def straddling_log():
    """Two shards; transaction tx-1 changes ``a`` in shard 0 and ``b`` in shard 1.  Shard 0 applies
    and releases it before shard 1 applies its part."""
    table, log = "0f0e0d0c-0b0a-0908-0706-050403020100", MemoryLog()
    topic = table_topic(table)
    log.create_topic(topic, 2)
    on = [log.open_writer(topic, shard) for shard in range(2)]
    tx = {0: PreparedTransaction("tx-1", ({"p": {"S": "a"}},), (change("a", "tx", "0"),)),
          1: PreparedTransaction("tx-1", ({"p": {"S": "b"}},), (change("b", "tx", "0"),))}
    for shard, p in ((0, "a"), (1, "b")):
        on[shard].append([records.change_encoder(table, shard)(change(p, "0"))])
    prepared = {s: on[s].append([records.encode_prepared(table, tx[s], s)])[0] for s in (0, 1)}
    released = on[0].append([records.encode_transaction_change(table, "tx-1", tx[0].changes[0], 0),
                             records.encode_released(table, "tx-1", "COMMIT", 0)])[1]
    on[1].append([records.encode_transaction_change(table, "tx-1", tx[1].changes[0], 1),
                  records.encode_released(table, "tx-1", "COMMIT", 1)])
    return log, table, prepared, released


def test_a_cut_where_one_shard_finished_a_transaction_completes_it_in_the_other():
    log, table, prepared, released = straddling_log()

    def values(cuts):
        return {i["p"]["S"]: i["v"]["S"] for i in items_of(*tables_at(log, table, SCHEMA, cuts))}

    assert values([prepared[0], prepared[1]]) == {"a": "0", "b": "0"}  # prepared, not decided: none
    assert values([released, prepared[1]]) == {"a": "tx", "b": "tx"}  # shard 0 says COMMIT: all of it
    assert values([released - 1, prepared[1]]) == {"a": "tx", "b": "tx"}  # its change alone says so too
    assert values([released + 5, prepared[1] + 5]) == {"a": "tx", "b": "tx"}
    assert values([prepared[0] - 1, prepared[1] - 1]) == {"a": "0", "b": "0"}


def test_a_backup_of_a_sharded_table_restores_into_as_many_shards(tmp_path):
    async def scenario():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snap"), shards=3)
        await engine.open()
        await engine.create_table(description("t"))
        for i in range(30):
            await engine.write("t", put(f"k{i}", v=str(i)))
        cut = await engine.cut("t")
        service = await service_for(engine)
        backup = await service.create_backup("t", "b")
        await service.restore_from_backup(backup.backup_arn, {"TargetTableName": "copy"},
                                          "arn:aws:dynamodb:x:1:table/copy")
        await asyncio.wait(list(service.restores.values()))
        copy = await engine.describe_table("copy")
        page = await engine.scan("copy", ScanSpec())
        await engine.close()
        return cut, backup, copy, page

    cut, backup, copy, page = run(scenario())
    assert len(cut) == 3 and sum(offset + 1 for offset in cut) == 30  # each shard's last write
    assert backup.item_count == 30 and tables.shard_count(backup.description) == 3
    assert tables.shard_count(copy) == 3 and copy["ItemCount"] == 30
    assert sorted(i["v"]["S"] for i in page.items) == sorted(str(i) for i in range(30))


# --- followers of several shards ------------------------------------------------------------------


def test_a_follower_follows_every_shard_and_sums_its_lag():
    log = MemoryLog()
    _, ref = sharded_table(log, "t")
    now = [100.0]
    followers = FollowerSet(SharedLog(log), max_staleness=0.005, clock=lambda: now[0])
    writers = [log.open_writer(ref.topic, shard) for shard in range(SHARDS)]

    def write(p: str, v: str) -> None:
        shard = value_shard({"S": p}, SHARDS)
        writers[shard].append([records.change_encoder(ref.table_id, shard)(change(p, v))])

    async def scenario():
        for shard in range(SHARDS):
            write(in_shard(shard), "1")
        first = await followers.scan(ref, ScanSpec())
        for shard in range(SHARDS):
            write(in_shard(shard), "2")
        behind = followers.lag()
        now[0] += 1  # stale: the next read catches every shard up
        got = [await followers.get(ref, key(in_shard(shard))) for shard in range(SHARDS)]
        return first, behind, got, followers.lag()

    first, behind, got, caught_up = run(scenario())
    assert first.count == SHARDS
    assert [(lag.table, lag.records) for lag in behind] == [("t", SHARDS)]  # one record behind in each
    assert [item["v"]["S"] for item in got] == ["2"] * SHARDS
    assert [lag.records for lag in caught_up] == [0]
