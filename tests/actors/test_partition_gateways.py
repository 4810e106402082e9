"""Several gateways (``serve --gateways N``) over one set of actors: only the first process runs
the automatic splitter (``gateway/serve.py``); the others route by their own cached maps, and a
split made elsewhere reaches them through the hosts' "moved" answers (``routing.py``)."""

from __future__ import annotations

import dataclasses

from dynamoray.actors.catalog_service import CatalogService
from dynamoray.actors.client import LocalActor, RayEngine
from dynamoray.actors.host import PartitionHost, SharedLog
from dynamoray.actors.splitter import Splitter
from dynamoray.core import partition_map as pm
from dynamoray.core.commands import PutCommand, QuerySpec, ScanSpec
from dynamoray.events.memory import MemoryLog

from .test_partition_indexes import indexed, row
from .test_partition_routing import SHARDS, run


def test_a_split_by_the_first_gateway_reaches_another_gateways_routing():
    async def scenario():
        log = MemoryLog()
        catalog = LocalActor(CatalogService(lambda: log))
        hosts = [LocalActor(PartitionHost(SharedLog(log), catalog=catalog)) for _ in range(2)]
        first = RayEngine(catalog, hosts, stream_log=log, shards=SHARDS)
        other = RayEngine(catalog, hosts, shards=SHARDS)  # a replica gateway: its own cache
        await first.create_table(indexed("t"))
        await other.open()
        for i in range(60):
            await other.write("t", PutCommand(row(i)))
        stale = other._map(await other._ref("t"))
        choice = await Splitter(first, pm.SplitThresholds(size_bytes=500), interval=1).run_round()
        await other.write("t", PutCommand(row(60)))  # routed by the old map: "moved", re-read, retried
        got = await other.get("t", {"p": row(60)["p"], "c": row(60)["c"]}, consistent=True)
        scanned, spec = [], ScanSpec(limit=8)
        while True:
            page = await other.scan("t", spec, consistent=True)
            scanned += [(i["p"]["S"], i["c"]["N"]) for i in page.items]
            if page.last_evaluated_key is None:
                break
            spec = dataclasses.replace(spec, exclusive_start=page.last_evaluated_key)
        gsi = await other.query("t", QuerySpec({"S": "g1"}, index="by_g"), consistent=True)
        return stale, choice, got, scanned, gsi, other.partition_counts(), await first.partitions("t")

    stale, choice, got, scanned, gsi, counts, wire = run(scenario())
    assert len(stale.ranges) == 1 and choice is not None and len(wire["Ranges"]) == 2
    assert got is not None and got["c"] == {"N": "60"}
    assert sorted(scanned) == sorted((f"p{i % 13}", str(i)) for i in range(61))  # once each
    assert gsi.count == len([i for i in range(61) if i % 3 == 1])
    assert counts == {"t": 2}  # the other gateway's /metrics shows the new map too
