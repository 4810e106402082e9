"""The Ray engine on the Kafka backend: a smoke subset (the full e2e suite runs ``local-kafka``).

Every actor builds its own Kafka client from ``ClusterConfig.kafka``; a host shares one client
between all its partitions.  The broker is a private Tansu, so the catalog topic is ours alone.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import uuid

import pytest

from dynamoray.actors.client import host_index
from dynamoray.actors.cluster import Cluster, ClusterConfig, KafkaLogAt, SharedLogOf
from dynamoray.actors.host import LogPerTopic
from dynamoray.core.commands import ScanSpec
from dynamoray.events.log import LogClosedError
from dynamoray.events.memory import MemoryLog
from tests.kafka_broker import log_config, running_tansu

from .helpers import description, increment, key, put, retrying


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with running_tansu(tmp_path_factory.mktemp("tansu-ray")) as bootstrap:
        yield bootstrap


def start(broker: str) -> tuple[Cluster, object]:
    cluster = Cluster(ClusterConfig(kafka=log_config(broker), prefix=f"rk-{uuid.uuid4().hex[:8]}"))
    engine = cluster.start()
    run(engine.open())
    return cluster, engine


def stop(cluster: Cluster, engine) -> None:
    run(engine.close())
    cluster.shutdown()


def test_tables_survive_a_host_kill_and_a_whole_engine_restart_on_kafka(ray_session, broker):
    cluster, engine = start(broker)
    try:
        async def write():
            created = await engine.create_table(description("orders"))
            await engine.create_table(description("other"))
            for i in range(20):
                await engine.write("orders", put(f"o{i}", v=str(i)))
                await engine.write("orders", increment("counter"))
            await engine.write("other", put("x", v="y"))
            return created

        created = run(write())
        host = cluster.hosts[host_index(created["TableId"], len(cluster.hosts))]
        old_pid = host.call_sync("pid")
        os.kill(old_pid, signal.SIGKILL)  # Ray restarts it; it fences the dead writer and replays

        async def after_kill():
            item = await retrying(lambda: engine.get("orders", key("o7"), None, True))
            await retrying(lambda: engine.write("orders", increment("counter")))
            return item, await host.call("pid")

        item, new_pid = run(after_kill())
        assert new_pid != old_pid
        assert item == {"p": {"S": "o7"}, "v": {"S": "7"}}
    finally:
        stop(cluster, engine)

    cluster, engine = start(broker)  # new actors, new clients: everything comes from Kafka
    try:
        async def read_back():
            page = await engine.scan("orders", ScanSpec(), True)
            other = await engine.get("other", key("x"), None, True)
            return sorted(await engine.list_tables()), page.items, other

        tables, items, other = run(read_back())
    finally:
        stop(cluster, engine)
    by_key = {item["p"]["S"]: item for item in items}
    assert tables == ["orders", "other"]
    assert by_key.pop("counter")["n"] == {"N": "21"}
    assert by_key == {f"o{i}": {"p": {"S": f"o{i}"}, "v": {"S": str(i)}} for i in range(20)}
    assert other == {"p": {"S": "x"}, "v": {"S": "y"}}


# --- the configuration, without Ray ------------------------------------------------------------


def memory_log() -> MemoryLog:
    return MemoryLog()


def test_a_host_on_kafka_shares_one_log_built_in_its_own_process():
    logs = pickle.loads(pickle.dumps(SharedLogOf(memory_log)))  # only the factory travels
    first = logs.acquire("dynamoray.table.a")
    assert logs.acquire("dynamoray.table.b") is first
    logs.release("dynamoray.table.a", first)  # a hibernating partition keeps the shared client
    first.create_topic("t", 1)
    assert first.end_offset("t", 0) == 0  # still open
    logs.close()
    with pytest.raises(LogClosedError):
        first.end_offset("t", 0)
    assert logs.acquire("dynamoray.table.a") is not first  # a reopened host builds a new one


def test_cluster_config_picks_the_log_backend(tmp_path):
    kafka = ClusterConfig(kafka=log_config("127.0.0.1:9"))
    assert kafka.log_factory() == KafkaLogAt(kafka.kafka)
    assert isinstance(kafka.topic_logs(kafka.log_factory()), SharedLogOf)
    assert pickle.loads(pickle.dumps(kafka.log_factory())).config == kafka.kafka
    embedded = ClusterConfig(log_dir=str(tmp_path))
    assert isinstance(embedded.topic_logs(embedded.log_factory()), LogPerTopic)
    with pytest.raises(ValueError, match="a cluster needs a log"):
        ClusterConfig()
