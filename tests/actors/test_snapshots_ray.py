"""Snapshots on the Ray engine: a partition host restarted with the cluster reopens a table from its
snapshot and replays only the tail (``info()["replayed"]``)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from dynamoray.actors.snapshots import SnapshotPolicy

from .conftest import start_cluster
from .helpers import description, key, put


def test_a_new_cluster_on_the_same_data_reopens_tables_from_their_snapshots(ray_session, tmp_path):
    policy = SnapshotPolicy(every_events=100)
    # one shard, so the snapshot offsets are those of the 450 writes (multi-shard snapshots and
    # reopening: tests/actors/test_shards.py)
    cluster, engine = start_cluster(tmp_path, snapshot_policy=policy, shards=1)
    try:
        async def write():
            await engine.create_table(description("t"))
            for start in range(0, 450, 50):
                await asyncio.gather(*(engine.write("t", put(f"k{i % 200}", v=str(i)))
                                       for i in range(start, start + 50)))

        asyncio.run(write())
        # snapshots are written off the write path: let the last one land before the shutdown
        newest = _wait_for_snapshot_at(tmp_path / "snapshots", 400)
    finally:
        cluster.shutdown()
    assert newest >= 400  # next to the log: <data>/snapshots
    cluster, engine = start_cluster(tmp_path, snapshot_policy=policy, shards=1)
    try:
        item = asyncio.run(engine.get("t", key("k49"), consistent=True))  # the leader, on a host
        replayed = sum(actor.call_sync("info")["replayed"] for actor in cluster.hosts)
    finally:
        cluster.shutdown()
    assert item["v"] == {"S": "449"}
    assert 0 < replayed < 100 + 10  # the tail after the newest snapshot, not the 450 writes


def _wait_for_snapshot_at(root: Path, offset: int, timeout: float = 60.0) -> int:
    """The newest snapshot offset, once one at or past ``offset`` exists (bounded wait)."""
    deadline = time.monotonic() + timeout
    newest = -1
    while time.monotonic() < deadline:
        offsets = [int(p.stem) for p in root.rglob("*.snap") if p.stem.isdigit()]
        newest = max(offsets, default=-1)
        if newest >= offset:
            break
        time.sleep(0.05)
    return newest
