"""Consumer groups over the log: one contract, run on the memory, embedded and Kafka (Tansu) backends."""

from __future__ import annotations

import itertools
import time

import pytest

from dynamoray.events.consumer import (
    LATEST, TRIM_HORIZON, MemoryGroupStore, RebalanceError, StoreGroupMember, assign, join_group,
)
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog

from .contract import ManualClock

_ids = itertools.count()


def wait_until(check, *members, deadline: float = 40.0):
    """Poll every member's assignment (their heartbeat) until ``check()`` holds."""
    stop = time.monotonic() + deadline
    while True:
        for member in members:
            member.assignment()
        if check():
            return
        assert time.monotonic() < stop, "the group did not settle in time"
        time.sleep(0.05)


class GroupContract:
    SESSION_MS = 2000

    @pytest.fixture
    def log(self):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def reopen(self, log):
        """The same log as another process would open it (durable backends: a new instance)."""
        return log

    @pytest.fixture
    def names(self):
        n = next(_ids)
        return f"grp-{n}-{time.time_ns()}", f"topic-{n}-{time.time_ns()}"

    def join(self, log, group, topic, member, position=TRIM_HORIZON):
        return join_group(log, group, [topic], member, position, session_ms=self.SESSION_MS)

    def fill(self, log, topic, partitions, per_partition):
        log.create_topic(topic, partitions)
        for p in range(partitions):
            with log.open_writer(topic, p) as writer:
                writer.append([f"{p}-{i}".encode() for i in range(per_partition)])

    def test_a_lone_member_owns_every_partition_from_the_trim_horizon(self, log, names):
        group, topic = names
        self.fill(log, topic, 3, 4)
        with self.join(log, group, topic, "m1") as member:
            wait_until(lambda: len(member.assignment()) == 3, member)
            assert member.assignment() == [(topic, 0), (topic, 1), (topic, 2)]
            for p in range(3):
                position = member.position(topic, p)
                assert position == log.start_offset(topic, p)
                assert [r.value for r in log.read(topic, p, position)] == [f"{p}-{i}".encode() for i in range(4)]
            assert member.committed(topic, 0) is None

    def test_committed_offsets_outlive_the_member(self, log, names):
        group, topic = names
        self.fill(log, topic, 2, 3)
        with self.join(log, group, topic, "m1") as member:
            wait_until(lambda: len(member.assignment()) == 2, member)
            third = log.read(topic, 1, member.position(topic, 1))[2].offset
            member.commit(topic, 1, third)
        again = self.reopen(log)
        with self.join(again, group, topic, "m2") as member:
            wait_until(lambda: len(member.assignment()) == 2, member)
            assert member.committed(topic, 1) == third
            assert member.position(topic, 1) == third
            assert [r.value for r in again.read(topic, 1, third)] == [b"1-2"]

    def test_latest_starts_at_the_end_and_keeps_that_position(self, log, names):
        group, topic = names
        self.fill(log, topic, 1, 3)
        with self.join(log, group, topic, "m1", LATEST) as member:
            wait_until(lambda: member.assignment() == [(topic, 0)], member)
            end = member.position(topic, 0)
            assert log.read(topic, 0, end) == []
        with log.open_writer(topic, 0) as writer:
            writer.append([b"new"])
        with self.join(self.reopen(log), group, topic, "m2", LATEST) as member:
            wait_until(lambda: member.assignment() == [(topic, 0)], member)
            assert member.position(topic, 0) == end
            assert [r.value for r in member.log.read(topic, 0, end)] == [b"new"]

    def test_two_members_split_the_partitions_and_hand_over_when_one_leaves(self, log, names):
        group, topic = names
        self.fill(log, topic, 4, 1)
        a = self.join(log, group, topic, "a")
        b = self.join(self.reopen(log), group, topic, "b")
        try:
            def split() -> bool:
                mine, theirs = set(a.assignment()), set(b.assignment())
                return bool(mine) and bool(theirs) and not mine & theirs and len(mine | theirs) == 4

            wait_until(split, a, b)
            lost = b.assignment()[0]
            with pytest.raises(RebalanceError):
                a.commit(*lost, 0)
            b.close()
            wait_until(lambda: len(a.assignment()) == 4, a)
            a.commit(*lost, 0)
            assert a.committed(*lost) == 0
        finally:
            a.close()


class TestMemoryGroups(GroupContract):
    @pytest.fixture
    def log(self):
        return MemoryLog()


class TestEmbeddedGroups(GroupContract):
    @pytest.fixture
    def log(self, tmp_path):
        log = EmbeddedLog(tmp_path / "log")
        self._opened = [log]
        yield log
        for opened in self._opened:
            opened.close()

    def reopen(self, log):
        again = EmbeddedLog(log.directory)
        self._opened.append(again)
        return again


class TestKafkaGroups(GroupContract):
    @pytest.fixture
    def log(self, kafka_log):
        return kafka_log


# --- the store's rules, with a manual clock (memory and embedded) ------------------------------------


def test_assignment_is_round_robin_in_member_order():
    parts = [("t", p) for p in range(5)]
    assert assign(parts, ["b", "a"], "a") == [("t", 0), ("t", 2), ("t", 4)]
    assert assign(parts, ["b", "a"], "b") == [("t", 1), ("t", 3)]
    assert assign(parts, ["a"], "z") == []


@pytest.mark.parametrize("backend", ["memory", "embedded"])
def test_a_member_that_stops_heartbeating_loses_its_partitions(backend, tmp_path):
    clock = ManualClock()
    if backend == "memory":
        log = MemoryLog()
        store, store_b = MemoryGroupStore(), None
    else:
        from dynamoray.events.consumer import SqliteGroupStore

        log = EmbeddedLog(tmp_path / "log")
        store = SqliteGroupStore(tmp_path / "groups.sqlite3")
        store_b = SqliteGroupStore(tmp_path / "groups.sqlite3")  # another process's connection
    log.create_topic("t", 2)
    a = StoreGroupMember(log, store, "g", ["t"], "a", session_ms=1000, clock=clock)
    b = StoreGroupMember(log, store_b or store, "g", ["t"], "b", session_ms=1000, clock=clock)
    assert a.assignment() == [("t", 0), ("t", 1)]
    assert b.assignment() == [("t", 1)]
    clock.now += 500
    assert a.assignment() == [("t", 0)]
    a.commit("t", 0, 7)
    clock.now += 900  # b is silent for 1400 ms > its session
    assert a.assignment() == [("t", 0), ("t", 1)]
    with pytest.raises(RebalanceError):
        b.commit("t", 1, 3)  # b was dropped: it must not commit
    assert a.committed("t", 0) == 7 and a.committed("t", 1) is None
    assert b.assignment() == [("t", 1)]  # it comes back as a new member
    log.close()


def test_a_wrapped_log_shares_the_groups_of_its_backend():
    """Encryption at rest wraps the log (``EncryptedLog``): groups are the backend's."""
    from dynamoray.events.encryption import EncryptedLog

    plain = MemoryLog()
    plain.create_topic("t", 2)
    wrapped = EncryptedLog(plain, keys=None)
    with join_group(wrapped, "g", ["t"], "a") as member:
        assert member.assignment() == [("t", 0), ("t", 1)]
        member.commit("t", 1, 0)
        with join_group(plain, "g", ["t"], "b") as other:
            assert other.committed("t", 1) == 0
