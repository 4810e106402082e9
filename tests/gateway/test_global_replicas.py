"""Global tables with several gateway processes (``serve --gateways N --regions-file F``): the first
process replicates and resyncs the tables every so often, the others are passive (they answer the
replication endpoint and ReplicaUpdates, but start no replicator, driver or departure)."""

from __future__ import annotations

import asyncio

from dynamoray.actors.local import LocalEngine
from dynamoray.core import global_tables
from dynamoray.gateway import replicas
from dynamoray.gateway.regions import RegionMap
from dynamoray.gateway.replication import ReplicationService

from ..actors.helpers import description

LOCAL, OTHER = "us-east-1", "eu-west-1"
MAP = {LOCAL: {"endpoint": "http://127.0.0.1:1"}, OTHER: {"endpoint": "http://127.0.0.1:2"}}


class _Gateway:
    def __init__(self, service):
        self.replication = service
        self.hooks = None
        self.services = [service]
        self.authorizer = None


def test_the_first_process_watches_and_the_others_are_passive():
    first, second = (ReplicationService(None, RegionMap.from_mapping(MAP, LOCAL)) for _ in range(2))
    replicas.configure(_Gateway(first), 2, None)
    replicas.configure(_Gateway(second), 2, replicas.ReplicaRole(1, "127.0.0.1:6379", 2))
    assert (first.active, first.watch_interval) == (True, replicas.REPLICATION_WATCH)
    assert second.active is False
    alone = ReplicationService(None, RegionMap.from_mapping(MAP, LOCAL))
    replicas.configure(_Gateway(alone), 1, None)
    assert (alone.active, alone.watch_interval) == (True, None)


def test_a_passive_service_starts_nothing_and_the_watching_one_picks_changes_up():
    async def scenario():
        engine = LocalEngine(None)
        await engine.open()
        passive = ReplicationService(engine, RegionMap.from_mapping(MAP, LOCAL))
        passive.active = False
        passive.start()
        made = await engine.create_table(description("gt"))
        # a replica created through a passive process: it starts no replicator nor driver
        described = await engine.replace_table("gt", global_tables.with_replica(made, OTHER, "ACTIVE"))
        passive.sync(described)
        passive.notify_departures()
        idle = (passive.replicators, passive._drivers, passive._started, passive._departures)
        watching = ReplicationService(engine, RegionMap.from_mapping(MAP, LOCAL))
        watching.watch_interval = 0.02
        watching.start()
        for _ in range(200):
            if ("gt", OTHER) in watching.replicators:
                break
            await asyncio.sleep(0.02)
        started = set(watching.replicators)
        await engine.delete_table("gt")  # deleted through another process: the watcher stops its replicator
        for _ in range(200):
            if not watching.replicators:
                break
            await asyncio.sleep(0.02)
        left = set(watching.replicators)
        await watching.stop()
        await passive.stop()
        await engine.close()
        return idle, started, left

    idle, started, left = asyncio.run(scenario())
    assert idle == ({}, {}, None, None)
    assert started == {("gt", OTHER)} and left == set()
