"""A table spread over two partition hosts (Ray engine, ``--hosts 2 --shards 4``): splits and moves
through the admin API while writers and transactions go on, Scan pages identical to a one-range
table, the map and the items across a kill -9 of the hosts right after a move and a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from dynamoray.core import shards as core_shards
from dynamoray.gateway.admin_client import AdminClient
from dynamoray.gateway.runner import free_port

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client
from .test_backups import wait_active
from .serving import BIN

FLAGS = ("--engine", "ray", "--hosts", "2", "--shards", "4")
WRITERS = 3


def start_serve(data_dir: Path, port: int, *flags: str) -> subprocess.Popen:
    """The Ray-engine server on ``data_dir`` once ``/health`` answers (Ray takes a while to start
    on a busy machine: a longer wait than ``serving.start_serve``)."""
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}")
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--data-dir", str(data_dir), *flags],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("server did not become healthy")


def _table(ddb, name: str) -> None:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])


def _in_shards(wanted: range, count: int) -> list[str]:
    return [f"x{i}" for i in range(1000) if core_shards.value_shard({"S": f"x{i}"}, 4) in wanted][:count]


def _pages(ddb, table: str, **kwargs) -> list:
    out, start = [], None
    while True:
        page = ddb.scan(TableName=table, ConsistentRead=True, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        out.append(([i["id"]["S"] for i in page["Items"]], page["ScannedCount"], page.get("LastEvaluatedKey")))
        start = page.get("LastEvaluatedKey")
        if start is None:
            return out


def _all(ddb, table: str) -> dict[str, dict]:
    return {item: None for page in _pages(ddb, table) for item in page[0]}


def _host_pids(server_pid: int) -> list[int]:
    """The partition hosts' processes among the server's (Ray names its actor processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) != server_pid:
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ProcessLookupError):
            continue
        if "PartitionHost" in title:
            found.append(int(entry.name))
    return found


def _retrying(call, *args, **kwargs):
    deadline = time.monotonic() + 90
    while True:
        try:
            return call(*args, **kwargs)
        except ClientError as error:
            if time.monotonic() > deadline or error.response["Error"]["Code"] not in (
                    "ServiceUnavailable", "InternalServerError", "InternalFailure"):
                raise
        except Exception:  # noqa: BLE001 - the connection dropped while the hosts restart
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


