"""Throttling, the I/O shell of ``core/throttle.py``: which buckets a request draws from, and its
admission before the handler runs and its charge once it has.

:class:`Throttler` keeps each table's :class:`~dynamoray.core.throttle.TableBuckets` in this
gateway process (a deployment with several gateways throttles in each, with the full rate each:
see ``docs/capacity.md``).  A table's limits come from its description (``engine.describe_table``
once, then again in the background every ``refresh_seconds`` and after an UpdateTable here), and
its shard count from the description's internal ``_Shards`` (``core/tables.shard_count``).

What each operation draws on (:meth:`Throttler.admit`):

- GetItem, PutItem, UpdateItem, DeleteItem: the shard of the item's partition key.
- Query: the shard of the partition key in its key condition (found without parsing it again: the
  ``name = :value`` pair naming the hash key); with ``IndexName``, the index's read bucket.
- Scan: the table (or the index), no shard.
- BatchGetItem and BatchWriteItem: each key on its own.  Keys whose table or shard is out of
  capacity are left out of the request and answered in ``UnprocessedKeys``/``UnprocessedItems``;
  when every key is, the call fails with the throttling error, as DynamoDB's does.
- TransactGetItems and TransactWriteItems (and ExecuteTransaction): each item; any throttled item
  cancels the transaction with a ``ThrottlingError`` cancellation reason.
- ExecuteStatement and BatchExecuteStatement: the table of each statement, no shard.

A throttled single request raises :class:`Throttled` (the DynamoDB error plus what was refused,
for the metrics).  The charge (:meth:`Throttler.charge`) spreads a table's units over the shards
its admitted keys fell in; a write whose condition failed is charged one unit, as DynamoDB does.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from .. import logs
from ..core import errors, partiql, shards as core_shards, tables, throttle
from ..core.errors import DynamoError
from ..core.throttle import READ, WRITE, Throttle, ThrottleConfig
from .access import table_name
from .capacity import Consumed

log = logs.get("throttling")

_SINGLE = {"GetItem": (READ, "Key"), "DeleteItem": (WRITE, "Key"), "UpdateItem": (WRITE, "Key"),
           "PutItem": (WRITE, "Item")}
_PAIR = re.compile(r"(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)")
SHARD_CACHE = 65536  # partition-key values whose shard is remembered (then the memory starts over)
TABLE_CHANGES = frozenset({"UpdateTable", "DeleteTable", "CreateTable", "RestoreTableFromBackup",
                           "RestoreTableToPointInTime", "UpdateTimeToLive"})


class Use(NamedTuple):
    """One admission: ``kind`` on ``table``, in ``shard`` (None: unknown or several), or reading
    the GSI ``index`` (a NamedTuple: made per request, and cheaper than a frozen dataclass)."""

    table: str
    kind: str
    shard: int | None = None
    index: str | None = None


@dataclass(slots=True)
class Admission:
    body: dict  # what the handler runs (a batch without its throttled keys)
    uses: list[Use] = field(default_factory=list)
    refused: list[tuple[Use, Throttle]] = field(default_factory=list)  # batch keys left unprocessed
    unprocessed: tuple[str, dict] | None = None  # (response member, value) of a batch


class Throttled(Exception):
    """A request refused before it ran: the DynamoDB error, and which uses were refused."""

    def __init__(self, error: DynamoError, refused: list[tuple[Use, Throttle]]) -> None:
        super().__init__(error.message)
        self.error = error
        self.refused = refused


class _Table:
    __slots__ = ("state", "schema", "loaded")

    def __init__(self, state: throttle.TableBuckets, schema: Any, loaded: float) -> None:
        self.state, self.schema, self.loaded = state, schema, loaded


class Throttler:
    def __init__(self, engine: Any, config: ThrottleConfig | None = None, *,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 refresh_seconds: float = 30.0, switch_interval: float = 0.0) -> None:
        self.engine = engine
        self.config = config or ThrottleConfig()
        self.table_configs: dict[str, ThrottleConfig] = {}  # per-table settings (test knobs, knobs.py)
        self.clock, self.wall = clock, wall
        self.refresh_seconds = refresh_seconds
        self.switch_interval = switch_interval  # seconds between two switches to PAY_PER_REQUEST (0: any time)
        self._tables: dict[str, _Table] = {}
        self._refreshing: set[str] = set()
        self._shards: dict[tuple, int] = {}  # (table, shard count, key type, key value) -> shard

    # --- table state ---------------------------------------------------------------------------

    def _install(self, name: str, description: dict) -> _Table:
        now = self.clock()
        limits = throttle.limits_of(description, tables.shard_count(description))
        entry = self._tables.get(name)
        if entry is not None and entry.state.limits.arn == limits.arn:
            state = throttle.retarget(entry.state, limits, self.table_configs.get(name, self.config), now)
        else:
            state = throttle.open_table(limits, self.table_configs.get(name, self.config), now)
        entry = self._tables[name] = _Table(state, tables.key_schema_of(description), now)
        return entry

    async def _load(self, name: str) -> _Table | None:
        try:
            description = await self.engine.describe_table(name)
        except DynamoError as error:  # no such table (any more), or unavailable: the operation reports it
            if error.error_type == "ResourceNotFoundException":
                self._tables.pop(name, None)
            return self._tables.get(name)
        except Exception:  # noqa: BLE001 - never fail a request for its limits: unthrottled until the next try
            log.warning("throttle_limits_unavailable", table=name, exc_info=True)
            return self._tables.get(name)
        return self._install(name, description)

    async def _refresh(self, name: str) -> None:
        try:
            await self._load(name)
        except Exception:  # noqa: BLE001 - a background refresh: keep the old limits
            log.exception("throttle_refresh_failed", table=name)
        finally:
            self._refreshing.discard(name)

    async def table(self, name: str) -> _Table | None:
        entry = self._tables.get(name)
        if entry is None:
            return await self._load(name)
        if self.clock() - entry.loaded > self.refresh_seconds and name not in self._refreshing:
            self._refreshing.add(name)
            asyncio.get_running_loop().create_task(self._refresh(name))
        return entry

    def changed(self, name: str, deleted: bool = False) -> None:
        """A control-plane call changed the table: reload its limits (or drop them) now."""
        if deleted:
            self._tables.pop(name, None)
        elif name in self._tables and name not in self._refreshing:
            self._refreshing.add(name)
            asyncio.get_running_loop().create_task(self._refresh(name))

    def limits(self) -> list[throttle.TableLimits]:
        """The limits of every table this gateway has served (ProvisionedRead/WriteCapacityUnits)."""
        return [entry.state.limits for entry in self._tables.values()]

    def schema_of(self, name: str) -> Any:
        """The key schema of a table this gateway has served (None if it has not)."""
        entry = self._tables.get(name)
        return entry.schema if entry is not None else None

    def state_of(self, name: str) -> throttle.TableBuckets | None:
        entry = self._tables.get(name)
        return entry.state if entry is not None else None

    # --- admission -------------------------------------------------------------------------------

    async def admit(self, name: str, body: dict) -> Admission | None:
        """Check a request before it runs: None when it touches no table's throughput; raises
        :class:`Throttled` when it may not run at all."""
        single = _SINGLE.get(name)
        if single is not None:
            key = body.get(single[1])
            return await self._single(body, Use(table_name(body["TableName"]), single[0]), key)
        if name == "Query":
            return await self._read(body, "IndexName" in body, query=True)
        if name == "Scan":
            return await self._read(body, "IndexName" in body, query=False)
        if name == "BatchGetItem":
            return await self._batch(body, READ, "UnprocessedKeys")
        if name == "BatchWriteItem":
            return await self._batch(body, WRITE, "UnprocessedItems")
        if name in ("TransactGetItems", "TransactWriteItems"):
            return await self._transaction(body, self._transact_uses(body["TransactItems"]))
        if name == "ExecuteTransaction":
            return await self._transaction(body, self._statement_uses(body["TransactStatements"]))
        if name == "ExecuteStatement":
            return await self._statements(body, self._statement_uses([body]))
        if name == "BatchExecuteStatement":
            return await self._statements(body, self._statement_uses(body["Statements"]))
        if name == "UpdateTable" and self.switch_interval > 0 and body.get("BillingMode") == throttle.PAY_PER_REQUEST:
            await self._check_switch(body)
        return None

    async def _check(self, use: Use, key: Any = None) -> tuple[Use, Throttle | None]:
        entry = self._tables.get(use.table)
        now = self.clock()
        if entry is None or now - entry.loaded > self.refresh_seconds:  # (the common case skips this await)
            entry = await self.table(use.table)
            if entry is None:
                return use, None
            now = self.clock()
        if key is not None and use.shard is None:
            use = Use(use.table, use.kind, self._shard(entry, use.table, key), use.index)
        config = self.table_configs.get(use.table, self.config) if self.table_configs else self.config
        return use, throttle.admit(entry.state, use.kind, use.shard, now, config, use.index)

    def _shard(self, entry: _Table, table: str, key: dict) -> int:
        """The shard of a key, remembered per partition-key value (hashing costs more than a lookup)."""
        count = entry.state.limits.shards
        if count == 1:
            return 0
        value = key.get(entry.schema.hash_name)
        if not isinstance(value, dict) or len(value) != 1:
            return core_shards.shard_of(entry.schema, key, count)
        (kind, raw), = value.items()
        remembered = (table, count, kind, raw) if isinstance(raw, str) else None
        shard = self._shards.get(remembered) if remembered is not None else None
        if shard is None:
            shard = core_shards.shard_of(entry.schema, key, count)
            if remembered is not None:
                if len(self._shards) >= SHARD_CACHE:
                    self._shards.clear()
                self._shards[remembered] = shard
        return shard

    def _error(self, use: Use, found: Throttle) -> DynamoError:
        entry = self._tables.get(use.table)
        return found.error(entry.state.limits.arn if entry is not None else use.table)

    async def _single(self, body: dict, use: Use, key: Any) -> Admission:
        use, found = await self._check(use, key if isinstance(key, dict) else None)
        if found is not None:
            raise Throttled(self._error(use, found), [(use, found)])
        return Admission(body, [use])

    async def _read(self, body: dict, indexed: bool, query: bool) -> Admission:
        table = table_name(body["TableName"])
        use = Use(table, READ, None, body["IndexName"] if indexed else None)
        key = None
        if query and not indexed:
            entry = await self.table(table)
            if entry is not None:
                value = _query_hash(body, entry.schema.hash_name)
                key = {entry.schema.hash_name: value} if value is not None else None
        return await self._single(body, use, key)

    async def _batch(self, body: dict, kind: str, member: str) -> Admission:
        admitted, refused, kept, left = [], [], {}, {}
        for raw_table, spec in body["RequestItems"].items():
            table = table_name(raw_table)
            entries = spec["Keys"] if kind == READ else spec
            for entry in entries:
                key = entry if kind == READ else _write_key(entry)
                use, found = await self._check(Use(table, kind), key if isinstance(key, dict) else None)
                if found is None:
                    admitted.append(use)
                    kept.setdefault(raw_table, []).append(entry)
                else:
                    refused.append((use, found))
                    left.setdefault(raw_table, []).append(entry)
        if not refused:
            return Admission(body, admitted)
        if not admitted:
            raise Throttled(self._error(*refused[0]), refused)
        if kind == READ:
            items = {t: {**body["RequestItems"][t], "Keys": keys} for t, keys in kept.items()}
            unprocessed = {t: {**body["RequestItems"][t], "Keys": keys} for t, keys in left.items()}
        else:
            items, unprocessed = kept, left
        return Admission({**body, "RequestItems": items}, admitted, refused, (member, unprocessed))

    def _transact_uses(self, items: list[dict]) -> list[tuple[Use, Any]]:
        out = []
        for element in items:
            for action, spec in element.items():
                if isinstance(spec, dict) and "TableName" in spec:
                    kind = READ if action in ("Get", "ConditionCheck") else WRITE
                    out.append((Use(table_name(spec["TableName"]), kind), spec.get("Key", spec.get("Item"))))
                    break
            else:
                out.append((None, None))  # malformed: the handler reports it
        return out

    def _statement_uses(self, specs: list[dict]) -> list[tuple[Use | None, Any]]:
        out = []
        for spec in specs:
            try:
                statement = partiql.parse(spec["Statement"]).statement
                table = partiql.table_of(statement)
            except (DynamoError, KeyError, TypeError, AttributeError):
                out.append((None, None))  # does not parse: the handler reports it
                continue
            out.append((Use(table, READ if partiql.is_read(statement) else WRITE), None))
        return out

    async def _transaction(self, body: dict, planned: list[tuple[Use | None, Any]]) -> Admission:
        uses, refused, reasons = [], [], []
        for use, key in planned:
            if use is None:
                reasons.append({"Code": "None"})
                continue
            use, found = await self._check(use, key if isinstance(key, dict) else None)
            uses.append(use)
            if found is None:
                reasons.append({"Code": "None"})
            else:
                refused.append((use, found))
                reasons.append(errors.throttling_cancellation(found.provisioned))
        if refused:
            raise Throttled(errors.transaction_canceled(reasons), refused)
        return Admission(body, uses)

    async def _statements(self, body: dict, planned: list[tuple[Use | None, Any]]) -> Admission:
        uses = []
        for use, _ in planned:
            if use is None:
                continue
            use, found = await self._check(use)
            if found is not None:
                raise Throttled(self._error(use, found), [(use, found)])
            uses.append(use)
        return Admission(body, uses)

    async def _check_switch(self, body: dict) -> None:
        try:
            description = await self.engine.describe_table(body["TableName"])
        except DynamoError:
            return  # the handler reports it
        throttle.check_mode_switch(description, body, self.wall(), self.switch_interval)

    # --- charging --------------------------------------------------------------------------------

    def charge(self, admission: Admission, consumed: list[Consumed]) -> None:
        """Draw what the request consumed from its buckets."""
        now = self.clock()
        uses = admission.uses
        for part in consumed:
            table = table_name(part.table)
            entry = self._tables.get(table)
            if entry is None:
                continue
            if len(uses) == 1 and uses[0].table == table:  # the common case: one key
                spread = None if uses[0].shard is None else {uses[0].shard: 1.0}
            else:
                spread = _spread(uses, table)
            state = entry.state
            if part.read or part.index_read:
                state = throttle.charge(state, READ, spread, part.read, now, dict(part.index_read) if part.index_read else None)
            if part.write or part.index_write:
                state = throttle.charge(state, WRITE, spread, part.write, now,
                                        dict(part.index_write) if part.index_write else None)
            entry.state = state

    def charge_failed_writes(self, admission: Admission) -> None:
        """A write refused by its condition still consumed a write unit per item."""
        now = self.clock()
        for use in admission.uses:
            entry = self._tables.get(use.table)
            if entry is not None and use.kind == WRITE:
                spread = {use.shard: 1.0} if use.shard is not None else None
                entry.state = throttle.charge(entry.state, WRITE, spread, 1.0, now)


def _spread(uses: list[Use], table: str) -> dict[int, float] | None:
    """How a table's units fall on its shards: in proportion to the admitted keys of each."""
    counts: dict[int, int] = {}
    for use in uses:
        if use.table == table:
            if use.shard is None:
                return None
            counts[use.shard] = counts.get(use.shard, 0) + 1
    total = sum(counts.values())
    return {shard: count / total for shard, count in counts.items()} if total else None


def _write_key(request: Any) -> Any:
    if not isinstance(request, dict):
        return None
    if "PutRequest" in request:
        return (request["PutRequest"] or {}).get("Item")
    if "DeleteRequest" in request:
        return (request["DeleteRequest"] or {}).get("Key")
    return None


def _query_hash(body: dict, hash_name: str) -> Any:
    """The partition-key value a Query names, or None when it is not plainly there."""
    expression = body.get("KeyConditionExpression")
    if isinstance(expression, str):
        names = body.get("ExpressionAttributeNames") or {}
        found = body.get("ExpressionAttributeValues") or {}
        for name, placeholder in _PAIR.findall(expression):
            if names.get(name, name) == hash_name:
                return found.get(placeholder)
        return None
    condition = (body.get("KeyConditions") or {}).get(hash_name)
    if isinstance(condition, dict) and condition.get("ComparisonOperator") == "EQ":
        values = condition.get("AttributeValueList") or [None]
        return values[0]
    return None
