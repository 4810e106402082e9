"""The Kafka backend's consumer pool, with fake cursors (no broker): bounded, and it never closes a
cursor another thread is using."""

from __future__ import annotations

import threading

import pytest

from dynamoray.events.kafka_pool import CursorPool
from dynamoray.events.log import LogClosedError, LogUnavailableError, UnknownTopicError


class FakeCursor:
    def __init__(self, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition
        self.next = -1
        self.cancelled = False
        self.error = None
        self.closed_by: int | None = None  # the thread that closed it

    def cancel(self, error) -> None:
        self.cancelled, self.error = True, error

    def close(self) -> None:
        assert self.closed_by is None, "closed twice"
        self.closed_by = threading.get_ident()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_pool(max_idle: int = 3, idle_timeout: float = 10.0, clock=None):
    made: list[FakeCursor] = []

    def make(topic: str, partition: int) -> FakeCursor:
        made.append(FakeCursor(topic, partition))
        return made[-1]

    return CursorPool(make, max_idle=max_idle, idle_timeout=idle_timeout, clock=clock or Clock()), made


def test_a_returned_cursor_is_reused_preferring_one_already_at_the_offset():
    pool, made = make_pool()
    a, b = pool.lease("t", 0), pool.lease("t", 0)
    assert a is not b
    a.next, b.next = 5, 9
    pool.give_back(a)
    pool.give_back(b)
    assert pool.lease("t", 0, 5) is a
    assert pool.lease("t", 0, 42) is b  # none at 42: the most recently used one
    assert pool.lease("t", 1) is made[-1] and len(made) == 3  # another partition: a new cursor


def test_idle_cursors_are_bounded_and_the_least_recently_used_are_closed():
    pool, made = make_pool(max_idle=3)
    for i in range(10):  # ten topics read once each
        with pool.leased(f"t{i}", 0):
            pass
    assert pool.idle_count() == 3
    assert [c.closed_by is not None for c in made] == [True] * 7 + [False] * 3


def test_cursors_idle_longer_than_the_timeout_are_closed():
    clock = Clock()
    pool, made = make_pool(idle_timeout=5.0, clock=clock)
    with pool.leased("t", 0):
        pass
    clock.now = 4.0
    with pool.leased("u", 0):
        pass
    clock.now = 6.0  # t's has been idle 6 s, u's 2 s
    with pool.leased("v", 0):
        pass
    assert made[0].closed_by is not None
    assert made[1].closed_by is None and made[2].closed_by is None
    assert pool.idle_count() == 2


def test_retiring_a_topic_stops_its_readers_and_closes_them_on_their_own_thread_before_the_delete():
    pool, made = make_pool()
    with pool.leased("t", 0):
        pass  # an idle cursor of t
    leased = threading.Event()
    holder_ident: list[int] = []
    stopped: list[BaseException] = []

    def reader() -> None:  # holds a cursor of t and polls until cancelled, like Cursor.pull
        holder_ident.append(threading.get_ident())
        cursor = pool.lease("t", 1)
        leased.set()
        try:
            for _ in range(2000):
                if cursor.cancelled:
                    raise cursor.error()
                threading.Event().wait(0.005)
        except UnknownTopicError as error:
            stopped.append(error)
        finally:
            pool.give_back(cursor)

    thread = threading.Thread(target=reader)
    thread.start()
    assert leased.wait(10)
    with pool.retiring("t", wait=10):  # the caller deletes the topic in here
        assert all(c.closed_by is not None for c in made)  # none of t's cursors is left
        with pytest.raises(UnknownTopicError):
            pool.lease("t", 0)
    thread.join()
    assert len(stopped) == 1
    assert made[1].closed_by == holder_ident[0]  # closed by the thread that held it
    assert made[0].closed_by == threading.get_ident()  # the idle one: by the retiring thread
    with pytest.raises(UnknownTopicError):  # gone for good...
        pool.lease("t", 0)
    pool.revive("t")  # ...until it is created again
    assert pool.lease("t", 0) is made[-1] and len(made) == 3


def test_a_failed_delete_leaves_the_topic_usable():
    pool, made = make_pool()
    with pytest.raises(RuntimeError):
        with pool.retiring("t", wait=1):
            raise RuntimeError("the broker said no")
    assert pool.lease("t", 0) is made[0]


def test_retiring_gives_up_when_a_reader_does_not_stop():
    pool, _ = make_pool()
    stuck = pool.lease("t", 0)  # this thread never polls it
    with pytest.raises(LogUnavailableError):
        with pool.retiring("t", wait=0.05):
            pytest.fail("deleted while a consumer was still assigned")
    assert stuck.closed_by is None
    pool.give_back(stuck)
    assert stuck.closed_by is not None  # it was cancelled: not kept for reuse


def test_a_listing_taken_before_a_delete_finished_does_not_revive_the_topic():
    pool, _ = make_pool()
    mark = pool.deletions()
    with pool.retiring("t", wait=1):
        assert not pool.revive("t", listed_after=mark)
    assert not pool.revive("t", listed_after=mark)  # the listing began before the delete ended
    assert pool.revive("t", listed_after=pool.deletions())  # a later listing: created again elsewhere
    pool.lease("t", 0)


def test_close_stops_the_readers_and_refuses_new_leases():
    pool, made = make_pool()
    with pool.leased("t", 0):
        pass
    busy = pool.lease("u", 0)
    result: list[BaseException] = []

    def give_back_when_cancelled() -> None:
        for _ in range(2000):
            if busy.cancelled:
                result.append(busy.error())
                break
            threading.Event().wait(0.005)
        pool.give_back(busy)

    thread = threading.Thread(target=give_back_when_cancelled)
    thread.start()
    pool.close(wait=10)
    thread.join()
    assert isinstance(result[0], LogClosedError)
    assert made[0].closed_by == threading.get_ident() and made[1].closed_by == thread.ident
    with pytest.raises(LogClosedError):
        pool.lease("t", 0)
