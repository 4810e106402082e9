"""Fixtures for the event-log tests: one KafkaLog on the session's Tansu broker.

The broker itself (``tansu``) is a session fixture of ``tests/conftest.py``; ``tests/kafka_broker.py``
starts and stops it."""

from __future__ import annotations

import time

import pytest

from tests.kafka_broker import log_config

pytest.register_assert_rewrite("tests.events.contract")


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
    from dynamoray.events.kafka import KafkaLog

    log = KafkaLog(log_config(tansu), clock=kafka_clock)
    yield log
    log.close()
