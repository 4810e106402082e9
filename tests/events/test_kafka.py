import threading

import pytest

from .contract import EventLogContract


class TestKafkaLog(EventLogContract):
    CONTIGUOUS = False  # fencing records take offsets

    @pytest.fixture
    def log(self, clock, kafka_log, kafka_clock):
        kafka_clock.source = clock
        yield kafka_log
        kafka_clock.source = lambda: 0


@pytest.fixture
def fresh_topic(kafka_log):

    name = f"kx{next(_counter)}"
    kafka_log.create_topic(name, 1)
    return name


import itertools  # noqa: E402

_counter = itertools.count()


def _raw_producer(kafka_log):
    import confluent_kafka as ck

    return ck.Producer({"bootstrap.servers": kafka_log.config.properties["bootstrap.servers"], "log_level": 0})


def test_foreign_records_are_skipped_and_the_writer_steps_over_them(kafka_log, fresh_topic):
    writer = kafka_log.open_writer(fresh_topic, 0)
    (first,) = writer.append([b"mine-1"])
    other = _raw_producer(kafka_log)
    other.produce(fresh_topic, value=b"foreign", partition=0)
    assert other.flush(10) == 0
    (second,) = writer.append([b"mine-2"])  # lands after the foreign record, so it is re-appended
    writer.close()
    assert second > first + 1
    records = kafka_log.read(fresh_topic, 0, 0)
    assert [(r.offset, r.value) for r in records] == [(first, b"mine-1"), (second, b"mine-2")]


def test_fencing_and_retention_across_two_log_instances(kafka_log, fresh_topic):
    from dynamoray.events.kafka import KafkaLog
    from dynamoray.events.log import FencedError, TruncatedError

    old = kafka_log.open_writer(fresh_topic, 0)
    old.append([b"a", b"b", b"c"])
    with KafkaLog(kafka_log.config) as other:
        new = other.open_writer(fresh_topic, 0)
        with pytest.raises(FencedError):
            old.append([b"zombie"])
        with pytest.raises(FencedError):  # stays fenced without touching the broker again
            old.append([b"zombie-2"])
        (d,) = new.append([b"d"])
        other.truncate_before(fresh_topic, 0, d)
        new.close()
    old.close()
    import time

    time.sleep(kafka_log.config.retention_max_age)
    with pytest.raises(TruncatedError):
        kafka_log.read(fresh_topic, 0, 0)
    assert kafka_log.start_offset(fresh_topic, 0) == d
    assert [r.value for r in kafka_log.read(fresh_topic, 0, d)] == [b"d"]


def test_config_from_plain_properties():
    from dynamoray.events.kafka import KafkaLog

    log = KafkaLog({"bootstrap.servers": "127.0.0.1:1"})  # connects lazily: no network call here
    assert log.config.producer_config()["acks"] == "all"
    assert log.config.producer_config()["enable.idempotence"] is True
    assert log.config.consumer_config()["enable.auto.commit"] is False
    log.close()


def test_deleting_topics_while_other_threads_read_them_never_crashes_the_process(kafka_log):
    """Regression: ``dynamoray serve --kafka-bootstrap`` died of SIGSEGV in DeleteTable.  A
    consumer still assigned to a deleted topic crashes librdkafka, so ``delete_topic`` must stop
    (readers in flight get UnknownTopicError) and close every consumer of the topic first."""
    import subprocess
    import sys
    from pathlib import Path

    bootstrap = kafka_log.config.properties["bootstrap.servers"]
    child = subprocess.run([sys.executable, "-m", "tests.events.kafka_deleter", bootstrap, "2"],
                           cwd=Path(__file__).resolve().parents[2], capture_output=True, timeout=180)
    assert child.returncode == 0, child.stderr.decode()[-3000:]
    assert child.stdout.decode().splitlines() == ["UnknownTopicError UnknownTopicError"] * 2


def _librdkafka_clients() -> int:
    """How many librdkafka clients live in this process (each has one ``rdk:main`` thread)."""
    from pathlib import Path

    names = []
    for task in Path("/proc/self/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return names.count("rdk:main")


def test_many_topics_read_once_keep_a_bounded_number_of_consumers(kafka_log):
    from dynamoray.events.kafka import KafkaLog

    config = kafka_log.config.model_copy(update={"idle_consumers": 3})
    with KafkaLog(config) as log:
        topics = [f"kb{next(_counter)}" for _ in range(13)]
        for topic in topics:
            log.create_topic(topic, 1)
        with log.open_writer(topics[0], 0) as writer:
            writer.append([b"first"])
        before = _librdkafka_clients()  # the producer, the admin client, the meta topic's and one consumer
        for topic in topics[1:]:
            with log.open_writer(topic, 0) as writer:
                writer.append([b"one"])
            assert [r.value for r in log.read(topic, 0, 0)] == [b"one"]
        assert _librdkafka_clients() <= before + 2  # at most 3 idle consumers, not one per topic
    assert _librdkafka_clients() < before - 3  # and closing the log frees them all


def test_closing_the_log_while_other_threads_read_raises_log_closed_error(kafka_log, fresh_topic):
    from dynamoray.events.kafka import KafkaLog
    from dynamoray.events.log import LogClosedError

    with kafka_log.open_writer(fresh_topic, 0) as writer:
        writer.append([b"a", b"b"])
    log = KafkaLog(kafka_log.config)
    started = threading.Barrier(4)
    outcomes: list[BaseException | None] = []

    def hammer() -> None:
        log.read(fresh_topic, 0, 0)
        started.wait()
        try:
            for _ in range(2000):
                log.read(fresh_topic, 0, 0)
                log.end_offset(fresh_topic, 0)
            outcomes.append(None)
        except BaseException as error:  # noqa: BLE001 - the assertion below names it
            outcomes.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    started.wait()
    log.close()
    for t in threads:
        t.join(60)
    assert [type(o) for o in outcomes] == [LogClosedError] * 3, outcomes
