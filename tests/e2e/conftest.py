"""End-to-end fixtures: a gateway on a free loopback port and boto3 clients signed for it.

Tables are named by key shape (``table_s``: hash key ``p`` of type S; ``table_sn``: hash ``p`` S and
range ``c`` N; ...), created once per session and emptied of nothing: tests use unique keys.

The ``server`` fixture is parametrized by engine, so the whole suite runs twice: on ``local`` (the
in-process ``LocalEngine``) and on ``ray`` (a ``RayEngine`` over a catalog actor and two partition
host actors on the session's Ray, with the embedded log in a temporary directory), and a third time
on ``local-kafka`` (the ``LocalEngine`` on a ``KafkaLog`` against the session's Tansu broker).
Every engine gives its tables ``SHARDS`` shards (log partitions), so the whole suite runs on
multi-shard tables.
"""

from __future__ import annotations

import asyncio
import uuid

import boto3
import pytest
from botocore.config import Config

from dynamoray.actors.local import LocalEngine
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

ACCESS_KEY, SECRET_KEY = "AKIDTESTTESTTEST", "test-secret-key"
SHARDS = 4  # of every table the e2e suite creates
REGION = "us-east-1"
TTL_INTERVAL = 0.5  # the TTL sweeper's pause between rounds (tests/e2e/test_ttl.py)


@pytest.fixture(scope="session", params=["local", "ray", "local-kafka"])
def server(request, tmp_path_factory):
    cluster = None
    if request.param == "ray":
        request.getfixturevalue("ray_session")
        from dynamoray.actors.cluster import Cluster, ClusterConfig

        log_dir = tmp_path_factory.mktemp("e2e-log")
        cluster = Cluster(ClusterConfig(log_dir=str(log_dir), prefix=f"e2e-{uuid.uuid4().hex[:8]}", shards=SHARDS))
        engine = cluster.start()
    elif request.param == "local-kafka":
        from dynamoray.events.kafka import KafkaLog
        from tests.kafka_broker import log_config

        engine = LocalEngine(KafkaLog(log_config(request.getfixturevalue("tansu"))), shards=SHARDS)
    else:
        engine = LocalEngine(shards=SHARDS)
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                            ttl_interval=TTL_INTERVAL)
    from dynamoray.gateway import accelerator  # the accelerator's port (docs/accelerator.md's examples)

    dax = accelerator.attach(gateway)
    background = BackgroundServer(gateway).start()
    background.dax_endpoint = background.listen(gateway=dax)
    yield background
    background.stop()
    asyncio.run(engine.close())
    if cluster is not None:
        cluster.shutdown()


def make_client(endpoint: str, service: str = "dynamodb", secret: str = SECRET_KEY, access: str = ACCESS_KEY):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def ddb(server):
    return make_client(server.endpoint)


@pytest.fixture(scope="session")
def resource(server):
    return boto3.resource(
        "dynamodb", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
    )


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def create(ddb, key_schema: list[tuple[str, str, str]], name: str | None = None) -> str:
    name = name or unique()
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": n, "KeyType": kt} for n, _, kt in key_schema],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t, _ in key_schema],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture(scope="session")
def table_s(ddb):
    return create(ddb, [("p", "S", "HASH")])


@pytest.fixture(scope="session")
def table_sn(ddb):
    return create(ddb, [("p", "S", "HASH"), ("c", "N", "RANGE")])


@pytest.fixture(scope="session")
def table_ss(ddb):
    return create(ddb, [("p", "S", "HASH"), ("c", "S", "RANGE")])


@pytest.fixture(scope="session")
def table_sb(ddb):
    return create(ddb, [("p", "S", "HASH"), ("c", "B", "RANGE")])
