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

**Format 2** is format 1 plus the items' versions (global tables, ``core/replication.py``): the
header gains ``"versions": {"lines": n, "newest": ms}`` and the last ``n`` lines before the
trailer (counted in its ``lines``) are ``{"live": [...]}`` or ``{"dead": [...]}`` (tombstones, in
the order they were deleted), each entry ``[hash, type, value, sort hex, timestamp, region]``.  A
shard rebuilt from it keeps every version it had, so a late older replicated write loses exactly
as it would have before.  A state without versions is still written as format 1.

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

from . import keys, partition, replication

MAGIC = "dynamoray-snapshot"
FORMAT = 1
FORMAT_VERSIONED = 2  # format 1 plus the items' versions (global tables)
LINE_COLLECTIONS = 1024  # partition keys per body line (one orjson call each way)
LINE_VERSIONS = 4096  # version entries per line

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

    def to_json(self, collections: int, versions: dict | None = None) -> dict:
        s = self.key_schema
        out = {
            "magic": MAGIC, "format": FORMAT if versions is None else FORMAT_VERSIONED,
            "table_id": self.table_id, "shard": self.shard,
            "offset": self.offset, "replay_from": self.replay_from, "timestamp": self.timestamp,
            "key_schema": [s.hash_name, s.hash_type, s.range_name, s.range_type],
            "item_count": self.item_count, "size_bytes": self.size_bytes, "collections": collections,
        }
        if versions is not None:
            out["versions"] = versions
        return out


@dataclass(frozen=True, slots=True)
class Loaded:
    header: SnapshotHeader
    state: partition.PartitionState


# --- capture: a copy of the state's items ----------------------------------------------------------

Captured = list[tuple[tuple, list[tuple[bytes, dict]]]]  # [(slot, [(sort bytes, item), ...]), ...]


class CapturedItems(list):
    """What :func:`capture` returns: the captured collections (a plain ``Captured`` list), with
    the state's versions copied at the same moment (``versions``, None for a table without)."""

    __slots__ = ("versions",)


def capture(state: partition.PartitionState) -> CapturedItems:
    """A consistent copy of the items, taken between two changes, in no particular order (the
    encoder sorts, on another thread).  It walks the plain dicts under the sorted ones: no key is
    hashed or compared, so it costs well under a microsecond per item.  Items are shared, not
    copied: evolve never mutates an item, it replaces it.  The items' versions (global tables)
    are copied with them, and :func:`encode` writes them."""
    captured = CapturedItems((slot, list(dict.items(c))) for slot, c in list(dict.items(state.collections)))
    captured.versions = capture_versions(state)
    return captured


CapturedVersions = tuple  # (live dict, tombstones dict, newest tombstone ms)


def capture_versions(state: partition.PartitionState) -> CapturedVersions | None:
    """A copy of the items' versions (global tables), taken with :func:`capture`; None if the
    state has none."""
    found = state.versions
    if found is None:
        return None
    return dict(found.live), dict(found.tombstones), found.newest


def _version_lines(captured: CapturedVersions) -> list[bytes]:
    lines = []
    for tag, entries in (("live", captured[0]), ("dead", captured[1])):
        rows = [[slot[0], slot[1][0], slot[1][1], sort.hex(), version[0], version[1]]
                for (slot, sort), version in entries.items()]
        for start in range(0, len(rows), LINE_VERSIONS):
            lines.append(orjson.dumps({tag: rows[start:start + LINE_VERSIONS]}) + b"\n")
    return lines


def _load_versions(lines: list[bytes], newest: int) -> replication.Versions:
    found = replication.Versions()
    found.newest = newest
    for line in lines:
        raw = orjson.loads(line)
        if not isinstance(raw, dict) or len(raw) != 1:
            raise ValueError("not a versions line")
        (tag, rows), = raw.items()
        target = found.live if tag == "live" else found.tombstones if tag == "dead" else None
        if target is None:
            raise ValueError(tag)
        for hashed, kind, value, sort, timestamp, region in rows:
            target[((hashed, (kind, value)), bytes.fromhex(sort))] = (int(timestamp), str(region))
    return found


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


def encode(header: SnapshotHeader, captured: Captured,
           versions: CapturedVersions | None = None) -> Iterator[bytes]:
    """The snapshot's bytes, in chunks (one line each).  ``header.item_count`` is replaced by the
    number of items captured.  With ``versions`` (:func:`capture_versions`, by default those
    :func:`capture` took) it is format 2."""
    if versions is None:
        versions = getattr(captured, "versions", None)
    collections = _ordered(captured)
    count = sum(len(items) for _, items in collections)
    head = _replace_count(header, count)
    extra = _version_lines(versions) if versions is not None else []
    described = {"lines": len(extra), "newest": versions[2]} if versions is not None else None
    crc = 0
    first = orjson.dumps(head.to_json(len(collections), described)) + b"\n"
    crc = zlib.crc32(first, crc)
    yield first
    lines = 0
    for start in range(0, len(collections), LINE_COLLECTIONS):
        line = orjson.dumps(collections[start:start + LINE_COLLECTIONS]) + b"\n"
        crc = zlib.crc32(line, crc)
        lines += 1
        yield line
    for line in extra:
        crc = zlib.crc32(line, crc)
        lines += 1
        yield line
    yield orjson.dumps({"end": len(collections), "lines": lines, "items": count, "crc32": crc}) + b"\n"


def _replace_count(header: SnapshotHeader, count: int) -> SnapshotHeader:
    return header if header.item_count == count else dataclasses.replace(header, item_count=count)


def with_timestamp(header: SnapshotHeader, timestamp: int) -> SnapshotHeader:
    return dataclasses.replace(header, timestamp=timestamp)


def encode_bytes(header: SnapshotHeader, captured: Captured, versions: CapturedVersions | None = None) -> bytes:
    return b"".join(encode(header, captured, versions))


def _raw_header(data: bytes) -> dict:
    end = data.find(b"\n")
    try:
        raw = orjson.loads(data[:end if end >= 0 else len(data)])
    except orjson.JSONDecodeError:
        raise SnapshotError("not a snapshot: unreadable header") from None
    if not isinstance(raw, dict) or raw.get("magic") != MAGIC:
        raise SnapshotError("not a snapshot")
    if raw.get("format") not in (FORMAT, FORMAT_VERSIONED):
        raise SnapshotError(f"unknown snapshot format {raw.get('format')!r}")
    return raw


def read_header(data: bytes) -> SnapshotHeader:
    """The header of a snapshot, checked (magic, format) but without reading the body."""
    raw = _raw_header(data)
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
    described = _raw_header(data).get("versions")
    try:
        body_end = len(lines) - (int(described["lines"]) if described else 0)
    except (KeyError, TypeError, ValueError):
        raise SnapshotError("corrupt snapshot: bad versions") from None
    if body_end < 1:
        raise SnapshotError("corrupt snapshot: line count mismatch")
    hash_name, range_name = schema.hash_name, schema.range_name
    sort_bytes = keys.sort_key_bytes
    pairs, count = [], 0
    try:
        if described:
            state.versions = _load_versions(lines[body_end:], int(described["newest"]))
        for line in lines[1:body_end]:
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
