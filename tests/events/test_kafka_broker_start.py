"""Starting the tests' Tansu broker (``tests/kafka_broker.py``) when its port is taken between
``free_port()`` and Tansu binding it: the start moves on to a new port instead of handing back a
dead broker, or a broker that is somebody else's."""

from __future__ import annotations

import socket

import pytest

from tests import kafka_broker
from tests.kafka_broker import metadata_cluster_id, start_tansu, stop_tansu


@pytest.fixture
def listener():
    """A TCP listener that accepts connections but speaks no Kafka: its port is taken."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def ports_first(monkeypatch, *taken: int) -> None:
    """``free_port()`` hands out ``taken`` first (the race lost), then really free ports."""
    queue, real = list(taken), kafka_broker.free_port
    monkeypatch.setattr(kafka_broker, "free_port", lambda: queue.pop(0) if queue else real())


def test_a_port_taken_by_another_listener_is_retried_on_a_new_port(tmp_path, monkeypatch, listener):
    ports_first(monkeypatch, listener)
    proc, bootstrap = start_tansu(tmp_path / "tansu.log")
    try:
        assert proc.poll() is None
        port = int(bootstrap.rsplit(":", 1)[1])
        assert port != listener
        assert metadata_cluster_id(port).startswith("tests-")
        log = (tmp_path / "tansu.log").read_text()
        assert f"attempt 1 on port {listener}" in log and "attempt 1 failed: Tansu exited early" in log
        assert f"attempt 2 on port {port}" in log
    finally:
        stop_tansu(proc)


def test_a_port_taken_by_another_broker_is_not_mistaken_for_ours(tmp_path, monkeypatch):
    other, other_bootstrap = start_tansu(tmp_path / "other.log")
    try:
        other_port = int(other_bootstrap.rsplit(":", 1)[1])
        ports_first(monkeypatch, other_port)
        proc, bootstrap = start_tansu(tmp_path / "tansu.log")
        try:
            assert proc.poll() is None and bootstrap != other_bootstrap
            own = metadata_cluster_id(int(bootstrap.rsplit(":", 1)[1]))
            assert own != metadata_cluster_id(other_port)
            assert "attempt 1 failed" in (tmp_path / "tansu.log").read_text()
        finally:
            stop_tansu(proc)
    finally:
        stop_tansu(other)


def test_the_start_gives_up_after_a_bounded_number_of_attempts_and_says_why(tmp_path, monkeypatch, listener):
    monkeypatch.setattr(kafka_broker, "ATTEMPTS", 2)
    monkeypatch.setattr(kafka_broker, "free_port", lambda: listener)
    with pytest.raises(RuntimeError) as error:
        start_tansu(tmp_path / "tansu.log")
    assert "after 2 attempts" in str(error.value) and f"port {listener}: Tansu exited early" in str(error.value)
    assert (tmp_path / "tansu.log").read_text().count("failed: Tansu exited early") == 2
