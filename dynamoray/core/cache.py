"""The accelerator's caches (DAX): an item cache and a query cache, pure (the clock comes in as ``now``).

- :class:`LruCache`: entries with a size in bytes and an expiry; the total size never exceeds
  ``max_bytes`` (the least recently used entries are evicted first, an entry bigger than the bound
  is not kept) and an entry past its TTL is never returned.
- :class:`DaxCache`: what the accelerator holds, as DAX does:

  * the **item cache** (GetItem, BatchGetItem) by (table, primary key), negative entries included
    (an item that does not exist is cached as ``None``);
  * the **query cache** (Query, Scan) by (table, the canonical request), negative (empty) pages
    included;
  * **write-through**: a write sent through the accelerator puts its new image in the item cache;
  * **changes from the log** (:meth:`DaxCache.apply_change`): a change made by anyone replaces a
    cached item by its new image (a deletion by a negative entry).  The query cache is, as on
    DAX, not invalidated by writes: its entries live until their TTL, unless
    ``invalidate_queries`` is set, in which case any change of a table drops the table's pages.

A cache miss reads the table and then fills the cache; a change may land in between, and the read
may come from a replica a little behind the log.  :meth:`DaxCache.begin` takes a ticket before the
read, and a fill is refused if the key (for a page: the table) changed after the ticket, or less
than ``settle`` seconds before ``now``, or if the table is not followed (:meth:`DaxCache.follow`):
so a cached entry is never older than the changes already applied to the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Hashable

from . import values

DEFAULT_ITEM_TTL = 300.0  # seconds, DAX's default record TTL
DEFAULT_QUERY_TTL = 300.0  # seconds, DAX's default query TTL
DEFAULT_ITEM_BYTES = 64 * 1024 * 1024
DEFAULT_QUERY_BYTES = 64 * 1024 * 1024
DEFAULT_SETTLE = 0.5  # seconds: no fill of a key changed (or a table followed) this recently
ENTRY_OVERHEAD = 100  # bytes counted per entry besides its item(s)
RECENT_CHANGES = 100_000  # changed keys remembered for refusing stale fills
OWN_WRITE_WAIT = 5.0  # seconds a written-through image waits for its own change in the log
OWN_WRITES = 10_000  # written-through images waiting for their change, at most
MISSING: Any = object()  # what a lookup that finds nothing returns (None is a cached "no item")


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0  # entries dropped to stay under the byte bound
    expirations: int = 0  # entries found past their TTL
    refused: int = 0  # fills refused (the key changed during the read)


@dataclass(slots=True)
class _Entry:
    value: Any
    size: int
    expires: float
    group: Hashable


class LruCache:
    """Entries by key, each with a size and an expiry, under ``max_bytes``; ``group`` tags entries
    so that a whole group (a table) can be dropped at once."""

    def __init__(self, max_bytes: int, ttl: float) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.bytes = 0
        self.stats = CacheStats()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._groups: dict[Hashable, set[Hashable]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable, now: float) -> Any:
        """The value (None included), or MISSING when absent or expired (then dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return MISSING
        if entry.expires <= now:
            self.stats.expirations += 1
            self.stats.misses += 1
            self.pop(key)
            return MISSING
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry.value

    def put(self, key: Hashable, value: Any, size: int, now: float, group: Hashable = None) -> bool:
        """Keep ``value`` for ``ttl`` from ``now``; False if it is bigger than the whole bound."""
        self.pop(key)
        if size > self.max_bytes or self.ttl <= 0:
            return False
        while self.bytes + size > self.max_bytes:
            oldest = next(iter(self._entries))
            self.pop(oldest)
            self.stats.evictions += 1
        self._entries[key] = _Entry(value, size, now + self.ttl, group)
        self._groups.setdefault(group, set()).add(key)
        self.bytes += size
        return True

    def pop(self, key: Hashable) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self.bytes -= entry.size
        members = self._groups.get(entry.group)
        if members is not None:
            members.discard(key)
            if not members:
                del self._groups[entry.group]
        return True

    def drop_group(self, group: Hashable) -> int:
        """Drop every entry of ``group``; how many."""
        members = self._groups.pop(group, set())
        for key in members:
            entry = self._entries.pop(key)
            self.bytes -= entry.size
        return len(members)


def key_token(key: dict) -> tuple:
    """A hashable, canonical form of a primary key in wire form (numbers are already normalized)."""
    return tuple(sorted((name, *next(iter(value.items()))) for name, value in key.items()))


def item_bytes(key: dict, item: dict | None) -> int:
    """What an item-cache entry counts against the bound."""
    return ENTRY_OVERHEAD + values.item_size(key) + (values.item_size(item) if item is not None else 0)


def page_bytes(request: str, items: list[dict]) -> int:
    """What a query-cache entry counts: the request's text and the page's items."""
    return ENTRY_OVERHEAD + len(request) + sum(values.item_size(item) for item in items)


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken before a read that may fill the cache: the change count at that moment."""

    epoch: int


@dataclass
class CacheSettings:
    item_ttl: float = DEFAULT_ITEM_TTL
    query_ttl: float = DEFAULT_QUERY_TTL
    item_bytes: int = DEFAULT_ITEM_BYTES
    query_bytes: int = DEFAULT_QUERY_BYTES
    settle: float = DEFAULT_SETTLE
    invalidate_queries: bool = False  # DAX: False (query results live until their TTL)


@dataclass
class DaxCache:
    """The item and query caches of an accelerator, and the log changes applied to them."""

    settings: CacheSettings = field(default_factory=CacheSettings)

    def __post_init__(self) -> None:
        s = self.settings
        self.items = LruCache(s.item_bytes, s.item_ttl)
        self.queries = LruCache(s.query_bytes, s.query_ttl)
        self.epoch = 0  # changes applied so far
        self.followed: set[str] = set()  # tables whose log changes are applied (fills allowed)
        self._recent: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()  # key -> (epoch, when)
        self._floor = 0  # the epoch of the newest change forgotten from _recent
        # key -> (image written through, when): log changes of the key older than that write
        # must not replace it; the wait ends when the log brings the same image, or after a while
        self._own: OrderedDict[Hashable, tuple[dict | None, float]] = OrderedDict()

    # --- tables ----------------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, float]]:
        """Per cache ("item", "query"): hits, misses, evictions, expirations, refused, entries, bytes."""
        out = {}
        for name, lru in (("item", self.items), ("query", self.queries)):
            s = lru.stats
            out[name] = {"hits": s.hits, "misses": s.misses, "evictions": s.evictions,
                         "expirations": s.expirations, "refused": s.refused, "entries": len(lru),
                         "bytes": lru.bytes}
        return out

    def follow(self, table: str, now: float) -> None:
        """The table's changes are applied from now on: reads that begin from now on may fill the
        cache (after ``settle``: a replica may still lag the log position the feed started at)."""
        self.followed.add(table)
        self._changed(("dropped", table), now)

    def unfollow(self, table: str) -> None:
        """Forget the table (deleted, or its log can no longer be followed)."""
        self.followed.discard(table)
        for token in [t for t in self._own if t[0] == table]:
            del self._own[token]
        self.items.drop_group(table)
        self.queries.drop_group(table)
        self._changed(("dropped", table), float("-inf"))

    # --- reads -----------------------------------------------------------------------------------

    def begin(self) -> Ticket:
        return Ticket(self.epoch)

    def get_item(self, table: str, key: dict, now: float) -> Any:
        """The cached item, None for a cached absence, MISSING for a miss."""
        return self.items.get((table, key_token(key)), now)

    def fill_item(self, table: str, key: dict, item: dict | None, ticket: Ticket, now: float) -> bool:
        token = (table, key_token(key))
        if not self._may_fill(table, token, ticket, now, self.items.stats):
            return False
        return self.items.put(token, item, item_bytes(key, item), now, table)

    def get_page(self, table: str, request: str, now: float) -> Any:
        return self.queries.get((table, request), now)

    def fill_page(self, table: str, request: str, page: Any, items: list[dict], ticket: Ticket,
                  now: float) -> bool:
        """Cache a Query/Scan ``page`` (whose items are ``items``) for ``request``."""
        if not self._may_fill(table, ("pages", table), ticket, now, self.queries.stats):
            return False
        return self.queries.put((table, request), page, page_bytes(request, items), now, table)

    def _may_fill(self, table: str, marker: Hashable, ticket: Ticket, now: float, stats: CacheStats) -> bool:
        """Whether a read that began at ``ticket`` may fill: ``marker`` (the key, or the table's
        pages) and the table itself unchanged since, and not changed within ``settle`` of now."""
        allowed = table in self.followed and ticket.epoch >= self._floor
        for changed in (marker, ("dropped", table)):
            last = self._recent.get(changed)
            if last is not None and (last[0] > ticket.epoch or now - last[1] < self.settings.settle):
                allowed = False
        if not allowed:
            stats.refused += 1
        return allowed

    # --- writes ----------------------------------------------------------------------------------

    def write_through(self, table: str, key: dict, item: dict | None, ticket: Ticket, now: float) -> bool:
        """A write made through the accelerator (``ticket`` taken before it was sent): its new image
        (None: deleted) becomes the cached item, unless the log already brought a change of the
        key since (then the cache holds that change or nothing, never this older image)."""
        token = (table, key_token(key))
        last = self._recent.get(token)
        if table not in self.followed or ticket.epoch < self._floor or (last is not None and last[0] > ticket.epoch):
            self.items.pop(token)  # whatever is cached may be older than this write: read it again
            return False
        self._own.pop(token, None)
        self._own[token] = (item, now)
        while len(self._own) > OWN_WRITES:
            self._own.popitem(last=False)
        return self.items.put(token, item, item_bytes(key, item), now, table)

    def apply_change(self, table: str, key: dict, new_image: dict | None, now: float) -> None:
        """A change read from the table's log: a cached item takes its new image; the table's
        pages are dropped with ``invalidate_queries``."""
        token = (table, key_token(key))
        self._changed(token, now)
        if self.settings.invalidate_queries:
            self._changed(("pages", table), now)
            self.queries.drop_group(table)
        own = self._own.get(token)
        if own is not None:
            if own[0] != new_image and now - own[1] < OWN_WRITE_WAIT:
                return  # a change from before this accelerator's own write of the key: keep the write
            del self._own[token]  # the log has caught up with the write (or gave up waiting)
        if token in self.items:
            self.items.put(token, new_image, item_bytes(key, new_image), now, table)

    def _changed(self, token: Hashable, now: float) -> None:
        self.epoch += 1
        self._recent.pop(token, None)
        self._recent[token] = (self.epoch, now)
        while len(self._recent) > RECENT_CHANGES:
            _, (epoch, _when) = self._recent.popitem(last=False)
            self._floor = epoch
