"""``dynamoray serve --shards N``: a table keeps the shard count it was created with, across
restarts with another setting, and a kill -9 during writes to every shard loses no acknowledged
write (the in-process engine, as a subprocess on the embedded log)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from dynamoray.actors.records import table_topic
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.gateway.runner import free_port

from .conftest import make_client
from .serving import start_serve

BIN = Path(sys.executable).parent / "dynamoray"


def _table(ddb, name: str) -> None:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])


def _partitions(data_dir: Path, table_id: str) -> int:
    log = EmbeddedLog(data_dir / "log")
    try:
        return log.partition_count(table_topic(table_id))
    finally:
        log.close()


def test_a_table_keeps_its_shard_count_across_restarts_and_kill_9(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    proc = start_serve(data_dir, port, "--shards", "1")
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        _table(ddb, "old")
        for i in range(30):
            ddb.put_item(TableName="old", Item={"id": {"S": f"o{i}"}})
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    proc = start_serve(data_dir, port, "--shards", "4")
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        _table(ddb, "new")
        for i in range(100):
            ddb.put_item(TableName="new", Item={"id": {"S": f"n{i}"}, "n": {"N": str(i)}})
            ddb.put_item(TableName="old", Item={"id": {"S": f"o{i}"}, "n": {"N": str(i)}})
        ids = {name: ddb.describe_table(TableName=name)["Table"]["TableId"] for name in ("old", "new")}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert _partitions(data_dir, ids["old"]) == 1 and _partitions(data_dir, ids["new"]) == 4
    proc = start_serve(data_dir, port, "--shards", "2")
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        for name, prefix in (("old", "o"), ("new", "n")):
            items = ddb.scan(TableName=name)["Items"]
            assert sorted(int(i["n"]["N"]) for i in items) == list(range(100))
            assert {i["id"]["S"] for i in items} == {f"{prefix}{i}" for i in range(100)}
            assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 100
        _table(ddb, "newer")
        newer = ddb.describe_table(TableName="newer")["Table"]["TableId"]
        assert "_Shards" not in ddb.describe_table(TableName="newer")["Table"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    assert _partitions(data_dir, newer) == 2


def test_the_shard_count_must_be_from_1_to_64(tmp_path):
    for bad in ("0", "65"):
        done = subprocess.run([str(BIN), "serve", "--shards", bad, "--data-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "--shards: must be from 1 to 64" in done.stderr
