"""Hooks through the admin API, the SDK (``dynamoray.hooks``) and the CLI, on every engine, and across
a restart of ``dynamoray serve``."""

from __future__ import annotations

import base64
import pickle
import time
from collections import defaultdict

import pytest

from dynamoray import cli
from dynamoray.gateway.admin_client import AdminClient, AdminError
from dynamoray.hooks import HooksClient, hook

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, create, unique


def totals_function(totals: str):
    @hook(table=None, batch_size=25)
    def totals_hook(records, ctx):
        for record in records:
            body = record["dynamodb"]
            for image, sign in ((body.get("OldImage"), -1), (body.get("NewImage"), 1)):
                if image:
                    ctx.update_item(TableName=totals, Key={"customer": image["customer"]},
                                    UpdateExpression="ADD amount_sum :a, orders_count :n",
                                    ExpressionAttributeValues={":a": {"N": str(sign * int(image["amount"]["N"]))},
                                                               ":n": {"N": str(sign)}})

    return totals_hook


def expected(ddb, orders: str) -> dict:
    out = defaultdict(lambda: [0, 0])
    for item in ddb.scan(TableName=orders, ConsistentRead=True)["Items"]:
        out[item["customer"]["S"]][0] += int(item["amount"]["N"])
        out[item["customer"]["S"]][1] += 1
    return {c: tuple(v) for c, v in out.items()}


def actual(ddb, totals: str) -> dict:
    items = ddb.scan(TableName=totals, ConsistentRead=True)["Items"]
    out = {i["customer"]["S"]: (int(i["amount_sum"]["N"]), int(i["orders_count"]["N"])) for i in items}
    return {c: v for c, v in out.items() if v != (0, 0)}


def eventually(check, timeout: float = 90.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval)


def write_orders(ddb, orders: str, start: int, count: int) -> None:
    for i in range(start, start + count):
        ddb.put_item(TableName=orders, Item={"id": {"S": f"o{i % 40}"}, "customer": {"S": f"c{i % 6}"},
                                             "amount": {"N": str(i)}})
        if i % 9 == 0:
            ddb.delete_item(TableName=orders, Key={"id": {"S": f"o{(i * 7) % 40}"}})


@pytest.fixture
def hooks_client(server):
    return HooksClient(server.endpoint, ACCESS_KEY, SECRET_KEY, REGION)


def test_a_deployed_hook_keeps_a_totals_table_exact(ddb, hooks_client):
    orders, totals, name = create(ddb, [("id", "S", "HASH")]), create(ddb, [("customer", "S", "HASH")]), unique("h")
    write_orders(ddb, orders, 0, 30)  # before the deploy: TRIM_HORIZON sees them
    shown = hooks_client.deploy(totals_function(totals), table=orders, name=name)
    assert (shown["HookName"], shown["TableName"], shown["BatchSize"], shown["ExactlyOnce"]) == (name, orders, 25, True)
    write_orders(ddb, orders, 30, 60)
    eventually(lambda: actual(ddb, totals) == expected(ddb, orders))
    assert name in [h["HookName"] for h in hooks_client.list()]
    members = hooks_client.describe(name)["Members"]
    assert len(members) == 1 and members[0]["Records"] > 0
    hooks_client.remove(name)
    assert name not in [h["HookName"] for h in hooks_client.list()]
    ddb.put_item(TableName=orders, Item={"id": {"S": "late"}, "customer": {"S": "c0"}, "amount": {"N": "5"}})
    time.sleep(0.5)
    assert actual(ddb, totals) != expected(ddb, orders)  # a removed hook processes nothing more


