"""Multi-request helpers written once for both clients, as generators that do no I/O themselves.

A flow yields steps: :class:`Call` (send a request; the response dict is sent back in, or the
DynamoDBError thrown in), :class:`Sleep`, :class:`Now` (the monotonic clock) and :class:`Emit`
(hand a value to the caller: a stream record).  :func:`run_sync` and :func:`run_async` (and the
``iterate_*`` variants for flows that emit) execute the steps with a client's ``_call``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from .errors import DynamoDBError, ResourceNotFoundException, UnprocessedItemsError, WaiterTimeoutError
from .retry import Backoff
from .waiters import Wait, restore_failed, table_ready

R = TypeVar("R")


@dataclass(frozen=True)
class Call:
    operation: str
    payload: dict[str, Any]
    service: str = "dynamodb"


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Now:
    pass


@dataclass(frozen=True)
class Emit:
    value: Any


Step = Union[Call, Sleep, Now, Emit]
Flow = Generator[Step, Any, R]
SyncCall = Callable[[str, dict[str, Any], str], dict[str, Any]]
AsyncCall = Callable[[str, dict[str, Any], str], Awaitable[dict[str, Any]]]


def _advance(flow: Flow[R], value: Any, error: BaseException | None) -> Step:
    return flow.throw(error) if error is not None else flow.send(value)


def iterate_sync(flow: Flow[R], call: SyncCall) -> Generator[Any, None, R]:
    """Run ``flow``, yielding what it emits; returns its result."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = _advance(flow, value, error)
        except StopIteration as stop:
            result: R = stop.value
            return result
        value, error = None, None
        try:
            if isinstance(step, Call):
                value = call(step.operation, step.payload, step.service)
            elif isinstance(step, Sleep):
                time.sleep(step.seconds)
            elif isinstance(step, Now):
                value = time.monotonic()
            else:
                yield step.value
        except DynamoDBError as failure:
            error = failure


def run_sync(flow: Flow[R], call: SyncCall) -> R:
    runner = iterate_sync(flow, call)
    while True:
        try:
            next(runner)
        except StopIteration as stop:
            result: R = stop.value
            return result


async def iterate_async(flow: Flow[Any], call: AsyncCall) -> AsyncIterator[Any]:
    """Run ``flow`` on the event loop, yielding what it emits (its result is dropped)."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = _advance(flow, value, error)
        except StopIteration:
            return
        value, error = None, None
        try:
            if isinstance(step, Call):
                value = await call(step.operation, step.payload, step.service)
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Now):
                value = time.monotonic()
            else:
                yield step.value
        except DynamoDBError as failure:
            error = failure


async def run_async(flow: Flow[R], call: AsyncCall) -> R:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = _advance(flow, value, error)
        except StopIteration as stop:
            result: R = stop.value
            return result
        value, error = None, None
        try:
            if isinstance(step, Call):
                value = await call(step.operation, step.payload, step.service)
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Now):
                value = time.monotonic()
            else:
                raise TypeError("run_async() got an Emit step: use iterate_async()")
        except DynamoDBError as failure:
            error = failure


# --- waiters ---------------------------------------------------------------------------------------


def wait_for_table(name: str, wait: Wait, progress: Callable[[dict[str, Any]], None] | None = None
                   ) -> Flow[dict[str, Any]]:
    """Poll DescribeTable until the table is ACTIVE (and done restoring); returns its description."""
    deadline = (yield Now()) + wait.timeout
    while True:
        try:
            table = (yield Call("DescribeTable", {"TableName": name}))["Table"]
        except ResourceNotFoundException:
            table = None
        if table is not None:
            if progress is not None:
                progress(table)
            failed = restore_failed(table)
            if failed is not None:
                raise failed
            if table_ready(table):
                return dict(table)
        if (yield Now()) >= deadline:
            raise WaiterTimeoutError(f"Table {name} was not ready after {wait.timeout} s")
        yield Sleep(wait.interval)


def wait_for_table_gone(name: str, wait: Wait) -> Flow[None]:
    deadline = (yield Now()) + wait.timeout
    while True:
        try:
            yield Call("DescribeTable", {"TableName": name})
        except ResourceNotFoundException:
            return
        if (yield Now()) >= deadline:
            raise WaiterTimeoutError(f"Table {name} still exists after {wait.timeout} s")
        yield Sleep(wait.interval)


def list_tables(limit: int | None = None) -> Flow[list[str]]:
    names: list[str] = []
    start: str | None = None
    while True:
        payload: dict[str, Any] = {} if start is None else {"ExclusiveStartTableName": start}
        if limit is not None:
            payload["Limit"] = min(100, limit - len(names))
        response = yield Call("ListTables", payload)
        names.extend(response.get("TableNames", []))
        start = response.get("LastEvaluatedTableName")
        if start is None or (limit is not None and len(names) >= limit):
            return names


# --- batches ---------------------------------------------------------------------------------------


def batch_write(request_items: dict[str, list[dict[str, Any]]], backoff: Backoff) -> Flow[None]:
    """One BatchWriteItem (at most 25 requests), re-sending ``UnprocessedItems`` with backoff."""
    pending = request_items
    for attempt in range(backoff.retries + 1):
        if attempt:
            yield Sleep(backoff.delay(attempt))
        response = yield Call("BatchWriteItem", {"RequestItems": pending})
        pending = {t: r for t, r in (response.get("UnprocessedItems") or {}).items() if r}
        if not pending:
            return
    raise UnprocessedItemsError(
        f"{sum(len(r) for r in pending.values())} write requests were still unprocessed after "
        f"{backoff.retries} retries", pending)


def batch_get(request_items: dict[str, dict[str, Any]], backoff: Backoff) -> Flow[dict[str, list[Any]]]:
    """BatchGetItem in requests of at most 100 keys, re-sending ``UnprocessedKeys`` with backoff;
    returns the wire items per table."""
    found: dict[str, list[Any]] = {table: [] for table in request_items}
    for chunk in _key_chunks(request_items, 100):
        pending = chunk
        for attempt in range(backoff.retries + 1):
            if attempt:
                yield Sleep(backoff.delay(attempt))
            response = yield Call("BatchGetItem", {"RequestItems": pending})
            for table, items in (response.get("Responses") or {}).items():
                found.setdefault(table, []).extend(items)
            pending = {t: r for t, r in (response.get("UnprocessedKeys") or {}).items() if r.get("Keys")}
            if not pending:
                break
        else:
            raise UnprocessedItemsError(
                f"{sum(len(r['Keys']) for r in pending.values())} keys were still unprocessed after "
                f"{backoff.retries} retries", pending)
    return found


def _key_chunks(request_items: dict[str, dict[str, Any]], size: int) -> Iterator[dict[str, dict[str, Any]]]:
    chunk: dict[str, dict[str, Any]] = {}
    count = 0
    for table, spec in request_items.items():
        for key in spec["Keys"]:
            if count == size:
                yield chunk
                chunk, count = {}, 0
            entry = chunk.setdefault(table, {**{k: v for k, v in spec.items() if k != "Keys"}, "Keys": []})
            entry["Keys"].append(key)
            count += 1
    if chunk:
        yield chunk
