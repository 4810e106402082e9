"""The Kafka backend's writer and its leader-epoch fencing protocol (described in
:mod:`.kafka_records`), written against a small transport so it never touches confluent_kafka."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .batching import GroupCommitter, Pending
from .kafka_records import CLAIM, DATA, Stamp
from .log import Clock, FencedError, LogClosedError, LogUnavailableError, PartitionWriter, stamp

MAX_RETRIES = 50


class Transport(Protocol):
    """What the protocol needs from the Kafka log (implemented by ``KafkaLog``)."""

    def produce(self, topic: str, partition: int, values: Sequence[bytes], expected: int, ts: int, epoch: int,
                kind: int) -> list[int]:
        """Append ``values`` with headers expecting offsets ``expected, expected+1, ...``; return
        the offsets they really got, once acknowledged by all in-sync replicas."""

    def stamps(self, topic: str, partition: int, start: int, stop: int) -> list[Stamp | None]:
        """The stamps of the raw records in [start, stop) (None for records without one)."""

    def end_offset(self, topic: str, partition: int) -> int: ...

    def low_watermark(self, topic: str, partition: int) -> int: ...


def last_valid(transport: Transport, topic: str, partition: int, end: int) -> Stamp | None:
    """The last valid record before ``end``, searching backwards in growing windows."""
    low, window = transport.low_watermark(topic, partition), 64
    while end > low:
        start = max(low, end - window)
        found = [s for s in transport.stamps(topic, partition, start, end) if s is not None and s.valid]
        if found:
            return found[-1]
        end, window = start, window * 4
    return None


def claim(transport: Transport, topic: str, partition: int, clock: Clock) -> FencedWriter:
    """Append a valid CLAIM record at the end of the partition: from then on we are its writer."""
    for _ in range(MAX_RETRIES):
        end = transport.end_offset(topic, partition)
        last = last_valid(transport, topic, partition, end)
        epoch = (last.epoch if last else 0) + 1
        ts = last.timestamp if last else 0  # a claim carries the last stamp on, unchanged
        (landed,) = transport.produce(topic, partition, [b""], end, ts, epoch, CLAIM)
        if landed == end:  # nothing came in between: the claim is valid
            return FencedWriter(transport, topic, partition, epoch, end + 1, ts, clock)
    raise LogUnavailableError(f"could not claim {topic}/{partition}")


def append_checked(transport: Transport, writer: FencedWriter, values: list[bytes]) -> list[int]:
    """Append ``values`` as ``writer``; FencedError if another writer's valid record came first."""
    topic, partition, done = writer.topic, writer.partition, []
    for _ in range(MAX_RETRIES):
        ts = stamp(writer.last_ts, writer.clock())
        offsets = transport.produce(topic, partition, values, writer.expected, ts, writer.epoch, DATA)
        good = 0
        while good < len(offsets) and offsets[good] == writer.expected + good:
            good += 1
        done += offsets[:good]
        if good:
            writer.last_ts = ts
        if good == len(values):
            writer.expected = offsets[-1] + 1
            return done
        ours = set(offsets[good:])
        start, stop = writer.expected + good, offsets[-1] + 1
        others = [s for s in transport.stamps(topic, partition, start, stop) if s is None or s.offset not in ours]
        if any(s is not None and s.valid for s in others):
            raise FencedError(topic, partition, writer.epoch, done)
        writer.expected, values = stop, values[good:]  # only rejected records in between: retry
    raise LogUnavailableError(f"append to {topic}/{partition} kept colliding with another writer")


class FencedWriter(PartitionWriter):
    """A partition's writer on Kafka; concurrent appends are produced and flushed together."""

    def __init__(self, transport: Transport, topic: str, partition: int, epoch: int, expected: int, last_ts: int,
                 clock: Clock) -> None:
        self._transport = transport
        self.topic, self.partition, self.epoch = topic, partition, epoch
        self.expected = expected  # the offset our next record must land at
        self.last_ts = last_ts
        self.clock = clock
        self._fenced = False
        self._closed = False
        self._committer = GroupCommitter(self._commit, name=f"dynamoray-kafka-{topic}-{partition}", max_batch=1000)

    def append(self, values: Sequence[bytes]) -> list[int]:
        if self._closed:
            raise LogClosedError("the writer is closed")
        if not values:
            return []
        return self._committer.submit(list(values), len(values)).wait()

    def _commit(self, batch: list[Pending]) -> None:
        if self._fenced:  # once fenced, always fenced: no need to ask the broker again
            offsets = []
        else:
            try:
                offsets = append_checked(self._transport, self, [v for p in batch for v in p.payload])
            except FencedError as exc:
                self._fenced, offsets = True, list(exc.appended)
        i = 0
        for pending in batch:
            mine, i = offsets[i : i + pending.size], i + pending.size
            if len(mine) == pending.size:
                pending.resolve(mine)
            else:
                pending.resolve(error=FencedError(self.topic, self.partition, self.epoch, mine))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._committer.close()
