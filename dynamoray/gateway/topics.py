"""A one-partition topic of the engine's log that the gateway owns (audit, usage, capacity policies).

Like the IAM store's topic, it lives in the engine's log (``engine.stream_log()``): the embedded
log under the data directory, Kafka, or memory in tests, and it is encrypted at rest with every
other topic when the server encrypts.  Events go through the same codec as every other event.
Blocking log calls run on a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Iterator

from ..actors import records
from ..events.log import EventLog, FencedError, TopicExistsError


class GatewayTopic:
    def __init__(self, name: str, log_source: Callable[[], Awaitable[EventLog]]) -> None:
        self.name = name
        self._log_source = log_source
        self.log: EventLog | None = None
        self._writer: Any = None

    async def open(self, replay: bool = False) -> list[Any]:
        """Create the topic if needed and become its writer; with ``replay``, every event in it."""
        self.log = await self._log_source()
        return await asyncio.to_thread(self._open, replay)

    def _open(self, replay: bool) -> list[Any]:
        try:
            self.log.create_topic(self.name, 1)
        except TopicExistsError:
            pass
        self._writer = self.log.open_writer(self.name, 0)
        return [records.CODEC.decode(value) for value in records.read_all(self.log, self.name)] if replay else []

    @property
    def opened(self) -> bool:
        return self._writer is not None

    async def append(self, events: list[Any]) -> None:
        """Encode and append ``events`` in one durable commit (on a worker thread)."""
        if events:
            await asyncio.to_thread(self._append, events)

    def _append(self, events: list[Any]) -> None:
        values = [records.CODEC.encode(event) for event in events]
        try:
            self._writer.append(values)
        except FencedError:  # another gateway process (``serve --gateways N``) took the writer: take it back
            fenced, self._writer = self._writer, self.log.open_writer(self.name, 0)
            fenced.close()
            self._writer.append(values)

    def events(self, since_ms: int | None = None) -> Iterator[Any]:
        """Every event, oldest first (from the first one committed at or after ``since_ms``); a
        blocking generator, for a worker thread."""
        log = self.log
        offset = log.start_offset(self.name, 0)
        if since_ms is not None:
            offset = max(offset, log.offset_for_time(self.name, 0, since_ms))
        while True:
            batch = log.read(self.name, 0, offset, 1000)
            if not batch:
                return
            for record in batch:
                yield records.CODEC.decode(record.value)
            offset = batch[-1].offset + 1

    async def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await asyncio.to_thread(writer.close)
