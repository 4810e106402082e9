"""`dynamoray serve` restarts from partition snapshots: after many writes, a restart replays only
the log written since the last snapshot of each shard (the server's ``table_rebuilt`` log line says
how much)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import requests

from dynamoray.gateway.runner import free_port

from .conftest import ACCESS_KEY, SECRET_KEY, make_client

BIN = Path(sys.executable).parent / "dynamoray"
EVERY = 100  # events of a shard between two of its snapshots
SHARDS = 4  # the server's default


def _start(data_dir: Path, port: int, stderr_path: Path) -> subprocess.Popen:
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}",
               DYNAMORAY_SNAPSHOT_EVERY_EVENTS=str(EVERY))
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [str(BIN), "serve", "--engine", "local", "--port", str(port), "--data-dir", str(data_dir)],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, stderr_path.read_text()
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not become healthy")


def _events(path: Path, name: str) -> list[dict]:
    found = []
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("event") == name:
            found.append(record)
    return found


def test_a_restart_after_many_writes_replays_only_the_tail(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    proc = _start(data_dir, port, tmp_path / "first.log")
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        ddb.create_table(TableName="many", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        for batch in range(60):  # 1,500 writes over 500 items
            requests_ = [{"PutRequest": {"Item": {"id": {"S": f"i{(batch * 25 + j) % 500}"},
                                                  "n": {"N": str(batch * 25 + j)}}}} for j in range(25)]
            assert not ddb.batch_write_item(RequestItems={"many": requests_})["UnprocessedItems"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no clean shutdown: nothing may depend on one
        proc.wait(30)
    assert len(_events(tmp_path / "first.log", "snapshot_taken")) >= 1500 // EVERY - SHARDS
    proc = _start(data_dir, port, tmp_path / "second.log")
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        items = ddb.scan(TableName="many")["Items"]
        assert len(items) == 500
        assert {i["id"]["S"]: int(i["n"]["N"]) for i in items}["i499"] == 1499
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    (rebuilt,) = _events(tmp_path / "second.log", "table_rebuilt")
    assert rebuilt["shards"] == SHARDS and None not in rebuilt["snapshot_offsets"]
    assert rebuilt["replayed"] <= SHARDS * (EVERY + 30)  # each shard's tail: under one period, plus its records
    assert rebuilt["items"] == 500
