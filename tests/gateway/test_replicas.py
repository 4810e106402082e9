"""Gateway replicas' plumbing (gateway/replicas.py, the reuse-port listener of gateway/http.py);
the processes themselves are tested end to end in tests/e2e/test_gateway_replicas.py."""

import asyncio

import pytest
import requests

from dynamoray.gateway import replicas
from dynamoray.gateway.http import HttpResponse, HttpServer
from dynamoray.gateway.runner import free_port
from dynamoray.gateway.telemetry import TelemetryOptions


def test_the_local_engine_refuses_several_gateways():
    with pytest.raises(ValueError) as info:
        replicas.check(2, "local")
    assert str(info.value) == replicas.LOCAL_ENGINE
    replicas.check(1, "local")
    replicas.check(3, "ray")
    with pytest.raises(ValueError):
        replicas.check(0, "ray")
    replicas.check(2, "ray", "regions.yaml")  # global tables with several gateways (the first replicates)
    replicas.check(1, "ray", "regions.yaml")


def test_the_cli_refuses_several_gateways_on_the_local_engine(capsys):
    from dynamoray.cli import main

    with pytest.raises(SystemExit) as info:
        main(["serve", "--engine", "local", "--gateways", "2"])
    assert info.value.code == 2
    assert replicas.LOCAL_ENGINE in capsys.readouterr().err


def test_replicas_run_no_once_per_server_service():
    settings = {"host": "h", "port": 1, "telemetry": TelemetryOptions(audit_flush=2.0), "ttl_interval": 5.0,
                "retention_interval": 60.0, "regions_file": "r.yaml", "dax_port": 8111, "dax_settings": object()}
    out = replicas.replica_settings(settings)
    assert (out["ttl_interval"], out["retention_interval"], out["dax_port"]) == (None,) * 3
    assert out["regions_file"] == "r.yaml"  # every process answers the replication endpoint
    assert out["telemetry"].auto_scaling is False and out["telemetry"].storage_interval == float("inf")
    assert out["telemetry"].audit_flush == 2.0 and out["telemetry"].usage  # audit and usage stay, per process
    assert replicas.replica_settings({"telemetry": None})["telemetry"].auto_scaling is False
    assert settings["ttl_interval"] == 5.0  # not mutated


def test_a_usage_meter_of_a_replica_never_samples_storage():
    from dynamoray.gateway.usage import UsageMeter

    async def source():
        raise AssertionError("not opened")

    assert UsageMeter(None, source, storage_interval=float("inf")).sample_due() is False
    assert UsageMeter(None, source, storage_interval=3600).sample_due() is True


class _Gateway:
    def __init__(self):
        self.authorizer = type("A", (), {"store": type("S", (), {"follow_interval": None})()})()
        self.hooks = object()
        self.services = [object(), self.hooks]


def test_configure_makes_the_iam_store_follow_and_drops_hooks_from_replicas():
    alone = _Gateway()
    replicas.configure(alone, 1, None)
    assert alone.authorizer.store.follow_interval is None and alone.hooks in alone.services
    first = _Gateway()
    replicas.configure(first, 2, None)
    assert first.authorizer.store.follow_interval == replicas.IAM_FOLLOW and first.hooks in first.services
    other = _Gateway()
    replicas.configure(other, 2, replicas.ReplicaRole(1, "127.0.0.1:1", 2))
    assert other.authorizer.store.follow_interval == replicas.IAM_FOLLOW
    assert other.hooks not in other.services and len(other.services) == 1


def test_two_listeners_share_a_port_with_reuse_port_and_name_themselves():
    port = free_port()

    async def handler(request):
        return HttpResponse(200, b"{}")

    async def scenario():
        servers = []
        for index in range(2):
            server = HttpServer(handler, max_body=1024)
            replicas.configure_listener(server, 2, replicas.ReplicaRole(index, "x", 2) if index else None)
            await server.start("127.0.0.1", port)
            servers.append(server)
        answers = set()
        for _ in range(40):  # each new connection goes to one of them
            response = await asyncio.to_thread(requests.get, f"http://127.0.0.1:{port}/", timeout=5)
            answers.add(response.headers["x-dynamoray-gateway"].split("/")[0])
        lone = HttpServer(handler, max_body=1024)  # a listener without the option cannot join them
        with pytest.raises(OSError):
            await lone.start("127.0.0.1", port)
        for server in servers:
            await server.close()
        return answers

    assert asyncio.run(scenario()) == {"0", "1"}


def test_one_gateway_sends_no_replica_header():
    async def handler(request):
        return HttpResponse(200, b"{}")

    async def scenario():
        server = HttpServer(handler, max_body=1024)
        replicas.configure_listener(server, 1, None)
        host, port = await server.start("127.0.0.1", 0)
        response = await asyncio.to_thread(requests.get, f"http://{host}:{port}/", timeout=5)
        await server.close()
        return response

    response = asyncio.run(scenario())
    assert response.status_code == 200 and "x-dynamoray-gateway" not in response.headers
