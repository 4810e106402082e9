"""Consumer groups over the event log: members share a group's topic partitions and commit offsets.

Kafka's consumer-group semantics, for every backend (:func:`join_group` picks the implementation):

- A **group** has a name, a set of **members** and, per ``(topic, partition)``, a **committed
  offset**: the next offset the group has to process.  Committed offsets are durable (Kafka's
  offsets topic; on the embedded log a small SQLite file beside the topics; in memory, as long as
  the log object lives).
- Each partition of the group's topics is **assigned** to exactly one live member, spread evenly
  (round robin over the members in name order).  A member that leaves (:meth:`GroupMember.close`)
  or stops heart-beating for ``session_ms`` is dropped, and its partitions go to the others: a
  **rebalance**.  A member learns its assignment by calling :meth:`GroupMember.assignment`, which
  is also its heartbeat: call it at least every ``session_ms / 3``.
- During a rebalance two members may briefly both process a partition, but only the owner of the
  current *generation* can commit: the other's :meth:`GroupMember.commit` raises
  :class:`RebalanceError`.  Delivery is therefore at least once, like Kafka's.
- A partition with no committed offset starts at the group's ``starting_position``:
  ``TRIM_HORIZON`` (the oldest retained record) or ``LATEST`` (the end of the partition when the
  group first gets it; that position is committed at once, so a restart does not skip records).

Records are read through the log itself (:meth:`EventLog.read`/``tail``) from the positions the
group hands out, so every backend's rules for what a record is (Kafka's fencing records are
skipped) hold for groups too.  A member is used by one thread at a time.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from .log import Clock, EventLog, LogError, system_clock

TRIM_HORIZON, LATEST = "TRIM_HORIZON", "LATEST"
DEFAULT_SESSION_MS = 6000
GROUPS_FILE = "dynamoray.groups.sqlite3"

TopicPartition = tuple[str, int]


class RebalanceError(LogError):
    """The member no longer owns the partition: the group was rebalanced."""


class GroupMember(ABC):
    """One member of a consumer group (see the module docstring)."""

    def __init__(self, log: EventLog, group: str, topics: Sequence[str], member_id: str, starting_position: str) -> None:
        if starting_position not in (TRIM_HORIZON, LATEST):
            raise ValueError(f"starting_position must be TRIM_HORIZON or LATEST, not {starting_position!r}")
        self.log = log
        self.group = group
        self.topics = tuple(topics)
        self.member_id = member_id
        self.starting_position = starting_position

    @abstractmethod
    def assignment(self) -> list[TopicPartition]:
        """Heartbeat, and return the partitions this member owns now (sorted; empty while joining)."""

    @abstractmethod
    def committed(self, topic: str, partition: int) -> int | None:
        """The group's committed offset of a partition, or None."""

    @abstractmethod
    def commit(self, topic: str, partition: int, offset: int) -> None:
        """Commit ``offset`` (the next one to process); RebalanceError if the partition is not ours."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group: the others take over this member's partitions at once."""

    def position(self, topic: str, partition: int) -> int:
        """Where to resume a partition: its committed offset (never before the retained start),
        else the starting position (LATEST is committed as soon as it is resolved)."""
        start = self.log.start_offset(topic, partition)
        committed = self.committed(topic, partition)
        if committed is not None:
            return max(committed, start)
        if self.starting_position == TRIM_HORIZON:
            return start
        end = self.log.end_offset(topic, partition)
        self.commit(topic, partition, end)
        return end

    def partitions(self) -> list[TopicPartition]:
        """Every partition of the group's topics, sorted (topics that do not exist are skipped)."""
        from .log import UnknownTopicError

        out = []
        for topic in sorted(self.topics):
            try:
                count = self.log.partition_count(topic)
            except UnknownTopicError:
                continue
            out.extend((topic, p) for p in range(count))
        return out

    def __enter__(self) -> GroupMember:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def assign(partitions: Sequence[TopicPartition], members: Sequence[str], member: str) -> list[TopicPartition]:
    """Round robin: partition ``i`` (in sorted order) goes to member ``i % n`` (members in name order)."""
    ordered = sorted(members)
    if member not in ordered:
        return []
    index, count = ordered.index(member), len(ordered)
    return [tp for i, tp in enumerate(sorted(partitions)) if i % count == index]


# --- the group store of the memory and embedded backends -------------------------------------------


