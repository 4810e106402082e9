"""The write load of the simulated-zone scenarios (``split_scenario.py``, ``zones_scenario.py``):
writers that keep writing while hosts move or die, and where Ray placed each named actor."""

from __future__ import annotations

import asyncio
import time

import ray

CALL_TIMEOUT = 30.0  # seconds one write may take before it counts as failed


class LoadWriter:
    """Writes step 0, 1, ... into one table until ``stop`` is set; a subclass's :meth:`step` says
    what one step writes and appends what was acknowledged to ``acked``.  A step that failed has
    an unknown outcome: counted in ``failures``, then (after ``backoff`` seconds) the next step
    writes under a new key."""

    backoff = 0.1

    def __init__(self, engine, table: str) -> None:
        self.engine, self.table = engine, table
        self.acked: list[str] = []
        self.failures = 0
        self.stop = False

    async def step(self, n: int) -> None:
        raise NotImplementedError

    async def write(self, command) -> None:
        await asyncio.wait_for(self.engine.write(self.table, command), CALL_TIMEOUT)

    async def run(self) -> None:
        n = 0
        while not self.stop:
            try:
                await self.step(n)
            except Exception:  # noqa: BLE001 - an unknown outcome
                self.failures += 1
                await asyncio.sleep(self.backoff)
            n += 1


async def start_load(writers: list[LoadWriter], warm: int) -> list[asyncio.Task]:
    """Start every writer; return once each has ``warm`` acknowledged writes."""
    tasks = [asyncio.get_running_loop().create_task(writer.run()) for writer in writers]
    while min(len(writer.acked) for writer in writers) < warm:
        await asyncio.sleep(0.05)
    return tasks


async def stop_load(writers: list[LoadWriter], tasks: list[asyncio.Task]) -> None:
    for writer in writers:
        writer.stop = True
    await asyncio.gather(*tasks)


async def took_more(writers: list[LoadWriter], since: list[int], more: int, timeout: float,
                    interval: float) -> bool:
    """Wait until every writer has ``more`` acknowledged writes than ``since`` (False at the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(writer.acked) >= n + more for writer, n in zip(writers, since)):
            return True
        await asyncio.sleep(interval)
    return False


def actor_nodes() -> dict[str, str]:
    """Each live named actor of the namespace: the id of the node it runs on."""
    out = {}
    for info in ray._private.state.actors().values():
        if info.get("State") == "ALIVE" and info.get("Name"):
            out[info["Name"]] = info["Address"]["NodeID"]
    return out
