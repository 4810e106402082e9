"""Pipelined durable writes for one partition, on an asyncio loop.

A write is decided against the partition's state *plus the writes still in flight* (their new
images sit in an overlay), queued in decision order, appended to the log in batches (one durable
commit per batch: group commit), and folded into the state in log order once durable.  Only then
is it acknowledged.  If an append fails, every write of that batch fails and the partition is
marked broken: the owner must rebuild it from the log before taking more writes, so the state
never diverges from the log.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from ..core import partition
from ..core.commands import ItemChange, Item, WriteOutcome

AppendBatch = Callable[[list[bytes]], Awaitable[list[int]]]
Encode = Callable[[ItemChange], bytes]


class _PendingView:
    """The state as a decision must see it: in-flight images over the applied ones."""

    __slots__ = ("schema", "_state", "_overlay")

    def __init__(self, state: partition.PartitionState, overlay: dict) -> None:
        self.schema = state.schema
        self._state = state
        self._overlay = overlay

    def lookup(self, key: Item) -> Item | None:
        token = _token(self.schema, key)
        if token in self._overlay:
            return self._overlay[token][1]
        return self._state.lookup(key)


def _token(schema, key: Item) -> tuple:
    return partition.hash_slot(schema, key), partition.sort_slot(schema, key)


class BrokenPartition(Exception):
    """An append failed; the partition must be rebuilt from the log."""


class WritePipeline:
    def __init__(self, state: partition.PartitionState, append: AppendBatch, encode: Encode) -> None:
        self.state = state
        self._append = append
        self._encode = encode
        self._overlay: dict[tuple, list[Any]] = {}  # token -> [in-flight count, latest image]
        self._queue: list[tuple[ItemChange, bytes, asyncio.Future]] = []
        self._flushing = False
        self.broken: BaseException | None = None

    async def write(self, command: Any) -> WriteOutcome:
        if self.broken is not None:
            raise BrokenPartition() from self.broken
        outcome = partition.decide(_PendingView(self.state, self._overlay), command)
        change = outcome.change
        if change is None:
            return outcome
        token = _token(self.state.schema, change.keys)
        entry = self._overlay.setdefault(token, [0, None])
        entry[0] += 1
        entry[1] = change.new_image
        future = asyncio.get_running_loop().create_future()
        self._queue.append((change, self._encode(change), future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        await future
        return outcome

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    offsets = await self._append([payload for _, payload, _ in batch])
                except BaseException as error:  # noqa: BLE001 - fail-stop: every waiter hears it
                    self.broken = error
                    for _, _, future in batch + self._queue:
                        if not future.done():
                            future.set_exception(BrokenPartition(str(error)))
                    self._queue = []
                    self._overlay.clear()
                    return
                for (change, _, future), offset in zip(batch, offsets):
                    partition.evolve(self.state, change, offset)
                    self._release(change)
                    if not future.done():
                        future.set_result(offset)
        finally:
            self._flushing = False

    def _release(self, change: ItemChange) -> None:
        token = _token(self.state.schema, change.keys)
        entry = self._overlay.get(token)
        if entry is not None:
            entry[0] -= 1
            if entry[0] == 0:
                del self._overlay[token]
