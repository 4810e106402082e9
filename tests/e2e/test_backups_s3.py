"""The backup store on S3, as a user runs it: ``dynamoray serve --backup-store s3://bucket/prefix
--s3-endpoint-url ...`` against moto's S3 server on 127.0.0.1, on the local and the Ray engine.

Backups are created, listed, restored and deleted through boto3; a backup outlives its table;
partition snapshots go to the bucket too, and nothing goes to the data directory.  Encryption at
rest is on (the default): no item value, table name or backup name reaches the bucket in plaintext.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dynamoray.gateway.runner import free_port

from ..s3_server import bucket_objects, new_bucket, s3_endpoint  # noqa: F401 - the fixture
from .conftest import ACCESS_KEY, SECRET_KEY, make_client
from .test_backups import wait_active

BIN = Path(sys.executable).parent / "dynamoray"
MARKER = "plaintext-marker-7f3a"


def serve(data_dir: Path, port: int, *flags: str) -> subprocess.Popen:
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}",
               DYNAMORAY_SNAPSHOT_EVERY_EVENTS="5", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")
    stderr_path = data_dir.parent / f"serve-{port}.stderr"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--data-dir", str(data_dir), *flags],
                                env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {stderr_path.read_text()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    stop(proc)
    raise AssertionError("server did not become healthy")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(30)


def items_of(ddb, name: str) -> dict:
    pages = ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
    return {i["p"]["S"]: i["v"]["S"] for page in pages for i in page["Items"]}


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_backups_on_s3_are_created_listed_restored_and_deleted(engine, tmp_path, s3_endpoint):  # noqa: F811
    bucket, port = new_bucket(s3_endpoint), free_port()
    data_dir = tmp_path / "data"
    proc = serve(data_dir, port, "--engine", engine, "--backup-store", f"s3://{bucket}/dr",
                 "--s3-endpoint-url", s3_endpoint)
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        table = f"{MARKER}_table"
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
        for i in range(40):
            ddb.put_item(TableName=table, Item={"p": {"S": f"k{i}"}, "v": {"S": f"{MARKER}-{i}"}})
        expected = items_of(ddb, table)
        backup = ddb.create_backup(TableName=table, BackupName=f"{MARKER}_backup")["BackupDetails"]
        assert backup["BackupStatus"] == "AVAILABLE"
        (listed,) = ddb.list_backups(TableName=table)["BackupSummaries"]
        assert listed["BackupArn"] == backup["BackupArn"]
        ddb.restore_table_from_backup(TargetTableName="copy_one", BackupArn=backup["BackupArn"])
        wait_active(ddb, "copy_one", deadline=120)
        assert items_of(ddb, "copy_one") == expected
        ddb.delete_table(TableName=table)
        ddb.delete_table(TableName="copy_one")
        assert ddb.list_backups()["BackupSummaries"][0]["BackupArn"] == backup["BackupArn"]  # it outlives the table
        ddb.restore_table_from_backup(TargetTableName="copy_two", BackupArn=backup["BackupArn"])
        wait_active(ddb, "copy_two", deadline=120)
        assert items_of(ddb, "copy_two") == expected
        stored = bucket_objects(s3_endpoint, bucket)
        backup_keys = [k for k in stored if k.startswith("dr/backups/")]
        assert len(backup_keys) == 1 and any(k.startswith("dr/snapshots/") and k.endswith(".snap") for k in stored)
        leaked = [k for k, data in stored.items() if MARKER.encode() in data or MARKER in k]
        assert leaked == []  # sealed before it leaves the process
        ddb.delete_backup(BackupArn=backup["BackupArn"])
        assert ddb.list_backups()["BackupSummaries"] == []
        assert not any(k.startswith("dr/backups/") for k in bucket_objects(s3_endpoint, bucket))
    finally:
        stop(proc)
    assert not (data_dir / "snapshots").exists() and not (data_dir / "backups").exists()


def test_serve_stops_with_a_clear_message_when_the_bucket_is_missing(tmp_path, s3_endpoint):  # noqa: F811
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    done = subprocess.run([str(BIN), "serve", "--engine", "local", "--port", str(free_port()), "--data-dir",
                           str(tmp_path / "data"), "--backup-store", "s3://no-such-bucket/x", "--s3-endpoint-url",
                           s3_endpoint], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "dynamoray: cannot use s3://no-such-bucket/x" in done.stderr
