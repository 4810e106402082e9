"""Secondary indexes: their definitions, an item's entry in an index, and the index structures.

- :class:`IndexDef` is one local (LSI) or global (GSI) secondary index: its name, key schema and
  projection.  :class:`IndexSet` is what a table's partitions maintain: its indexes and an
  ``epoch`` that grows with every index created or deleted (a partition adopts a set only when its
  epoch is newer than the one it holds, so a stale caller never takes an index away).
  :func:`index_set` reads both from a table description (``index_tables.py`` writes them there).
- :func:`position` is an item's place in an index: ``(hash slot, sort bytes)`` of its index key, or
  None when the item is not in the index (an index key attribute missing, of another type than
  the definition, empty or too large: indexes are sparse).  :func:`project` is what the index holds
  of an item: every attribute (ALL), or the table and index keys plus ``NonKeyAttributes``.
- :class:`IndexState` is one index of one partition (shard): a sorted map of index hash slots, each
  a sorted map ``(index sort bytes, base item token) -> projected item``, so a query is a range and
  equal index keys are ordered by the base table key.  :class:`TableIndexes` holds a partition's
  index states; ``partition.evolve`` calls :func:`on_change` for every change it folds, and does
  nothing at all for a table without indexes.
- :func:`build` fills an index from the partition's items at once (at load: snapshots hold no
  index, they are rebuilt from the items); :func:`backfill_step` fills one online-created index a
  chunk at a time while writes go on (every change is maintained meanwhile, and a chunk writes the
  entry of the item as it is when the chunk runs, so the two never disagree).

Reads (Query/Scan on an index, and merging the pages of several shards) are in ``index_reads.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from sortedcontainers import SortedDict

from . import capacity, errors, keys, values
from .commands import WriteOutcome
from .values import Item

ALL, KEYS_ONLY, INCLUDE = "ALL", "KEYS_ONLY", "INCLUDE"
LSI, GSI = "LSI", "GSI"
MAX_LSI = 5
MAX_GSI = 20
MAX_NON_KEY_ATTRIBUTES = 100  # NonKeyAttributes summed over all the indexes of a table
ITEM_COLLECTION_LIMIT = 10 * 1024 ** 3  # bytes per partition key value on a table with LSIs
EPOCH = "_IndexEpoch"  # the internal description member holding the index epoch


@dataclass(frozen=True, slots=True)
class IndexDef:
    name: str
    is_global: bool
    schema: keys.KeySchema  # the index key
    table: keys.KeySchema  # the base table's key (always projected)
    projection: str = ALL
    non_key: tuple[str, ...] = ()
    projected: frozenset | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.projection != ALL:
            names = frozenset(self.schema.names) | frozenset(self.table.names) | frozenset(self.non_key)
            object.__setattr__(self, "projected", names)

    @property
    def kind(self) -> str:
        return GSI if self.is_global else LSI

    @property
    def key_names(self) -> tuple[str, ...]:
        """The table's key attributes, then the index's own (what a LastEvaluatedKey holds)."""
        return tuple(dict.fromkeys(self.table.names + self.schema.names))

    def projects(self, name: str) -> bool:
        return self.projected is None or name in self.projected


@dataclass(frozen=True, slots=True)
class IndexSet:
    """A table's indexes as its partitions maintain them (GSIs being deleted are left out)."""

    epoch: int = 0
    indexes: tuple[IndexDef, ...] = ()
    backfilling: frozenset = frozenset()  # GSIs still CREATING: not readable yet

    def get(self, name: str) -> IndexDef | None:
        for index in self.indexes:
            if index.name == name:
                return index
        return None

    @property
    def has_lsi(self) -> bool:
        return any(not index.is_global for index in self.indexes)


NO_INDEXES = IndexSet()


def is_newer(held: "TableIndexes | None", wanted: IndexSet) -> bool:
    """Whether a partition holding ``held`` must adopt ``wanted``: a newer epoch (a first set
    counts when it has indexes), never an older one."""
    if held is None:
        return bool(wanted.indexes) or wanted.epoch > 0
    return wanted.epoch > held.epoch


