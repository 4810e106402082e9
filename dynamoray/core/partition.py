"""A table partition's state and its pure decide/evolve/read functions.

``PartitionState`` holds the items of one table's shards: partition keys ordered by their stable
hash (so a Scan, its pagination and parallel-scan segments are deterministic ranges), and within
each partition key the items ordered by sort key (order-preserving key bytes).

- :func:`decide` maps (state, command) to a :class:`WriteOutcome` or raises a DynamoError; it never
  changes the state, so it is safe to retry.
- :func:`evolve` folds one :class:`ItemChange` into the state; rebuilding a partition is
  ``evolve`` over its log.
- :func:`get_item`, :func:`query` and :func:`scan` read the state (``partition_reads.py``, names
  kept here); an item's place in the state is ``partition_keys.py``.
"""

from __future__ import annotations

from typing import Any

from sortedcontainers import SortedDict

from . import errors, keys, values
from .commands import (
    INSERT, MODIFY, REMOVE, ConditionCheckCommand, DeleteCommand, ItemChange, Item,
    PreparedTransaction, PutCommand, UpdateCommand, WriteOutcome,
)
from .expressions import ast, evaluate, update as update_mod
from .commands import ExpireCommand
from . import ttl as ttl_mod
from . import ttl_index
from . import indexes as indexes_mod
from . import replication
from .commands import ReplicatedWriteCommand
# an item's place in the partition, and the reads: their own modules, names kept here for callers
from .partition_keys import MAX_PAGE_BYTES, hash_slot, item_token, key_of, sort_slot  # noqa: F401
from .partition_reads import get_item, query, scan  # noqa: F401


class PartitionState:
    """Items of one table partition (mutable; only :func:`evolve` changes it).

    ``size_bytes`` (DescribeTable's TableSizeBytes) is kept up to date change by change, except
    while it is *deferred* (:func:`defer_size`, used by a replay): then evolve skips sizing the
    images, and the first read of ``size_bytes`` sums the items once.  Over a long log this costs
    one ``item_size`` per live item instead of two per event."""

    __slots__ = ("schema", "collections", "item_count", "_size", "applied_offset", "prepared", "locks",
                 "indexes", "versions", "expiry")

    def __init__(self, schema: keys.KeySchema) -> None:
        self.schema = schema
        self.collections: SortedDict = SortedDict()  # hash slot -> SortedDict(sort bytes -> item)
        self.item_count = 0
        self._size: int | None = 0  # None: deferred, computed on the next read
        self.applied_offset = -1  # the log offset of the last change folded in
        # transactions past phase 1 (see "transaction locks" below): id -> PreparedTransaction,
        # and the items they lock: item token -> transaction id
        self.prepared: dict[str, PreparedTransaction] = {}
        self.locks: dict[tuple, str] = {}
        # secondary indexes (core/indexes.py): None for a table without any, so evolve does nothing
        self.indexes: indexes_mod.TableIndexes | None = None
        # global tables (core/replication.py): the items' versions, None until a versioned change
        self.versions: replication.Versions | None = None
        # time to live (core/ttl_index.py): items by expiry, made by the first sweep, None until then
        self.expiry: ttl_index.ExpiryIndex | None = None

    @property
    def size_bytes(self) -> int:
        if self._size is None:
            self._size = sum(values.item_size(item) for collection in self.collections.values()
                             for item in collection.values())
        return self._size

    @size_bytes.setter
    def size_bytes(self, size: int | None) -> None:
        self._size = size

    def lookup(self, key: Item) -> Item | None:
        collection = self.collections.get(hash_slot(self.schema, key))
        if collection is None:
            return None
        return collection.get(sort_slot(self.schema, key))

    def version_of(self, key: Item) -> tuple[int, str] | None:
        """The item's version (global tables), None if unknown."""
        versions = self.versions
        return versions.get(item_token(self.schema, key)) if versions is not None else None


# --- decide ----------------------------------------------------------------------------------


def _check_condition(condition: ast.Condition | None, old: Item | None, return_old: bool) -> None:
    if condition is not None and not evaluate.evaluate_condition(condition, old):
        raise errors.conditional_check_failed(old if (return_old and old is not None) else None)