def test_the_cli_deploys_lists_reads_dead_letters_and_removes(ddb, server, tmp_path, monkeypatch, capsys):
    orders, name = create(ddb, [("id", "S", "HASH")]), unique("cli")
    (tmp_path / "failing_hooks.py").write_text(
        "from dynamoray.hooks import hook\n\n"
        "@hook(table='unused', maximum_retry_attempts=1)\n"
        "def refuse(records, ctx):\n"
        "    raise RuntimeError('refused ' + str(len(records)))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    base = ["hooks", "--endpoint", server.endpoint]

    def run(*args: str) -> str:
        capsys.readouterr()
        assert cli.main([*base, *args]) == 0
        out = capsys.readouterr().out  # the server's log lines (same process) come first
        lines = out.splitlines()
        first = next(i for i, line in enumerate(lines) if line[:1] in "{[")
        return "\n".join(lines[first:])

    out = run("deploy", "failing_hooks:refuse", "--table", orders, "--name", name, "--batch-size", "10")
    assert f'"HookName": "{name}"' in out and '"MaximumRetryAttempts": 1' in out
    assert name in run("list")
    ddb.put_item(TableName=orders, Item={"id": {"S": "x"}, "customer": {"S": "c"}, "amount": {"N": "1"}})

    def letters():
        import json

        return json.loads(run("dlq", name))["DeadLetters"]

    (entry,) = eventually(letters)
    assert entry["error"]["type"] == "RuntimeError" and entry["error"]["message"] == "refused 1"
    assert entry["attempts"] == 2 and entry["records"][0]["dynamodb"]["Keys"] == {"id": {"S": "x"}}
    run("remove", name)
    assert name not in run("list")
    capsys.readouterr()
    assert cli.main([*base, "describe", name]) == 1
    assert f"ResourceNotFoundException: Hook not found: {name}" in capsys.readouterr().err


def test_admin_api_errors(server, ddb):
    admin = AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY, REGION)
    callable_ = base64.b64encode(pickle.dumps(len)).decode()
    with pytest.raises(AdminError) as raised:
        admin.call("DeployHook", HookName="h", TableName="no_such_table", Function=callable_)
    assert raised.value.code == "ResourceNotFoundException"
    with pytest.raises(AdminError) as raised:
        admin.call("DeployHook", HookName="h", TableName="t_x", BatchSize=0, Function="gAR9lC4=")
    assert (raised.value.code, raised.value.message) == (
        "ValidationException", "1 validation error detected: Value '0' at 'batchSize' failed to satisfy "
                               "constraint: Member must have value greater than or equal to 1")
    with pytest.raises(AdminError) as raised:
        admin.call("DescribeHook", HookName="nope")
    assert (raised.value.code, raised.value.message) == ("ResourceNotFoundException", "Hook not found: nope")
    with pytest.raises(AdminError) as raised:
        admin.call("GetHookDeadLetters", HookName="nope")
    assert raised.value.code == "ResourceNotFoundException"
    orders = create(ddb, [("id", "S", "HASH")])
    with pytest.raises(AdminError) as raised:  # a pickle of a dict: not a function
        admin.call("DeployHook", HookName="h", TableName=orders, Function="gAR9lC4=")
    assert raised.value.code == "ValidationException" and "could not be loaded" in raised.value.message


def test_hooks_survive_a_restart_of_the_server(tmp_path):
    """``dynamoray serve`` (Ray engine): deploy, write, stop; start again: the hook is back and
    resumes from its checkpoint (every change counted once)."""
    from dynamoray.gateway.runner import free_port

    from ..actors.test_serve_ray import start, stop
    from .conftest import make_client

    data, port = tmp_path / "data", free_port()
    endpoint = f"http://127.0.0.1:{port}"
    orders = totals = None
    for round_ in range(2):
        proc = start(data, port, "--engine", "ray")
        try:
            ddb = make_client(endpoint)
            if round_ == 0:
                orders = create(ddb, [("id", "S", "HASH")], "orders")
                totals = create(ddb, [("customer", "S", "HASH")], "totals")
                HooksClient(endpoint, ACCESS_KEY, SECRET_KEY, REGION).deploy(
                    totals_function(totals), table=orders, name="totals")
            write_orders(ddb, orders, round_ * 50, 50)
            eventually(lambda: actual(ddb, totals) == expected(ddb, orders))  # noqa: B023  (called before the loop moves on)
            assert [h["HookName"] for h in HooksClient(endpoint, ACCESS_KEY, SECRET_KEY, REGION).list()] == ["totals"]
        finally:
            assert stop(proc) == 0
