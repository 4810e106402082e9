"""One member of a hook: consumes the table's log partitions it is assigned and calls the function.

The loop (:meth:`HookRunner.run`):

1. Find the table's topic (``records.table_topic(TableId)``) and join the hook's consumer group on
   it (``events/consumer.py``): the group spreads the topic's partitions over the hook's members.
2. For each partition it owns, resume from the checkpoint (exactly-once: the checkpoint item in
   table ``dynamoray.hooks``; otherwise the group's committed offset, or the starting position).
3. Read a batch: up to ``BatchSize`` item changes, rendered as DynamoDB Streams records
   (``events/streams.stream_record``; a MODIFY that changed nothing is skipped, like the stream).
4. Deliver it (:class:`Delivery`): call the function; commit its writes and the checkpoint together;
   on an error retry with exponential backoff, bisect if asked, and after the last retry send the
   batch to the dead-letter topic and move on.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import logs
from ..core import hooks, tables
from ..core.errors import DynamoError
from ..events.consumer import GroupMember, RebalanceError, join_group
from ..events.log import EventLog, TruncatedError, UnknownTopicError
from ..events.streams import stream_record
from ..schemas.events import ItemChanged
from . import records
from .hook_delivery import Delivery, Repositioned

log = logs.get("hooks")

SCAN_LIMIT = 2000  # log records one read looks at, at most
MIN_IDLE_WAIT = 0.002  # seconds: the first pause after a busy step


@dataclass(frozen=True, slots=True)
class Target:
    """The hooked table as the runner knows it."""

    table_id: str
    topic: str
    arn: str
    region: str
    account: str


@dataclass
class Cursor:
    position: int  # the next offset to read
    committed: int | None  # what the checkpoint (or the group) holds; None: no checkpoint item yet


@dataclass(frozen=True, slots=True)
class Batch:
    """Records of one partition, and the checkpoint move that commits them: ``start`` -> ``end``."""

    partition: int
    start: int | None
    end: int
    records: tuple[tuple[int, dict], ...]  # (offset, stream record)

    def split(self) -> tuple[Batch, Batch]:
        middle = len(self.records) // 2
        cut = self.records[middle][0]
        return (Batch(self.partition, self.start, cut, self.records[:middle]),
                Batch(self.partition, cut, self.end, self.records[middle:]))


@dataclass
class Stats:
    batches: int = 0
    records: int = 0
    failures: int = 0
    conflicts: int = 0
    dead_letters: int = 0
    positions: dict = field(default_factory=dict)


class HookRunner:
    """Runs one member of a hook over an engine (its tables and transactions) and the log."""

    def __init__(self, spec: hooks.HookSpec, function: Callable, engine: Any, event_log: EventLog, *,
                 member_id: str, dead_letters: Any, session_ms: int = 6000, poll_interval: float = 0.05,
                 backoff_base: float = 0.2, clock: Callable[[], float] = time.time,
                 join: Callable[..., GroupMember] = join_group) -> None:
        self.spec = spec
        self.function = function
        self.engine = engine
        self.log = event_log
        self.member_id = member_id
        self.dead_letters = dead_letters
        self.session_ms = session_ms
        self.poll_interval = poll_interval
        self.backoff_base = backoff_base
        self.clock = clock
        self._join_group = join  # how a member joins its consumer group (tests inject their own)
        self.stats = Stats()
        self.schemas: dict = {}
        # the function runs on a thread of its own: it may block on the context's calls, which run
        # on the event loop, and must never take a thread the loop's other work waits for
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"hook-{member_id}")
        self._target: Target | None = None
        self._member: GroupMember | None = None
        self._cursors: dict[int, Cursor] = {}

    # --- the loop --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: poll, deliver, checkpoint.  Never raises (errors are logged and
        the step retried after a pause)."""
        failures, idle = 0, MIN_IDLE_WAIT
        try:
            while not stop.is_set():
                try:
                    busy = await self.step()
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - a hook must keep running
                    failures += 1
                    log.warning("hook_step_failed", hook=self.spec.name, member=self.member_id, error=repr(error))
                    self._forget()
                    busy = False
                    await _wait(stop, hooks.backoff(failures, self.backoff_base, cap=5.0))
                if busy:
                    idle = MIN_IDLE_WAIT
                else:  # poll again soon after activity, then less and less often, up to poll_interval
                    await _wait(stop, idle)
                    idle = min(idle * 2, self.poll_interval)
        finally:
            await self.close()

    async def close(self) -> None:
        member, self._member = self._member, None
        if member is not None:
            await asyncio.to_thread(member.close)
        self.executor.shutdown(wait=False)

    def _forget(self) -> None:
        self._cursors.clear()
        self._target = None

    async def step(self) -> bool:
        """One pass over the owned partitions; True if a batch was delivered or the position moved."""
        target = await self._resolve()
        if target is None:
            return False
        member = await self._join(target)
        owned = [p for topic, p in await asyncio.to_thread(member.assignment) if topic == target.topic]
        for partition in list(self._cursors):
            if partition not in owned:
                del self._cursors[partition]
        busy = False
        for partition in owned:
            try:
                busy |= await self._poll(target, member, partition)
            except (Repositioned, RebalanceError):
                self._cursors.pop(partition, None)
                busy = True
            except UnknownTopicError:  # the table was deleted (maybe re-created): find it again
                self._forget()
                return False
        return busy

    async def _resolve(self) -> Target | None:
        if self._target is None:
            try:
                description = await self.engine.describe_table(self.spec.table)
            except DynamoError as error:
                if error.error_type != "ResourceNotFoundException":
                    raise
                return None
            arn = description["TableArn"]
            parts = arn.split(":")
            self._target = Target(description["TableId"], records.table_topic(description["TableId"]), arn,
                                  parts[3], parts[4])
            if self.spec.exactly_once:
                await ensure_checkpoint_table(self.engine, parts[3], parts[4], self.clock())
        return self._target

    async def _join(self, target: Target) -> GroupMember:
        member = self._member
        if member is None or member.topics != (target.topic,):
            if member is not None:
                await asyncio.to_thread(member.close)
            self._member = None
            member = self._member = await asyncio.to_thread(
                self._join_group, self.log, hooks.group_of(self.spec.name), [target.topic], self.member_id,
                self.spec.starting_position, session_ms=self.session_ms)
            self._cursors.clear()
        return member

    # --- one partition ---------------------------------------------------------------------------

    async def _cursor(self, target: Target, member: GroupMember, partition: int) -> Cursor:
        cursor = self._cursors.get(partition)
        if cursor is None:
            committed = None
            if self.spec.exactly_once:
                committed = await self._checkpoint(target, partition)
            if committed is not None:
                cursor = Cursor(committed, committed)
            else:
                position = await asyncio.to_thread(member.position, target.topic, partition)
                cursor = Cursor(position, None if self.spec.exactly_once else position)
            self._cursors[partition] = cursor
        return cursor

    async def _checkpoint(self, target: Target, partition: int) -> int | None:
        key = hooks.checkpoint_key(self.spec.name, target.table_id, partition)
        return hooks.checkpoint_offset(await self.engine.get(hooks.CHECKPOINT_TABLE, key, None, True))

    async def _poll(self, target: Target, member: GroupMember, partition: int) -> bool:
        cursor = await self._cursor(target, member, partition)
        batch = await self._read(target, partition, cursor)
        self.stats.positions[partition] = cursor.position
        if batch is None:
            return False
        if not batch.records:  # only records a hook does not see: move on, commit with the next batch
            cursor.position = batch.end
            return True
        delivery = Delivery(self, target, member, cursor)
        await delivery.deliver(batch)
        cursor.position = cursor.committed = batch.end
        self.stats.positions[partition] = cursor.position
        return True

    async def _read(self, target: Target, partition: int, cursor: Cursor) -> Batch | None:
        """The next batch of a partition, or None if there is nothing (or not enough yet)."""
        try:
            found = await asyncio.to_thread(self.log.read, target.topic, partition, cursor.position, SCAN_LIMIT)
        except TruncatedError as error:  # retention passed our position: resume at the oldest record
            cursor.position = error.start
            return None
        if not found:
            return None
        shown: list[tuple[int, dict]] = []
        end = cursor.position
        for record in found:
            if len(shown) >= self.spec.batch_size:
                break
            event = records.CODEC.decode(record.value)
            end = record.offset + 1
            if isinstance(event, ItemChanged):
                rendered = stream_record(event, partition, record, self.spec.view_type, target.region, target.topic)
                if rendered is not None:
                    rendered["eventSourceARN"] = target.arn
                    shown.append((record.offset, rendered))
        if shown and len(shown) < self.spec.batch_size and self.spec.batch_window > 0:
            first = found[0].timestamp / 1000
            if self.clock() - first < self.spec.batch_window:
                return None  # wait for a fuller batch
        return Batch(partition, cursor.committed, end, tuple(shown))

    # --- used by Delivery ------------------------------------------------------------------------

    def call_function(self, records_: list[dict], ctx: Any) -> None:
        """Run the user's function (on a worker thread)."""
        self.function(records_, ctx)

    def dead_letter(self, target: Target, batch: Batch, error: BaseException, attempts: int) -> dict:
        """The dead-letter entry of a batch that failed for good."""
        return {
            "hook": self.spec.name, "table": self.spec.table, "tableId": target.table_id,
            "partition": batch.partition,
            "firstSequenceNumber": batch.records[0][1]["dynamodb"]["SequenceNumber"],
            "lastSequenceNumber": batch.records[-1][1]["dynamodb"]["SequenceNumber"],
            "attempts": attempts, "failedAt": self.clock(),
            "error": {"type": _error_type(error), "message": _error_message(error),
                      "trace": "".join(traceback.format_exception(error))[-4000:]},
            "records": [record for _, record in batch.records],
        }


def _error_type(error: BaseException) -> str:
    return error.error_type if isinstance(error, DynamoError) else type(error).__name__


def _error_message(error: BaseException) -> str:
    return error.message if isinstance(error, DynamoError) else str(error)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def ensure_checkpoint_table(engine: Any, region: str, account: str, now: float) -> None:
    """Create the internal checkpoint table ``dynamoray.hooks`` if it does not exist."""
    import uuid

    try:
        await engine.describe_table(hooks.CHECKPOINT_TABLE)
        return
    except DynamoError as error:
        if error.error_type != "ResourceNotFoundException":
            raise
    description = tables.new_table_description(
        hooks.checkpoint_table_request(), arn=f"arn:aws:dynamodb:{region}:{account}:table/{hooks.CHECKPOINT_TABLE}",
        table_id=str(uuid.uuid4()), now=now)
    try:
        await engine.create_table(description)
    except DynamoError as error:
        if error.error_type != "ResourceInUseException":
            raise
    log.info("checkpoint_table_created", table=hooks.CHECKPOINT_TABLE)


