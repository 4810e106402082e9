"""Session-wide fixtures, each started only if a test needs it: one local Ray for the whole test
run, and one Tansu broker (a real Kafka-protocol broker, ``tests/kafka_broker.py``)."""

from __future__ import annotations

import os

import pytest

# Before anything imports ray: a local Ray binds to 127.0.0.1 only and sends no usage stats.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_session():
    """A private local Ray (2 CPUs, no dashboard), shut down with ``ray.shutdown()`` at the end."""
    import ray

    from dynamoray.actors.cluster import init_local_ray

    init_local_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def tansu(tmp_path_factory):
    """The bootstrap address of a Tansu broker (memory storage), stopped by PID at the end."""
    from tests.kafka_broker import start_tansu, stop_tansu

    proc, bootstrap = start_tansu(tmp_path_factory.mktemp("tansu") / "tansu.log")
    yield bootstrap
    stop_tansu(proc)