class GroupStore(ABC):
    """Membership (with heartbeat deadlines and a generation) and committed offsets of groups."""

    @abstractmethod
    def sync(self, group: str, member: str, now: int, session_ms: int) -> tuple[int, list[str], bool]:
        """Heartbeat ``member``, drop expired members; return the generation (bumped whenever the
        membership changed), the live members, and whether ``member`` (re)joined just now."""

    @abstractmethod
    def leave(self, group: str, member: str) -> None: ...

    @abstractmethod
    def committed(self, group: str, topic: str, partition: int) -> int | None: ...

    @abstractmethod
    def commit(self, group: str, member: str, generation: int, topic: str, partition: int, offset: int,
               now: int) -> bool:
        """Store the offset if ``generation`` is current and ``member`` live; else False."""

    def close(self) -> None:  # noqa: B027  (optional: a no-op unless the store holds resources)
        pass


class MemoryGroupStore(GroupStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[str, dict[str, int]] = {}
        self._generations: dict[str, int] = {}
        self._offsets: dict[tuple[str, str, int], int] = {}

    def sync(self, group: str, member: str, now: int, session_ms: int) -> tuple[int, list[str], bool]:
        with self._lock:
            members = self._deadlines.setdefault(group, {})
            live = {m: d for m, d in members.items() if d >= now}
            joined = member not in live
            live[member] = now + session_ms
            self._deadlines[group] = live
            if joined or len(live) != len(members):
                self._generations[group] = self._generations.get(group, 0) + 1
            return self._generations[group], sorted(live), joined

    def leave(self, group: str, member: str) -> None:
        with self._lock:
            if self._deadlines.get(group, {}).pop(member, None) is not None:
                self._generations[group] = self._generations.get(group, 0) + 1

    def committed(self, group: str, topic: str, partition: int) -> int | None:
        with self._lock:
            return self._offsets.get((group, topic, partition))

    def commit(self, group, member, generation, topic, partition, offset, now) -> bool:
        with self._lock:
            if self._generations.get(group) != generation or self._deadlines.get(group, {}).get(member, -1) < now:
                return False
            self._offsets[(group, topic, partition)] = offset
            return True


_SCHEMA = """
CREATE TABLE IF NOT EXISTS members (grp TEXT NOT NULL, member TEXT NOT NULL, deadline INTEGER NOT NULL,
                                    PRIMARY KEY (grp, member));
CREATE TABLE IF NOT EXISTS generations (grp TEXT PRIMARY KEY, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS offsets (grp TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL,
                                    next INTEGER NOT NULL, PRIMARY KEY (grp, topic, part));
"""


class SqliteGroupStore(GroupStore):
    """Groups in one SQLite file (WAL), shared by every process that opens the same log directory.

    ``synchronous=NORMAL``: a commit survives a crash of the process (not a power cut, which
    costs a re-delivery of the last batches: at least once still holds)."""

    def __init__(self, path: str | Path) -> None:
        self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    def _write(self, fn):
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result

    def _generation(self, conn: sqlite3.Connection, group: str) -> int:
        row = conn.execute("SELECT generation FROM generations WHERE grp = ?", (group,)).fetchone()
        return row[0] if row else 0

    def _bump(self, conn: sqlite3.Connection, group: str) -> None:
        conn.execute("INSERT INTO generations VALUES (?, 1) ON CONFLICT (grp) DO UPDATE SET generation = generation + 1",
                     (group,))

    def sync(self, group: str, member: str, now: int, session_ms: int) -> tuple[int, list[str], bool]:
        def run(conn: sqlite3.Connection) -> tuple[int, list[str], bool]:
            known = conn.execute("SELECT deadline FROM members WHERE grp = ? AND member = ?", (group, member)).fetchone()
            expired = conn.execute("DELETE FROM members WHERE grp = ? AND deadline < ?", (group, now)).rowcount
            conn.execute("INSERT INTO members VALUES (?, ?, ?) ON CONFLICT (grp, member) DO UPDATE SET deadline = ?",
                         (group, member, now + session_ms, now + session_ms))
            joined = known is None or known[0] < now
            if expired or joined:
                self._bump(conn, group)
            members = [m for (m,) in conn.execute("SELECT member FROM members WHERE grp = ? ORDER BY member", (group,))]
            return self._generation(conn, group), members, joined

        return self._write(run)

    def leave(self, group: str, member: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM members WHERE grp = ? AND member = ?", (group, member)).rowcount:
                self._bump(conn, group)

        self._write(run)

    def committed(self, group: str, topic: str, partition: int) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT next FROM offsets WHERE grp = ? AND topic = ? AND part = ?",
                                     (group, topic, partition)).fetchone()
        return row[0] if row else None

    def commit(self, group, member, generation, topic, partition, offset, now) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            alive = conn.execute("SELECT deadline FROM members WHERE grp = ? AND member = ?", (group, member)).fetchone()
            if self._generation(conn, group) != generation or alive is None or alive[0] < now:
                return False
            conn.execute("INSERT INTO offsets VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, part) DO UPDATE SET next = ?",
                         (group, topic, partition, offset, offset))
            return True

        return self._write(run)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class StoreGroupMember(GroupMember):
    """A member of a group kept in a :class:`GroupStore` (the memory and embedded backends)."""

    def __init__(self, log: EventLog, store: GroupStore, group: str, topics: Sequence[str], member_id: str,
                 starting_position: str = TRIM_HORIZON, *, session_ms: int = DEFAULT_SESSION_MS,
                 clock: Clock = system_clock, owns_store: bool = False) -> None:
        super().__init__(log, group, topics, member_id, starting_position)
        self._store = store
        self._session_ms = session_ms
        self._clock = clock
        self._owns_store = owns_store
        self._generation = -1
        self._assigned: list[TopicPartition] = []
        self._synced_at: int | None = None

    def _sync(self) -> bool:
        """Heartbeat; True if this member had been dropped (it joins again as a new member)."""
        now = self._clock()
        self._generation, members, joined = self._store.sync(self.group, self.member_id, now, self._session_ms)
        self._assigned = assign(self.partitions(), members, self.member_id)
        self._synced_at = now
        return joined

    def assignment(self) -> list[TopicPartition]:
        now = self._clock()
        if self._synced_at is None or now - self._synced_at >= self._session_ms // 6:
            self._sync()
        return list(self._assigned)

    def committed(self, topic: str, partition: int) -> int | None:
        return self._store.committed(self.group, topic, partition)

    def commit(self, topic: str, partition: int, offset: int) -> None:
        for _ in range(2):  # a stale generation: sync once; commit if we stayed a member and own it still
            if (topic, partition) not in self._assigned:
                break
            if self._store.commit(self.group, self.member_id, self._generation, topic, partition, offset, self._clock()):
                return
            if self._sync():
                break  # we had been dropped: others may have taken the partition meanwhile
        raise RebalanceError(f"{self.member_id} no longer owns {topic}/{partition} in group {self.group}")

    def close(self) -> None:
        self._store.leave(self.group, self.member_id)
        self._assigned = []
        if self._owns_store:
            self._store.close()


# --- choosing the implementation for a log -----------------------------------------------------------

_memory_stores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_memory_lock = threading.Lock()


def memory_store_of(log: EventLog) -> GroupStore:
    """The group store of an in-memory log (shared by every member on that log object)."""
    with _memory_lock:
        store = _memory_stores.get(log)
        if store is None:
            store = _memory_stores[log] = MemoryGroupStore()
        return store


def join_group(log: EventLog, group: str, topics: Sequence[str], member_id: str,
               starting_position: str = TRIM_HORIZON, *, session_ms: int = DEFAULT_SESSION_MS,
               clock: Clock = system_clock) -> GroupMember:
    """Join ``group`` on ``log``: a real Kafka consumer group on a :class:`~.kafka.KafkaLog`, the
    group store beside the topics on an :class:`~.embedded.EmbeddedLog`, an in-process one on a
    :class:`~.memory.MemoryLog`."""
    from .embedded import EmbeddedLog
    from .memory import MemoryLog

    backend = backend_of(log)
    if isinstance(backend, EmbeddedLog):
        store = SqliteGroupStore(Path(backend.directory) / GROUPS_FILE)
        return StoreGroupMember(log, store, group, topics, member_id, starting_position, session_ms=session_ms,
                                clock=clock, owns_store=True)
    if isinstance(backend, MemoryLog):
        return StoreGroupMember(log, memory_store_of(backend), group, topics, member_id, starting_position,
                                session_ms=session_ms, clock=clock)
    from .kafka import KafkaLog

    if isinstance(backend, KafkaLog):
        from .kafka_group import KafkaGroupMember

        return KafkaGroupMember(log, group, topics, member_id, starting_position, session_ms=session_ms,
                                config=backend.config)
    raise TypeError(f"no consumer groups on {type(backend).__name__}")


def backend_of(log: EventLog) -> EventLog:
    """The backend under wrappers such as ``encryption.EncryptedLog`` (each keeps it as ``inner``):
    groups are the backend's, records are read through the wrapper."""
    while isinstance(vars(log).get("inner"), EventLog):
        log = vars(log)["inner"]
    return log
