"""The expiry index of a partition (pure): its items with a TTL, ordered by expiry, so a TTL sweep
visits only the expired items instead of scanning the table.

A :class:`ExpiryIndex` holds ``(expiry, hash slot, sort bytes)`` for every item whose TTL
attribute is a top-level Number (``core/ttl.py``: ``expiry_time``), in a sorted list, plus each
item's entry by its position.  ``PartitionState.expiry`` holds one (or None) and the partition's
fold keeps it up to date change by change (:meth:`ExpiryIndex.on_change`).  It is made on first
use (:func:`adopt`), from the items the state holds: a table whose TTL attribute changed rebuilds
it once, on its next sweep; the in-process engine builds it when it loads a shard of a table with
TTL on (from a snapshot or its log), so the first sweep after a start does not pay for it.  When
TTL is turned off, the sweeper's next round drops it (:func:`release_spec`): it costs no memory
and no fold time on a table without TTL.

A sweep asks for a page of expired items with a ``ScanSpec`` whose ``expiry`` is
``(attribute, now)`` (``partition.scan`` then answers from the index, :func:`expired_page`): the
items with ``now - MAX_AGE_SECONDS <= expiry < now``, in (expiry, key) order.  The page's
``LastEvaluatedKey`` is the last item's key plus its TTL attribute, so the next page resumes after
it in that order even once the item is deleted; the shards of a table are still visited in shard
order (the key part names the shard).  Such a page reads the index, not the items' bytes: it
reports ``bytes_read`` 0 (TTL deletions consume no capacity).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterator

from sortedcontainers import SortedList

from . import values
from .commands import Item, Page, ScanSpec
from .expressions import evaluate, projection
from .ttl import MAX_AGE_SECONDS, expiry_time

Position = tuple  # (hash slot, sort bytes): an item's place in the partition
RELEASE = -1  # the ``now`` of a ScanSpec.expiry that drops the index (:func:`release_spec`)
Entry = tuple  # (expiry, hash slot, sort bytes)


class ExpiryIndex:
    """The (expiry, position) of every item with a TTL on ``attribute`` (mutable; the fold's)."""

    __slots__ = ("attribute", "entries", "expiries")

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute
        self.entries: SortedList = SortedList()
        self.expiries: dict[Position, Decimal] = {}  # position -> its expiry (the entry's first part)

    def on_change(self, slot: tuple, sort: bytes, old: Item | None, new: Item | None) -> None:
        """Fold one item change (``old`` -> ``new``, None for absent) at position (slot, sort)."""
        attribute = self.attribute
        before = self.expiries.get((slot, sort)) if old is not None else None
        after = expiry_time(new, attribute)
        if before == after:
            return
        if before is not None:
            self.entries.remove((before, slot, sort))
            del self.expiries[(slot, sort)]
        if after is not None:
            self.entries.add((after, slot, sort))
            self.expiries[(slot, sort)] = after

    def expired(self, now: int, after: Entry | None = None) -> Iterator[Entry]:
        """The entries expired at ``now`` (as ``ttl.is_expired``), in order, after ``after``."""
        low: Entry = (Decimal(now - MAX_AGE_SECONDS),)
        inclusive = True
        if after is not None and after > low:
            low, inclusive = after, False
        return self.entries.irange(low, (Decimal(now),), (inclusive, False))

    def __len__(self) -> int:
        return len(self.entries)


def build(attribute: str, collections: Any) -> ExpiryIndex:
    """The index of the items of ``collections`` (hash slot -> sort bytes -> item)."""
    index = ExpiryIndex(attribute)
    found = []
    for slot, collection in collections.items():
        for sort, item in collection.items():
            expiry = expiry_time(item, attribute)
            if expiry is not None:
                found.append((expiry, slot, sort))
                index.expiries[(slot, sort)] = expiry
    index.entries = SortedList(found)
    return index


def adopt(state: Any, attribute: str) -> ExpiryIndex:
    """The state's index on ``attribute``, built from its items if it has none (or another's)."""
    index = state.expiry
    if index is None or index.attribute != attribute:
        index = state.expiry = build(attribute, state.collections)
    return index


def release_spec(attribute: str) -> ScanSpec:
    """The scan that drops the index of every shard it reaches (TTL turned off on the table: the
    sweeper sends it once); it answers an empty page, so one call visits every shard."""
    return ScanSpec(expiry=(attribute, RELEASE))


def expired_page(state: Any, spec: ScanSpec, start: Position | None) -> Page:
    """A page of the state's expired items (``spec.expiry``: (attribute, now)) after ``start``
    (the position of ``spec.exclusive_start``, whose TTL attribute holds its expiry); with
    ``now`` :data:`RELEASE`, drop the state's index instead (an empty page)."""
    attribute, now = spec.expiry
    if now == RELEASE:
        state.expiry = None
        return Page([], 0, 0, 0, None)
    index = adopt(state, attribute)
    after = None
    if start is not None and spec.exclusive_start is not None:
        expiry = expiry_time(spec.exclusive_start, attribute)
        after = None if expiry is None else (expiry, *start)
    names = state.schema.names
    out: list[Item] = []
    scanned = 0
    for expiry, slot, sort in index.expired(now, after):
        item = state.collections[slot][sort]
        scanned += 1
        if spec.filter is None or evaluate.evaluate_condition(spec.filter, item):
            out.append(projection.project(spec.projection, item) if spec.projection is not None else item)
        if spec.limit is not None and scanned >= spec.limit:
            last = {name: item[name] for name in names}
            last[attribute] = {"N": values.format_number(expiry)}
            return Page(out, len(out), scanned, 0, last)
    return Page(out, len(out), scanned, 0, None)
