"""Hooks on the Ray engine: members are HookWorker actors; kill -9 them during a stream of writes
and the aggregate table still equals a recomputation from the orders table."""

from __future__ import annotations

import asyncio
import os
import signal

from dynamoray.actors.hooks import HookService, RunnerSettings
from dynamoray.core import hooks
from dynamoray.hooks import pickle_function

from .helpers import retrying
from .hook_helpers import actual_totals, description, expected_totals, make_totals, order, scan_all, unique, until

KILLS = 3


def test_a_totals_hook_stays_exact_while_its_actor_is_killed_repeatedly(cluster):
    _, engine = cluster

    async def main() -> None:
        orders, totals = unique("orders"), unique("totals")
        await engine.create_table(description(orders))
        await engine.create_table(description(totals, "customer"))
        service = HookService(engine, settings=RunnerSettings(session_ms=3000, poll_interval=0.02, backoff_base=0.05))
        await service.open()
        spec = hooks.spec_from_wire({"HookName": unique("totals"), "TableName": orders, "BatchSize": 10})
        await service.deploy(spec, pickle_function(make_totals(totals)), "tests:totals")

        done = asyncio.Event()

        async def writer() -> int:
            i = 0
            while not done.is_set() or i < 200:  # writes go on while the member is killed and restarts
                await retrying(lambda i=i: engine.write(orders, order(i % 90, i % 7, i)))
                await asyncio.sleep(0.005)
                i += 1
            return i

        async def killer() -> list[int]:
            killed = []
            try:
                for _ in range(KILLS):
                    await until(lambda: _processed(service, spec.name), timeout=90)
                    (pid,) = await retrying(lambda: service.launcher.pids(spec.name))
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    await until(lambda: _restarted(service, spec.name, pid), timeout=90)  # noqa: B023  (called before the loop moves on)
            finally:
                done.set()
            return killed

        _, killed = await asyncio.gather(writer(), killer())
        assert len(set(killed)) == KILLS

        async def exact() -> bool:
            return actual_totals(await scan_all(engine, totals)) == expected_totals(await scan_all(engine, orders))

        await until(exact, timeout=120, interval=0.2)
        await service.close()

    asyncio.run(main())


async def _processed(service, name) -> bool:
    """The (current incarnation of the) member has committed a batch."""
    try:
        (status,) = await service.status(name)
    except Exception:  # noqa: BLE001 - restarting
        return False
    return status.get("Batches", 0) > 0


async def _restarted(service, name, old_pid) -> bool:
    try:
        (pid,) = await service.launcher.pids(name)
    except Exception:  # noqa: BLE001 - still restarting
        return False
    return pid != old_pid
