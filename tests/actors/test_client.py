"""RayEngine over in-process twins of its actors (no Ray), and RemoteActor's error mapping."""

from __future__ import annotations

import asyncio
import inspect
import uuid

import pytest
from ray import exceptions as ray_errors

from dynamoray.actors.catalog_service import CatalogService
from dynamoray.actors.client import LocalActor, RayEngine, RemoteActor, host_index
from dynamoray.actors.host import EmbeddedLogAt, LogPerTopic, PartitionHost, SharedLog
from dynamoray.actors.local import LocalEngine
from dynamoray.core import errors
from dynamoray.core.errors import DynamoError
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog

from .helpers import description, key, put


def run(coro):
    return asyncio.run(coro)


def engine_on(log, hosts: int = 2, max_open: int = 256) -> tuple[RayEngine, list[PartitionHost]]:
    plain = [PartitionHost(SharedLog(log), max_open=max_open) for _ in range(hosts)]
    catalog = LocalActor(CatalogService(lambda: log))
    engine = RayEngine(catalog, [LocalActor(h) for h in plain], stream_log=log)
    return engine, plain


def test_host_index_is_a_stable_spread():
    assert host_index("6d1f0f3e-8d2b-4b1e-9a77-3f0c2a1b5e10", 2) == host_index(
        "6d1f0f3e-8d2b-4b1e-9a77-3f0c2a1b5e10", 2)
    assert host_index("table-a", 7) == 5  # pinned: placement must never change between versions
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    on_first = sum(host_index(i, 2) == 0 for i in ids)
    assert 800 < on_first < 1200


def test_ray_engine_implements_the_local_engine_protocol():
    def public(cls):
        return {n: inspect.signature(f) for n, f in inspect.getmembers(cls, inspect.isfunction)
                if not n.startswith("_")}

    local, ray_engine = public(LocalEngine), public(RayEngine)
    assert set(local) <= set(ray_engine)
    for name, signature in local.items():
        assert list(signature.parameters) == list(ray_engine[name].parameters), name
        assert inspect.iscoroutinefunction(getattr(RayEngine, name)), name


def test_tables_and_items_through_the_engine():
    async def scenario():
        engine, hosts = engine_on(MemoryLog())
        created = await engine.create_table(description("t"))
        await engine.write("t", put("a", v="1"))
        await engine.set_tags("t", {"k": "v"})
        described = await engine.describe_table("t")
        got = await engine.get("t", key("a"))
        log, topic = await engine.stream_log(), f"dynamoray.table.{created['TableId']}"
        assert log.partition_count(topic) == 4  # the engine's default shard count
        end = sum(log.end_offset(topic, shard) for shard in range(4))
        deleted = await engine.delete_table("t")
        with pytest.raises(DynamoError) as after:
            await engine.get("t", key("a"))
        return created, described, got, deleted, after.value, await engine.list_tables(), end

    created, described, got, deleted, after, names, end = run(scenario())
    assert end == 1  # the stream log is the log the host wrote the item to
    assert created["TableStatus"] == "ACTIVE"
    assert (described["ItemCount"], described["TableSizeBytes"]) == (1, 4)
    assert got == {"p": {"S": "a"}, "v": {"S": "1"}}
    assert (deleted["TableStatus"], deleted["ItemCount"]) == ("DELETING", 1)
    assert (after.error_type, after.message) == ("ResourceNotFoundException", "Requested resource not found")
    assert names == []


def test_a_stale_route_is_refreshed_after_the_table_is_recreated():
    log = MemoryLog()

    async def scenario():
        gateway_a, hosts = engine_on(log)
        catalog = gateway_a._catalog
        gateway_b = RayEngine(catalog, gateway_a._hosts)  # a second gateway on the same actors
        await gateway_a.create_table(description("t"))
        await gateway_a.write("t", put("old"))  # gateway A caches the route of the first table
        await gateway_b.delete_table("t")
        await gateway_b.create_table(description("t"))  # same name, new table id and topic
        await gateway_a.write("t", put("new"))  # the stale route fails, A re-reads the catalog
        return await gateway_b.get("t", key("new")), await gateway_b.get("t", key("old"))

    new, old = run(scenario())
    assert new == {"p": {"S": "new"}} and old is None


def test_five_hundred_tables_on_two_hosts_with_hibernation(tmp_path):
    factory = EmbeddedLogAt(str(tmp_path), synchronous="NORMAL")  # scale, not durability, is tested
    hosts = [PartitionHost(LogPerTopic(factory), max_open=16) for _ in range(2)]
    engine = RayEngine(LocalActor(CatalogService(factory)), [LocalActor(h) for h in hosts])
    names = [f"t{i:03d}" for i in range(500)]

    async def scenario():
        for name in names:
            await engine.create_table(description(name))
            await engine.write(name, put("k", table=name))
        counts = [(await engine.describe_table(name))["ItemCount"] for name in names]
        sample = [await engine.get(name, key("k")) for name in names[::10]]  # reopened from the log
        return counts, sample

    counts, sample = run(scenario())
    assert counts == [1] * 500
    assert [item["table"]["S"] for item in sample] == names[::10]
    infos = [h.info() for h in hosts]
    assert all(info["open"] <= 16 for info in infos)
    assert all(info["hibernations"] > 200 for info in infos)  # both hosts hold many tables
    for h in hosts:
        h.close()


