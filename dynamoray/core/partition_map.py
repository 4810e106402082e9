"""A table's partition map: which host owns which range of its shards (pure).

A table has ``S`` shards, fixed for life (``core/shards.py``).  The partition map cuts ``0..S-1``
into contiguous **ranges**, each owned by one partition host (an index into the engine's pool of
hosts), and carries a **version** that grows by one with every change.  A range is named by its
first shard, which a move never changes.

- :func:`initial` is one range ``[0, S)`` on one host: what every table has until something is
  split, so tables and data directories made before the map existed are unchanged.
- :func:`split` cuts a range in two at a shard and gives the upper part to another host;
  :func:`move` gives a whole range to another host; :func:`merge` joins two neighbours.  Each
  returns a new map (version + 1) and never changes its input.
- :func:`validate` checks the ranges cover every shard exactly once, in order.
- :func:`choose_split` is the automatic splitter's policy: given each shard's item bytes and write
  rate and the thresholds, the range to split and where (a single hot shard is isolated in a
  range of its own where it can be), and the host to give the new range.
- :func:`to_wire` / :func:`from_wire` are the JSON form kept in the catalog (``_Partitions``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True, slots=True)
class Range:
    """Shards ``start`` to ``end - 1``, owned by host ``host``."""

    start: int
    end: int
    host: int

    def __contains__(self, shard: object) -> bool:
        return isinstance(shard, int) and self.start <= shard < self.end

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class PartitionMap:
    shards: int  # the table's shard count S
    ranges: tuple[Range, ...]  # in shard order, covering 0..S-1 exactly once
    version: int = 0

    def host_of(self, shard: int) -> int:
        return range_of(self, shard).host

    @property
    def hosts(self) -> tuple[int, ...]:
        """The distinct hosts of the table, in the order of their first range."""
        return tuple(dict.fromkeys(r.host for r in self.ranges))


@dataclass(frozen=True, slots=True)
class ShardLoad:
    """What the splitter knows of one shard: its items' bytes and its writes per second."""

    size_bytes: int = 0
    writes_per_second: float = 0.0


@dataclass(frozen=True, slots=True)
class SplitThresholds:
    """A range is split once its bytes or its write rate exceed these (None: never on that)."""

    size_bytes: int | None = None
    writes_per_second: float | None = None


@dataclass(frozen=True, slots=True)
class SplitChoice:
    range_start: int  # the range to split (named by its first shard)
    at: int  # the first shard of the new upper range
    new_host: int


def initial(shards: int, host: int) -> PartitionMap:
    """One range over every shard, on ``host``: version 0."""
    if shards < 1:
        raise ValueError("a table has at least one shard")
    return PartitionMap(shards, (Range(0, shards, host),), 0)


def validate(pmap: PartitionMap) -> PartitionMap:
    """``pmap`` if its ranges cover ``0..S-1`` exactly once, in order, each non-empty; else
    ValueError."""
    if pmap.shards < 1 or not pmap.ranges:
        raise ValueError("a partition map covers at least one shard")
    expected = 0
    for r in pmap.ranges:
        if r.start != expected or r.end <= r.start:
            raise ValueError(f"range {r.start}-{r.end - 1} does not follow shard {expected - 1} in the map")
        if r.host < 0:
            raise ValueError(f"range {r.start}-{r.end - 1} has no host")
        expected = r.end
    if expected != pmap.shards:
        raise ValueError(f"the ranges end at shard {expected - 1}, not at shard {pmap.shards - 1}")
    return pmap


def range_of(pmap: PartitionMap, shard: int) -> Range:
    """The range holding ``shard`` (ValueError if the table has no such shard)."""
    for r in pmap.ranges:
        if shard in r:
            return r
    raise ValueError(f"no shard {shard} in a table of {pmap.shards} shards")


def host_of(pmap: PartitionMap, shard: int) -> int:
    return range_of(pmap, shard).host


def find(pmap: PartitionMap, range_start: int) -> Range:
    """The range whose first shard is ``range_start`` (ValueError if none starts there)."""
    for r in pmap.ranges:
        if r.start == range_start:
            return r
    raise ValueError(f"no range starts at shard {range_start}")


def ranges_of_host(pmap: PartitionMap, host: int) -> tuple[Range, ...]:
    return tuple(r for r in pmap.ranges if r.host == host)


def shards_of_host(pmap: PartitionMap, host: int) -> tuple[int, ...]:
    return tuple(s for r in ranges_of_host(pmap, host) for s in range(r.start, r.end))


def _replaced(pmap: PartitionMap, old: Range, new: Sequence[Range]) -> PartitionMap:
    ranges = []
    for r in pmap.ranges:
        ranges.extend(new if r == old else (r,))
    return validate(PartitionMap(pmap.shards, tuple(ranges), pmap.version + 1))


def split(pmap: PartitionMap, range_start: int, at: int, new_host: int) -> PartitionMap:
    """Cut the range starting at ``range_start`` before shard ``at``: shards from ``at`` on go to
    ``new_host`` (which may be the range's own host)."""
    old = find(pmap, range_start)
    if not old.start < at < old.end:
        raise ValueError(f"shard {at} is not inside range {old.start}-{old.end - 1} (a split leaves both sides)")
    return _replaced(pmap, old, (Range(old.start, at, old.host), Range(at, old.end, new_host)))


def move(pmap: PartitionMap, range_start: int, new_host: int) -> PartitionMap:
    """Give the range starting at ``range_start`` to ``new_host``."""
    old = find(pmap, range_start)
    if old.host == new_host:
        raise ValueError(f"range {old.start}-{old.end - 1} is already on host {new_host}")
    return _replaced(pmap, old, (Range(old.start, old.end, new_host),))


