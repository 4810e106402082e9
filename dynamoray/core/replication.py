"""Global tables: item versions and the last-writer-wins decision (pure).

Every region holds the same table and takes writes; each region's changes are sent to the others
(``actors/replicator.py``) and applied there as :class:`~.commands.ReplicatedWriteCommand`.  So
that every region ends with the same items whatever order changes arrive in, each item has a
**version** ``(timestamp, region)``: the commit time in ms of its last change in the region that
made it, and that region's name as a deterministic tie-break.  Versions compare as tuples.

- A **local write** on a table with replicas is stamped by the write pipeline with
  ``max(now, current timestamp + 1)`` (:func:`stamp`), so it is newer than every version the
  region has seen for the item, even if the clocks of the regions disagree.  Its region is stored
  as ``""`` (this region) and compared as the local region's name.
- A **replicated write** wins only if its version is newer than the item's current one
  (:func:`decide_replicated`); an older or equal one changes nothing (so a change applied twice
  is a no-op: replication is idempotent).
- A **delete** leaves a *tombstone*: the version of the removed item, so an older write arriving
  later does not bring it back.  Tombstones are kept for :data:`TOMBSTONE_RETENTION_MS` after the
  newest one and at most :data:`MAX_TOMBSTONES` per shard (a change older than that, delayed
  longer than that, could resurrect an item).
- A change without a version (written before the table had replicas) has version ``(0, its
  region)``: older than any stamped one, and the same in every region; an item a region never
  had (and holds no tombstone of) is older still (:data:`ABSENT`).

The versions of a shard live in ``PartitionState.versions`` (None until a versioned change is
folded), and each versioned change carries its version in its log event (``ItemChanged.v2``), so
a replay rebuilds them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import keys, values
from .commands import INSERT, MODIFY, REMOVE, ItemChange, ReplicatedWriteCommand, WriteOutcome

Version = tuple[int, str]

TOMBSTONE_RETENTION_MS = 24 * 3600 * 1000
MAX_TOMBSTONES = 100_000
GLOBAL_TABLE_VERSION = "2019.11.21"


class Versions:
    """The versions of one shard's items: ``live`` for items that exist, ``tombstones`` for
    deleted ones (in the order they were deleted).  Keys are ``partition.item_token`` tuples."""

    __slots__ = ("live", "tombstones", "newest")

    def __init__(self) -> None:
        self.live: dict[tuple, Version] = {}
        self.tombstones: dict[tuple, Version] = {}
        self.newest = 0  # the newest tombstone timestamp (retention counts back from it)

    def get(self, token: tuple) -> Version | None:
        found = self.live.get(token)
        if found is None and self.tombstones:
            return self.tombstones.get(token)
        return found


def track(versions: Versions, token: tuple, origin: Version | None, removed: bool) -> None:
    """Fold one change's version (called by ``partition.evolve``); a change without a version
    makes the item's version unknown again, i.e. ``(0, local)``."""
    live, tombstones = versions.live, versions.tombstones
    if origin is None:
        live.pop(token, None)
        if tombstones:
            tombstones.pop(token, None)
        return
    if not removed:
        live[token] = origin
        if tombstones:
            tombstones.pop(token, None)
        return
    live.pop(token, None)
    tombstones.pop(token, None)
    tombstones[token] = origin
    versions.newest = max(versions.newest, origin[0])
    floor = versions.newest - TOMBSTONE_RETENTION_MS
    while tombstones:
        first = next(iter(tombstones))
        if len(tombstones) <= MAX_TOMBSTONES and tombstones[first][0] >= floor:
            break
        del tombstones[first]


ABSENT: Version = (-1, "")  # an item this region never had (no tombstone either): older than any


def comparable(version: Version | None, local_region: str) -> Version:
    """A version as every region compares it: ``""`` is the local region, and an item held
    without a version (written before the table had replicas) is ``(0, local)``."""
    if version is None:
        return (0, local_region)
    timestamp, region = version
    return (timestamp, region or local_region)


def wire_version(version: Version | None, local_region: str) -> list:
    """A version as it is sent to another region (``[timestamp, region]``)."""
    timestamp, region = comparable(version, local_region)
    return [timestamp, region]


def stamp(change: ItemChange, current: Version | None, now_ms: int) -> ItemChange:
    """A local change with its version: after ``now`` and after the item's current version."""
    floor = current[0] + 1 if current is not None else 0
    return replace(change, origin=(max(now_ms, floor), ""))


def decide_replicated(view: Any, command: ReplicatedWriteCommand) -> WriteOutcome:
    """Apply another region's change if its version is newer than the item's (see the module
    docstring).  ``view`` has ``schema``, ``lookup(key)`` and ``version_of(key)``."""
    key = keys.validate_key(view.schema, command.key)
    local = command.local_region
    old = view.lookup(key)
    found = view.version_of(key)
    current = ABSENT if found is None and old is None else comparable(found, local)
    incoming = comparable((int(command.version[0]), str(command.version[1])), local)
    if incoming <= current:
        return WriteOutcome(None, None, 0, 0)
    old_size = values.item_size(old) if old is not None else 0
    if command.item is None:  # a delete: a tombstone even where the item is already gone
        return WriteOutcome(ItemChange(REMOVE, key, old, None, origin=incoming), None, old_size, 0)
    item = {**command.item, **key}
    new_size = values.check_item_size(item)
    change = ItemChange(MODIFY if old is not None else INSERT, key, old, item, origin=incoming)
    return WriteOutcome(change, None, old_size, new_size)