class Writers:
    """Threads putting items and incrementing a counter each, and a thread writing pairs of items
    (one in shards 0-1, one in 2-3) in one transaction; what was acknowledged is recorded."""

    def __init__(self, endpoint: str, table: str) -> None:
        self.endpoint, self.table = endpoint, table
        self.acked = [0] * WRITERS
        self.pairs = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.low, self.high = _in_shards(range(0, 2), 1)[0], _in_shards(range(2, 4), 1)[0]
        self.threads = [threading.Thread(target=self._write, args=(w,)) for w in range(WRITERS)]
        self.threads.append(threading.Thread(target=self._transact))

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _write(self, w: int) -> None:
        ddb = make_client(self.endpoint)
        n = 0
        while not self.stop.is_set():
            try:
                ddb.put_item(TableName=self.table, Item={"id": {"S": f"w{w}-{n}"}})
                ddb.update_item(TableName=self.table, Key={"id": {"S": f"count{w}"}},
                                UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
            except Exception as error:  # noqa: BLE001 - a move must not surface: recorded, asserted
                self.errors.append(repr(error))
                return
            n += 1
            self.acked[w] = n

    def _transact(self) -> None:
        ddb = make_client(self.endpoint)
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                ddb.transact_write_items(TransactItems=[
                    {"Put": {"TableName": self.table, "Item": {"id": {"S": key}, "v": {"N": str(n)}}}}
                    for key in (self.low, self.high)])
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":  # a conflict: fine
                    self.errors.append(repr(error))
                    return
                continue
            except Exception as error:  # noqa: BLE001
                self.errors.append(repr(error))
                return
            self.pairs = n


@pytest.fixture
def spread_server(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    proc = start_serve(data_dir, port, *FLAGS)
    holder = {"proc": proc, "data_dir": data_dir, "port": port}
    yield holder
    os.killpg(holder["proc"].pid, signal.SIGKILL)
    holder["proc"].wait(30)


def test_splits_and_moves_under_load_lose_and_repeat_nothing_and_survive_kill_9_and_restart(spread_server):
    port = spread_server["port"]
    endpoint = f"http://127.0.0.1:{port}"
    ddb, admin = make_client(endpoint), AdminClient(endpoint, ACCESS_KEY, SECRET_KEY, REGION)
    _table(ddb, "spread")
    _table(ddb, "one-range")  # stays one range: the reference for Scan pages
    for i in range(60):
        ddb.put_item(TableName="spread", Item={"id": {"S": f"k{i}"}, "v": {"S": "x" * i}})

    with Writers(endpoint, "spread") as writers:
        time.sleep(1.0)
        split = admin.call("SplitPartition", TableName="spread", FirstShard=0, AtShard=2)
        time.sleep(1.0)
        upper_host = split["Ranges"][1]["Host"]
        admin.call("MovePartition", TableName="spread", FirstShard=2, Host=1 - upper_host)  # joined again
        time.sleep(1.0)
        admin.call("SplitPartition", TableName="spread", FirstShard=0, AtShard=1)
        time.sleep(0.5)
        backup = ddb.create_backup(TableName="spread", BackupName="during")["BackupDetails"]["BackupArn"]
        time.sleep(0.5)
    assert writers.errors == [] and min(writers.acked) > 3 and writers.pairs > 0

    counts = {w: ddb.get_item(TableName="spread", Key={"id": {"S": f"count{w}"}}, ConsistentRead=True)["Item"]["n"]["N"]
              for w in range(WRITERS)}
    assert {w: int(n) for w, n in counts.items()} == dict(enumerate(writers.acked))  # each write once
    names = [name for page in _pages(ddb, "spread") for name in page[0]]
    assert len(names) == len(set(names))
    written = {f"w{w}-{n}" for w in range(WRITERS) for n in range(writers.acked[w])}
    assert written <= set(names) and {f"k{i}" for i in range(60)} <= set(names)
    pair = [ddb.get_item(TableName="spread", Key={"id": {"S": k}}, ConsistentRead=True)["Item"]["v"]["N"]
            for k in (writers.low, writers.high)]
    assert pair[0] == pair[1] and int(pair[0]) >= writers.pairs  # all-or-nothing across the hosts

    described = admin.call("DescribePartitions", TableName="spread")
    assert described["Version"] == 3 and [(r["FirstShard"], r["LastShard"]) for r in described["Ranges"]] == [
        (0, 0), (1, 3)]
    assert len({r["Host"] for r in described["Ranges"]}) == 2
    assert ddb.describe_table(TableName="spread")["Table"]["ItemCount"] == len(names)
    metrics = requests.get(f"{endpoint}/metrics", timeout=10).text
    assert 'dynamoray_table_partitions{table="spread"} 2.0' in metrics
    assert 'dynamoray_table_partitions{table="one-range"} 1.0' in metrics

    for name in names:  # the same items in a one-range table: the same Scan pages
        ddb.put_item(TableName="one-range", Item=ddb.get_item(TableName="spread", Key={"id": {"S": name}})["Item"])
    for kwargs in ({"Limit": 9}, {}, {"Segment": 1, "TotalSegments": 3, "Limit": 20}):
        spread_pages = _pages(ddb, "spread", **kwargs)
        one_pages = _pages(ddb, "one-range", **kwargs)
        assert spread_pages == one_pages and len(spread_pages) > (1 if "Limit" in kwargs else 0)

    # the backup taken across the two hosts during the load: each transaction all or nothing
    ddb.restore_table_from_backup(TargetTableName="restored", BackupArn=backup)
    wait_active(ddb, "restored", 120)
    restored = _all(ddb, "restored")
    assert set(restored) <= set(names) and {f"k{i}" for i in range(60)} <= set(restored)
    pair = [ddb.get_item(TableName="restored", Key={"id": {"S": k}}).get("Item", {}).get("v")
            for k in (writers.low, writers.high)]
    assert pair[0] == pair[1]

    # kill -9 of the hosts right after a move: nothing acknowledged is lost
    first_host = described["Ranges"][0]["Host"]
    admin.call("MovePartition", TableName="spread", FirstShard=0, Host=1 - first_host)  # joined: [0, 4)
    admin.call("MovePartition", TableName="spread", FirstShard=0, Host=first_host)
    for pid in _host_pids(spread_server["proc"].pid):
        os.kill(pid, signal.SIGKILL)
    _retrying(ddb.put_item, TableName="spread", Item={"id": {"S": "after-kill"}})
    after_kill = set(_retrying(_all, ddb, "spread"))
    assert set(names) | {"after-kill"} == after_kill
    moved = admin.call("DescribePartitions", TableName="spread")
    assert moved["Version"] == 5

    # a restart keeps the map and the items
    proc = spread_server["proc"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    spread_server["proc"] = start_serve(spread_server["data_dir"], port, *FLAGS)
    ddb = make_client(endpoint)
    assert admin.call("DescribePartitions", TableName="spread")["Ranges"] == moved["Ranges"]
    assert set(_all(ddb, "spread")) == after_kill
    counts_after = {w: ddb.get_item(TableName="spread", Key={"id": {"S": f"count{w}"}})["Item"]["n"]["N"]
                    for w in range(WRITERS)}
    assert counts_after == counts
    ddb.put_item(TableName="spread", Item={"id": {"S": "after-restart"}})
    assert ddb.get_item(TableName="spread", Key={"id": {"S": "after-restart"}}, ConsistentRead=True)["Item"]


# --- secondary indexes on a spread table ----------------------------------------------------------


def _indexed_table(ddb, name: str) -> None:
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t}
                              for a, t in (("id", "S"), ("n", "N"), ("l", "S"), ("g", "S"))],
        LocalSecondaryIndexes=[{"IndexName": "by_l", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}]}],
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}]}])


