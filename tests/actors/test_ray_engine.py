"""RayEngine on real Ray actors: naming and options, errors across processes, hibernation, restarts."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from dynamoray.core import errors
from dynamoray.core.commands import PutCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast

from .conftest import start_cluster
from .helpers import description, key, put, retrying


def run(coro):
    return asyncio.run(coro)


def named_actors(ray, prefix: str) -> list[str]:
    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == "dynamoray" and a["name"].startswith(prefix))


def test_a_cluster_is_four_named_actors_and_tables_add_none(ray_session, cluster):
    cl, engine = cluster
    prefix = cl.config.prefix
    expected = [f"{prefix}-catalog", f"{prefix}-coordinator", f"{prefix}-host-0", f"{prefix}-host-1"]
    assert named_actors(ray_session, prefix) == expected
    handle = ray_session.get_actor(f"{prefix}-host-1", namespace="dynamoray")
    assert ray_session.get(handle.pid.remote()) == cl.pids()[f"{prefix}-host-1"]

    async def scenario():
        created = [await engine.create_table(description(f"t{i}")) for i in range(20)]
        for i in range(20):
            await engine.write(f"t{i}", put("a"))
        return created

    created = run(scenario())
    assert {c["TableStatus"] for c in created} == {"ACTIVE"}
    assert named_actors(ray_session, prefix) == expected


def test_dynamo_errors_cross_the_actor_boundary_intact(cluster):
    _, engine = cluster
    exists = ast.AttributeNotExists(ast.Path(("p",)))

    async def scenario():
        await engine.create_table(description("t"))
        await engine.write("t", put("a", v="old"))
        with pytest.raises(DynamoError) as failed:
            conditional = PutCommand({"p": {"S": "a"}}, condition=exists, return_old_on_failure=True)
            await engine.write("t", conditional)
        with pytest.raises(DynamoError) as invalid:
            await engine.get("t", {"p": {"N": "1"}})
        with pytest.raises(DynamoError) as missing:
            await engine.describe_table("nope")
        return failed.value, invalid.value, missing.value

    failed, invalid, missing = run(scenario())
    assert failed == errors.conditional_check_failed({"p": {"S": "a"}, "v": {"S": "old"}})
    assert (invalid.error_type, invalid.message) == (
        "ValidationException", "The provided key element does not match the schema")
    assert missing == errors.table_not_found("nope")


def test_partitions_hibernate_in_the_hosts_and_come_back(ray_session, tmp_path):
    cl, engine = start_cluster(tmp_path, max_open=2)
    try:
        async def scenario():
            for i in range(10):
                await engine.create_table(description(f"t{i}"))
                await engine.write(f"t{i}", put("a", v=str(i)))
            return [await engine.get(f"t{i}", key("a")) for i in range(10)]

        items = run(scenario())
        infos = [actor.call_sync("info") for actor in cl.hosts]
    finally:
        cl.shutdown()
    assert [item["v"]["S"] for item in items] == [str(i) for i in range(10)]
    assert all(info["open"] <= 2 for info in infos)
    assert sum(info["hibernations"] for info in infos) >= 6


def test_a_killed_catalog_comes_back_with_every_table(cluster):
    cl, engine = cluster

    async def scenario():
        for name in ("a", "b"):
            await engine.create_table(description(name))
        await engine.set_tags("a", {"team": "x"})
        await engine.delete_table("b")
        os.kill(await cl.catalog.call("pid"), signal.SIGKILL)
        names = await retrying(engine.list_tables)
        tags = await engine.get_tags("a")
        await engine.create_table(description("c"))
        await engine.write("c", put("k"))
        return names, tags, await engine.list_tables(), await engine.get("c", key("k"))

    names, tags, after, item = run(scenario())
    assert names == ["a"] and tags == {"team": "x"}
    assert after == ["a", "c"] and item == {"p": {"S": "k"}}


def test_the_actors_run_at_the_drivers_priority(cluster):
    """Ray starts workers at nice 15 unless told otherwise (``RAY_worker_niceness``); a host at
    nice 15 waits for a core behind the gateway whenever the machine is busy, and so do writes."""
    cl, _ = cluster
    pids = cl.pids()
    assert len(pids) == 4
    assert {name: os.getpriority(os.PRIO_PROCESS, pid) for name, pid in pids.items()} == \
        {name: os.getpriority(os.PRIO_PROCESS, 0) for name in pids}
