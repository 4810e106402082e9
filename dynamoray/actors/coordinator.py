"""The transaction coordinator: TransactWriteItems as a two-phase commit over partition owners.

For each transaction (pure steps in ``core/saga.py``):

1. **Prepare.**  One call per node (a partition host; the whole engine in-process) carries that
   node's partitions and commands.  A participant is one shard of a table (``saga.Participant``
   carries it), so a transaction over two shards of one table has two participants.  Each
   partition decides its commands against its state, its in-flight writes and the locks it
   holds; if all pass it locks the items and makes a
   TransactionPrepared durable in its own log.  Every action gets a result (a cancellation reason
   when it failed).
2. **Decide.**  All passed: the coordinator appends TransactionDecided(COMMIT) to its own topic
   (``dynamoray.transactions``) and only then tells anyone.  Otherwise nothing is logged: an abort
   is *presumed* for every transaction the log holds no COMMIT for and this coordinator is not
   running (:meth:`TransactionCoordinator.resolve`).
3. **Finish.**  Every participant applies the decision (COMMIT: the item changes, tagged with the
   transaction id, then a TransactionReleased; ABORT: the release only).  The client is answered
   once a commit is applied everywhere, so a read after the answer sees it.  A TransactionCompleted
   then tells a restarted coordinator there is nothing left to re-drive.

Recovery is from the logs alone: a restarted coordinator fences its topic, replays it (commits
not completed, ClientRequestTokens of the last 10 minutes) and re-drives the unfinished commits;
a restarted participant replays its locks and, for a lock whose decision it never heard, asks
:meth:`resolve` (COMMIT, ABORT, or PENDING while the transaction still runs).

Retry contract: a coordinator call may run at most once (``max_task_retries=0`` on Ray); every
phase-2 step is idempotent (finishing a transaction a partition no longer holds does nothing),
so re-driving after a crash never applies a change twice.

This is a plain class: ``options.py`` makes it a Ray actor, ``LocalEngine`` holds one in process.
The participants come in through the :class:`Participants` port.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Callable, Hashable, Protocol, Sequence

from .. import logs
from ..core import errors, saga
from ..events.log import EventLog, TopicExistsError, system_clock
from ..schemas.events import TransactionCompleted, TransactionDecided
from . import records

COORDINATOR_TOPIC = "dynamoray.transactions"
FINISH_DEADLINE = 60.0  # seconds a phase-2 step is retried before it is left to the re-driver
ABORT_WAIT = 5.0  # seconds a cancelled transaction's client waits for its locks to go
REDRIVE_INTERVAL = 5.0  # seconds between passes over unfinished commits
TRUNCATE_EVERY = 1000  # decisions between truncations of the coordinator topic

log = logs.get("coordinator")


class Participants(Protocol):
    """How the coordinator reaches partitions: grouped by ``node`` (one call per node and phase)."""

    def route(self, participant: saga.Participant) -> Hashable: ...

    async def prepare(self, node: Hashable, transaction_id: str,
                      parts: list[tuple[saga.Participant, list[Any]]]) -> list[list[saga.ActionResult]]: ...

    async def finish(self, node: Hashable, transaction_id: str, decision: str,
                     participants: list[saga.Participant]) -> None: ...


class _Appender:
    """Group commit for the coordinator topic: concurrent appends leave together."""

    def __init__(self, append: Callable[[list[bytes]], Any]) -> None:
        self._append = append
        self._queue: list[tuple[bytes, asyncio.Future]] = []
        self._flushing = False

    async def append(self, payload: bytes) -> int:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((payload, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    offsets = await self._append([payload for payload, _ in batch])
                except BaseException as error:  # noqa: BLE001 - every waiter hears it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), offset in zip(batch, offsets):
                    if not future.done():
                        future.set_result(offset)
        finally:
            self._flushing = False


class TransactionCoordinator:
    def __init__(self, log: EventLog | Callable[[], EventLog], participants: Participants | Callable[[], Participants],
                 *, clock: Callable[[], int] = system_clock, in_thread: bool = True, owns_log: bool = False,
                 redrive_interval: float | None = REDRIVE_INTERVAL, finish_deadline: float = FINISH_DEADLINE,
                 truncate_every: int = TRUNCATE_EVERY) -> None:
        self._owns_log = owns_log or not isinstance(log, EventLog)
        self._log = log if isinstance(log, EventLog) else log()
        self._participants = participants if hasattr(participants, "route") else participants()
        self._clock = clock
        self._in_thread = in_thread
        self._redrive_interval = redrive_interval  # None: re-drive once (at the first call) only
        self._finish_deadline = finish_deadline
        self._truncate_every = truncate_every
        self._active: set[str] = set()  # transactions this incarnation runs, not yet decided
        self._driving: set[str] = set()  # commits being finished right now
        self._doubtful: set[str] = set()  # COMMIT appends that failed unclearly, until the log says
        self._writer = None
        self._state = saga.CoordinatorState(saga.IdempotencyTable(clock))
        self._appender = _Appender(self._append_now)
        self._recovery: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self._decisions = 0
        self._open()

    # --- the log --------------------------------------------------------------------------------

    def _open(self) -> None:
        """Fence earlier coordinators, then fold the topic (runs at start and after a failed append)."""
        try:
            self._log.create_topic(COORDINATOR_TOPIC, 1)
        except TopicExistsError:
            pass
        if self._writer is not None:
            self._writer.close()
        self._writer = self._log.open_writer(COORDINATOR_TOPIC, 0)
        state = saga.CoordinatorState(saga.IdempotencyTable(self._clock))
        offset = self._log.start_offset(COORDINATOR_TOPIC, 0)
        while True:
            batch = self._log.read(COORDINATOR_TOPIC, 0, offset, 5000)
            if not batch:
                break
            for record in batch:
                event = records.CODEC.decode(record.value)
                saga.evolve_coordinator(state, event, record.offset, record.timestamp)
            offset = batch[-1].offset + 1
        state.tokens.expire()
        self._state = state
        self._doubtful.clear()  # the log now says what became of them

    async def _call(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args) if self._in_thread else fn(*args)

    async def _append_now(self, payloads: list[bytes]) -> list[int]:
        return await self._call(self._writer.append, payloads)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # --- TransactWriteItems ---------------------------------------------------------------------

    async def transact_write(self, request: saga.TransactWrite, routes: dict | None = None) -> saga.TransactWriteResult:
        """``routes``: the partition maps of tables spread over hosts, by table id (Ray engine)."""
        if routes and hasattr(self._participants, "learn"):
            self._participants.learn(routes)
        self._start_recovery()
        if self._doubtful:
            await self._reopen()
        tokens = self._state.tokens
        if tokens.check(request.client_token, request.request_hash):
            await self._applied(tokens.get(request.client_token).transaction_id)
            return saga.TransactWriteResult(replayed=True)
        tokens.begin(request.client_token, request.request_hash)
        committed = False
        try:
            result = await self._run(request)
            committed = True
            return result
        finally:
            if not committed:
                self._state.tokens.abandon(request.client_token)

    async def _run(self, request: saga.TransactWrite) -> saga.TransactWriteResult:
        txn = uuid.uuid4().hex
        plan = saga.group_by_node(request.actions, self._participants.route)
        participants = tuple(dict.fromkeys(a.participant for a in request.actions))
        self._active.add(txn)
        try:
            state, failure, held = await self._prepare_all(txn, plan, len(request.actions))
            if state.phase == saga.COMMITTING and failure is None:
                if await self._record_commit(txn, participants, request):
                    self._active.discard(txn)
                    await self._drive_commit(txn, participants)
                    return saga.TransactWriteResult(state.results)
                failure = errors.internal_server_error("The transaction could not be made durable; it was not applied")
                held = participants
            self._active.discard(txn)  # from here on it is presumed aborted
            await self._abort(txn, held)
            if failure is not None:
                raise failure
            raise errors.transaction_canceled(state.reasons())
        finally:
            self._active.discard(txn)

    async def _prepare_all(self, txn: str, plan: dict, actions: int):
        """Phase 1 on every node: the saga, the first node failure, and the participants that may
        hold locks (those that passed, and all of a node that did not answer)."""
        nodes = list(plan)
        answers = await asyncio.gather(
            *(self._participants.prepare(node, txn, [(p, [c for _, c in cmds]) for p, cmds in plan[node]])
              for node in nodes),
            return_exceptions=True,
        )
        results: list[saga.ActionResult | None] = [None] * actions
        failure, held = None, []
        for node, answer in zip(nodes, answers):
            if isinstance(answer, BaseException):
                if not isinstance(answer, errors.DynamoError):
                    log.error("prepare_failed", transaction=txn, error=repr(answer))
                    answer = errors.internal_server_error()
                failure = failure or answer
                held.extend(p for p, _ in plan[node])
                continue
            for (participant, cmds), part in zip(plan[node], answer):
                for (index, _), result in zip(cmds, part):
                    results[index] = result
                if all(r.reason is None for r in part):
                    held.append(participant)
        return saga.Saga(txn, actions).prepared(results), failure, held

    async def _record_commit(self, txn: str, participants: tuple, request: saga.TransactWrite) -> bool:
        """Make the COMMIT durable; True once it is in the log (after an unclear failure, the
        log is reopened and says)."""
        event = TransactionDecided(txn, saga.COMMIT, [p.to_wire() for p in participants],
                                   request.client_token, request.request_hash)
        self._state.unfinished[txn] = saga.Decision(txn, participants, -1)  # in flight: never truncated
        try:
            offset = await self._appender.append(records.CODEC.encode(event))
        except Exception as error:  # noqa: BLE001 - whether it landed is unknown: ask the log
            log.error("decision_append_failed", transaction=txn, error=repr(error))
            self._doubtful.add(txn)  # PENDING to anyone who asks, until the log is read again
            await self._reopen()
            return txn in self._state.unfinished
        self._state.unfinished[txn] = saga.Decision(txn, participants, offset)
        self._state.tokens.committed(request.client_token, request.request_hash, self._clock(), offset, txn)
        self._decisions += 1
        if self._decisions % self._truncate_every == 0:
            self._spawn(self._truncate())
        return True

    async def _reopen(self) -> None:
        try:
            await self._call(self._open)
        except Exception as error:  # noqa: BLE001 - stay doubtful; the next call tries again
            log.error("coordinator_reopen_failed", error=repr(error))
            raise errors.internal_server_error() from None

    async def _drive_commit(self, txn: str, participants: Sequence[saga.Participant], *, wait: bool = False) -> None:
        self._driving.add(txn)
        try:
            if not await self._finish_everywhere(txn, saga.COMMIT, participants):
                raise errors.internal_server_error("The transaction committed but is not applied everywhere yet")
        finally:
            self._driving.discard(txn)
        self._state.unfinished.pop(txn, None)
        if wait:
            await self._completed(txn)
        else:  # off the client's path: a restart before it lands only re-drives a no-op
            self._spawn(self._completed(txn))

    async def _applied(self, txn: str | None) -> None:
        """Before a retry is told its commit succeeded: make sure the commit is applied everywhere."""
        decision = self._state.unfinished.get(txn) if txn is not None else None
        if decision is not None and decision.offset >= 0:
            await self._drive_commit(txn, decision.participants)

    async def _completed(self, txn: str) -> None:
        try:
            await self._appender.append(records.CODEC.encode(TransactionCompleted(txn)))
        except Exception as error:  # noqa: BLE001 - a restart re-drives it: finishing is idempotent
            log.warning("completion_append_failed", transaction=txn, error=repr(error))

    async def _abort(self, txn: str, held: Sequence[saga.Participant]) -> None:
        if not held:
            return
        task = self._spawn(self._finish_everywhere(txn, saga.ABORT, held))
        await asyncio.wait([task], timeout=ABORT_WAIT)

    async def _finish_everywhere(self, txn: str, decision: str, participants: Sequence[saga.Participant]) -> bool:
        by_node: dict[Hashable, list[saga.Participant]] = {}
        for p in participants:
            by_node.setdefault(self._participants.route(p), []).append(p)
        done = await asyncio.gather(*(self._finish_node(n, txn, decision, ps) for n, ps in by_node.items()))
        return all(done)

    async def _finish_node(self, node: Hashable, txn: str, decision: str, parts: list) -> bool:
        deadline, delay = time.monotonic() + self._finish_deadline, 0.02
        while True:
            try:
                await self._participants.finish(node, txn, decision, parts)
                return True
            except errors.DynamoError as error:
                if error.error_type == "ResourceNotFoundException":
                    return True  # the table is gone, and its locks with it
                if time.monotonic() > deadline:
                    log.error("finish_gave_up", transaction=txn, decision=decision, error=error.error_type)
                    return False
            except Exception as error:  # noqa: BLE001 - keep retrying until the deadline
                log.error("finish_failed", transaction=txn, error=repr(error))
                if time.monotonic() > deadline:
                    return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # --- recovery ------------------------------------------------------------------------------

    async def resolve(self, transaction_id: str) -> str:
        """A participant asks about a lock: COMMIT, ABORT, or PENDING (still running here)."""
        self._start_recovery()
        if transaction_id in self._active or transaction_id in self._doubtful:
            return saga.PENDING
        return self._state.decision_of(transaction_id)

    def _start_recovery(self) -> None:
        if self._recovery is None:
            once = self._redrive_interval is None
            self._recovery = self._spawn(self._redrive() if once else self._redrive_forever())

    async def recover(self) -> int:
        """Re-drive every commit the log holds that is not finished; returns how many finished."""
        self._start_recovery()
        first = await asyncio.shield(self._recovery) if self._redrive_interval is None else 0
        return first + await self._redrive()

    async def _redrive(self) -> int:
        pending = [d for t, d in list(self._state.unfinished.items()) if t not in self._driving and d.offset >= 0]
        done = 0
        for decision in pending:
            try:
                await self._drive_commit(decision.transaction_id, decision.participants, wait=True)
                done += 1
            except errors.DynamoError:
                pass  # the next pass tries again
        return done

    async def _redrive_forever(self) -> None:
        while True:
            try:
                await self._redrive()
            except Exception as error:  # noqa: BLE001 - one failing pass must not stop recovery
                log.error("redrive_failed", error=repr(error))
            await asyncio.sleep(self._redrive_interval)

    async def _truncate(self) -> None:
        """Drop coordinator records nobody needs: finished, and past the token window."""
        try:
            end = await self._call(self._log.end_offset, COORDINATOR_TOPIC, 0)
            if any(d.offset < 0 for d in self._state.unfinished.values()):
                return  # a COMMIT is being appended: its offset is not known yet
            self._state.tokens.expire()
            keep = self._state.retained_from()
            await self._call(self._log.truncate_before, COORDINATOR_TOPIC, 0, end if keep is None else min(keep, end))
        except Exception as error:  # noqa: BLE001 - retention is best effort
            log.warning("coordinator_truncate_failed", error=repr(error))

    # --- operations ----------------------------------------------------------------------------

    def info(self) -> dict:
        import os

        return {"pid": os.getpid(), "active": len(self._active), "unfinished": len(self._state.unfinished),
                "tokens": len(self._state.tokens)}

    def pid(self) -> int:
        import os

        return os.getpid()

    def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._owns_log:
            self._log.close()
