"""Encryption at rest, as a user runs the server: `dynamoray serve` subprocesses on a data directory.

- The plaintext test: distinctive item values, table names, IAM secrets, backup and policy names
  go in through boto3 and the admin API; snapshots and a backup are taken; the server stops; then
  every byte of every file under the data directory is searched: none of them appears.  On the
  local engine and on the Ray engine.
- A wrong or missing keyring stops the server with a clear message (it never serves empty tables).
- Rotation (``dynamoray keys rotate``): new records under the new data key, old ones readable,
  snapshots re-wrapped, and a restart reads everything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from dynamoray.core import encryption as enc
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.keyring import LocalKeyring
from dynamoray.gateway.admin_client import AdminClient
from dynamoray.gateway.runner import free_port

from .conftest import ACCESS_KEY, SECRET_KEY, make_client

BIN = Path(sys.executable).parent / "dynamoray"


def start(data_dir: Path, port: int, *flags: str, env: dict | None = None, expect_exit: bool = False):
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}",
               DYNAMORAY_SNAPSHOT_EVERY_EVENTS="5", **(env or {}))
    stderr_path = Path(f"{data_dir}.{port}.stderr")
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--data-dir", str(data_dir), *flags],
                                env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if expect_exit:
                return proc.returncode, stderr_path.read_text()
            raise AssertionError(f"server exited: {stderr_path.read_text()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                if expect_exit:
                    stop(proc)
                    raise AssertionError("the server started")
                return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    kill(proc)
    raise AssertionError("server did not become healthy")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(60) == 0
    finally:
        kill(proc)


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def _table(ddb, name: str, **extra) -> None:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}], **extra)


def _wait_for_files(root: Path, pattern: str, deadline: float = 60.0) -> list[Path]:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = sorted(root.rglob(pattern)) if root.exists() else []
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {pattern} under {root}")


def _fill(endpoint: str, marker: str) -> tuple[list[bytes], dict]:
    """Write distinctive things through every path that stores something; returns them."""
    ddb = make_client(endpoint)
    admin = AdminClient(endpoint, ACCESS_KEY, SECRET_KEY)
    table, other = f"tbl{marker}secret", f"cmk{marker}table"
    _table(ddb, table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    customer = admin.call("CreateKey", Alias=f"alias/k{marker}")["KeyMetadata"]["Arn"]
    _table(ddb, other, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": f"alias/k{marker}"})
    for i in range(60):
        ddb.put_item(TableName=table, Item={"p": {"S": f"key{marker}{i}"}, "v": {"S": f"value{marker}{i}"},
                                            "b": {"B": f"bytes{marker}{i}".encode()}})
        ddb.put_item(TableName=other, Item={"p": {"S": f"ckey{marker}{i}"}, "v": {"S": f"cvalue{marker}{i}"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": {"p": {"S": f"txkey{marker}"}, "v": {"S": f"txvalue{marker}"}}}},
        {"Put": {"TableName": other, "Item": {"p": {"S": f"txkey{marker}"}, "v": {"S": f"txvalue{marker}"}}}},
    ])
    ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    backup = ddb.create_backup(TableName=table, BackupName=f"bkp{marker}name")["BackupDetails"]["BackupArn"]
    user = f"user{marker}"
    admin.call("CreateUser", UserName=user)
    admin.call("PutUserPolicy", UserName=user, PolicyName=f"policy{marker}name", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                                  "Resource": f"arn:aws:dynamodb:*:*:table/{table}"}]}))
    key = admin.call("CreateAccessKey", UserName=user)["AccessKey"]
    needles = [s.encode() for s in (table, other, f"value{marker}1", f"value{marker}59", f"key{marker}7",
                                    f"cvalue{marker}3", f"txvalue{marker}", f"bkp{marker}name", user,
                                    f"policy{marker}name", key["SecretAccessKey"], key["AccessKeyId"])]
    needles.append(f"bytes{marker}5".encode())
    return needles, {"table": table, "other": other, "key": key, "backup": backup, "customer": customer}


def _search(data_dir: Path, needles: list[bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in (p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [n.decode() for n in needles if n in data]
        if hits:
            found[str(path.relative_to(data_dir))] = hits
    return found


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_no_plaintext_value_appears_anywhere_in_the_data_directory(tmp_path, engine):
    data_dir, port, marker = tmp_path / "data", free_port(), uuid.uuid4().hex[:10]
    proc = start(data_dir, port, "--engine", engine)
    try:
        needles, made = _fill(f"http://127.0.0.1:{port}", marker)
        snapshots = _wait_for_files(data_dir / "snapshots", "*.snap")
        backups = _wait_for_files(data_dir / "backups", "*.snap")
    finally:
        stop(proc)
    assert len([p for p in data_dir.rglob("*") if p.is_file()]) > 10  # logs, snapshots, backups, keyring
    assert _search(data_dir, needles) == {}
    assert all(enc.is_sealed_file(p.read_bytes()) for p in snapshots + backups)
    assert oct((data_dir / "keyring.json").stat().st_mode & 0o777) == "0o600"
    # every record of every topic but the keys topic is sealed
    with EmbeddedLog(data_dir / "log") as log:
        for path in sorted((data_dir / "log").glob("*.db")):
            topic = path.name[:-3]
            for partition in range(log.partition_count(topic)):
                records = log.read(topic, partition, log.start_offset(topic, partition), 100_000)
                assert all(enc.is_sealed_record(r.value) for r in records) != (topic == "dynamoray.keys" and records), topic
    # and a restart reads it all back, the IAM secret included
    proc = start(data_dir, port, "--engine", engine)
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        item = ddb.get_item(TableName=made["table"], Key={"p": {"S": f"key{marker}7"}}, ConsistentRead=True)["Item"]
        assert item["v"] == {"S": f"value{marker}7"}
        assert ddb.scan(TableName=made["other"], Select="COUNT")["Count"] == 61
        user = make_client(f"http://127.0.0.1:{port}", access=made["key"]["AccessKeyId"],
                           secret=made["key"]["SecretAccessKey"])
        assert user.get_item(TableName=made["table"], Key={"p": {"S": f"key{marker}7"}})["Item"] == item
        description = ddb.describe_table(TableName=made["other"])["Table"]
        assert description["SSEDescription"]["KMSMasterKeyArn"] == made["customer"]
    finally:
        stop(proc)
    # the customer-key table's snapshots are sealed under its key, the other table's under the server's
    customer_snapshots = list((data_dir / "snapshots" / description["TableId"]).rglob("*.snap"))
    assert customer_snapshots and {enc.parse_file_header(p.read_bytes()).master_key
                                   for p in customer_snapshots} == {made["customer"]}
    others = [p for p in (data_dir / "snapshots").rglob("*.snap") if description["TableId"] not in str(p)]
    assert others and made["customer"] not in {enc.parse_file_header(p.read_bytes()).master_key for p in others}


def test_a_wrong_or_missing_keyring_stops_the_server_with_a_clear_message(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    proc = start(data_dir, port, "--engine", "local")
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        _table(ddb, "kept")
        ddb.put_item(TableName="kept", Item={"p": {"S": "a"}})
    finally:
        stop(proc)
    keyring = data_dir / "keyring.json"
    keyring.rename(tmp_path / "saved-keyring.json")
    code, stderr = start(data_dir, port, "--engine", "local", expect_exit=True)
    assert code == 1 and "is encrypted, but its keyring" in stderr and "keyring.json is missing" in stderr
    assert not keyring.exists()  # no new keyring was made over encrypted data
    other = tmp_path / "other-keyring.json"
    LocalKeyring.create(other)
    code, stderr = start(data_dir, port, "--engine", "local", "--keyring", str(other), expect_exit=True)
    assert code == 1 and "cannot be decrypted with keyring:" in stderr and "written under other keys" in stderr
    code, stderr = start(data_dir, port, "--engine", "local", "--no-encryption", expect_exit=True)
    assert code == 1 and "is encrypted: start the server without --no-encryption" in stderr
    proc = start(data_dir, port, "--engine", "local", "--keyring", str(tmp_path / "saved-keyring.json"))
    try:  # the right keyring, wherever it is: everything is there
        assert make_client(f"http://127.0.0.1:{port}").get_item(TableName="kept", Key={"p": {"S": "a"}})["Item"]
    finally:
        stop(proc)


def _data_key_ids(data_dir: Path, table_id: str) -> list[str]:
    """The data key of each record of the table, oldest first (over every shard)."""
    with EmbeddedLog(data_dir / "log") as log:
        topic = f"dynamoray.table.{table_id}"
        found = []
        for partition in range(log.partition_count(topic)):
            found += [(r.timestamp, partition, r.offset, enc.record_key_ref(r.value)[0].hex())
                      for r in log.read(topic, partition, 0, 100_000)]
        return [key for *_, key in sorted(found)]


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_rotation_without_downtime(tmp_path, engine):
    data_dir, port = tmp_path / "data", free_port()
    proc = start(data_dir, port, "--engine", engine)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        ddb = make_client(endpoint)
        _table(ddb, "rotated")
        for i in range(40):
            ddb.put_item(TableName="rotated", Item={"p": {"S": f"old{i}"}})
        _wait_for_files(data_dir / "snapshots", "*.snap")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        out = subprocess.run([str(BIN), "keys", "--endpoint", endpoint, "rotate", "--reencrypt"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        rotated = json.loads(out.stdout)
        assert rotated["Version"] == "2" and rotated["ReencryptedFiles"] >= 1
        time.sleep(1.5)  # within a refresh, every writer (in every process) takes the new data key
        for i in range(5):
            ddb.put_item(TableName="rotated", Item={"p": {"S": f"new{i}"}})
        assert ddb.scan(TableName="rotated", Select="COUNT", ConsistentRead=True)["Count"] == 45
        table_id = ddb.describe_table(TableName="rotated")["Table"]["TableId"]
        listed = json.loads(subprocess.run([str(BIN), "keys", "--endpoint", endpoint, "list"], env=env,
                                           capture_output=True, text=True, timeout=60).stdout)
    finally:
        stop(proc)
    ids = _data_key_ids(data_dir, table_id)  # SnapshotTaken records count too: at least the 45 items
    assert len(ids) >= 45 and ids[0] != rotated["DataKeyId"] and ids[-5:] == [rotated["DataKeyId"]] * 5
    [own] = [k for k in listed["Keys"] if k["Owned"]]
    assert own["Versions"] == 2 and own["ActiveDataKey"] == rotated["DataKeyId"] and ids[0] in own["DataKeys"]
    for path in (data_dir / "snapshots").rglob("*.snap"):  # re-wrapped under version 2
        assert enc.parse_file_header(path.read_bytes()).wrapped[19:23] == (2).to_bytes(4, "big")
    proc = start(data_dir, port, "--engine", engine)
    try:
        ddb = make_client(endpoint)
        names = {i["p"]["S"] for i in ddb.scan(TableName="rotated")["Items"]}
        assert names == {f"old{i}" for i in range(40)} | {f"new{i}" for i in range(5)}
    finally:
        stop(proc)


def test_a_data_directory_written_without_encryption_is_read_and_encrypted_from_then_on(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = start(data_dir, port, "--engine", "local", "--no-encryption")
    try:
        ddb = make_client(endpoint)
        _table(ddb, "legacy")
        ddb.put_item(TableName="legacy", Item={"p": {"S": "a"}, "v": {"S": "oldplaintextvalue"}})
    finally:
        stop(proc)
    assert not (data_dir / "keyring.json").exists()
    assert "log/" in "".join(f"{k}/" for k in _search(data_dir, [b"oldplaintextvalue"]))  # --no-encryption: as it is
    proc = start(data_dir, port, "--engine", "local")
    try:
        ddb = make_client(endpoint)
        assert ddb.get_item(TableName="legacy", Key={"p": {"S": "a"}})["Item"]["v"] == {"S": "oldplaintextvalue"}
        ddb.put_item(TableName="legacy", Item={"p": {"S": "b"}, "v": {"S": "newsecretvalue"}})
    finally:
        stop(proc)
    assert json.loads((data_dir / "keyring.json").read_text())["accept_plaintext"] is True
    assert _search(data_dir, [b"newsecretvalue"]) == {}
    code, stderr = start(data_dir, port, "--engine", "local", "--no-encryption", expect_exit=True)
    assert code == 1 and "start the server without --no-encryption" in stderr
