"""A gateway on the local engine over a durable embedded log in a temporary directory, and SDK
clients signed for it.  One server per session; tests name their tables uniquely."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotStore
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.sdk import AsyncClient, Client, RetryConfig
from dynamoray.gateway.server import ServerConfig

ACCESS_KEY, SECRET_KEY, REGION = "AKIDSDKTEST", "sdk-test-secret", "us-east-1"


@pytest.fixture(scope="session")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    data = tmp_path_factory.mktemp("sdk-data")
    engine = LocalEngine(EmbeddedLog(data / "log"), snapshots=SnapshotStore(data / "snapshots"))
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION))
    background = BackgroundServer(gateway).start()
    yield background
    background.stop()
    asyncio.run(engine.close())


def make_client(endpoint: str, **kwargs: Any) -> Client:
    return Client(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, **kwargs)


def make_async_client(endpoint: str, **kwargs: Any) -> AsyncClient:
    return AsyncClient(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, **kwargs)


@pytest.fixture(scope="session")
def client(sdk_server: BackgroundServer) -> Iterator[Client]:
    with make_client(sdk_server.endpoint, retry=RetryConfig(max_attempts=1)) as c:
        yield c


def unique(prefix: str = "sdk") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def table_s(client: Client) -> str:
    """Hash key ``p`` (S)."""
    name = unique("s")
    client.create_table(name, hash_key=("p", "S"))
    return name


@pytest.fixture(scope="session")
def table_sn(client: Client) -> str:
    """Hash key ``p`` (S), range key ``c`` (N)."""
    name = unique("sn")
    client.create_table(name, hash_key=("p", "S"), range_key=("c", "N"))
    return name
