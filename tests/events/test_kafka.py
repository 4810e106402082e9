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
    import itertools

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
