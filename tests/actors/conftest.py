"""Fixtures of the Ray-backed actor tests: a cluster of actors on the session's Ray."""

from __future__ import annotations

import asyncio
import uuid

import pytest


SHARDS = 4  # of every table the actor tests create (unless a test says otherwise)


def start_cluster(tmp_path, **settings):
    from dynamoray.actors.cluster import Cluster, ClusterConfig

    settings.setdefault("shards", SHARDS)
    config = ClusterConfig(log_dir=str(tmp_path / "log"), prefix=f"test-{uuid.uuid4().hex[:8]}", **settings)
    cluster = Cluster(config)
    engine = cluster.start()
    asyncio.run(engine.open())
    return cluster, engine


@pytest.fixture
def cluster(ray_session, tmp_path):
    """A fresh cluster (catalog + 2 hosts, embedded log in ``tmp_path``, 4 shards a table) and its RayEngine."""
    cluster, engine = start_cluster(tmp_path)
    yield cluster, engine
    asyncio.run(engine.close())
    cluster.shutdown()
