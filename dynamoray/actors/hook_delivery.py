"""Delivering one batch to a hook: call, commit, retry, bisect, dead-letter.

- **Call** the function with the batch's records and a context (``hook_context.py``).
- **Commit.**  Exactly-once: one transaction through the engine's coordinator holding the batch's
  staged writes (one action per item) and the conditional put of the checkpoint, which only
  passes if the checkpoint still holds the offset the batch started from.  Otherwise the writes
  are already made, and the group's offset is committed.
- **Outcomes of a commit:**
  - *the checkpoint's condition failed*: another run (a restarted member, a member during a
    rebalance) committed this batch already: nothing is applied twice; the runner re-reads the
    checkpoint and resumes there (:class:`Repositioned`);
  - *a guard failed, an item was locked by another transaction, or the engine was briefly
    unavailable*: a conflict; the batch runs again after a backoff, and it does not count as a
    failure;
  - *more than 99 items, or over 4 MB*: the batch is split in two and each half runs on its own
    (the function is called again on each); a single record that writes more fails;
  - *the function raised, or one of its own conditions failed*: a failure.
- **Failures** are retried with exponential backoff up to ``MaximumRetryAttempts``; with
  ``BisectBatchOnFunctionError`` a failed batch is split in two first, so a bad record ends up
  alone.  A batch out of retries goes to the dead-letter topic (``OnFailure=DLQ``) or is dropped
  (``DISCARD``), and the checkpoint moves past it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import logs
from ..core import errors, hooks, saga
from ..core.errors import DynamoError
from ..core.hook_writes import GUARD
from .hook_context import DirectContext, ExactlyOnceContext

log = logs.get("hooks")

TRANSIENT = frozenset({"ServiceUnavailable", "InternalServerError", "ThrottlingException",
                       "ProvisionedThroughputExceededException", "TransactionConflictException",
                       "TransactionInProgressException", "RequestLimitExceeded"})
_OK, _CONFLICT, _TOO_BIG, _FAILED = "ok", "conflict", "too big", "failed"


class Repositioned(Exception):
    """The checkpoint was moved by another run: resume from the checkpoint, not from here."""


class Delivery:
    """Delivers batches of one partition (``runner``: the :class:`~.hook_runner.HookRunner`)."""

    def __init__(self, runner: Any, target: Any, member: Any, cursor: Any) -> None:
        self.runner = runner
        self.spec = runner.spec
        self.target = target
        self.member = member
        self.cursor = cursor

    async def deliver(self, batch: Any) -> None:
        """Until the batch is committed, dead-lettered or discarded (raises Repositioned or
        RebalanceError when the partition must be re-read from its checkpoint)."""
        failures = conflicts = 0
        while True:
            outcome, error = await self._attempt(batch, failures + 1)
            if outcome == _OK:
                self.runner.stats.batches += 1
                self.runner.stats.records += len(batch.records)
                return
            if outcome == _CONFLICT:
                conflicts += 1
                self.runner.stats.conflicts += 1
                await asyncio.sleep(hooks.backoff(conflicts, self.runner.backoff_base / 4, cap=2.0))
                continue
            if outcome == _TOO_BIG and len(batch.records) > 1:
                await self._halves(batch)
                return
            failures += 1
            self.runner.stats.failures += 1
            log.warning("hook_batch_failed", hook=self.spec.name, partition=batch.partition, records=len(batch.records),
                        attempt=failures, error=repr(error))
            if self.spec.bisect_batch_on_error and len(batch.records) > 1:
                await self._halves(batch)
                return
            if not hooks.retries_left(self.spec, failures):
                await self._give_up(batch, error, failures)
                return
            await asyncio.sleep(hooks.backoff(failures, self.runner.backoff_base))

    async def _halves(self, batch: Any) -> None:
        first, second = batch.split()  # the second starts where the first one's checkpoint ends
        await self.deliver(first)
        await self.deliver(second)

    async def _attempt(self, batch: Any, attempt: int) -> tuple[str, BaseException | None]:
        context_class = ExactlyOnceContext if self.spec.exactly_once else DirectContext
        ctx = context_class(self.runner.engine, asyncio.get_running_loop(), self.runner.schemas, hook=self.spec.name,
                            table=self.spec.table, partition=batch.partition, attempt=attempt)
        try:
            records = [record for _, record in batch.records]
            await asyncio.get_running_loop().run_in_executor(self.runner.executor, self.runner.call_function,
                                                             records, ctx)
        except DynamoError as error:
            return (_CONFLICT if error.error_type in TRANSIENT else _FAILED), error
        except Exception as error:  # noqa: BLE001 - the user's code failed: that is the hook's error
            return _FAILED, error
        if self.spec.exactly_once:
            return await self._commit_transaction(batch, ctx)
        await asyncio.to_thread(self.member.commit, self.target.topic, batch.partition, batch.end)
        self.cursor.committed = batch.end
        return _OK, None

    async def _commit_transaction(self, batch: Any, ctx: ExactlyOnceContext, actions: list | None = None
                                  ) -> tuple[str, BaseException | None]:
        try:
            staged = await ctx.staged_actions() if actions is None else actions
        except DynamoError as error:
            return (_CONFLICT if error.error_type in TRANSIENT else _FAILED), error
        size = sum(action.size for action in staged)
        if len(staged) > hooks.MAX_BATCH_WRITES or size > saga.MAX_TRANSACTION_BYTES:
            return _TOO_BIG, errors.hook_batch_too_large(len(staged), hooks.MAX_BATCH_WRITES)
        checkpoint = hooks.checkpoint_put(self.spec.name, self.target.table_id, batch.partition, batch.start, batch.end,
                                          int(self.runner.clock() * 1000))
        transaction = [(a.table, a.command) for a in staged] + [(hooks.CHECKPOINT_TABLE, checkpoint)]
        try:
            await self.runner.engine.transact_write(transaction)
        except DynamoError as error:
            return await self._cancelled(error, staged)
        self.cursor.committed = batch.end
        return _OK, None

    async def _cancelled(self, error: DynamoError, staged: list) -> tuple[str, BaseException | None]:
        if error.error_type in TRANSIENT:
            return _CONFLICT, error
        if error.error_type != "TransactionCanceledException":
            return _FAILED, error
        reasons = error.extra.get("CancellationReasons") or []
        codes = [reason.get("Code") for reason in reasons]
        if codes and codes[-1] == "ConditionalCheckFailed":  # the checkpoint moved: this batch is done
            log.info("hook_batch_already_committed", hook=self.spec.name, member=self.runner.member_id)
            raise Repositioned()
        for action, code in zip(staged, codes):
            if code in ("ConditionalCheckFailed", "ValidationError") and action.kind != GUARD:
                return _FAILED, error
        return _CONFLICT, error

    async def _give_up(self, batch: Any, error: BaseException | None, attempts: int) -> None:
        """Out of retries: dead-letter the batch (or drop it), then move the checkpoint past it."""
        if self.spec.on_failure == hooks.DLQ:
            entry = self.runner.dead_letter(self.target, batch, error or RuntimeError("failed"), attempts)
            await asyncio.to_thread(self.runner.dead_letters.append, entry)
            self.runner.stats.dead_letters += 1
        log.error("hook_batch_dead_lettered" if self.spec.on_failure == hooks.DLQ else "hook_batch_discarded",
                  hook=self.spec.name, partition=batch.partition, records=len(batch.records), attempts=attempts,
                  error=repr(error))
        while True:
            if not self.spec.exactly_once:
                await asyncio.to_thread(self.member.commit, self.target.topic, batch.partition, batch.end)
                self.cursor.committed = batch.end
                return
            outcome, _ = await self._commit_transaction(batch, None, actions=[])
            if outcome == _OK:
                return
            await asyncio.sleep(hooks.backoff(1, self.runner.backoff_base))
