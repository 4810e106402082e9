"""Time to live through boto3: UpdateTimeToLive/DescribeTimeToLive and their errors, expired items
deleted by the sweeper (the shared server runs it every ``TTL_INTERVAL``), the stream record of a
TTL deletion, and a restarted server that keeps the setting and goes on sweeping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from dynamoray.gateway.runner import free_port

from .conftest import ACCESS_KEY, SECRET_KEY, make_client, unique

DEADLINE = 60.0  # seconds a deletion may take here (the sweeper pauses TTL_INTERVAL between rounds)


def error_of(info) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def wait_until(predicate, deadline: float = DEADLINE):
    stop = time.monotonic() + deadline
    while True:
        value = predicate()
        if value or time.monotonic() > stop:
            return value
        time.sleep(0.1)


def new_table(ddb, stream: bool = False) -> str:
    name = unique("ttl")
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", **extra)
    return name


def enable(ddb, name: str, attribute: str = "exp") -> dict:
    return ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})


def keys_of(ddb, name: str) -> set[str]:
    return {i["p"]["S"] for i in ddb.scan(TableName=name, ConsistentRead=True)["Items"]}


def test_describe_and_update_time_to_live(ddb):
    name = new_table(ddb)
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    assert enable(ddb, name)["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    with pytest.raises(ClientError) as info:
        enable(ddb, name)
    assert error_of(info) == ("ValidationException", "TimeToLive is already enabled")
    for enabled in (True, False):
        with pytest.raises(ClientError) as info:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": "x"})
        assert error_of(info) == (
            "ValidationException", "TimeToLive is active on a different AttributeName: current AttributeName is exp")
    off = ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert off["TimeToLiveSpecification"] == {"Enabled": False, "AttributeName": "exp"}
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    with pytest.raises(ClientError) as info:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert error_of(info) == ("ValidationException", "TimeToLive is already disabled")
    enable(ddb, name, "other")  # another attribute once disabled (no one-change-per-hour rule here)
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["AttributeName"] == "other"


def test_time_to_live_of_a_missing_table(ddb):
    for call in (lambda: ddb.describe_time_to_live(TableName="no_such_ttl_table"), lambda: enable(ddb, "no_such_ttl_table")):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_expired_items_are_deleted_and_the_others_stay(ddb):
    name = new_table(ddb)
    now = int(time.time())
    items = {
        "past": {"N": str(now - 60)}, "just_past": {"N": str(now - 1)}, "fraction": {"N": f"{now - 5}.25"},
        "future": {"N": str(now + 3600)}, "text": {"S": str(now - 60)}, "set": {"NS": [str(now - 60)]},
        "ancient": {"N": str(now - 6 * 365 * 86400)}, "millis": {"N": str((now - 60) * 1000)},
    }
    for key, value in items.items():
        ddb.put_item(TableName=name, Item={"p": {"S": key}, "exp": value})
    ddb.put_item(TableName=name, Item={"p": {"S": "missing"}})
    # an expired item is an item like any other until it is deleted: here TTL is not even on yet
    assert ddb.get_item(TableName=name, Key={"p": {"S": "past"}}, ConsistentRead=True)["Item"]["exp"] == items["past"]
    time.sleep(1.0)  # a round or two of the sweeper: TTL off, nothing goes
    assert "past" in keys_of(ddb, name)
    enable(ddb, name)
    kept = {"future", "text", "set", "ancient", "millis", "missing"}
    assert wait_until(lambda: keys_of(ddb, name) == kept), keys_of(ddb, name)
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == len(kept)


def test_a_rewritten_or_disabled_item_is_not_deleted(ddb):
    name = new_table(ddb)
    now = int(time.time())
    for key in ("renewed", "cleared", "gone"):
        ddb.put_item(TableName=name, Item={"p": {"S": key}, "exp": {"N": str(now - 30)}})
    ddb.put_item(TableName=name, Item={"p": {"S": "renewed"}, "exp": {"N": str(now + 3600)}})
    ddb.update_item(TableName=name, Key={"p": {"S": "cleared"}}, UpdateExpression="REMOVE exp")
    enable(ddb, name)
    assert wait_until(lambda: keys_of(ddb, name) == {"renewed", "cleared"})
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    ddb.put_item(TableName=name, Item={"p": {"S": "after"}, "exp": {"N": str(now - 30)}})
    time.sleep(1.5)  # rounds of the sweeper pass: TTL is off
    assert keys_of(ddb, name) == {"renewed", "cleared", "after"}


def test_the_stream_record_of_a_ttl_deletion_names_the_service(ddb, server):
    streams = make_client(server.endpoint, "dynamodbstreams")
    name = new_table(ddb, stream=True)
    now = int(time.time())
    ddb.put_item(TableName=name, Item={"p": {"S": "user"}, "exp": {"N": str(now + 3600)}})
    ddb.delete_item(TableName=name, Key={"p": {"S": "user"}})
    ddb.put_item(TableName=name, Item={"p": {"S": "ttl"}, "exp": {"N": str(now - 10)}, "v": {"S": "x"}})
    enable(ddb, name)
    assert wait_until(lambda: keys_of(ddb, name) == set())
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    by_item: dict[str, list] = {}  # each item's records in order (an item lives in one shard)
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            by_item.setdefault(record["dynamodb"]["Keys"]["p"]["S"], []).append(record)
    service = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    assert {key: [(r["eventName"], r.get("userIdentity")) for r in rs] for key, rs in by_item.items()} == {
        "user": [("INSERT", None), ("REMOVE", None)], "ttl": [("INSERT", None), ("REMOVE", service)]}
    assert by_item["ttl"][-1]["dynamodb"]["OldImage"] == {"p": {"S": "ttl"}, "exp": {"N": str(now - 10)}, "v": {"S": "x"}}


def serve(data_dir, port: int) -> subprocess.Popen:
    """``dynamoray serve --engine local --ttl-interval 0.2`` as a user runs it, once healthy."""
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dynamoray"), "serve", "--engine", "local", "--port", str(port),
         "--data-dir", str(data_dir), "--ttl-interval", "0.2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def healthy() -> bool:
        assert proc.poll() is None, "the server exited"
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    if not wait_until(healthy):
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("the server did not become healthy")
    return proc


def test_a_restarted_server_keeps_the_setting_and_goes_on_sweeping(tmp_path):
    data_dir, port = tmp_path / "data", free_port()

    def start():
        return serve(data_dir, port)

    proc = start()
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        name = new_table(ddb)
        enable(ddb, name)
        now = int(time.time())
        ddb.put_item(TableName=name, Item={"p": {"S": "old"}, "exp": {"N": str(now - 10)}})
        assert wait_until(lambda: keys_of(ddb, name) == set())
        ddb.put_item(TableName=name, Item={"p": {"S": "soon"}, "exp": {"N": str(now + 4)}})
        ddb.put_item(TableName=name, Item={"p": {"S": "later"}, "exp": {"N": str(now + 3600)}})
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    proc = start()
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
        assert wait_until(lambda: keys_of(ddb, name) == {"later"})
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