def definition(entry: dict, table: keys.KeySchema, definitions: dict[str, str], is_global: bool) -> IndexDef:
    """An IndexDef from a request's or a description's index entry (already validated)."""
    names = [k["AttributeName"] for k in entry["KeySchema"]]
    schema = keys.KeySchema(names[0], definitions[names[0]], names[1] if len(names) > 1 else None,
                            definitions[names[1]] if len(names) > 1 else None)
    projection = entry.get("Projection") or {}
    return IndexDef(entry["IndexName"], is_global, schema, table, projection.get("ProjectionType") or ALL,
                    tuple(projection.get("NonKeyAttributes") or ()))


def index_set(description: dict) -> IndexSet:
    """The indexes a table's partitions maintain, from its description."""
    lsis = description.get("LocalSecondaryIndexes") or ()
    gsis = description.get("GlobalSecondaryIndexes") or ()
    if not lsis and not gsis:
        return NO_INDEXES
    definitions = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
    table = keys.key_schema_from_wire(description["KeySchema"], description["AttributeDefinitions"])
    out = [definition(e, table, definitions, False) for e in lsis]
    out += [definition(e, table, definitions, True) for e in gsis if e.get("IndexStatus") != "DELETING"]
    backfilling = frozenset(e["IndexName"] for e in gsis if e.get("IndexStatus") == "CREATING")
    return IndexSet(int(description.get(EPOCH, 0)), tuple(out), backfilling)


# --- an item in an index ---------------------------------------------------------------------------


def _key_part(item: Item, name: str, kind: str, is_hash: bool) -> Any:
    value = item.get(name)
    if value is None:
        return None
    raw = value.get(kind)
    if raw is None or (kind != "N" and not raw):
        return None
    size = len(raw.encode("utf-8")) if kind == "S" else values.value_size(value)
    if size > (keys.MAX_HASH_KEY_BYTES if is_hash else keys.MAX_RANGE_KEY_BYTES):
        return None
    return value


def position(index: IndexDef, item: Item) -> tuple | None:
    """``(hash slot, sort bytes)`` of the item in the index, None if it is not in it."""
    s = index.schema
    hashed = _key_part(item, s.hash_name, s.hash_type, True)
    if hashed is None:
        return None
    sort = b""
    if s.range_name is not None:
        ranged = _key_part(item, s.range_name, s.range_type, False)
        if ranged is None:
            return None
        sort = keys.sort_key_bytes(ranged)
    return (keys.partition_hash(hashed), (s.hash_type, hashed[s.hash_type])), sort


def base_token(table: keys.KeySchema, item: Item) -> tuple:
    """The base item's identity, ordering equal index keys (the partition's item token)."""
    value = item[table.hash_name]
    kind, raw = next(iter(value.items()))
    sort = keys.sort_key_bytes(item[table.range_name]) if table.range_name is not None else b""
    return (keys.partition_hash(value), (kind, raw)), sort


def project(index: IndexDef, item: Item) -> Item:
    """What the index holds of an item (the item itself for ALL: items are never mutated)."""
    if index.projected is None:
        return item
    return {name: value for name, value in item.items() if name in index.projected}


def key_of(index: IndexDef, item: Item) -> Item:
    """The table and index key attributes of an entry (a LastEvaluatedKey)."""
    return {name: item[name] for name in index.key_names if name in item}


def check_item(definitions: Iterable[IndexDef], item: Item) -> None:
    """DynamoDB refuses a write whose index key attribute has another type than its definition,
    or is an empty string or binary (an index key attribute may be missing: sparse indexes)."""
    for index in definitions:
        for name, kind, _ in index.schema.typed:
            value = item.get(name)
            if value is None or name in index.table.names:
                continue
            actual = values.type_of(value)
            if actual != kind:
                raise errors.index_key_type_mismatch(name, kind, actual, index.name)
            if kind != "N" and not value[kind]:
                raise errors.index_key_empty(index.name, name, "string" if kind == "S" else "binary")


# --- the structures ---------------------------------------------------------------------------------