def _index_pages(ddb, call: str, **kwargs) -> list:
    out, start = [], None
    while True:
        page = getattr(ddb, call)(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        out.append(([(i["id"]["S"], i["n"]["N"]) for i in page.get("Items", [])], page["Count"],
                     page["ScannedCount"], page.get("LastEvaluatedKey")))
        start = page.get("LastEvaluatedKey")
        if start is None:
            return out


INDEX_READS = [
    ("query", {"IndexName": "by_g", "KeyConditionExpression": "g = :g", "Limit": 7,
               "ExpressionAttributeValues": {":g": {"S": "g1"}}}),
    ("query", {"IndexName": "by_g", "KeyConditionExpression": "g = :g AND n > :n", "ScanIndexForward": False,
               "Limit": 5, "ExpressionAttributeValues": {":g": {"S": "g2"}, ":n": {"N": "20"}}}),
    ("query", {"IndexName": "by_l", "KeyConditionExpression": "id = :p", "Limit": 2, "ConsistentRead": True,
               "ExpressionAttributeValues": {":p": {"S": "p3"}}}),
    ("scan", {"IndexName": "by_g", "Limit": 11}),
    ("scan", {"IndexName": "by_l", "Limit": 13, "Segment": 0, "TotalSegments": 2}),
]


def test_index_reads_of_a_split_table_and_a_gsi_created_on_it(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    proc = start_serve(data_dir, port, *FLAGS, "--replicas", "1", "--no-gateway-follower")  # reads by range
    try:
        endpoint = f"http://127.0.0.1:{port}"
        ddb, admin = make_client(endpoint), AdminClient(endpoint, ACCESS_KEY, SECRET_KEY, REGION)
        _indexed_table(ddb, "indexed")
        for i in range(90):
            ddb.put_item(TableName="indexed", Item={"id": {"S": f"p{i % 11}"}, "n": {"N": str(i)},
                                                    "l": {"S": f"l{(i * 7) % 40:02d}"}, "g": {"S": f"g{i % 3}"}})
        before = [_index_pages(ddb, call, TableName="indexed", **kwargs) for call, kwargs in INDEX_READS]
        split = admin.call("SplitPartition", TableName="indexed", FirstShard=0, AtShard=2)
        assert len({r["Host"] for r in split["Ranges"]}) == 2
        after = [_index_pages(ddb, call, TableName="indexed", **kwargs) for call, kwargs in INDEX_READS]
        assert after == before and all(len(pages) > 1 for pages in before)

        # a GSI created by UpdateTable on the spread table: backfilled on both hosts
        ddb.update_table(TableName="indexed", AttributeDefinitions=[{"AttributeName": "l", "AttributeType": "S"}],
                         GlobalSecondaryIndexUpdates=[{"Create": {
                             "IndexName": "by_l_global", "Projection": {"ProjectionType": "KEYS_ONLY"},
                             "KeySchema": [{"AttributeName": "l", "KeyType": "HASH"}]}}])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            gsis = ddb.describe_table(TableName="indexed")["Table"]["GlobalSecondaryIndexes"]
            if all(g["IndexStatus"] == "ACTIVE" for g in gsis):
                break
            time.sleep(0.3)
        created = next(g for g in gsis if g["IndexName"] == "by_l_global")
        assert created["IndexStatus"] == "ACTIVE" and created["ItemCount"] == 90
        found = ddb.query(TableName="indexed", IndexName="by_l_global", KeyConditionExpression="l = :l",
                          ExpressionAttributeValues={":l": {"S": "l07"}})["Items"]
        assert sorted(int(i["n"]["N"]) for i in found) == [i for i in range(90) if (i * 7) % 40 == 7]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
