"""PartitionHost as a plain class (no Ray): open on demand, LRU hibernation, fencing, fail-stop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

from dynamoray.actors import records
from dynamoray.actors.host import EmbeddedLogAt, LogPerTopic, PartitionHost, SharedLog, TableStats
from dynamoray.core import values
from dynamoray.core.commands import ItemChange, ScanSpec
from dynamoray.core.errors import DynamoError
from dynamoray.events.log import UnknownTopicError
from dynamoray.events.memory import MemoryLog

from .helpers import increment, key, new_table, put


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def log():
    return MemoryLog()


def test_a_partition_opens_on_demand_by_replaying_its_topic(log):
    _, ref = new_table(log, "t")

    async def first():
        host = PartitionHost(SharedLog(log))
        for i in range(5):
            await host.write(ref, put(f"k{i}", v=str(i)))
        await host.write(ref, increment("k0"))
        await host.write(ref, increment("k0"))

    async def second():
        host = PartitionHost(SharedLog(log))
        assert host.info()["open"] == 0
        item = await host.get(ref, key("k0"))
        page = await host.scan(ref, ScanSpec())
        return host, item, page

    run(first())
    host, item, page = run(second())
    assert item == {"p": {"S": "k0"}, "v": {"S": "0"}, "n": {"N": "2"}}
    assert page.count == 5
    assert host.info()["open"] == 1 and host.opened == 1


def test_idle_partitions_hibernate_beyond_the_bound_and_come_back(log):
    refs = [new_table(log, f"t{i}")[1] for i in range(5)]

    async def scenario():
        host = PartitionHost(SharedLog(log), max_open=2)
        for i, ref in enumerate(refs):
            await host.write(ref, put("a", v=str(i)))
        assert host.info()["open"] == 2
        assert host.hibernations == 3
        opened = host.opened
        stats = await host.stats(refs[0])  # hibernated: known without reopening
        assert host.opened == opened
        item = await host.get(refs[0], key("a"))  # comes back from the log
        assert host.opened == opened + 1
        return stats, item

    stats, item = run(scenario())
    assert item == {"p": {"S": "a"}, "v": {"S": "0"}}
    assert stats == TableStats(1, values.item_size(item))


def test_writes_racing_with_hibernation_all_succeed(tmp_path):
    factory = EmbeddedLogAt(str(tmp_path), synchronous="NORMAL")
    setup = factory()
    refs = [new_table(setup, f"t{i}")[1] for i in range(4)]
    setup.close()

    async def client(ref, host):
        for i in range(15):
            await host.write(ref, put("k", v=str(i)))
            assert await host.get(ref, key("k")) == {"p": {"S": "k"}, "v": {"S": str(i)}}

    async def scenario():
        host = PartitionHost(LogPerTopic(factory), max_open=1)
        await asyncio.gather(*(client(ref, host) for ref in refs))
        host.close()
        return host

    host = run(scenario())
    # the race did happen (how often depends on scheduling: the machine may be loaded)
    assert host.hibernations >= 4


def test_concurrent_calls_share_one_opening(log):
    _, ref = new_table(log, "t")
    writer = log.open_writer(ref.topic, 0)
    encode = records.change_encoder(ref.table_id)
    writer.append([encode(ItemChange("INSERT", key("x"), None, {"p": {"S": "x"}}))])

    async def scenario():
        host = PartitionHost(SharedLog(log))
        found = await asyncio.gather(*(host.get(ref, key("x")) for _ in range(20)))
        return host, found

    host, found = run(scenario())
    assert found == [{"p": {"S": "x"}}] * 20
    assert host.opened == 1


def test_a_table_without_a_topic_is_resource_not_found(log):
    _, ref = new_table(log, "t")
    log.delete_topic(ref.topic)
    with pytest.raises(DynamoError) as caught:
        run(PartitionHost(SharedLog(log)).write(ref, put("a")))
    assert (caught.value.error_type, caught.value.message) == (
        "ResourceNotFoundException", "Requested resource not found")


def test_drop_returns_the_stats_deletes_the_topic_and_forgets_the_table(log):
    _, ref = new_table(log, "t")

    async def scenario():
        host = PartitionHost(SharedLog(log))
        for i in range(3):
            await host.write(ref, put(f"k{i}"))
        stats = await host.drop(ref)
        with pytest.raises(DynamoError) as caught:
            await host.get(ref, key("k0"))
        return host, stats, caught.value

    host, stats, error = run(scenario())
    assert stats.item_count == 3 and stats.size_bytes == 3 * values.item_size({"p": {"S": "k0"}})
    assert error.error_type == "ResourceNotFoundException"
    assert host.info()["open"] == 0
    with pytest.raises(UnknownTopicError):
        log.partition_count(ref.topic)


def test_opening_fences_the_previous_writer_and_a_fenced_write_fail_stops(log):
    _, ref = new_table(log, "t")

    async def scenario():
        old, new = PartitionHost(SharedLog(log)), PartitionHost(SharedLog(log))
        await old.write(ref, put("a", v="old"))
        await new.write(ref, put("b", v="new"))  # opening fences the old host's writer
        with pytest.raises(DynamoError) as caught:
            await old.write(ref, put("c", v="lost"))
        assert old.info()["open"] == 0  # discarded: rebuilt from the log on next use
        seen_by_old = await old.get(ref, key("b"))
        lost = await old.get(ref, key("c"))
        return caught.value, seen_by_old, lost

    error, seen_by_old, lost = run(scenario())
    assert (error.error_type, error.status, error.message) == (
        "InternalServerError", 500, "The write could not be made durable")
    assert seen_by_old == {"p": {"S": "b"}, "v": {"S": "new"}}
    assert lost is None


def test_a_hibernated_embedded_partition_holds_no_log_thread(tmp_path):
    logs = LogPerTopic(EmbeddedLogAt(str(tmp_path)))
    setup = EmbeddedLogAt(str(tmp_path))()
    refs = [new_table(setup, f"t{i}")[1] for i in range(4)]
    setup.close()

    def log_threads() -> int:
        return sum(t.name.startswith("dynamoray-log-dynamoray.table.") for t in threading.enumerate())

    async def scenario():
        host = PartitionHost(logs, max_open=1)
        for i, ref in enumerate(refs):
            await host.write(ref, put("a", v=str(i)))
        during = log_threads()
        items = [await host.get(ref, key("a")) for ref in refs]
        host.close()
        return during, items

    during, items = run(scenario())
    assert during == 1
    assert [item["v"]["S"] for item in items] == ["0", "1", "2", "3"]
    assert log_threads() == 0


def test_max_open_must_be_positive(log):
    with pytest.raises(ValueError):
        PartitionHost(SharedLog(log), max_open=0)


def test_the_plain_classes_do_not_import_ray():
    code = ("import sys; import dynamoray.actors.host, dynamoray.actors.catalog_service; "
            "sys.exit(1 if 'ray' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