def test_a_data_directory_is_shared_with_the_local_engine(tmp_path):
    async def scenario():
        local = LocalEngine(EmbeddedLog(tmp_path))
        await local.open()
        await local.create_table(description("t"))
        await local.write("t", put("from-local"))
        await local.close()

        factory = EmbeddedLogAt(str(tmp_path))
        host = PartitionHost(LogPerTopic(factory))
        engine = RayEngine(LocalActor(CatalogService(factory)), [LocalActor(host)])
        await engine.open()
        seen = await engine.get("t", key("from-local"))
        await engine.write("t", put("from-ray"))
        host.close()

        again = LocalEngine(EmbeddedLog(tmp_path))
        await again.open()
        back = await again.get("t", key("from-ray"))
        await again.close()
        return seen, back

    seen, back = run(scenario())
    assert seen == {"p": {"S": "from-local"}} and back == {"p": {"S": "from-ray"}}


# --- RemoteActor: how Ray failures reach the gateway ------------------------------------------


class _Method:
    def __init__(self, outcome):
        self._outcome = outcome

    def remote(self, *args):
        async def answer():
            if isinstance(self._outcome, BaseException):
                raise self._outcome
            if self._outcome == "hang":
                await asyncio.sleep(3600)
            return self._outcome

        return answer()


class _FakeHandle:
    def __init__(self, outcome):
        self.write = _Method(outcome)


def _call(outcome, timeout: float = 5.0):
    return run(RemoteActor(_FakeHandle(outcome), "host-0", timeout).call("write", "arg"))


def test_a_dynamo_error_raised_in_the_actor_arrives_intact():
    original = errors.conditional_check_failed({"p": {"S": "a"}})
    wrapped = ray_errors.RayTaskError("write", "traceback", original).as_instanceof_cause()
    with pytest.raises(DynamoError) as caught:
        _call(wrapped)
    assert caught.value == original and caught.value.extra == {"Item": {"p": {"S": "a"}}}


@pytest.mark.parametrize("failure, expected", [
    (ray_errors.RayTaskError("write", "tb", ValueError("bug")), ("InternalServerError", 500)),
    (ray_errors.ActorUnavailableError("restarting", None), ("ServiceUnavailable", 503)),
    (ray_errors.ActorDiedError(), ("InternalServerError", 500)),
])
def test_ray_failures_become_retryable_server_errors(failure, expected):
    with pytest.raises(DynamoError) as caught:
        _call(failure)
    assert (caught.value.error_type, caught.value.status) == expected


def test_a_call_that_never_answers_times_out():
    with pytest.raises(DynamoError) as caught:
        _call("hang", timeout=0.05)
    assert (caught.value.error_type, caught.value.status, caught.value.message) == (
        "InternalServerError", 500, "The request did not complete in time")


def test_a_successful_call_returns_the_result():
    assert _call({"ok": 1}) == {"ok": 1}


# --- Batching: concurrent host calls share one actor call --------------------------------------


class _CountingActor:
    """A LocalActor that counts the actor calls it receives."""

    def __init__(self, target, fail_with: DynamoError | None = None) -> None:
        self.inner = LocalActor(target)
        self.calls: list[tuple[str, int]] = []
        self.fail_with = fail_with

    async def call(self, method, *args):
        self.calls.append((method, len(args[0]) if method == "batch" else 1))
        await asyncio.sleep(0.01)  # an actor call takes time: the next callers queue meanwhile
        if self.fail_with is not None:
            raise self.fail_with
        return await self.inner.call(method, *args)


def test_concurrent_calls_to_a_host_are_batched_and_each_gets_its_own_result():
    log = MemoryLog()
    counting = _CountingActor(PartitionHost(SharedLog(log)))
    engine = RayEngine(LocalActor(CatalogService(lambda: log)), [counting])

    async def scenario():
        await engine.create_table(description("t"))
        writes = [engine.write("t", put(f"k{i}")) for i in range(30)]
        bad = engine.get("t", {"p": {"N": "1"}})  # a ValidationException for this caller only
        results = await asyncio.gather(*writes, bad, return_exceptions=True)
        return results, await engine.get("t", key("k29"))

    results, last = run(scenario())
    assert all(r.change is not None for r in results[:30])
    assert isinstance(results[30], DynamoError) and results[30].error_type == "ValidationException"
    assert last == {"p": {"S": "k29"}}
    batches = [size for method, size in counting.calls if method == "batch"]
    assert sum(batches) == 32 and len(batches) < 10  # 32 calls in a few actor calls


def test_a_failed_batch_fails_every_call_in_it():
    log = MemoryLog()
    catalog = LocalActor(CatalogService(lambda: log))
    counting = _CountingActor(PartitionHost(SharedLog(log)), fail_with=errors.service_unavailable())
    engine = RayEngine(catalog, [counting])

    async def scenario():
        await engine.create_table(description("t"))
        return await asyncio.gather(*(engine.write("t", put(f"k{i}")) for i in range(10)),
                                    return_exceptions=True)

    results = run(scenario())
    assert [(e.error_type, e.status) for e in results] == [("ServiceUnavailable", 503)] * 10
