"""``dynamoray usage`` and ``dynamoray audit`` against a live gateway (local engine), and the
``dynamoray serve`` switches of issue 10."""

from __future__ import annotations

import asyncio
import json

import boto3
import pytest

from dynamoray.actors.local import LocalEngine
from dynamoray.cli import build_parser, main
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

ACCESS, SECRET = "AKIDCAPACITYCLI0", "capacity-cli-secret"


@pytest.fixture(scope="module")
def live():
    engine = LocalEngine(shards=2)
    asyncio.run(engine.open())
    server = BackgroundServer(build_gateway(engine, ACCESS, SECRET, ServerConfig())).start()
    ddb = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=ACCESS, aws_secret_access_key=SECRET)
    ddb.create_table(TableName="cli_songs", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    for n in range(4):
        ddb.put_item(TableName="cli_songs", Item={"p": {"S": f"k{n}"}})
    ddb.get_item(TableName="cli_songs", Key={"p": {"S": "k0"}}, ConsistentRead=True)
    yield server, ddb
    server.stop()
    asyncio.run(engine.close())


@pytest.fixture
def root(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def test_usage_prints_a_priced_csv_or_json(live, root, capsys, tmp_path):
    server, _ = live
    assert main(["usage", "--endpoint", server.endpoint, "--table", "cli_songs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(",")[:5] == ["day", "table", "billing_mode", "read_request_units", "write_request_units"]
    row = dict(zip(lines[0].split(","), lines[1].split(",")))
    assert (row["table"], row["read_request_units"], row["write_request_units"]) == ("cli_songs", "1", "4")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"write_request_units_per_million": 1_000_000, "currency": "EUR"}))
    assert main(["usage", "--endpoint", server.endpoint, "--table", "cli_songs", "--format", "json",
                 "--prices", str(prices)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["PriceSheet"]["currency"] == "EUR" and report["Totals"]["cost"] >= 4.0
    prices.write_text(json.dumps({"nonsense": 1}))
    assert main(["usage", "--endpoint", server.endpoint, "--prices", str(prices)]) == 1
    assert "unknown price sheet members: nonsense" in capsys.readouterr().err


def test_audit_prints_records_and_switches_data_plane_auditing(live, root, capsys):
    server, ddb = live
    assert main(["audit", "--endpoint", server.endpoint, "--table", "cli_songs"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["eventName"] for r in records] == ["CreateTable"]
    assert main(["audit", "--endpoint", server.endpoint, "--table", "cli_songs", "--data-plane", "on"]) == 0
    assert json.loads(capsys.readouterr().out)["DataPlaneTables"] == ["cli_songs"]
    ddb.delete_item(TableName="cli_songs", Key={"p": {"S": "k3"}})
    assert main(["audit", "--endpoint", server.endpoint, "--event-name", "DeleteItem", "--user", ACCESS]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["eventName"], r["requestParameters"]["key"]) for r in records] == [("DeleteItem", {"p": {"S": "k3"}})]
    assert main(["audit", "--endpoint", server.endpoint, "--data-plane", "off"]) == 1
    assert "--data-plane needs --table" in capsys.readouterr().err


def test_serve_switches_build_the_telemetry_options():
    from dynamoray.capacity_cli import telemetry_options

    args = build_parser().parse_args(["serve", "--no-throttling", "--no-adaptive-capacity", "--billing-switch-interval",
                                      "86400", "--no-audit", "--usage-flush", "5"])
    options = telemetry_options(args)
    assert (options.throttling, options.throttle.adaptive, options.switch_interval, options.audit,
            options.usage, options.usage_flush) == (False, False, 86400.0, False, True, 5.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--audit-flush", "-1"])
