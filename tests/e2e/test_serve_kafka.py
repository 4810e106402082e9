"""`dynamoray serve --kafka-bootstrap`: the server on a Kafka cluster (a private Tansu broker).

A subprocess is SIGKILLed in the middle of a stream of writes and restarted against the same
broker with an empty data directory: every acknowledged write is back, read from Kafka alone.
Runs the in-process engine to stay quick; ``tests/actors/test_ray_kafka.py`` covers Ray on Kafka.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from dynamoray.cli import build_parser
from dynamoray.gateway.runner import free_port
from dynamoray.gateway.serve import kafka_config
from tests.kafka_broker import running_tansu

from .conftest import ACCESS_KEY, SECRET_KEY, make_client
from .test_serve import BIN


def _serve(bootstrap: str, data_dir: Path, port: int, *extra: str) -> subprocess.Popen:
    """The server, its stderr going to ``<data_dir>.stderr`` (a pipe nobody reads could fill up)."""
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}", PYTHONFAULTHANDLER="1")
    stderr_path = data_dir.with_name(f"{data_dir.name}.stderr")
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [str(BIN), "serve", "--engine", "local", "--port", str(port), "--data-dir", str(data_dir),
             # the data is on the broker and sealed: every life of the server needs the same keyring
             "--keyring", str(data_dir.parent / "keyring.json"),
             "--kafka-bootstrap", bootstrap, "--kafka-config", "log_level=3", *extra],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )
    proc.stderr_path = stderr_path  # type: ignore[attr-defined]
    return proc


def _stderr(proc: subprocess.Popen) -> str:
    return proc.stderr_path.read_text(errors="replace")  # type: ignore[attr-defined]


def _death(proc: subprocess.Popen) -> str | None:
    """Why the server is gone (with its stderr), or None while it runs."""
    code = proc.poll()
    if code is None:
        return None
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    return f"the server died ({how}); its stderr ends with:\n{_stderr(proc)[-6000:]}"


@contextlib.contextmanager
def _server_alive(proc: subprocess.Popen):
    """Turns a client error caused by the server dying into a failure that says why it died."""
    try:
        yield
    except Exception as error:
        time.sleep(0.2)  # a crashing server may still be on its way out
        if (death := _death(proc)) is not None:
            raise AssertionError(death) from error
        raise


def _healthy(proc: subprocess.Popen, port: int) -> subprocess.Popen:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (death := _death(proc)) is not None:
            raise AssertionError(death)
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("server did not become healthy")


@pytest.fixture
def broker(tmp_path):
    with running_tansu(tmp_path) as bootstrap:  # private: the catalog topic is nobody else's
        yield bootstrap


def _write_until_killed(ddb, acked: list[int], stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        try:
            ddb.put_item(TableName="orders", Item={"id": {"S": f"o{i}"}, "n": {"N": str(i)}})
        except Exception:  # noqa: BLE001 - the server was killed under this call: not acknowledged
            return
        acked.append(i)
        i += 1


def test_sigkill_mid_writes_and_restart_on_the_same_broker_keeps_every_acknowledged_write(broker, tmp_path):
    port = free_port()
    proc = _healthy(_serve(broker, tmp_path / "first", port), port)
    acked: list[int] = []
    stop = threading.Event()
    writer = None
    try:
        with _server_alive(proc):
            writer = _first_life(port, acked, stop)
        died = _death(proc)  # None unless it died under the writer
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # while the writer thread is still writing
        proc.wait(30)
        stop.set()
    if writer is not None:
        writer.join(60)
    assert died is None, died
    assert len(acked) >= 150

    proc = _healthy(_serve(broker, tmp_path / "second", port), port)  # a new data dir: Kafka (and the keyring) alone
    try:
        with _server_alive(proc):
            _second_life(port, acked)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, _stderr(proc)[-6000:]


def _first_life(port: int, acked: list[int], stop: threading.Event) -> threading.Thread:
    """Tables come and go, then a writer thread (returned) writes until the caller kills the server."""
    ddb = make_client(f"http://127.0.0.1:{port}")
    ddb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    ddb.create_table(TableName="gone", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    ddb.delete_table(TableName="gone")
    ddb.put_item(TableName="orders", Item={"id": {"S": "counter"}, "n": {"N": "1"}})
    ddb.update_item(TableName="orders", Key={"id": {"S": "counter"}}, UpdateExpression="SET n = n + :d",
                    ExpressionAttributeValues={":d": {"N": "41"}})
    ddb.put_item(TableName="orders", Item={"id": {"S": "doomed"}})
    ddb.delete_item(TableName="orders", Key={"id": {"S": "doomed"}})
    writer = threading.Thread(target=_write_until_killed, args=(make_client(f"http://127.0.0.1:{port}"),
                                                                 acked, stop))
    writer.start()
    deadline = time.monotonic() + 60
    while len(acked) < 150 and writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return writer


def _second_life(port: int, acked: list[int]) -> None:
    """Restarted on an empty data directory: everything acknowledged comes back from Kafka."""
    ddb = make_client(f"http://127.0.0.1:{port}")
    assert ddb.list_tables()["TableNames"] == ["orders"]
    items = {i["id"]["S"]: i for i in ddb.scan(TableName="orders", ConsistentRead=True)["Items"]}
    assert items.pop("counter")["n"] == {"N": "42"}
    assert "doomed" not in items
    found = {int(key[1:]): int(item["n"]["N"]) for key, item in items.items()}
    assert set(acked) <= set(found)  # every acknowledged write survived the kill
    assert set(found) <= set(range(len(acked) + 1))  # at most the one in flight besides
    assert all(n == i for i, n in found.items())
    ddb.put_item(TableName="orders", Item={"id": {"S": "after"}})  # and it takes writes again
    assert "Item" in ddb.get_item(TableName="orders", Key={"id": {"S": "after"}}, ConsistentRead=True)


def test_an_unreachable_cluster_fails_fast_with_a_clear_message(tmp_path):
    port = free_port()
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    proc = _serve(dead, tmp_path / "d", port, "--kafka-timeout", "2")
    assert proc.wait(60) == 1
    assert f"dynamoray: the event log at {dead} is unavailable" in _stderr(proc)


def test_kafka_options_build_the_log_configuration():
    args = build_parser().parse_args(["serve", "--kafka-bootstrap", "b1:9092,b2:9092", "--kafka-config",
                                      "security.protocol=SASL_SSL", "--kafka-config", "sasl.password=a=b",
                                      "--kafka-timeout", "5"])
    config = kafka_config(args.kafka_bootstrap, args.kafka_config, args.kafka_timeout)
    assert config.properties == {"bootstrap.servers": "b1:9092,b2:9092", "security.protocol": "SASL_SSL",
                                 "sasl.password": "a=b"}
    assert config.timeout == 5.0
    assert config.producer_config()["acks"] == "all"


@pytest.mark.parametrize("argv, message", [
    (["--kafka-config", "a=b"], "--kafka-config needs --kafka-bootstrap"),
    (["--kafka-bootstrap", "b:1", "--kafka-config", "nope"], "expected KEY=VALUE, not 'nope'"),
    (["--kafka-bootstrap", "b:1", "--kafka-timeout", "0"], "must be more than 0, not 0"),
    (["--kafka-bootstrap", "b:1", "--kafka-config", "bootstrap.servers=c:2"],
     "give the brokers with --kafka-bootstrap, not --kafka-config bootstrap.servers"),
])
def test_bad_kafka_options_are_usage_errors(argv, message, capsys):
    from dynamoray.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
