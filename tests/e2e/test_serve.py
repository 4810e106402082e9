"""`dynamoray serve` as a user runs it: a subprocess on the embedded log, killed and restarted.

These run the in-process engine (`--engine local`) to stay quick; `tests/actors/test_serve_ray.py`
does the same to the default Ray engine."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dynamoray.gateway.runner import free_port

from .conftest import ACCESS_KEY, SECRET_KEY, make_client
from .serving import start_serve

BIN = Path(sys.executable).parent / "dynamoray"
AWS = Path(sys.executable).parent / "aws"


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def test_kill_9_and_restart_keeps_every_acknowledged_write(data_dir):
    port = free_port()
    proc = start_serve(data_dir, port)
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        ddb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        for i in range(200):
            ddb.put_item(TableName="orders", Item={"id": {"S": f"o{i}"}, "n": {"N": str(i)}})
        ddb.update_item(TableName="orders", Key={"id": {"S": "o7"}}, UpdateExpression="SET n = n + :d",
                        ExpressionAttributeValues={":d": {"N": "1000"}})
        ddb.delete_item(TableName="orders", Key={"id": {"S": "o8"}})
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    proc = start_serve(data_dir, port)
    try:
        ddb = make_client(f"http://127.0.0.1:{port}")
        assert ddb.list_tables()["TableNames"] == ["orders"]
        items = ddb.scan(TableName="orders")["Items"]
        assert len(items) == 199
        by_id = {i["id"]["S"]: int(i["n"]["N"]) for i in items}
        assert by_id["o7"] == 1007 and "o8" not in by_id and by_id["o199"] == 199
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


def test_generated_root_credentials_are_printed_once_and_reused(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DYNAMORAY_ROOT_CREDENTIALS"}
    data = tmp_path / "d"
    proc = subprocess.Popen([str(BIN), "serve", "--engine", "local", "--port", str(port), "--data-dir", str(data)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (data / "root-credentials.json").exists():
            time.sleep(0.05)
        stored = json.loads((data / "root-credentials.json").read_text())
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        client = make_client(f"http://127.0.0.1:{port}", access=stored["access_key"], secret=stored["secret_key"])
        assert client.list_tables()["TableNames"] == []
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert stored["access_key"] in proc.stderr.read().decode()


def test_aws_cli_against_the_server(data_dir):
    port = free_port()
    proc = start_serve(data_dir, port)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")

    def aws(*args: str) -> dict:
        out = subprocess.run([str(AWS), "dynamodb", *args, "--endpoint-url", f"http://127.0.0.1:{port}",
                              "--output", "json"], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    try:
        aws("create-table", "--table-name", "music", "--billing-mode", "PAY_PER_REQUEST",
            "--attribute-definitions", "AttributeName=artist,AttributeType=S", "AttributeName=song,AttributeType=S",
            "--key-schema", "AttributeName=artist,KeyType=HASH", "AttributeName=song,KeyType=RANGE")
        aws("put-item", "--table-name", "music", "--item",
            '{"artist": {"S": "Nina"}, "song": {"S": "Sinnerman"}, "year": {"N": "1965"}}')
        got = aws("get-item", "--table-name", "music", "--key", '{"artist": {"S": "Nina"}, "song": {"S": "Sinnerman"}}')
        assert got["Item"]["year"] == {"N": "1965"}
        queried = aws("query", "--table-name", "music", "--key-condition-expression", "artist = :a",
                      "--expression-attribute-values", '{":a": {"S": "Nina"}}')
        assert queried["Count"] == 1
        bad = subprocess.run([str(AWS), "dynamodb", "get-item", "--table-name", "nope", "--key", '{"a": {"S": "b"}}',
                              "--endpoint-url", f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True)
        assert bad.returncode != 0 and "ResourceNotFoundException" in bad.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
