"""The Kafka backend's retained start per partition, kept in a small compacted meta topic.

Records are keyed ``<topic>/<partition>`` (value: the retained start) or ``<topic>/*`` (a reset,
written when a topic is created, so an earlier topic of the same name leaves nothing behind).
The fold stays right when the broker compacts the topic, since only each key's last value
matters and order is kept.  Readers trust a folded value for ``max_age`` seconds.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class MetaTransport(Protocol):
    meta_topic: str

    def ensure_topic(self, topic: str, partitions: int, config: dict[str, str]) -> bool: ...

    def new_cursor(self, topic: str, partition: int) -> Any: ...

    def produce_keyed(self, topic: str, key: str, value: str) -> None: ...


class Retention:
    def __init__(self, transport: MetaTransport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._starts: dict[tuple[str, int], int] = {}
        self._cursor: Any = None
        self._fresh_at = float("-inf")

    def _ensure(self) -> Any:
        if self._cursor is None:
            topic = self._transport.meta_topic
            self._transport.ensure_topic(topic, 1, {"cleanup.policy": "compact"})
            self._cursor = self._transport.new_cursor(topic, 0)
        return self._cursor

    def _refresh(self) -> None:
        cursor = self._ensure()
        offset = max(cursor.next, 0)
        while True:
            msgs = cursor.pull(offset, 10000, None)
            for msg in msgs:
                self._fold(msg.key().decode(), msg.value())
            if cursor.at_eof:
                break
            offset = msgs[-1].offset() + 1
        self._fresh_at = time.monotonic()

    def _fold(self, key: str, value: bytes) -> None:
        topic, _, partition = key.rpartition("/")
        if partition == "*":
            for known in [k for k in self._starts if k[0] == topic]:
                del self._starts[known]
        else:
            self._starts[(topic, int(partition))] = int(value)

    def start(self, topic: str, partition: int, max_age: float) -> int:
        with self._lock:
            if time.monotonic() - self._fresh_at >= max_age:
                self._refresh()
            return self._starts.get((topic, partition), 0)

    def record(self, topic: str, partition: int | str, start: int) -> None:
        with self._lock:
            self._ensure()
            self._transport.produce_keyed(self._transport.meta_topic, f"{topic}/{partition}", str(start))
            self._refresh()

    def close(self) -> None:
        with self._lock:
            if self._cursor is not None:
                self._cursor.close()
                self._cursor = None
