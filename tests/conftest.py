"""Session-wide fixtures: one local Ray for the whole test run, started only if a test needs it."""

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
