"""Table forks (a dynamoray extension) through the admin API, then boto3 on both tables."""

import time

import pytest

from dynamoray.gateway.admin_client import AdminClient, AdminError

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, create, unique
from .test_backups import items_of, put, wait_active


@pytest.fixture(scope="module")
def admin(server):
    return AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY, REGION)


def test_a_fork_equals_its_source_at_the_offsets_then_both_diverge(ddb, admin):
    source, fork = create(ddb, [("p", "S", "HASH")]), unique("fork")
    put(ddb, source, "a", v="1")
    put(ddb, source, "b", v="1")
    offsets = admin.call("DescribeTableOffsets", TableName=source)["Offsets"]
    assert len(offsets) == 4  # one per shard
    put(ddb, source, "a", v="2")
    put(ddb, source, "c", v="1")
    ddb.delete_item(TableName=source, Key={"p": {"S": "b"}})

    answer = admin.call("ForkTable", SourceTableName=source, TargetTableName=fork, AtOffsets=offsets)
    assert answer["ForkOffsets"] == offsets
    assert answer["TableDescription"]["TableName"] == fork
    assert answer["TableDescription"]["TableStatus"] == "CREATING"
    described = wait_active(ddb, fork)
    assert described["RestoreSummary"]["SourceTableArn"].endswith(f":table/{source}")
    assert {k: v["v"]["S"] for k, v in items_of(ddb, fork).items()} == {"a": "1", "b": "1"}

    put(ddb, fork, "f", v="fork")
    put(ddb, source, "s", v="source")
    ddb.delete_item(TableName=fork, Key={"p": {"S": "a"}})
    assert {k: v["v"]["S"] for k, v in items_of(ddb, fork).items()} == {"b": "1", "f": "fork"}
    assert {k: v["v"]["S"] for k, v in items_of(ddb, source).items()} == {"a": "2", "c": "1", "s": "source"}
    assert admin.call("DescribeRestore", TableName=fork)["Restore"]["Phase"] == "DONE"


def test_a_fork_at_an_instant(ddb, admin):
    source, fork = create(ddb, [("p", "S", "HASH")]), unique("fork")
    put(ddb, source, "a", v="1")
    time.sleep(0.02)
    instant = time.time()
    time.sleep(0.02)
    put(ddb, source, "a", v="2")
    put(ddb, source, "b", v="1")
    admin.call("ForkTable", SourceTableName=source, TargetTableName=fork, AtTime=instant)
    described = wait_active(ddb, fork)
    assert {k: v["v"]["S"] for k, v in items_of(ddb, fork).items()} == {"a": "1"}
    assert abs(described["RestoreSummary"]["RestoreDateTime"].timestamp() - instant) < 0.002


def test_a_fork_at_an_iso_instant_before_any_write_is_empty(ddb, admin):
    source, fork = create(ddb, [("p", "S", "HASH")]), unique("fork")
    put(ddb, source, "a", v="1")
    answer = admin.call("ForkTable", SourceTableName=source, TargetTableName=fork, AtTime="2001-01-01T00:00:00Z")
    assert len(answer["ForkOffsets"]) == 4
    wait_active(ddb, fork)
    assert items_of(ddb, fork) == {}


@pytest.mark.parametrize("point, message", [
    ({}, "Invalid fork point: give exactly one of AtTime and AtOffsets"),
    ({"AtTime": 1, "AtOffsets": [0]}, "Invalid fork point: give exactly one of AtTime and AtOffsets"),
    ({"AtTime": 4e9}, "Invalid fork point: AtTime is in the future"),
    ({"AtTime": "yesterday"}, "Invalid fork point: AtTime 'yesterday' is not an ISO-8601 date-time"),
    ({"AtOffsets": [0, 0]}, "Invalid fork point: AtOffsets has 2 offsets but the table has 4 shards"),
    ({"AtOffsets": [-1, -1, -1, 99]}, "Invalid fork point: offset 99 of shard 3 is not in the log"),
    ({"AtOffsets": "0"}, "Invalid fork point: AtOffsets must be a list of integers"),
])
def test_fork_points_are_checked(ddb, admin, point, message):
    source, fork = create(ddb, [("p", "S", "HASH")]), unique("fork")
    with pytest.raises(AdminError) as info:
        admin.call("ForkTable", SourceTableName=source, TargetTableName=fork, **point)
    assert info.value.code == "ValidationException"
    assert info.value.message.startswith(message)
    assert fork not in ddb.list_tables()["TableNames"]


def test_fork_errors_name_the_tables(ddb, admin):
    source, other = create(ddb, [("p", "S", "HASH")]), create(ddb, [("p", "S", "HASH")])
    with pytest.raises(AdminError) as info:
        admin.call("ForkTable", SourceTableName=source, TargetTableName=other, AtTime=time.time())
    assert (info.value.code, info.value.message) == ("TableAlreadyExistsException", f"Table already exists: {other}")
    missing = unique("missing")
    with pytest.raises(AdminError) as info:
        admin.call("ForkTable", SourceTableName=missing, TargetTableName=unique("fork"), AtTime=time.time())
    assert (info.value.code, info.value.message) == ("TableNotFoundException", f"Table not found: {missing}")
    with pytest.raises(AdminError) as info:
        admin.call("ForkTable", SourceTableName="ab", TargetTableName=unique("fork"), AtTime=time.time())
    assert info.value.code == "ValidationException"
    assert "at 'sourceTableName' failed to satisfy constraint" in info.value.message


def test_the_sdk_forks_at_offsets_and_now(server, ddb):
    from dynamoray.gateway import Client

    source = create(ddb, [("p", "S", "HASH")])
    put(ddb, source, "a", v="1")
    with Client(server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION) as client:
        offsets = client.table_offsets(source)
        put(ddb, source, "b", v="1")
        then, now = unique("fork"), unique("fork")
        assert client.fork_table(source, then, offsets=offsets)["TableStatus"] == "ACTIVE"
        assert client.fork_table(source, now)["TableStatus"] == "ACTIVE"
    assert set(items_of(ddb, then)) == {"a"}
    assert set(items_of(ddb, now)) == {"a", "b"}


def test_the_cli_forks_and_prints_offsets(server, ddb, monkeypatch, capsys):
    from dynamoray.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    source, fork = create(ddb, [("p", "S", "HASH")]), unique("fork")
    put(ddb, source, "a", v="1")
    assert main(["fork", source, "--offsets-now", "--endpoint", server.endpoint]) == 0
    offsets = capsys.readouterr().out.strip().splitlines()[-1]  # (after any server log lines)
    put(ddb, source, "b", v="1")
    assert main(["fork", source, fork, f"--offsets={offsets}", "--endpoint", server.endpoint]) == 0
    out = capsys.readouterr().out
    assert f"{fork}: a fork of {source} at offsets {offsets}" in out
    assert f"{fork}: ACTIVE, 1 items" in out
    assert set(items_of(ddb, fork)) == {"a"}
    assert main(["fork", source, fork, "--endpoint", server.endpoint]) == 1
    assert f"TableAlreadyExistsException: Table already exists: {fork}" in capsys.readouterr().err
