"""Pure parts of the Kafka backend: its configuration and the header every record carries.

Every record the Kafka backend writes has one header, ``dynamoray``, packing

    expected offset (int64) | commit timestamp ms (int64) | writer epoch (int32) | kind (int8)

*Leader-epoch fencing recorded in the log.*  A writer always knows the offset its next record
must get (``expected``).  A record is **valid** only if it landed exactly there
(``offset == expected``); readers skip every other record, so the log itself decides, by order,
which writer won a race.  ``open_writer`` appends a CLAIM record at the end offset it observed;
if something else landed first, it looks again and retries.  After an append whose records did
not land where expected, the writer inspects the records in between: if any of them is valid,
another writer owns the partition and the append fails with ``FencedError``; if none is (only
a zombie's rejected records), it re-appends the remainder at the new end.  No broker transaction,
producer epoch or ``offsets_for_times`` is involved, so this is correct on Apache Kafka and on
Tansu alike; even a duplicate from a non-idempotent retry is invalid and skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

HEADER = "dynamoray"
_HEADER = struct.Struct(">qqiB")
DATA, CLAIM = 0, 1


@dataclass(frozen=True, slots=True)
class Stamp:
    """The decoded ``dynamoray`` header of one record, with its real offset."""

    offset: int
    expected: int
    timestamp: int
    epoch: int
    kind: int

    @property
    def valid(self) -> bool:
        return self.offset == self.expected


def pack_header(expected: int, timestamp: int, epoch: int, kind: int) -> bytes:
    return _HEADER.pack(expected, timestamp, epoch, kind)


def unpack_header(offset: int, headers: list[tuple[str, bytes]] | None) -> Stamp | None:
    """The record's stamp, or None for a record another program wrote (always invalid)."""
    for name, raw in headers or ():
        if name == HEADER and raw is not None and len(raw) == _HEADER.size:
            return Stamp(offset, *_HEADER.unpack(raw))
    return None


Properties = Mapping[str, Any]


class KafkaLogConfig(BaseModel):
    """How to reach the cluster: standard librdkafka properties, plus a few of our own.

    ``properties`` go to every client (``bootstrap.servers``, ``security.protocol``, SASL...);
    ``producer``/``consumer``/``admin`` override them per client.  ``physical_truncation`` sends
    DeleteRecords on ``truncate_before`` (set it False for brokers without it, such as Tansu: the
    retained start is always also recorded in ``meta_topic``, which readers honour).
    """

    model_config = ConfigDict(frozen=True)

    properties: dict[str, Any]
    producer: dict[str, Any] = Field(default_factory=dict)
    consumer: dict[str, Any] = Field(default_factory=dict)
    admin: dict[str, Any] = Field(default_factory=dict)
    replication_factor: int = -1  # -1: the broker's default
    topic_config: dict[str, str] = Field(default_factory=lambda: {"max.message.bytes": "4194304"})
    physical_truncation: bool = True
    meta_topic: str = "__dynamoray_log_meta"
    timeout: float = 30.0  # seconds before a call that cannot reach the cluster fails
    retention_max_age: float = 1.0  # seconds a reader may trust its cached retained start
    idle_consumers: int = 8  # consumers kept for reuse (each costs threads and fetches in the background)
    consumer_idle_timeout: float = 10.0  # seconds an unused consumer is kept

    def producer_config(self) -> dict[str, Any]:
        return {
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 1,
            "socket.nagle.disable": True,
            "message.max.bytes": 4194304,
            "message.timeout.ms": int(self.timeout * 1000),
            **self.properties,
            **self.producer,
        }

    def consumer_config(self) -> dict[str, Any]:
        return {
            "group.id": "dynamoray-reader",  # required by librdkafka, never joined (assign only)
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "error",
            "fetch.wait.max.ms": 10,
            "fetch.max.bytes": 52428800,
            "max.partition.fetch.bytes": 10485760,
            "socket.nagle.disable": True,
            **self.properties,
            **self.consumer,
        }

    def admin_config(self) -> dict[str, Any]:
        return {**self.properties, **self.admin}