class IndexState:
    """One index of one partition (mutable; changed only through this module)."""

    __slots__ = ("index", "collections", "item_count", "size_bytes", "complete")

    def __init__(self, index: IndexDef, complete: bool = True) -> None:
        self.index = index
        self.collections: SortedDict = SortedDict()  # hash slot -> SortedDict((sort, token) -> entry)
        self.item_count = 0
        self.size_bytes = 0
        self.complete = complete  # False while an online creation backfills it

    def put(self, pos: tuple, token: tuple, entry: Item) -> None:
        collection = self.collections.get(pos[0])
        if collection is None:
            collection = self.collections[pos[0]] = SortedDict()
        key = (pos[1], token)
        previous = collection.get(key)
        if previous is None:
            self.item_count += 1
        else:
            self.size_bytes -= values.item_size(previous)
        collection[key] = entry
        self.size_bytes += values.item_size(entry)

    def remove(self, pos: tuple, token: tuple) -> None:
        collection = self.collections.get(pos[0])
        if collection is None:
            return
        previous = collection.pop((pos[1], token), None)
        if previous is None:
            return
        self.item_count -= 1
        self.size_bytes -= values.item_size(previous)
        if not collection:
            del self.collections[pos[0]]


class TableIndexes:
    """The index states of one partition, and (with LSIs) each item collection's size."""

    __slots__ = ("epoch", "states", "collection_sizes")

    def __init__(self, epoch: int, states: dict[str, IndexState], collection_sizes: dict | None) -> None:
        self.epoch = epoch
        self.states = states
        self.collection_sizes = collection_sizes  # hash slot -> bytes (None: no LSI)

    def definitions(self) -> tuple[IndexDef, ...]:
        return tuple(s.index for s in self.states.values())


def entry_sizes(indexes: Iterable[IndexDef], item: Item | None, local_only: bool = True) -> int:
    """Bytes an item adds to its item collection: itself plus its LSI entries."""
    if item is None:
        return 0
    total = values.item_size(item)
    for index in indexes:
        if (not local_only or not index.is_global) and position(index, item) is not None:
            total += values.item_size(project(index, item))
    return total


def on_change(indexes: TableIndexes, slot: tuple, sort: bytes, old: Item | None, new: Item | None) -> None:
    """Maintain every index of a partition for one folded change (``slot``, ``sort``: the item's
    hash slot and sort bytes in the partition, its token)."""
    if old is None and new is None:
        return
    token = (slot, sort)
    for state in indexes.states.values():
        index = state.index
        old_pos = position(index, old) if old is not None else None
        new_pos = position(index, new) if new is not None else None
        if old_pos is not None and old_pos != new_pos:
            state.remove(old_pos, token)
        if new_pos is not None:
            state.put(new_pos, token, project(index, new))
    sizes = indexes.collection_sizes
    if sizes is not None:
        lsis = [s.index for s in indexes.states.values() if not s.index.is_global]
        size = sizes.get(slot, 0) + entry_sizes(lsis, new) - entry_sizes(lsis, old)
        if size > 0:
            sizes[slot] = size
        else:
            sizes.pop(slot, None)


def write_effects(indexes: TableIndexes, table: keys.KeySchema, outcome: WriteOutcome) -> WriteOutcome:
    """A decided write with its effect on the indexes: DynamoDB's checks of the new item's index
    key attributes, the half-units written to each index it changes, and, with LSIs, its item
    collection's size after it (past ``ITEM_COLLECTION_LIMIT``: ItemCollectionSizeLimitExceeded)."""
    change = outcome.change
    old, new = change.old_image, change.new_image
    if new is not None:
        check_item(indexes.definitions(), new)
    writes = []
    for held in indexes.states.values():
        index = held.index
        old_at = position(index, old) if old is not None else None
        new_at = position(index, new) if new is not None else None
        old_entry = project(index, old) if old_at is not None else None
        new_entry = project(index, new) if new_at is not None else None
        units = capacity.index_write_half_units(
            values.item_size(old_entry) if old_entry is not None else None,
            values.item_size(new_entry) if new_entry is not None else None,
            key_changed=old_at != new_at, changed=old_entry != new_entry)
        if units:
            writes.append(capacity.IndexCapacity(index.name, index.is_global, write_units=units))
    collection = None
    if indexes.collection_sizes is not None:
        lsis = [held.index for held in indexes.states.values() if not held.index.is_global]
        slot = (keys.partition_hash(change.keys[table.hash_name]),
                next(iter(change.keys[table.hash_name].items())))
        before = indexes.collection_sizes.get(slot, 0)
        after = before + entry_sizes(lsis, new) - entry_sizes(lsis, old)
        if after > before and after > ITEM_COLLECTION_LIMIT:
            raise errors.item_collection_size_limit_exceeded()
        collection = ({table.hash_name: change.keys[table.hash_name]}, after)
    return WriteOutcome(change, outcome.attributes, outcome.old_size, outcome.new_size, tuple(writes), collection)


