"""A member of a real Kafka consumer group (confluent-kafka), for :mod:`.consumer`.

The group protocol does what it does on Kafka: membership, heartbeats (librdkafka's background
thread), the partition assignment and its rebalances, committed offsets in the broker.  The member
never *fetches* through its group consumer: every partition it is assigned is paused at once, and
records are read through the :class:`~.kafka.KafkaLog` (which skips our fencing records and
honours the retained start), from the positions the group commits.

On Tansu a member joins in about half of ``session.timeout.ms``; tests use ~2000 ms and a 500 ms
heartbeat (``/work/shared/notes/feasibility.md``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import confluent_kafka as ck

from .consumer import DEFAULT_SESSION_MS, GroupMember, RebalanceError, TopicPartition
from .log import LogUnavailableError

_STALE = frozenset({"ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "REBALANCE_IN_PROGRESS", "_STATE",
                    "FENCED_INSTANCE_ID", "_ASSIGNMENT_LOST"})


class KafkaGroupMember(GroupMember):
    def __init__(self, log: Any, group: str, topics: Sequence[str], member_id: str, starting_position: str,
                 *, session_ms: int = DEFAULT_SESSION_MS, config: Any = None) -> None:
        super().__init__(log, group, topics, member_id, starting_position)
        settings = config if config is not None else log.config  # the KafkaLogConfig
        self._timeout = settings.timeout
        config = {
            **settings.consumer_config(),
            "group.id": group, "client.id": member_id,
            "enable.auto.commit": False, "enable.partition.eof": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": session_ms, "heartbeat.interval.ms": max(100, session_ms // 4),
            "partition.assignment.strategy": "roundrobin",
        }
        self._lock = threading.Lock()
        self._assigned: set[TopicPartition] = set()
        self._consumer = ck.Consumer(config)
        self._consumer.subscribe(list(self.topics), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)

    def _on_assign(self, consumer: Any, partitions: list) -> None:
        consumer.assign(partitions)
        if partitions:
            consumer.pause(partitions)  # never fetch here: records are read through the log
        self._assigned = {(p.topic, p.partition) for p in partitions}

    def _on_revoke(self, consumer: Any, partitions: list) -> None:
        self._assigned = set()

    def assignment(self) -> list[TopicPartition]:
        with self._lock:
            self._consumer.poll(0)  # serves the rebalance callbacks; paused partitions bring no records
            return sorted(self._assigned)

    def committed(self, topic: str, partition: int) -> int | None:
        with self._lock:
            try:
                (found,) = self._consumer.committed([ck.TopicPartition(topic, partition)], timeout=self._timeout)
            except ck.KafkaException as error:
                raise LogUnavailableError(str(error)) from error
        return found.offset if found.offset >= 0 else None

    def commit(self, topic: str, partition: int, offset: int) -> None:
        with self._lock:
            if (topic, partition) not in self._assigned:
                raise RebalanceError(f"{self.member_id} no longer owns {topic}/{partition} in group {self.group}")
            try:
                self._consumer.commit(offsets=[ck.TopicPartition(topic, partition, offset)], asynchronous=False)
            except ck.KafkaException as error:
                code = error.args[0].name() if error.args and hasattr(error.args[0], "name") else ""
                if code in _STALE:
                    raise RebalanceError(f"{self.member_id}: commit refused by the group ({code})") from error
                raise LogUnavailableError(str(error)) from error

    def close(self) -> None:
        with self._lock:
            self._assigned = set()
            self._consumer.close()
