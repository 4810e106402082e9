"""Query and Scan on a secondary index, over one table's shards (pure).

Each shard (a :class:`~.partition.PartitionState`) keeps its own part of every index
(``indexes.IndexState``).  A read on an index runs in two steps:

1. :func:`shard_query` / :func:`shard_scan` read one shard's part, in index order (index hash slot,
   index sort bytes, base item token), from the ExclusiveStartKey on, under the page's Limit and
   1 MB.  The result, a :class:`ShardPage`, keeps every entry evaluated (with whether it passed the
   filter, and its position), and whether the shard stopped early.
2. :func:`merge_pages` merges the shards' entries in index order into one DynamoDB page.  A shard
   that stopped early may hold more entries after its last one, so the page ends there at the
   latest (the earliest such stop, in the page's direction); Limit and 1 MB then apply to the merged
   entries, and LastEvaluatedKey is the last entry evaluated.  For one shard it is that shard's page.

An LSI shares the table's partition key, so an LSI query reads the one shard of its partition key
(and can fetch base items there, ``spec.fetch``); a GSI query and every index scan read all shards.
A table spread over hosts (step 2) reads step 1 on each host (:func:`shard_pages`) and merges
in the engine (:func:`merged`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Iterator, Sequence

from sortedcontainers import SortedDict

from . import errors, indexes, keys, values
from .commands import Item, Page, QuerySpec, ScanSpec
from .expressions import ast, evaluate, projection

MAX_PAGE_BYTES = 1024 * 1024
_HASH_SPACE = 1 << 64


@dataclass(frozen=True, slots=True)
class Entry:
    position: tuple  # (index hash slot, index sort bytes, base item token)
    item: Item  # the index entry, or the base item when fetched
    matched: bool  # passed the filter
    size: int  # index bytes read
    fetched: int  # base-table bytes read


@dataclass(frozen=True, slots=True)
class ShardPage:
    entries: list[Entry]
    truncated: bool  # stopped at the Limit or 1 MB: the shard may have more


def _index_state(state: Any, name: str) -> indexes.IndexState:
    held = state.indexes.states.get(name) if state.indexes is not None else None
    if held is None:
        raise errors.table_has_no_index(name)
    return held


def _slot(value: Any) -> tuple:
    (kind, raw), = value.items()
    return keys.partition_hash(value), (kind, raw)


def start_position(index: indexes.IndexDef, key: Item) -> tuple:
    """The position of an ExclusiveStartKey (the table's and the index's key attributes)."""
    s = index.schema
    sort = keys.sort_key_bytes(key[s.range_name]) if s.range_name is not None else b""
    return _slot(key[s.hash_name]), sort, indexes.base_token(index.table, key)


def _after(sort: bytes) -> bytes:
    return sort + b"\x00"  # the smallest byte string greater than ``sort``


def _prefix_end(prefix: bytes) -> tuple | None:
    """The smallest key after every key whose sort bytes start with ``prefix`` (None: no bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return (stripped[:-1] + bytes([stripped[-1] + 1]),)


def _bounds(rc: ast.RangeKeyCondition | None) -> tuple:
    """``(low, high, (low inclusive, high inclusive))`` over ``(sort bytes, token)`` keys."""
    if rc is None:
        return None, None, (True, True)
    b = [keys.sort_key_bytes(v) for v in rc.values]
    return {
        "=": lambda: ((b[0],), (_after(b[0]),), (True, False)),
        "<": lambda: (None, (b[0],), (True, False)),
        "<=": lambda: (None, (_after(b[0]),), (True, False)),
        ">": lambda: ((_after(b[0]),), None, (True, True)),
        ">=": lambda: ((b[0],), None, (True, True)),
        "BETWEEN": lambda: ((b[0],), (_after(b[1]),), (True, False)),
        "begins_with": lambda: ((b[0],), _prefix_end(b[0]), (True, False)),
    }[rc.op]()


def _range_keys(collection: SortedDict, rc: ast.RangeKeyCondition | None, start: tuple | None,
                forward: bool) -> Iterator[tuple]:
    low, high, inclusive = _bounds(rc)
    if start is not None:  # resume strictly after (forward) or before (backward) the start
        if forward and (low is None or start > low):
            low, inclusive = start, (False, inclusive[1])
        elif not forward and (high is None or start < high):
            high, inclusive = start, (inclusive[0], False)
    return collection.irange(low, high, inclusive, reverse=not forward)


def _evaluate(state: Any, found: Iterator[tuple], spec: Any, table: keys.KeySchema) -> ShardPage:
    """Evaluate ``(position, entry)`` pairs in order under the Limit and 1 MB."""
    entries: list[Entry] = []
    read = 0
    for position, entry in found:
        size = values.item_size(entry)
        fetched = 0
        item = entry
        if spec.fetch:
            base = state.lookup({name: entry[name] for name in table.names})
            if base is not None:
                item, fetched = base, values.item_size(base)
        matched = spec.filter is None or evaluate.evaluate_condition(spec.filter, item)
        entries.append(Entry(position, item, matched, size, fetched))
        read += size
        if (spec.limit is not None and len(entries) >= spec.limit) or read >= MAX_PAGE_BYTES:
            return ShardPage(entries, True)
    return ShardPage(entries, False)


def shard_query(state: Any, spec: QuerySpec, index: indexes.IndexDef) -> ShardPage:
    """One shard's entries for a Query on ``index``."""
    held = _index_state(state, index.name)
    slot = _slot(spec.hash_value)
    collection = held.collections.get(slot)
    if collection is None:
        return ShardPage([], False)
    start = None
    if spec.exclusive_start is not None:
        start = start_position(index, spec.exclusive_start)[1:]
    found = (((slot, *k), collection[k]) for k in _range_keys(collection, spec.range, start, spec.forward))
    return _evaluate(state, found, spec, index.table)


def shard_scan(state: Any, spec: ScanSpec, index: indexes.IndexDef) -> ShardPage:
    """One shard's entries for a Scan (or a parallel-scan segment) of ``index``."""
    held = _index_state(state, index.name)
    lo = -(-spec.segment * _HASH_SPACE // spec.total_segments)
    hi = -(-(spec.segment + 1) * _HASH_SPACE // spec.total_segments)
    start = start_position(index, spec.exclusive_start) if spec.exclusive_start is not None else None
    if start is not None:
        lo = max(lo, start[0][0])
    return _evaluate(state, _scan_pairs(held, lo, hi, start), spec, index.table)


def _scan_pairs(held: indexes.IndexState, lo: int, hi: int, start: tuple | None) -> Iterator[tuple]:
    for slot in held.collections.irange((lo,), (hi,), (True, False)):
        if start is not None and slot < start[0]:
            continue
        collection = held.collections[slot]
        if start is not None and slot == start[0]:
            found = collection.irange((start[1], start[2]), None, (False, True))
        else:
            found = collection.irange()
        for k in found:
            yield (slot, *k), collection[k]


def merge_pages(pages: Sequence[ShardPage], index: indexes.IndexDef, *, forward: bool = True,
                limit: int | None = None, proj: ast.Projection | None = None,
                count_only: bool = False) -> Page:
    """One DynamoDB page from the pages of 1..N shards (see the module docstring)."""
    stops = [p.entries[-1].position for p in pages if p.truncated and p.entries]
    cutoff = (min(stops) if forward else max(stops)) if stops else None
    merged = heapq.merge(*(p.entries for p in pages), key=lambda e: e.position, reverse=not forward)
    out: list[Item] = []
    count = scanned = read = fetched = 0
    last: Entry | None = None
    more = cutoff is not None
    for entry in merged:
        if cutoff is not None and (entry.position > cutoff if forward else entry.position < cutoff):
            break
        scanned += 1
        read += entry.size
        fetched += entry.fetched
        last = entry
        if entry.matched:
            count += 1
            if not count_only:
                out.append(projection.project(proj, entry.item) if proj is not None else entry.item)
        if (limit is not None and scanned >= limit) or read >= MAX_PAGE_BYTES:
            more = True
            break
    key = indexes.key_of(index, last.item) if more and last is not None else None
    return Page(out, count, scanned, read, key, fetched)


def _shards(states: Sequence[Any], spec: QuerySpec, index: indexes.IndexDef) -> Sequence[Any]:
    if index.is_global or len(states) == 1:
        return states
    return [states[keys.shard_for(spec.hash_value, len(states))]]  # an LSI: its partition key's shard


def index_of(states: Sequence[Any], name: str) -> indexes.IndexDef:
    return _index_state(states[0], name).index


def query(states: Sequence[Any], spec: QuerySpec) -> Page:
    """A Query on ``spec.index`` over a table's shards (in shard order)."""
    index = index_of(states, spec.index)
    pages = [shard_query(state, spec, index) for state in _shards(states, spec, index)]
    return merge_pages(pages, index, forward=spec.forward, limit=spec.limit, proj=spec.projection,
                       count_only=spec.count_only)


def scan(states: Sequence[Any], spec: ScanSpec) -> Page:
    """A Scan (or segment) of ``spec.index`` over a table's shards."""
    index = index_of(states, spec.index)
    pages = [shard_scan(state, spec, index) for state in states]
    return merge_pages(pages, index, limit=spec.limit, proj=spec.projection, count_only=spec.count_only)


# --- an index read over ranges of shards on several hosts (step 2: the engine merges) ----------


def shard_pages(states: Sequence[Any], spec: QuerySpec | ScanSpec) -> list[ShardPage]:
    """Step 1 alone: the entries of each of ``states`` (a host's range of a table's shards) for a
    Query or Scan on ``spec.index``.  The engine gathers every range's pages and merges them with
    :func:`merged`: the page one host holding every shard gives."""
    index = index_of(states, spec.index)
    if isinstance(spec, QuerySpec):
        return [shard_query(state, spec, index) for state in states]
    return [shard_scan(state, spec, index) for state in states]


def merged(pages: Sequence[ShardPage], spec: QuerySpec | ScanSpec, index: indexes.IndexDef) -> Page:
    """Step 2 over the pages of every shard of the table (:func:`shard_pages` from each range)."""
    forward = spec.forward if isinstance(spec, QuerySpec) else True
    return merge_pages(pages, index, forward=forward, limit=spec.limit, proj=spec.projection,
                       count_only=spec.count_only)


def referenced_names(*nodes: Any) -> set[str]:
    """The top-level attribute names the expression ASTs ``nodes`` read (the first element of
    every document path): what decides whether an LSI read must fetch the base items."""
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Path):
            if node.elements and isinstance(node.elements[0], str):
                found.add(node.elements[0])
        elif isinstance(node, (tuple, list)):
            stack.extend(node)
        elif is_dataclass(node) and not isinstance(node, ast.Literal):
            stack.extend(getattr(node, f.name) for f in fields(node))
    return found