def _entries(index: IndexDef, collections: SortedDict) -> dict:
    groups: dict = {}
    for slot, collection in collections.items():
        for sort, item in collection.items():
            pos = position(index, item)
            if pos is not None:
                groups.setdefault(pos[0], []).append(((pos[1], (slot, sort)), project(index, item)))
    return groups


def build(index: IndexDef, collections: SortedDict) -> IndexState:
    """An index filled from a partition's items (``PartitionState.collections``) at once."""
    state = IndexState(index)
    for slot, entries in _entries(index, collections).items():
        state.collections[slot] = SortedDict(entries)
        state.item_count += len(entries)
        state.size_bytes += sum(values.item_size(entry) for _, entry in entries)
    return state


def collection_sizes(definitions: Iterable[IndexDef], collections: SortedDict) -> dict:
    lsis = [index for index in definitions if not index.is_global]
    return {slot: sum(entry_sizes(lsis, item) for item in collection.values())
            for slot, collection in collections.items()}


def adopt(current: TableIndexes | None, wanted: IndexSet, collections: SortedDict,
          complete: bool = True) -> TableIndexes | None:
    """The partition's indexes once it adopts ``wanted``: unchanged indexes are kept, removed ones
    dropped, new ones built from the items (``complete``) or left empty for a backfill."""
    if wanted == NO_INDEXES:
        return None  # (a table whose indexes were all deleted keeps an empty set: its epoch counts)
    kept = current.states if current is not None else {}
    states: dict[str, IndexState] = {}
    for index in wanted.indexes:
        state = kept.get(index.name)
        if state is None or state.index != index:
            state = build(index, collections) if complete else IndexState(index, complete=False)
        states[index.name] = state
    sizes = None
    if wanted.has_lsi:  # LSIs are only ever defined at CreateTable: the sizes stay valid
        sizes = current.collection_sizes if current is not None and current.collection_sizes is not None \
            else collection_sizes(wanted.indexes, collections)
    return TableIndexes(wanted.epoch, states, sizes)


def backfill_step(state: IndexState, collections: SortedDict, after: tuple | None, budget: int) -> tuple | None:
    """Write the entries of up to ``budget`` items following the item token ``after`` (the start when
    None); returns the token to continue after, or None when every item is done (the index is then
    complete)."""
    index = state.index
    done = 0
    first_slot = after[0] if after is not None else None
    for slot in collections.irange(first_slot, None):
        collection = collections.get(slot)
        if collection is None:
            continue
        start = after[1] if after is not None and slot == after[0] else None
        for sort in collection.irange(start, None, (False, True)) if start is not None else collection.irange():
            item = collection[sort]
            pos = position(index, item)
            if pos is not None:
                state.put(pos, (slot, sort), project(index, item))
            done += 1
            if done >= budget:
                return slot, sort
    state.complete = True
    return None


def index_stats(indexes: TableIndexes | None) -> tuple[tuple[str, int, int], ...]:
    """``(name, item count, size)`` per index: what a host reports with a table's stats."""
    if indexes is None:
        return ()
    return tuple((s.index.name, s.item_count, s.size_bytes) for s in indexes.states.values())