def merge(pmap: PartitionMap, range_start: int) -> PartitionMap:
    """Join the range starting at ``range_start`` with the next one; both must be on one host."""
    old = find(pmap, range_start)
    following = [r for r in pmap.ranges if r.start == old.end]
    if not following:
        raise ValueError(f"range {old.start}-{old.end - 1} is the last one")
    nxt = following[0]
    if nxt.host != old.host:
        raise ValueError("only neighbouring ranges on one host can be merged (move one first)")
    joined = Range(old.start, nxt.end, old.host)
    ranges = tuple(joined if r == old else r for r in pmap.ranges if r != nxt)
    return validate(PartitionMap(pmap.shards, ranges, pmap.version + 1))


def coalesced(pmap: PartitionMap) -> PartitionMap:
    """Neighbouring ranges on one host joined (same version): a host holds one range of a table."""
    ranges: list[Range] = []
    for r in pmap.ranges:
        if ranges and ranges[-1].host == r.host:
            ranges[-1] = Range(ranges[-1].start, r.end, r.host)
        else:
            ranges.append(r)
    return validate(PartitionMap(pmap.shards, tuple(ranges), pmap.version))


def one_range_per_host(pmap: PartitionMap) -> bool:
    """Whether no host owns two ranges of the table (what a host can serve: one group a table)."""
    return len(pmap.hosts) == len(pmap.ranges)


# --- the automatic splitter's policy ------------------------------------------------------------


def _over(load: ShardLoad, limits: SplitThresholds) -> float:
    """How far a load is over the thresholds (the larger ratio; <= 1: within them)."""
    ratios = [0.0]
    if limits.size_bytes:
        ratios.append(load.size_bytes / limits.size_bytes)
    if limits.writes_per_second:
        ratios.append(load.writes_per_second / limits.writes_per_second)
    return max(ratios)


def _total(loads: Mapping[int, ShardLoad], shards: range) -> ShardLoad:
    parts = [loads.get(s, ShardLoad()) for s in shards]
    return ShardLoad(sum(p.size_bytes for p in parts), sum(p.writes_per_second for p in parts))


def _split_point(r: Range, loads: Mapping[int, ShardLoad], limits: SplitThresholds) -> int:
    """Where to cut ``r``: around a single hot shard (isolating it) if one carries most of the
    load, else where the load is halved."""
    weight = {s: _over(loads.get(s, ShardLoad()), limits) for s in range(r.start, r.end)}
    total = sum(weight.values())
    if total <= 0:
        return r.start + r.size // 2
    hottest = max(weight, key=lambda s: (weight[s], -s))
    if weight[hottest] * 2 >= total:  # one shard carries half the load or more: isolate it
        return hottest if hottest > r.start else hottest + 1
    running = 0.0
    for s in range(r.start, r.end - 1):
        running += weight[s]
        if running * 2 >= total:
            return s + 1
    return r.end - 1


def _free_host(pmap: PartitionMap, hosts: int) -> int | None:
    """The first host holding no range of the table (None: every host holds one)."""
    return next((h for h in range(hosts) if not ranges_of_host(pmap, h)), None)


def choose_split(pmap: PartitionMap, loads: Mapping[int, ShardLoad], limits: SplitThresholds,
                 hosts: int) -> SplitChoice | None:
    """The split to make now, or None: the range most over a threshold (a range of one shard
    cannot be split), cut by :func:`_split_point`, its upper part to a host that holds no range
    of the table yet (a host serves one range of a table: ``one_range_per_host``).  Once every
    host holds a range, nothing more is split: a hot shard in the middle of a range needs three
    hosts to get one of its own ("where possible")."""
    over = [(_over(_total(loads, range(r.start, r.end)), limits), r) for r in pmap.ranges if r.size > 1]
    over = [(ratio, r) for ratio, r in over if ratio > 1]
    host = _free_host(pmap, hosts)
    if not over or host is None:
        return None
    _, worst = max(over, key=lambda pair: (pair[0], -pair[1].start))
    return SplitChoice(worst.start, _split_point(worst, loads, limits), host)


def apply(pmap: PartitionMap, choice: SplitChoice) -> PartitionMap:
    return split(pmap, choice.range_start, choice.at, choice.new_host)


# --- the catalog's JSON form -------------------------------------------------------------------


def to_wire(pmap: PartitionMap) -> dict[str, Any]:
    return {"Shards": pmap.shards, "Version": pmap.version,
            "Ranges": [[r.start, r.end, r.host] for r in pmap.ranges]}


def from_wire(wire: Mapping[str, Any]) -> PartitionMap:
    ranges = tuple(Range(int(s), int(e), int(h)) for s, e, h in wire["Ranges"])
    return validate(PartitionMap(int(wire["Shards"]), ranges, int(wire.get("Version", 0))))


def with_host_count(pmap: PartitionMap, hosts: int) -> PartitionMap:
    """The map on a pool of ``hosts`` hosts: a range whose host no longer exists (the pool shrank
    since it was recorded) falls to ``host % hosts``.  Same version: only routing changes."""
    if all(r.host < hosts for r in pmap.ranges):
        return pmap
    ranges = tuple(dataclasses.replace(r, host=r.host % hosts) for r in pmap.ranges)
    return PartitionMap(pmap.shards, ranges, pmap.version)


def of_description(description: Mapping[str, Any], shards: int, default_host: int) -> PartitionMap:
    """A table's map as its catalog description records it (``tables.PARTITIONS``), or the
    initial map on ``default_host`` (the table's hashed host) when nothing was ever split."""
    wire = description.get("_Partitions")
    if wire is None:
        return initial(shards, default_host)
    return from_wire(wire)
