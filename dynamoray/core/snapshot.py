"""Partition snapshots: a :class:`~.partition.PartitionState` to bytes and back (pure, no I/O).

A snapshot is the state at one applied log offset: replay resumes after it.  Its bytes are
newline-separated orjson lines (format 1):

- **header**: ``{"magic": "dynamoray-snapshot", "format": 1, "table_id", "shard", "offset",
  "replay_from", "timestamp", "key_schema", "item_count", "size_bytes", "collections"}``;
- **body lines**, each a list of up to ``LINE_COLLECTIONS`` partition keys in the state's order,
  each ``[hash, [item, ...]]`` with its items in sort-key order (the hash is
  :func:`~.keys.partition_hash`, stable across runs and versions);
- **trailer**: ``{"end": collections, "lines": body lines, "items": item_count, "crc32": crc}``,
  the CRC-32 of every byte before it, so a torn or corrupt file is never loaded.

Taking one is split so the owner of the state pauses as little as possible: :func:`capture`
copies the item references between two changes (fast, no hashing), :func:`encode` sorts and
serializes the copy on another thread.

``replay_from`` is where a rebuild resumes reading the log: ``offset + 1``, or the offset of the
oldest transaction still prepared at ``offset``.  Its locks are not in the snapshot; folding the
records from there again rebuilds them and gives the same items, since a change carries the
item's whole new image.  ``size_bytes`` is None when the state had deferred it (see
``partition.defer_size``); the loaded state then computes it on first use.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from typing import Iterator

import orjson
from sortedcontainers import SortedDict

from . import keys, partition

MAGIC = "dynamoray-snapshot"
FORMAT = 1
LINE_COLLECTIONS = 1024  # partition keys per body line (one orjson call each way)

Collection = tuple[int, list[dict]]  # (partition-key hash, items in sort-key order)


class SnapshotError(Exception):
    """The bytes are not a usable snapshot (corrupt, torn, another format or another table)."""


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    table_id: str
    shard: int
    offset: int  # the last log offset the state holds
    replay_from: int  # where replay resumes: offset + 1, or earlier (see ``replay_from`` above)
    timestamp: int  # commit timestamp (ms) of ``offset``, 0 if unknown
    key_schema: keys.KeySchema
    item_count: int
    size_bytes: int | None

    def to_json(self, collections: int) -> dict:
        s = self.key_schema
        return {
            "magic": MAGIC, "format": FORMAT, "table_id": self.table_id, "shard": self.shard,
            "offset": self.offset, "replay_from": self.replay_from, "timestamp": self.timestamp,
            "key_schema": [s.hash_name, s.hash_type, s.range_name, s.range_type],
            "item_count": self.item_count, "size_bytes": self.size_bytes, "collections": collections,
        }


@dataclass(frozen=True, slots=True)
class Loaded:
    header: SnapshotHeader
    state: partition.PartitionState


# --- capture: a copy of the state's items ----------------------------------------------------------

Captured = list[tuple[tuple, list[tuple[bytes, dict]]]]  # [(slot, [(sort bytes, item), ...]), ...]


def capture(state: partition.PartitionState) -> Captured:
    """A consistent copy of the items, taken between two changes, in no particular order (the
    encoder sorts, on another thread).  It walks the plain dicts under the sorted ones: no key is
    hashed or compared, so it costs well under a microsecond per item.  Items are shared, not
    copied: evolve never mutates an item, it replaces it."""
    return [(slot, list(dict.items(c))) for slot, c in list(dict.items(state.collections))]


def _first(entry: tuple) -> object:
    return entry[0]


def _ordered(captured: Captured) -> list[Collection]:
    out = []
    for slot, pairs in sorted(captured, key=_first):
        if len(pairs) == 1:
            out.append((slot[0], [pairs[0][1]]))
        elif pairs:
            out.append((slot[0], [item for _, item in sorted(pairs, key=_first)]))
    return out


# --- encode / decode ------------------------------------------------------------------------------


def encode(header: SnapshotHeader, captured: Captured) -> Iterator[bytes]:
    """The snapshot's bytes, in chunks (one line each).  ``header.item_count`` is replaced by the
    number of items captured."""
    collections = _ordered(captured)
    count = sum(len(items) for _, items in collections)
    head = _replace_count(header, count)
    crc = 0
    first = orjson.dumps(head.to_json(len(collections))) + b"\n"
    crc = zlib.crc32(first, crc)
    yield first
    lines = 0
    for start in range(0, len(collections), LINE_COLLECTIONS):
        line = orjson.dumps(collections[start:start + LINE_COLLECTIONS]) + b"\n"
        crc = zlib.crc32(line, crc)
        lines += 1
        yield line
    yield orjson.dumps({"end": len(collections), "lines": lines, "items": count, "crc32": crc}) + b"\n"


def _replace_count(header: SnapshotHeader, count: int) -> SnapshotHeader:
    return header if header.item_count == count else dataclasses.replace(header, item_count=count)


def with_timestamp(header: SnapshotHeader, timestamp: int) -> SnapshotHeader:
    return dataclasses.replace(header, timestamp=timestamp)


def encode_bytes(header: SnapshotHeader, captured: Captured) -> bytes:
    return b"".join(encode(header, captured))


def read_header(data: bytes) -> SnapshotHeader:
    """The header of a snapshot, checked (magic, format) but without reading the body."""
    end = data.find(b"\n")
    try:
        raw = orjson.loads(data[:end if end >= 0 else len(data)])
    except orjson.JSONDecodeError:
        raise SnapshotError("not a snapshot: unreadable header") from None
    if not isinstance(raw, dict) or raw.get("magic") != MAGIC:
        raise SnapshotError("not a snapshot")
    if raw.get("format") != FORMAT:
        raise SnapshotError(f"unknown snapshot format {raw.get('format')!r}")
    try:
        hash_name, hash_type, range_name, range_type = raw["key_schema"]
        return SnapshotHeader(
            raw["table_id"], raw["shard"], raw["offset"], raw["replay_from"], raw["timestamp"],
            keys.KeySchema(hash_name, hash_type, range_name, range_type), raw["item_count"],
            raw["size_bytes"],
        )
    except (KeyError, TypeError, ValueError):
        raise SnapshotError("not a snapshot: bad header") from None


def _verified_lines(data: bytes) -> list[bytes]:
    """The header and collection lines, after checking the trailer's CRC and counts."""
    if not data.endswith(b"\n"):
        raise SnapshotError("torn snapshot: no trailer")
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1
    if cut == 0:
        raise SnapshotError("torn snapshot: no trailer")
    try:
        trailer = orjson.loads(data[cut:])
        crc, lines = trailer["crc32"], trailer["lines"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise SnapshotError("torn snapshot: bad trailer") from None
    if zlib.crc32(data[:cut]) != crc:
        raise SnapshotError("corrupt snapshot: checksum mismatch")
    found = data[:cut - 1].split(b"\n")
    if len(found) != lines + 1:
        raise SnapshotError("corrupt snapshot: line count mismatch")
    return found


def decode(data: bytes, schema: keys.KeySchema | None = None, table_id: str | None = None) -> Loaded:
    """Rebuild the state a snapshot holds; raises :class:`SnapshotError` if it is unusable or, when
    given, of another key schema or table."""
    header = read_header(data)
    if schema is not None and header.key_schema != schema:
        raise SnapshotError("snapshot of another key schema")
    if table_id is not None and header.table_id != table_id:
        raise SnapshotError("snapshot of another table")
    lines = _verified_lines(data)
    schema = header.key_schema
    state = partition.PartitionState(schema)
    hash_name, range_name = schema.hash_name, schema.range_name
    sort_bytes = keys.sort_key_bytes
    pairs, count = [], 0
    try:
        for line in lines[1:]:
            for hashed, items in orjson.loads(line):
                (kind, raw), = items[0][hash_name].items()
                if range_name is None:
                    collection = SortedDict(((b"", items[0]),))
                else:
                    collection = SortedDict(zip([sort_bytes(item[range_name]) for item in items], items))
                pairs.append(((hashed, (kind, raw)), collection))
                count += len(items)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
        raise SnapshotError("corrupt snapshot: bad collection") from None
    if count != header.item_count:
        raise SnapshotError("corrupt snapshot: item count mismatch")
    state.collections = SortedDict(pairs)
    state.item_count = count
    state.size_bytes = header.size_bytes
    state.applied_offset = header.offset
    return Loaded(header, state)
