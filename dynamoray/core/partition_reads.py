"""A partition's reads (pure): GetItem, one Query page, one Scan page over a ``PartitionState``.

``partition`` re-exports :func:`get_item`, :func:`query` and :func:`scan` (callers use
``partition.scan``...).  A read never changes the state, except a TTL sweep's scan, which may
make or drop the state's expiry index (``ttl_index.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from sortedcontainers import SortedDict

from . import index_reads, keys, ttl_index, values
from .commands import Item, Page, QuerySpec, ScanSpec
from .expressions import ast, evaluate, keymatch, projection
from .partition_keys import HASH_SPACE as _HASH_SPACE, MAX_PAGE_BYTES, hash_slot, item_token, key_of, sort_slot

if TYPE_CHECKING:
    from .partition import PartitionState


def get_item(state: PartitionState, key: Item, proj: ast.Projection | None = None) -> Item | None:
    item = state.lookup(keys.validate_key(state.schema, key))
    if item is None or proj is None:
        return item
    return projection.project(proj, item)


def query(state: PartitionState, spec: QuerySpec) -> Page:
    if spec.index is not None:  # a secondary index (over several shards: core/index_reads.py)
        return index_reads.query([state], spec)
    schema = state.schema
    probe = {schema.hash_name: spec.hash_value}
    collection = state.collections.get(hash_slot(schema, probe))
    if collection is None:
        return Page([], 0, 0, 0, None)
    sort_keys = _range_keys(collection, spec.range, spec.forward)
    if spec.exclusive_start is not None and schema.range_name is not None:
        start = keys.sort_key_bytes(spec.exclusive_start[schema.range_name])
        sort_keys = (k for k in sort_keys if (k > start if spec.forward else k < start))
    elif spec.exclusive_start is not None:
        sort_keys = iter(())
    return _collect((collection[k] for k in sort_keys), spec.limit, spec.filter, spec.projection,
                    spec.count_only, schema)


def _range_keys(collection: SortedDict, rc: ast.RangeKeyCondition | None, forward: bool) -> Iterator[bytes]:
    reverse = not forward
    if rc is None:
        return iter(collection.irange(reverse=reverse))
    bounds = [keys.sort_key_bytes(v) for v in rc.values]
    op = rc.op
    if op == "=":
        return iter(collection.irange(bounds[0], bounds[0], reverse=reverse))
    if op == "<":
        return iter(collection.irange(None, bounds[0], (True, False), reverse=reverse))
    if op == "<=":
        return iter(collection.irange(None, bounds[0], reverse=reverse))
    if op == ">":
        return iter(collection.irange(bounds[0], None, (False, True), reverse=reverse))
    if op == ">=":
        return iter(collection.irange(bounds[0], None, reverse=reverse))
    if op == "BETWEEN":
        return iter(collection.irange(bounds[0], bounds[1], reverse=reverse))
    # begins_with: matches are contiguous from the prefix on
    matches = []
    for k in collection.irange(bounds[0], None):
        if not keymatch.range_matches(rc, collection[k][rc.name]):
            break
        matches.append(k)
    return reversed(matches) if reverse else iter(matches)


def scan(state: PartitionState, spec: ScanSpec, budget: int = MAX_PAGE_BYTES) -> Page:
    """One Scan page; ``budget``: the bytes the page may still read (less than 1 MB when the page
    continues one that earlier shards began, see ``core/shards.py``)."""
    if spec.index is not None:  # a secondary index (over several shards: core/index_reads.py)
        return index_reads.scan([state], spec)
    if spec.expiry is not None:  # a TTL sweep: the expired items only, from the expiry index
        start = spec.exclusive_start
        return ttl_index.expired_page(state, spec, None if start is None else item_token(state.schema, start))
    schema = state.schema
    lo = -(-spec.segment * _HASH_SPACE // spec.total_segments)
    hi = -(-(spec.segment + 1) * _HASH_SPACE // spec.total_segments)
    return _collect(_scan_items(state, lo, hi, spec.exclusive_start), spec.limit, spec.filter,
                    spec.projection, spec.count_only, schema, budget)


def _scan_items(state: PartitionState, lo: int, hi: int, start: Item | None) -> Iterator[Item]:
    schema = state.schema
    first_slot, first_sort = None, None
    if start is not None:
        first_slot = hash_slot(schema, start)
        first_sort = sort_slot(schema, start)
        lo = max(lo, first_slot[0])
    for slot in state.collections.irange((lo,), (hi,), (True, False)):
        collection = state.collections[slot]
        if first_slot is not None and slot < first_slot:
            continue
        if first_slot is not None and slot == first_slot:
            yield from (collection[k] for k in collection.irange(first_sort, None, (False, True)))
            continue
        yield from collection.values()


def _collect(items: Iterator[Item], limit: int | None, filt: ast.Condition | None,
             proj: ast.Projection | None, count_only: bool, schema: keys.KeySchema,
             budget: int = MAX_PAGE_BYTES) -> Page:
    out: list[Item] = []
    scanned = count = read = 0
    last: Item | None = None
    for item in items:
        scanned += 1
        read += values.item_size(item)
        last = item
        if filt is None or evaluate.evaluate_condition(filt, item):
            count += 1
            if not count_only:
                out.append(projection.project(proj, item) if proj is not None else item)
        if (limit is not None and scanned >= limit) or read >= budget:
            return Page(out, count, scanned, read, key_of(schema, last))
    return Page(out, count, scanned, read, None)
