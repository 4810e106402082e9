"""Global tables' replicators as Ray actors (``actors/replicator_worker.py``): on the Ray engine each
(table, target region) replicator is a named actor, not a task of the gateway.  Its process is
killed with SIGKILL in the middle of a write load: Ray restarts it, it resumes from its checkpoint,
and the other region ends with every item (nothing lost)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from .global_regions import items, replica_active, wait_for
from .ray_regions import EAST, WEST, ray_and_local_regions

TOTAL = 240


@pytest.fixture(scope="module")
def regions(ray_session, tmp_path_factory):
    with ray_and_local_regions(tmp_path_factory.mktemp("ray-workers")) as found:
        yield found


def worker_pid(ray, name: str) -> int:
    return ray.get(ray.get_actor(name, namespace="dynamoray").pid.remote(), timeout=60)


def test_a_replicator_actor_killed_mid_load_is_restarted_and_loses_nothing(regions, ray_session):
    ray = ray_session
    east, west = regions[EAST].client(), regions[WEST].client()
    east.create_table(TableName="killed", KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                      BillingMode="PAY_PER_REQUEST")
    east.put_item(TableName="killed", Item={"p": {"S": "before"}, "v": {"S": "0"}})
    east.update_table(TableName="killed", ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    wait_for(lambda: replica_active(east, "killed", WEST), timeout=60)
    replicator = regions[EAST].service.replicators[("killed", WEST)]
    assert type(replicator).__name__ == "RayReplicator"  # an actor on the Ray engine, not a task
    first = worker_pid(ray, replicator.name)
    assert first != os.getpid()
    wait_for(lambda: "before" in items(west, "killed"), timeout=60)  # the backfill went through the actor

    half = threading.Event()

    def load() -> None:
        for i in range(TOTAL):
            east.put_item(TableName="killed", Item={"p": {"S": f"k{i}"}, "v": {"S": str(i)}})
            if i == TOTAL // 2:
                half.set()

    writer = threading.Thread(target=load)
    writer.start()
    assert half.wait(120)
    os.kill(first, signal.SIGKILL)  # mid-load
    writer.join(300)
    assert not writer.is_alive()
    expected = {k: i["v"]["S"] for k, i in items(east, "killed").items()}
    assert len(expected) == TOTAL + 1
    wait_for(lambda: {k: i["v"]["S"] for k, i in items(west, "killed").items()} == expected, timeout=120)
    second = wait_for(lambda: worker_pid(ray, replicator.name), timeout=60)
    assert second != first  # Ray restarted the worker in a new process
    wait_for(lambda: replicator.stats.pending == 0 and len(replicator.pids) >= 2, timeout=60)
    # and it still replicates what is written after the restart
    east.put_item(TableName="killed", Item={"p": {"S": "after"}, "v": {"S": "1"}})
    wait_for(lambda: "after" in items(west, "killed"), timeout=60)
