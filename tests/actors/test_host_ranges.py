"""A partition host owning a range of a table's shards (step 2, ``TableRef.span``): it opens only
those shards, answers "moved" for the others and for callers routing by an older partition map,
and a Scan chained over the hosts' ranges gives the pages of one host holding every shard."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from dynamoray.actors.client import table_ref
from dynamoray.actors.host import PartitionHost, SharedLog
from dynamoray.core import errors, partition_map as pm, shards as core_shards, tables
from dynamoray.core.commands import ScanSpec
from dynamoray.core.errors import DynamoError
from dynamoray.events.memory import MemoryLog

from .helpers import description, key, put

SHARDS = 4


def run(coro):
    return asyncio.run(coro)


def setup():
    log = MemoryLog()
    ref = table_ref(tables.with_shards(description("t"), SHARDS))
    log.create_topic(ref.topic, SHARDS)
    return log, ref


def names_in(shard_range: range, count: int = 200) -> list[str]:
    return [f"k{i}" for i in range(count) if core_shards.value_shard({"S": f"k{i}"}, SHARDS) in shard_range]


async def scan_pages(hosts_and_refs, spec: ScanSpec) -> list:
    """Every page of a paginated Scan chained over (host, ref) ranges, in shard order."""
    out = []
    while True:
        start = spec.exclusive_start
        first = 0 if start is None else core_shards.value_shard(start["p"], SHARDS)
        pages = []
        for host, ref in hosts_and_refs:
            if ref.span is not None and ref.span[1] <= first:
                continue
            part, budget = core_shards.range_part(spec, pages, first=not pages)
            pages.append(await host.scan(ref, part, budget) if ref.span else await host.scan(ref, part))
            if pages[-1].last_evaluated_key is not None:
                break
        page = core_shards.joined(pages)
        out.append((page.items, page.count, page.scanned_count, page.last_evaluated_key))
        if page.last_evaluated_key is None:
            return out
        spec = ScanSpec(spec.limit, page.last_evaluated_key)


def test_two_hosts_each_own_a_range_and_answer_moved_for_the_other():
    async def scenario():
        log, ref = setup()
        low, high = PartitionHost(SharedLog(log)), PartitionHost(SharedLog(log))
        pmap = pm.split(pm.initial(SHARDS, 0), 0, 2, 1)
        low_ref = dataclasses.replace(ref, span=(0, 2), map_version=pmap.version)
        high_ref = dataclasses.replace(ref, span=(2, 4), map_version=pmap.version)
        for name in names_in(range(0, 2), 60):
            await low.write(low_ref, put(name, v=name))
        for name in names_in(range(2, 4), 60):
            await high.write(high_ref, put(name, v=name))
        with pytest.raises(DynamoError) as wrong:
            await low.write(low_ref, put(names_in(range(2, 4))[0]))
        assert errors.is_partition_moved(wrong.value) and wrong.value.status == 503
        with pytest.raises(DynamoError) as wrong_read:
            await high.get(high_ref, key(names_in(range(0, 2))[0]))
        assert errors.is_partition_moved(wrong_read.value)
        with pytest.raises(DynamoError) as stale:  # a caller still routing by the one-range map
            await low.get(ref, key(names_in(range(0, 2))[0]))
        assert errors.is_partition_moved(stale.value) and stale.value.extra["moved_version"] == 1
        assert low._open[ref.table_id].group.span == (0, 2) and high._open[ref.table_id].group.span == (2, 4)
        assert (await low.get(low_ref, key(names_in(range(0, 2))[0])))["v"]["S"] == names_in(range(0, 2))[0]
        low_stats, high_stats = await low.stats(low_ref), await high.stats(high_ref)
        assert low_stats.item_count + high_stats.item_count == len(names_in(range(0, 2), 60)) + len(
            names_in(range(2, 4), 60))

        whole_log, whole_ref = setup()  # the same items on one host holding every shard
        whole = PartitionHost(SharedLog(whole_log))
        whole_ref = dataclasses.replace(whole_ref, table_id=ref.table_id)
        whole_log.create_topic(whole_ref.topic, SHARDS)
        for name in names_in(range(0, 4), 60):
            await whole.write(whole_ref, put(name, v=name))
        for limit in (None, 1, 7, 30):
            spread = await scan_pages([(low, low_ref), (high, high_ref)], ScanSpec(limit, None))
            single = await scan_pages([(whole, whole_ref)], ScanSpec(limit, None))
            assert spread == single, limit
        return True

    assert run(scenario())


def test_a_newer_map_reopens_the_host_over_its_new_range_from_the_log():
    async def scenario():
        log, ref = setup()
        host = PartitionHost(SharedLog(log))
        names = names_in(range(0, 4), 40)
        for name in names:
            await host.write(ref, put(name))
        assert host._open[ref.table_id].group.span == (0, 4)
        newer = dataclasses.replace(ref, span=(0, 2), map_version=1)
        kept = [n for n in names if core_shards.value_shard({"S": n}, SHARDS) < 2]
        found = [await host.get(newer, key(n)) for n in kept]
        assert host._open[ref.table_id].group.span == (0, 2)
        other = PartitionHost(SharedLog(log))  # the new owner of 2..3 rebuilds them from the log
        moved = [n for n in names if n not in kept]
        got = [await other.get(dataclasses.replace(ref, span=(2, 4), map_version=1), key(n)) for n in moved]
        return found, got, kept, moved

    found, got, kept, moved = run(scenario())
    assert [f["p"]["S"] for f in found] == kept
    assert [g["p"]["S"] for g in got] == moved
