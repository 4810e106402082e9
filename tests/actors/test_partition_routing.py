"""RayEngine routing a table spread over several hosts by its partition map (``routing.py``) and
moving/splitting its ranges while writes go on (``moves.py``), over in-process twins of the
actors (no Ray)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from dynamoray.actors import moves
from dynamoray.actors.catalog_service import CatalogService
from dynamoray.actors.client import LocalActor, RayEngine
from dynamoray.actors.host import PartitionHost, SharedLog
from dynamoray.core import errors, saga, shards as core_shards
from dynamoray.core.commands import ScanSpec
from dynamoray.core.errors import DynamoError
from dynamoray.events.log import UnknownTopicError
from dynamoray.events.memory import MemoryLog

from .helpers import description, increment, key, put

SHARDS = 4


def run(coro):
    return asyncio.run(coro)


def engine_on(log, hosts: int = 2) -> tuple[RayEngine, list[PartitionHost], LocalActor]:
    catalog = LocalActor(CatalogService(lambda: log))
    plain = [PartitionHost(SharedLog(log), catalog=catalog) for _ in range(hosts)]
    return RayEngine(catalog, [LocalActor(h) for h in plain], stream_log=log, shards=SHARDS), plain, catalog


async def all_pages(engine, table: str, spec: ScanSpec) -> list:
    out = []
    while True:
        page = await engine.scan(table, spec, consistent=True)
        out.append(([i["p"]["S"] for i in page.items], page.count, page.scanned_count, page.last_evaluated_key))
        if page.last_evaluated_key is None:
            return out
        spec = dataclasses.replace(spec, exclusive_start=page.last_evaluated_key)


def in_shards(wanted: range, count: int = 40) -> list[str]:
    return [f"k{i}" for i in range(400) if core_shards.value_shard({"S": f"k{i}"}, SHARDS) in wanted][:count]


def spans(hosts: list[PartitionHost], table_id: str) -> list:
    return [h._open[table_id].group.span if table_id in h._open else None for h in hosts]


def test_a_split_table_routes_every_call_and_pages_scans_as_one_host_did():
    async def scenario():
        engine, hosts, _ = engine_on(MemoryLog())
        created = await engine.create_table(description("t"))
        for i in range(120):
            await engine.write("t", put(f"k{i}", v="x" * (i % 7)))
        specs = [ScanSpec(limit=7), ScanSpec(), ScanSpec(limit=50, segment=1, total_segments=3)]
        before = [await all_pages(engine, "t", spec) for spec in specs]
        first_host = engine._map(await engine._ref("t")).ranges[0].host
        wire = await engine.split_partition("t", 0, 2, 1 - first_host)
        after = [await all_pages(engine, "t", spec) for spec in specs]
        described = await engine.describe_table("t")
        got = [await engine.get("t", key(f"k{i}"), consistent=True) for i in range(120)]
        await engine.write("t", put("k1", v="new"))
        cut = await engine.cut("t")
        return (created, wire, before, after, described, got, spans(hosts, created["TableId"]), first_host,
                await engine.get("t", key("k1"), consistent=True), cut)

    created, wire, before, after, described, got, held, first, again, cut = run(scenario())
    assert wire["Version"] == 1 and wire["Ranges"] == [[0, 2, first], [2, 4, 1 - first]]
    assert before == after and len(before[0]) > 10  # page by page: items, counts, LastEvaluatedKey
    assert sorted(i for page in after[1] for i in page[0]) == sorted(f"k{i}" for i in range(120))
    assert (described["ItemCount"], "_Partitions" in described) == (120, True)
    assert [g["p"]["S"] for g in got] == [f"k{i}" for i in range(120)]
    assert held[first] == (0, 2) and held[1 - first] == (2, 4)
    assert again["v"]["S"] == "new" and len(cut) == SHARDS


def test_writers_during_a_split_and_a_move_are_applied_exactly_once():
    async def scenario():
        engine, hosts, _ = engine_on(MemoryLog())
        await engine.create_table(description("t"))
        acked: dict[str, int] = {}
        stop = asyncio.Event()

        async def writer(w: int) -> None:
            n = 0
            while not stop.is_set():
                await engine.write("t", put(f"w{w}-{n}", v=str(n)))
                await engine.write("t", increment(f"count{w}"))
                n += 1
                acked[f"w{w}"] = n
                await asyncio.sleep(0)

        tasks = [asyncio.create_task(writer(w)) for w in range(4)]
        await asyncio.sleep(0.2)
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        await asyncio.sleep(0.2)
        await engine.move_partition("t", 2, first)  # back: both ranges on one host, joined
        await asyncio.sleep(0.2)
        await engine.split_partition("t", 0, 1, 1 - first)
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*tasks)
        counts = {w: (await engine.get("t", key(f"count{w}"), consistent=True))["n"]["N"] for w in range(4)}
        items = await all_pages(engine, "t", ScanSpec())
        return acked, counts, [i for page in items for i in page[0]], await engine.partitions("t")

    acked, counts, names, wire = run(scenario())
    assert all(acked[f"w{w}"] > 5 for w in range(4))
    assert {w: int(n) for w, n in counts.items()} == {w: acked[f"w{w}"] for w in range(4)}
    written = [f"w{w}-{n}" for w in range(4) for n in range(acked[f"w{w}"])]
    assert sorted(n for n in names if n.startswith("w")) == sorted(written)  # none lost, none twice
    assert wire["Version"] == 3 and [r[:2] for r in wire["Ranges"]] == [[0, 1], [1, 4]]


def test_a_restarted_host_learns_the_map_and_never_opens_the_whole_table_again():
    async def scenario():
        log = MemoryLog()
        engine, hosts, catalog = engine_on(log)
        created = await engine.create_table(description("t"))
        for name in in_shards(range(SHARDS), 30):
            await engine.write("t", put(name))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        restarted = PartitionHost(SharedLog(log), catalog=catalog)
        stale = (await engine._ref("t"))
        stale = dataclasses.replace(stale, span=None, map_version=0)
        with pytest.raises(DynamoError) as caught:
            await restarted.get(stale, key(in_shards(range(0, 2))[0]))
        engine._hosts[first] = LocalActor(restarted)  # the engine reaches the new incarnation
        hosts[first] = restarted
        got = await engine.get("t", key(in_shards(range(0, 2))[0]), consistent=True)
        return caught.value, got, spans(hosts, created["TableId"]), first

    error, got, held, first = run(scenario())
    assert errors.is_partition_moved(error) and error.extra["moved_version"] == 1
    assert got is not None and held[first] == (0, 2)


def test_a_move_waits_for_a_prepared_transaction_and_is_refused_if_it_stays(monkeypatch):
    monkeypatch.setattr(moves, "RELEASE_WAIT", 0.3)

    async def scenario():
        engine, hosts, _ = engine_on(MemoryLog())
        await engine.create_table(description("t"))
        ref = await engine._ref("t")
        first = engine._map(ref).ranges[0].host
        name = in_shards(range(2, 4))[0]
        await hosts[first].prepare("T", [(ref, [put(name, v="txn")])])
        with pytest.raises(DynamoError) as refused:
            await engine.split_partition("t", 0, 2, 1 - first)
        still = await engine.partitions("t")
        written = await engine.write("t", put(in_shards(range(0, 1))[0], v="after"))  # calls taken again
        await hosts[first].finish("T", saga.COMMIT, [ref])
        moved = await engine.split_partition("t", 0, 2, 1 - first)  # no lock left: it goes through
        return refused.value, still, written, moved, await engine.get("t", key(name), consistent=True)

    refused, still, written, moved, item = run(scenario())
    assert (refused.error_type, refused.message) == (
        "ValidationException", "The partition cannot be moved: a transaction holds locks in the range; retry later")
    assert still["Version"] == 0 and moved["Version"] == 1 and item["v"]["S"] == "txn"


def test_moves_that_cannot_be_made_are_refused_with_their_reason():
    async def scenario():
        engine, _, _ = engine_on(MemoryLog(), hosts=3)
        await engine.create_table(description("t"))
        first = engine._map(await engine._ref("t")).ranges[0].host
        others = [h for h in range(3) if h != first]
        await engine.split_partition("t", 0, 2, others[0])
        await engine.split_partition("t", 2, 3, others[1])
        out = []
        for call in (engine.move_partition("t", 3, first),  # first would hold [0,2) and [3,4)
                     engine.move_partition("t", 1, first), engine.move_partition("t", 0, 7),
                     engine.split_partition("t", 3, 3)):
            with pytest.raises(DynamoError) as caught:
                await call
            out.append(caught.value.message)
        return out, await engine.partitions("t")

    async def one_host():
        engine, _, _ = engine_on(MemoryLog(), hosts=1)
        await engine.create_table(description("t"))
        with pytest.raises(DynamoError) as caught:
            await engine.split_partition("t", 0)
        return caught.value.message

    assert run(one_host()) == "The partition cannot be moved: the change leaves the map as it is (one host?)"
    messages, wire = run(scenario())
    assert messages == [
        "The partition cannot be moved: a host would hold two ranges of the table",
        "The partition cannot be moved: no range starts at shard 1",
        "The partition cannot be moved: there are 3 hosts (0 to 2)",
        "The partition cannot be moved: shard 3 is not inside range 3-3 (a split leaves both sides)",
    ]
    assert wire["Version"] == 2 and len(wire["Ranges"]) == 3


def test_delete_table_drops_every_range_and_stats_sum_the_hosts():
    async def scenario():
        log = MemoryLog()
        engine, hosts, _ = engine_on(log)
        created = await engine.create_table(description("t"))
        for i in range(40):
            await engine.write("t", put(f"k{i}"))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        described = await engine.describe_table("t")
        deleted = await engine.delete_table("t")
        return created, described, deleted, [created["TableId"] in h._open for h in hosts], log

    created, described, deleted, still_open, log = run(scenario())
    assert described["ItemCount"] == 40 and deleted["ItemCount"] == 40
    assert still_open == [False, False]
    with pytest.raises(UnknownTopicError):
        log.partition_count(f"dynamoray.table.{created['TableId']}")


# --- transactions over the ranges of a spread table ---------------------------------------------


def transactional_engine(log, hosts: int = 2):
    """A RayEngine whose coordinator reaches the hosts as the Ray one does (``HostParticipants``)."""
    from dynamoray.actors.client import host_index
    from dynamoray.actors.coordinator import TransactionCoordinator
    from dynamoray.actors.ray_transactions import HostParticipants

    catalog = LocalActor(CatalogService(lambda: log))
    plain = [PartitionHost(SharedLog(log), catalog=catalog) for _ in range(hosts)]
    callers = [LocalActor(h) for h in plain]
    participants = HostParticipants(callers, lambda table_id: host_index(table_id, hosts), catalog)
    coordinator = TransactionCoordinator(log, participants, in_thread=False, redrive_interval=None)
    engine = RayEngine(catalog, callers, stream_log=log, shards=SHARDS, coordinator=LocalActor(coordinator))
    return engine, plain, participants


def test_transactions_span_the_hosts_of_a_spread_table_and_learn_its_moves():
    from dynamoray.core.commands import ConditionCheckCommand

    low, high = in_shards(range(0, 2), 3), in_shards(range(2, 4), 3)

    async def scenario():
        engine, hosts, participants = transactional_engine(MemoryLog())
        await engine.create_table(description("t"))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        await engine.transact_write([("t", put(low[0], v="a")), ("t", put(high[0], v="b"))])
        both = await engine.transact_get([("t", key(low[0])), ("t", key(high[0]))])
        learnt = participants.maps[(await engine._ref("t")).table_id].version
        return both, learnt

    async def moved_meanwhile():
        engine, hosts, participants = transactional_engine(MemoryLog())
        await engine.create_table(description("t"))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.transact_write([("t", put(low[1], v="1")), ("t", put(high[1], v="1"))])  # by the hash
        await engine.split_partition("t", 0, 2, 1 - first)
        await engine.move_partition("t", 0, 1 - first)  # everything on the other host now
        await engine.transact_write([("t", put(low[1], v="2")), ("t", put(high[1], v="2"))])
        with pytest.raises(DynamoError) as canceled:  # atomic across the two ranges
            await engine.transact_write([
                ("t", put(low[2], v="never")),
                ("t", ConditionCheckCommand(key(high[2]), condition=exists()))])
        got = [await engine.get("t", key(n), consistent=True) for n in (low[1], high[1], low[2])]
        return canceled.value, got, await engine.partitions("t")

    both, learnt = run(scenario())
    assert [i["v"]["S"] for i in both] == ["a", "b"] and learnt == 1
    canceled, got, wire = run(moved_meanwhile())
    assert canceled.error_type == "TransactionCanceledException"
    assert [g["v"]["S"] for g in got[:2]] == ["2", "2"] and got[2] is None
    assert wire["Version"] == 2 and len(wire["Ranges"]) == 1


def test_transact_get_reads_one_moment_across_the_ranges():
    low, high = in_shards(range(0, 2), 1)[0], in_shards(range(2, 4), 1)[0]

    async def scenario():
        engine, hosts, _ = transactional_engine(MemoryLog())
        await engine.create_table(description("t"))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        await engine.transact_write([("t", put(low, v="a")), ("t", put(high, v="b"))])
        calls: list = []
        original = hosts[0].snapshot

        async def counting(watch_id, reads):
            calls.append(watch_id)
            return await original(watch_id, reads)

        hosts[0].snapshot = counting
        items = await engine.transact_get([("t", key(low)), ("t", key(high))])
        return items, calls

    items, calls = run(scenario())
    assert [i["v"]["S"] for i in items] == ["a", "b"]
    assert len(calls) == 1 and calls[0] is not None  # two hosts: a watched first round, then a check


def exists():
    from dynamoray.core.expressions import ast

    return ast.AttributeExists(ast.Path(("p",)))


# --- the automatic splitter and the metric -----------------------------------------------------


def test_the_splitter_cuts_a_range_over_its_size_and_leaves_small_tables_alone():
    from dynamoray.actors.splitter import Splitter
    from dynamoray.core import partition_map as pm

    async def scenario():
        engine, hosts, _ = engine_on(MemoryLog())
        await engine.create_table(description("big"))
        await engine.create_table(description("small"))
        for i in range(80):
            await engine.write("big", put(f"k{i}", v="x" * 100))
        await engine.write("small", put("a"))
        await engine.get("small", key("a"), consistent=True)
        splitter = Splitter(engine, pm.SplitThresholds(size_bytes=4000), interval=1)
        first = await splitter.run_round()
        counts = engine.partition_counts()
        from dynamoray.gateway.metrics import render

        text = (await render(engine)).decode()
        return first, text, counts, await engine.partitions("big"), await engine.partitions("small")

    first, text, counts, big, small = run(scenario())
    assert 'dynamoray_table_partitions{table="big"} 2.0' in text
    assert 'dynamoray_table_partitions{table="small"} 1.0' in text
    assert first is not None and first.range_start == 0 and 0 < first.at < SHARDS
    assert counts == {"big": 2, "small": 1}
    assert big["Version"] >= 1 and small["Version"] == 0
    assert sum(r[1] - r[0] for r in big["Ranges"]) == SHARDS


def test_the_splitter_measures_write_rates_between_rounds():
    from dynamoray.actors.splitter import Splitter
    from dynamoray.core import partition_map as pm

    now = [0.0]

    async def scenario():
        engine, hosts, _ = engine_on(MemoryLog())
        await engine.create_table(description("t"))
        await engine.write("t", put("warm"))
        splitter = Splitter(engine, pm.SplitThresholds(writes_per_second=5), interval=1, clock=lambda: now[0])
        quiet = await splitter.run_round()
        for i in range(60):
            await engine.write("t", put(f"k{i}"))
        now[0] = 2.0  # 60 writes in 2 s: 30/s over the range, above 5/s
        busy = await splitter.run_round()
        return quiet, busy

    quiet, busy = run(scenario())
    assert quiet is None and busy is not None and busy.range_start == 0


# --- a backup's cut across the hosts of a table -------------------------------------------------


def test_a_cut_across_hosts_holds_commits_and_keeps_a_transaction_all_or_nothing():
    from dynamoray.actors import cuts
    from dynamoray.actors.routing import spanned

    low, high = in_shards(range(0, 2), 1)[0], in_shards(range(2, 4), 1)[0]

    async def scenario():
        log = MemoryLog()
        engine, hosts, _ = engine_on(log)
        await engine.create_table(description("t"))
        ref = await engine._ref("t")
        first = engine._map(ref).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        pmap = engine._map(ref)
        low_host, high_host = hosts[pmap.ranges[0].host], hosts[pmap.ranges[1].host]
        low_ref, high_ref = spanned(ref, pmap, pmap.ranges[0]), spanned(ref, pmap, pmap.ranges[1])
        await low_host.prepare("T", [(low_ref, [put(low, v="t")])])
        await high_host.prepare("T", [(high_ref, [put(high, v="t")])])
        await high_host.finish("T", saga.COMMIT, [high_ref])  # the decision reached one host so far
        cut = await engine.cut("t")
        states = cuts.tables_at(log, ref.table_id, ref.schema, cut)

        await low_host.hold_commits(ref.table_id, "backup")  # what a cut does on every host first
        finishing = asyncio.create_task(low_host.finish("T", saga.COMMIT, [low_ref]))
        for _ in range(20):
            await asyncio.sleep(0)
        held = not finishing.done() and low_host._open[ref.table_id].group.has_prepared()
        low_host.release_commits(ref.table_id, "backup")
        await finishing
        return cut, cuts.items_of(*states), held, await engine.get("t", key(low), consistent=True)

    cut, items, held, after = run(scenario())
    assert len(cut) == SHARDS
    assert sorted(i["p"]["S"] for i in items) == sorted([low, high])  # completed on the other host too
    assert held and after["v"]["S"] == "t"


def test_the_coordinator_re_reads_a_moved_map_before_finishing_again():
    from dynamoray.core import partition_map as pm

    async def scenario():
        engine, hosts, participants = transactional_engine(MemoryLog())
        await engine.create_table(description("t"))
        first = engine._map(await engine._ref("t")).ranges[0].host
        await engine.split_partition("t", 0, 2, 1 - first)
        ref = await engine._ref("t")
        participants.learn({ref.table_id: pm.to_wire(engine._map(ref))})
        await engine.move_partition("t", 2, first)  # version 2: the coordinator still knows 1
        participant = saga.Participant(ref.table_id, ref.name, ref.schema, 3)
        with pytest.raises(DynamoError) as stale:
            await participants.finish(None, "T", saga.ABORT, [participant])
        learnt = participants.maps[ref.table_id].version
        await participants.finish(None, "T", saga.ABORT, [participant])  # routed by the new map
        return stale.value, learnt

    stale, learnt = run(scenario())
    assert stale.error_type == "ServiceUnavailable" and not errors.is_partition_moved(stale)
    assert learnt == 2