def decide(state: PartitionState, command) -> WriteOutcome:
    """Decide a write against the state; raises DynamoError (ValidationException,
    ConditionalCheckFailedException, ...) when it must not happen."""
    if isinstance(command, PutCommand):
        return _decide_put(state, command)
    if isinstance(command, UpdateCommand):
        return _decide_update(state, command)
    if isinstance(command, DeleteCommand):
        return _decide_delete(state, command)
    if isinstance(command, ConditionCheckCommand):
        key = keys.validate_key(state.schema, command.key)
        old = state.lookup(key)
        _check_condition(command.condition, old, command.return_old_on_failure)
        return WriteOutcome(None, None, 0, 0)
    if isinstance(command, ExpireCommand):
        return _decide_expire(state, command)
    if isinstance(command, ReplicatedWriteCommand):  # another region's change (global tables)
        return _indexed(state, replication.decide_replicated(state, command))
    raise TypeError(f"not a write command: {command!r}")


def _decide_expire(state: PartitionState, command: ExpireCommand) -> WriteOutcome:
    """A TTL deletion: only if the item is still expired now; a lost race changes nothing."""
    key = keys.validate_key(state.schema, command.key)
    old = state.lookup(key)
    if not ttl_mod.is_expired(old, command.attribute, command.now):
        return WriteOutcome(None, None, 0, 0)
    change = ItemChange(REMOVE, key, old, None, ttl_mod.SERVICE_PRINCIPAL, ttl_mod.SERVICE)
    return WriteOutcome(change, None, _size(old), 0)


def _decide_put(state: PartitionState, command: PutCommand) -> WriteOutcome:
    item = command.item
    key = keys.extract_key(state.schema, item)
    new_size = values.check_item_size(item)
    old = state.lookup(key)
    _check_condition(command.condition, old, command.return_old_on_failure)
    change = ItemChange(MODIFY if old is not None else INSERT, key, old, item)
    attributes = old if command.return_values == "ALL_OLD" else None
    return _indexed(state, WriteOutcome(change, attributes, _size(old), new_size))


def _decide_delete(state: PartitionState, command: DeleteCommand) -> WriteOutcome:
    key = keys.validate_key(state.schema, command.key)
    old = state.lookup(key)
    _check_condition(command.condition, old, command.return_old_on_failure)
    if old is None:
        return WriteOutcome(None, None, 0, 0)
    attributes = old if command.return_values == "ALL_OLD" else None
    return _indexed(state, WriteOutcome(ItemChange(REMOVE, key, old, None), attributes, _size(old), 0))


def _decide_update(state: PartitionState, command: UpdateCommand) -> WriteOutcome:
    key = keys.validate_key(state.schema, command.key)
    old = state.lookup(key)
    _check_condition(command.condition, old, command.return_old_on_failure)
    if command.update is not None:
        update_mod.check_update_keys(command.update, state.schema.names)
        new = {**update_mod.apply_update(command.update, old), **key}
    else:
        new = {**(old or {}), **key}
    new_size = values.check_item_size(new)
    change = ItemChange(MODIFY if old is not None else INSERT, key, old, new)
    return _indexed(state, WriteOutcome(change, _update_return(command, old, new), _size(old), new_size))


def _update_return(command: UpdateCommand, old: Item | None, new: Item) -> Item | None:
    mode = command.return_values
    if mode == "ALL_OLD":
        return old
    if mode == "ALL_NEW":
        return new
    if mode in ("UPDATED_OLD", "UPDATED_NEW") and command.update is not None:
        source = old if mode == "UPDATED_OLD" else new
        if source is None:
            return None
        return update_mod.project_updated(command.update, source) or None
    return None


def _size(item: Item | None) -> int:
    return values.item_size(item) if item is not None else 0


def _indexed(state: Any, outcome: WriteOutcome) -> WriteOutcome:
    """A write's effect on the table's secondary indexes (``indexes.write_effects``: DynamoDB's
    checks of index keys, index capacity, LSI item collections); nothing for a table without any.
    ``state`` may be a view with ``schema``, ``lookup`` and ``indexes``."""
    table = getattr(state, "indexes", None)
    if table is None or outcome.change is None:
        return outcome
    return indexes_mod.write_effects(table, state.schema, outcome)


# --- evolve ----------------------------------------------------------------------------------


def defer_size(state: PartitionState) -> None:
    """Stop sizing images change by change until ``size_bytes`` is next read (a replay)."""
    state._size = None


