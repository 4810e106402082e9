"""A table's shards: which shard holds a key, and the reads that span shards (pure).

A table's key space is hashed into ``S`` shards, fixed when the table is created (``tables.SHARDS``;
a table made before shards existed has one).  An item lives in shard
``keys.shard_for(its partition key, S)``: jump consistent hashing, so growing ``S`` later moves only
the keys a new shard takes.  Each shard is one log partition of the table's topic and one
:class:`~.partition.PartitionState`.  Every item of a partition key is in one shard, so a write, a
GetItem or a Query touches one shard; a Scan walks them all.

- :func:`shard_of` / :func:`command_shard` route a key, an item or a write command.  A key that is
  not a valid key goes to shard 0, whose decision or read then raises DynamoDB's error for it.
- :func:`scan` walks the shards in order 0..S-1 under one page's Limit and 1 MB budget
  (``partition.scan`` on each).  A page that stops inside shard k returns a LastEvaluatedKey of an
  item of shard k; the next page derives the shard from that key's hash and resumes there.
  Parallel-scan segments are ranges of the partition-key hash *within* each shard, so every item is
  in exactly one segment whatever ``S`` and ``TotalSegments`` are.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from . import index_reads, keys, partition
from .commands import Item, Page, PutCommand, QuerySpec, ScanSpec

DEFAULT_SHARDS = 4
MAX_SHARDS = 64


def check_count(count: Any) -> int:
    """A valid shard count (1..MAX_SHARDS), or ValueError."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"the shard count must be an integer from 1 to {MAX_SHARDS}, not {count!r}")
    return count


def value_shard(value: Any, count: int) -> int:
    """The shard of a partition-key value (shard 0 for anything that is not a key value)."""
    if count == 1:
        return 0
    try:
        return keys.shard_for(value, count)
    except Exception:  # noqa: BLE001 - not a key value: shard 0 reports it
        return 0


def shard_of(schema: keys.KeySchema, key: Any, count: int) -> int:
    """The shard of a key or an item (its partition-key attribute decides)."""
    if count == 1 or not isinstance(key, dict):
        return 0
    return value_shard(key.get(schema.hash_name), count)


def command_shard(schema: keys.KeySchema, command: Any, count: int) -> int:
    """The shard a write command (put, update, delete, condition check, expiry...) goes to."""
    return shard_of(schema, command.item if isinstance(command, PutCommand) else getattr(command, "key", None), count)


# --- reads over a table's shards (one state per shard, in shard order) ----------------------------


def get_item(states: Sequence[partition.PartitionState], key: Item, projection: Any = None) -> Item | None:
    return partition.get_item(states[shard_of(states[0].schema, key, len(states))], key, projection)


def query(states: Sequence[partition.PartitionState], spec: QuerySpec) -> Page:
    """A Query reads one partition key, hence one shard (a GSI query: every shard)."""
    if spec.index is not None:  # a secondary index: core/index_reads.py merges the shards' pages
        return index_reads.query(states, spec)
    return partition.query(states[value_shard(spec.hash_value, len(states))], spec)


def scan(states: Sequence[partition.PartitionState], spec: ScanSpec, *, offset: int = 0, total: int | None = None,
         budget: int = partition.MAX_PAGE_BYTES) -> Page:
    """One Scan page over the shards, in shard order, from the shard of ``spec.exclusive_start``.

    ``states`` may be a range of a table's shards (step 2: a host owns a range): shards
    ``offset .. offset + len(states) - 1`` of ``total``; ``budget`` is what is left of the page's
    1 MB after the ranges before it (the engine carries it from one host to the next)."""
    if spec.index is not None:  # a secondary index: core/index_reads.py merges the shards' pages
        return index_reads.scan(states, spec)
    count = len(states) if total is None else total
    if count == 1:
        return partition.scan(states[0], spec, budget=budget)
    start = spec.exclusive_start
    first = offset if start is None else shard_of(states[0].schema, start, count)
    if not offset <= first < offset + len(states):
        raise ValueError(f"shard {first} is not in shards {offset}..{offset + len(states) - 1}")
    items: list[Item] = []
    found = scanned = read = 0
    for shard in range(first, offset + len(states)):
        limit = None if spec.limit is None else spec.limit - scanned
        part = dataclasses.replace(spec, limit=limit, exclusive_start=start if shard == first else None)
        page = partition.scan(states[shard - offset], part, budget=budget - read)
        items += page.items
        found += page.count
        scanned += page.scanned_count
        read += page.bytes_read
        if page.last_evaluated_key is not None:
            return Page(items, found, scanned, read, page.last_evaluated_key)
    return Page(items, found, scanned, read, None)


# --- a Scan page over ranges of shards on several hosts (step 2: the engine's fan-out) ------------


def range_part(spec: ScanSpec, pages: Sequence[Page], first: bool) -> tuple[ScanSpec, int]:
    """What to ask the next range of a Scan page, after ``pages`` from the ranges before it: the
    spec with the Limit left (and the start key only for the ``first`` range), and the bytes left
    of the 1 MB budget.  Chained over the ranges in shard order, the page is the one a single
    group holding every shard returns (:func:`scan`)."""
    scanned = sum(page.scanned_count for page in pages)
    limit = None if spec.limit is None else spec.limit - scanned
    part = dataclasses.replace(spec, limit=limit, exclusive_start=spec.exclusive_start if first else None)
    return part, partition.MAX_PAGE_BYTES - sum(page.bytes_read for page in pages)


def joined(pages: Sequence[Page]) -> Page:
    """The pages of consecutive ranges as one page (the last one's LastEvaluatedKey)."""
    items: list[Item] = [item for page in pages for item in page.items]
    return Page(items, sum(p.count for p in pages), sum(p.scanned_count for p in pages),
                sum(p.bytes_read for p in pages), pages[-1].last_evaluated_key if pages else None)


def item_count(states: Sequence[partition.PartitionState]) -> int:
    return sum(state.item_count for state in states)


def size_bytes(states: Sequence[partition.PartitionState]) -> int:
    return sum(state.size_bytes for state in states)
