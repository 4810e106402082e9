"""The SDK over HTTPS: a self-signed server certificate checked with ``verify=<CA bundle>``,
refused without it, accepted with ``verify=False`` (sync and async)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from dynamoray.actors.local import LocalEngine
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.sdk import EndpointConnectionError, RetryConfig
from dynamoray.gateway.server import ServerConfig
from dynamoray.gateway.tls import server_context
from tests.tls_certs import self_signed

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_async_client, make_client


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    cert, key = self_signed(tmp_path_factory.mktemp("sdk-tls"))
    engine = LocalEngine()
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION))
    background = BackgroundServer(gateway, ssl=server_context(str(cert), str(key))).start()
    yield background.endpoint, str(cert)
    background.stop()
    asyncio.run(engine.close())


def test_sync_client_verifies_the_certificate(tls_server):
    endpoint, cert = tls_server
    assert endpoint.startswith("https://")
    with make_client(endpoint, verify=cert) as client:
        table = client.create_table("sdk_tls", hash_key=("p", "S"))
        table.put({"p": "secure"})
        assert table.get({"p": "secure"}) == {"p": "secure"}
    with make_client(endpoint, verify=False) as client:
        assert "sdk_tls" in client.list_tables()
    with make_client(endpoint, retry=RetryConfig(max_attempts=1)) as client:  # the system's CAs
        with pytest.raises(EndpointConnectionError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            client.list_tables()


def test_async_client_verifies_the_certificate(tls_server):
    endpoint, cert = tls_server

    async def run():
        async with make_async_client(endpoint, verify=cert) as client:
            await client.table("sdk_tls").put({"p": "async secure"})
            got = await client.table("sdk_tls").get({"p": "async secure"})
        async with make_async_client(endpoint, verify=False) as client:
            listed = await client.list_tables()
        async with make_async_client(endpoint, retry=RetryConfig(max_attempts=1)) as client:
            with pytest.raises(EndpointConnectionError):
                await client.list_tables()
        return got, listed

    got, listed = asyncio.run(run())
    assert got == {"p": "async secure"} and "sdk_tls" in listed
