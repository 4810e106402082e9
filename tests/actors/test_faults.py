"""Fault and consistency tests on real Ray actors.

- kill -9 a partition host during a stream of writes from several concurrent clients to every shard
  of a table: after Ray restarts it, every acknowledged write is there; an unacknowledged one is
  fully there or absent; a counter is never incremented twice (``max_task_retries=0``).
- A strongly consistent read after an acknowledged write always sees it, also while partitions
  keep hibernating and reopening from the log between the write and the read.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

from dynamoray.actors.client import host_index
from dynamoray.core import tables
from dynamoray.core.commands import ScanSpec
from dynamoray.core.errors import DynamoError
from dynamoray.core.shards import value_shard

from .conftest import SHARDS, start_cluster
from .helpers import RETRYABLE, description, increment, key, put, retrying

CLIENTS = 4
AFTER_RESTART = 15  # acknowledged writes each client makes once the host is back


def run(coro):
    return asyncio.run(coro)


class Client:
    """One writer: puts ``c<id>-<i>`` items and increments its counter, recording what was acked."""

    def __init__(self, engine, ident: int) -> None:
        self.engine, self.ident = engine, ident
        self.acked: list[int] = []
        self.unknown: list[int] = []
        self.counter_acked = self.counter_unknown = 0
        self.acked_after_restart = 0

    def item(self, i: int) -> dict:
        return {"p": {"S": f"c{self.ident}-{i}"}, "v": {"S": str(i)}, "pad": {"S": "x" * 200}}

    async def attempt(self, call) -> bool:
        try:
            await call()
            return True
        except DynamoError as error:
            assert error.error_type in RETRYABLE, error
            await asyncio.sleep(0.02)
            return False

    async def run(self, restarted: asyncio.Event, deadline: float) -> None:
        i = 0
        while self.acked_after_restart < AFTER_RESTART and time.monotonic() < deadline:
            fields = {k: v["S"] for k, v in self.item(i).items() if k != "p"}
            if await self.attempt(lambda: self.engine.write("t", put(f"c{self.ident}-{i}", **fields))):  # noqa: B023  (called before the loop moves on)
                self.acked.append(i)
                self.acked_after_restart += restarted.is_set()
            else:
                self.unknown.append(i)
            if await self.attempt(lambda: self.engine.write("t", increment(f"counter-{self.ident}"))):
                self.counter_acked += 1
            else:
                self.counter_unknown += 1
            i += 1


def test_kill_9_of_a_host_loses_no_acknowledged_write_and_applies_none_twice(cluster):
    cl, engine = cluster

    async def scenario():
        created = await engine.create_table(description("t"))
        host = cl.hosts[host_index(created["TableId"], len(cl.hosts))]
        clients = [Client(engine, c) for c in range(CLIENTS)]
        restarted = asyncio.Event()
        deadline = time.monotonic() + 90

        async def killer():
            while sum(len(c.acked) for c in clients) < 60:
                await asyncio.sleep(0.01)
            old_pid = await host.call("pid")
            os.kill(old_pid, signal.SIGKILL)
            new_pid = await retrying(lambda: host.call("pid"))
            restarted.set()
            return old_pid, new_pid

        pids, *_ = await asyncio.gather(killer(), *(c.run(restarted, deadline) for c in clients))
        page = await retrying(lambda: engine.scan("t", ScanSpec()))
        return created, clients, pids, {item["p"]["S"]: item for item in page.items}

    created, clients, (old_pid, new_pid), items = run(scenario())
    shards = tables.shard_count(created)
    assert shards == SHARDS and {value_shard({"S": k}, shards) for k in items} == set(range(shards))  # all written
    assert new_pid != old_pid
    assert sum(len(c.unknown) + c.counter_unknown for c in clients) > 0  # the kill did hit writes
    for c in clients:
        assert c.acked_after_restart == AFTER_RESTART
        for i in c.acked:
            assert items[f"c{c.ident}-{i}"] == c.item(i)
        for i in c.unknown:
            assert items.get(f"c{c.ident}-{i}", c.item(i)) == c.item(i)
        attempted = len(c.acked) + len(c.unknown)
        assert not any(k.startswith(f"c{c.ident}-") and int(k.split("-")[1]) >= attempted for k in items)
        counter = int(items[f"counter-{c.ident}"]["n"]["N"])
        assert c.counter_acked <= counter <= c.counter_acked + c.counter_unknown


def test_a_consistent_read_after_an_acknowledged_write_always_sees_it(ray_session, tmp_path):
    cl, engine = start_cluster(tmp_path, max_open=1)  # 6 tables on 2 hosts: constant hibernation
    try:
        async def client(table: str, rounds: int) -> list[tuple[str, str | None]]:
            mismatches = []
            for i in range(rounds):
                await engine.write(table, put("k", v=str(i)))
                item = await engine.get(table, key("k"), None, True)
                if item is None or item["v"]["S"] != str(i):
                    mismatches.append((str(i), item and item["v"]["S"]))
            return mismatches

        async def scenario():
            names = [f"t{i}" for i in range(6)]
            for name in names:
                await engine.create_table(description(name))
            return await asyncio.gather(*(client(name, 40) for name in names))

        results = run(scenario())
        reopened = sum(actor.call_sync("info")["opened"] for actor in cl.hosts)
    finally:
        cl.shutdown()
    assert results == [[]] * 6
    assert reopened > 20  # reads were also served by partitions just rebuilt from the log
