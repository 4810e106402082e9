"""A child process for ``test_kafka.py``: deletes topics while other threads read them, then lives
on long enough for librdkafka to refresh its metadata.  A consumer still assigned to a deleted
topic segfaults the process there (librdkafka 2.16 in ``rd_kafka_metadata_cache_find``), so the
parent only has to check that this exits cleanly.

    python -m tests.events.kafka_deleter BOOTSTRAP ROUNDS
"""

from __future__ import annotations

import faulthandler
import sys
import threading
import time
import uuid

from dynamoray.events.kafka import KafkaLog
from dynamoray.events.log import UnknownTopicError
from tests.kafka_broker import log_config


def _round(log: KafkaLog, topic: str) -> list[str]:
    log.create_topic(topic, 1)
    with log.open_writer(topic, 0) as writer:
        writer.append([b"x"])
    assert [r.value for r in log.read(topic, 0, 0)] == [b"x"]  # leaves an idle consumer of the topic
    end = log.end_offset(topic, 0)
    outcomes: list[str] = []
    tailing = threading.Event()

    def tail() -> None:  # holds a consumer of the topic while it is deleted
        tailing.set()
        try:
            log.tail(topic, 0, end, timeout=15)
            outcomes.append("returned")
        except UnknownTopicError:
            outcomes.append("UnknownTopicError")

    reader = threading.Thread(target=tail)
    reader.start()
    tailing.wait(10)
    time.sleep(0.3)  # let it reach its poll loop
    log.delete_topic(topic)
    reader.join(30)
    time.sleep(2.5)  # librdkafka refreshes the metadata of an assigned topic about every second
    try:
        log.read(topic, 0, 0)
        outcomes.append("read after delete")
    except UnknownTopicError:
        outcomes.append("UnknownTopicError")
    return outcomes


def main(bootstrap: str, rounds: int) -> None:
    faulthandler.enable()
    with KafkaLog(log_config(bootstrap)) as log:
        for i in range(rounds):
            print(" ".join(_round(log, f"deleted-{uuid.uuid4().hex[:8]}-{i}")), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
