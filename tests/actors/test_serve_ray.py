"""`dynamoray serve` on the Ray engine, killed with SIGKILL under concurrent writers, then restarted.

Every acknowledged write must be there after the restart (on the Ray engine, and on the local
engine, which reads the same data directory); an unacknowledged put is fully there or absent; a
counter is never incremented twice.  The server runs in its own session, so after the kill what is
left of its private Ray is stopped by process group (never ``ray stop``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from botocore.exceptions import BotoCoreError, ClientError

from dynamoray.gateway.runner import free_port

from ..e2e.conftest import ACCESS_KEY, SECRET_KEY, make_client

BIN = Path(sys.executable).parent / "dynamoray"
WRITERS = 4


def start(data_dir: Path, port: int, *flags: str) -> subprocess.Popen:
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}")
    command = [str(BIN), "serve", "--port", str(port), "--data-dir", str(data_dir), *flags]
    log = Path(f"{data_dir}.stderr")  # kept beside the data dir, so a failed start says why
    with open(log, "ab") as stderr:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_bytes()[-4000:].decode(errors="replace")
            raise AssertionError(f"server exited with {proc.returncode}; its stderr ends with:\n{tail}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    kill_group(proc)
    raise AssertionError("server did not become healthy")


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(60)
    finally:
        kill_group(proc)  # anything its Ray left behind


class Writer(threading.Thread):
    def __init__(self, endpoint: str, ident: int, halt: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client = make_client(endpoint)
        self.number, self.halt = ident, halt
        self.acked: list[int] = []
        self.unknown: list[int] = []
        self.counter_acked = self.counter_unknown = 0

    def item(self, i: int) -> dict:
        return {"id": {"S": f"w{self.number}-{i}"}, "v": {"N": str(i)}, "pad": {"S": "x" * 100}}

    def _try(self, call) -> bool:
        try:
            call()
            return True
        except (ClientError, BotoCoreError):
            return False

    def run(self) -> None:
        i = 0
        while not self.halt.is_set():
            if self._try(lambda: self.client.put_item(TableName="orders", Item=self.item(i))):  # noqa: B023  (called before the loop moves on)
                self.acked.append(i)
            else:
                self.unknown.append(i)
            if self._try(lambda: self.client.update_item(
                    TableName="orders", Key={"id": {"S": f"counter-{self.number}"}},
                    UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})):
                self.counter_acked += 1
            else:
                self.counter_unknown += 1
            i += 1


def check(endpoint: str, writers: list[Writer]) -> None:
    ddb = make_client(endpoint)
    pages = ddb.get_paginator("scan").paginate(TableName="orders", ConsistentRead=True)
    items = {item["id"]["S"]: item for page in pages for item in page["Items"]}
    for w in writers:
        for i in w.acked:
            assert items[f"w{w.number}-{i}"] == w.item(i)
        for i in w.unknown:
            assert items.get(f"w{w.number}-{i}", w.item(i)) == w.item(i)
        counter = int(items.get(f"counter-{w.number}", {"n": {"N": "0"}})["n"]["N"])
        assert w.counter_acked <= counter <= w.counter_acked + w.counter_unknown


def test_kill_9_of_the_ray_server_under_concurrent_writes_keeps_every_acknowledged_write(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = start(data_dir, port)
    try:
        make_client(endpoint).create_table(
            TableName="orders", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        halt = threading.Event()
        writers = [Writer(endpoint, n, halt) for n in range(WRITERS)]
        for w in writers:
            w.start()
        deadline = time.monotonic() + 60
        while sum(len(w.acked) for w in writers) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        kill_group(proc)
    halt.set()
    for w in writers:
        w.join(30)
    assert sum(len(w.acked) for w in writers) >= 200

    proc = start(data_dir, port)  # the Ray engine again
    try:
        check(endpoint, writers)
        make_client(endpoint).put_item(TableName="orders", Item={"id": {"S": "after-restart"}})
    finally:
        assert stop(proc) == 0

    proc = start(data_dir, port, "--engine", "local")  # the same data directory, in-process engine
    try:
        check(endpoint, writers)
        got = make_client(endpoint).get_item(TableName="orders", Key={"id": {"S": "after-restart"}})
        assert got["Item"] == {"id": {"S": "after-restart"}}
    finally:
        assert stop(proc) == 0