def evolve(state: PartitionState, change: ItemChange, offset: int | None = None) -> None:
    """Fold one change into the state (the only mutation of a PartitionState)."""
    schema = state.schema
    key = change.keys
    slot = hash_slot(schema, key)
    sort = keys.sort_key_bytes(key[schema.range_name]) if schema.range_name is not None else b""
    collections = state.collections
    collection = collections.get(slot)
    old = collection.get(sort) if collection is not None else None
    new = change.new_image
    size = state._size
    if old is not None:
        state.item_count -= 1
        if size is not None:
            size -= values.item_size(old)
    if new is None:
        if old is not None:
            del collection[sort]
            if not collection:
                del collections[slot]
    else:
        if collection is None:
            collection = collections[slot] = SortedDict()
        collection[sort] = new
        state.item_count += 1
        if size is not None:
            size += values.item_size(new)
    state._size = size
    if state.indexes is not None:
        indexes_mod.on_change(state.indexes, slot, sort, old, new)
    if state.expiry is not None:  # the TTL expiry index, once a sweep made it
        state.expiry.on_change(slot, sort, old, new)
    if change.origin is not None or state.versions is not None:  # global tables: the item's version
        if state.versions is None:
            state.versions = replication.Versions()
        replication.track(state.versions, (slot, sort), change.origin, new is None)
    if offset is not None:
        state.applied_offset = offset


# --- transaction locks -----------------------------------------------------------------------
# A transaction past phase 1 locks its items (single-item writes to them get
# TransactionConflictException) without changing them: reads keep seeing the last committed value.
# The log holds TransactionPrepared -> [ItemChanged with the transaction id]* -> TransactionReleased;
# folding it rebuilds the locks of every transaction still prepared.


def lock_holder(state: PartitionState, key: Item) -> str | None:
    """The transaction holding the item's lock, if any."""
    return state.locks.get(item_token(state.schema, key)) if state.locks else None


def evolve_prepared(state: PartitionState, prepared: PreparedTransaction, offset: int | None = None) -> None:
    if offset is not None:
        prepared = PreparedTransaction(prepared.transaction_id, prepared.locked, prepared.changes, offset)
    state.prepared[prepared.transaction_id] = prepared
    for key in prepared.locked:
        state.locks[item_token(state.schema, key)] = prepared.transaction_id
    if offset is not None:
        state.applied_offset = offset


def evolve_transaction_change(state: PartitionState, transaction_id: str, change: ItemChange,
                              offset: int | None = None) -> None:
    """Fold one committed change of a transaction; it is no longer pending (so a commit that is
    re-driven after a partial append applies only what is left)."""
    evolve(state, change, offset)
    prepared = state.prepared.get(transaction_id)
    if prepared is not None:
        token = item_token(state.schema, change.keys)
        left = tuple(c for c in prepared.changes if item_token(state.schema, c.keys) != token)
        state.prepared[transaction_id] = PreparedTransaction(transaction_id, prepared.locked, left,
                                                             prepared.offset)


def prepared_floor(state: PartitionState) -> int | None:
    """The offset of the oldest TransactionPrepared still holding locks: a snapshot that must
    rebuild those locks resumes its replay at or before it."""
    offsets = [p.offset for p in state.prepared.values() if p.offset >= 0]
    return min(offsets) if offsets else None


def evolve_released(state: PartitionState, transaction_id: str, offset: int | None = None) -> None:
    prepared = state.prepared.pop(transaction_id, None)
    if prepared is not None:
        for key in prepared.locked:
            token = item_token(state.schema, key)
            if state.locks.get(token) == transaction_id:
                del state.locks[token]
    if offset is not None:
        state.applied_offset = offset


# --- reads: partition_reads.py (get_item, query, scan; re-exported above) ----------------------


# --- secondary indexes -----------------------------------------------------------------------


def adopt_indexes(state: PartitionState, wanted: indexes_mod.IndexSet, complete: bool = True) -> bool:
    """Make the state maintain ``wanted`` if its epoch is newer than the one it holds: indexes new
    to it are built from its items (``complete``) or left empty for :func:`backfill_index`, removed
    ones dropped.  Returns whether anything changed."""
    if not indexes_mod.is_newer(state.indexes, wanted):
        return False
    state.indexes = indexes_mod.adopt(state.indexes, wanted, state.collections, complete)
    return True


def backfill_index(state: PartitionState, name: str, after: tuple | None, budget: int) -> tuple | None:
    """One chunk of an online index creation (see ``indexes.backfill_step``); None once complete."""
    held = state.indexes.states.get(name) if state.indexes is not None else None
    if held is None or held.complete:
        return None
    return indexes_mod.backfill_step(held, state.collections, after, budget)
