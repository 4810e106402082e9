"""Group commit's inline path (events/batching.py): an idle committer commits on the caller's
thread; otherwise, and whenever the inline commit gives way, the committer thread does it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from dynamoray.events.batching import GroupCommitter
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.log import LogUnavailableError, append_async


class Recorder:
    """Commit functions that record which thread committed what, and catch overlapping commits."""

    def __init__(self, inline_answer: bool = True) -> None:
        self.inline_answer = inline_answer
        self.commits: list[tuple[str, int, list]] = []  # (how, thread id, payloads)
        self.inside = threading.Lock()
        self.overlaps = 0

    def _record(self, how: str, batch) -> None:
        if not self.inside.acquire(blocking=False):
            self.overlaps += 1
            self.inside.acquire()
        try:
            self.commits.append((how, threading.get_ident(), [p.payload for p in batch]))
            for pending in batch:
                pending.resolve(("done", pending.payload))
        finally:
            self.inside.release()

    def commit(self, batch) -> None:
        self._record("thread", batch)

    def inline(self, batch) -> bool:
        if not self.inline_answer:
            return False
        self._record("inline", batch)
        return True


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def committer(recorder):
    c = GroupCommitter(recorder.commit, name="test-committer", inline=recorder.inline)
    yield c
    c.close()


def test_an_idle_committer_commits_inline_on_the_callers_thread_before_returning(committer, recorder):
    seen = []
    pending = committer.submit("a", 1, lambda result, error: seen.append((threading.get_ident(), result, error)),
                               inline=True)
    assert pending.done
    assert pending.wait() == ("done", "a")
    assert seen == [(threading.get_ident(), ("done", "a"), None)]
    assert recorder.commits == [("inline", threading.get_ident(), ["a"])]
    assert committer.inline_commits == 1


def test_without_inline_the_committer_thread_commits(committer, recorder):
    assert committer.submit("a").wait() == ("done", "a")
    (how, thread, payloads), = recorder.commits
    assert (how, payloads) == ("thread", ["a"])
    assert thread != threading.get_ident()
    assert committer.inline_commits == 0


def test_a_committer_without_an_inline_function_always_queues(recorder):
    c = GroupCommitter(recorder.commit, name="test-plain")
    try:
        assert c.submit("a", inline=True).wait() == ("done", "a")
    finally:
        c.close()
    assert [how for how, _, _ in recorder.commits] == ["thread"]


def test_an_inline_commit_that_gives_way_goes_to_the_committer_thread():
    recorder = Recorder(inline_answer=False)
    c = GroupCommitter(recorder.commit, name="test-refused", inline=recorder.inline)
    try:
        assert c.submit("a", inline=True).wait() == ("done", "a")
    finally:
        c.close()
    assert [(how, payloads) for how, _, payloads in recorder.commits] == [("thread", ["a"])]
    assert c.inline_commits == 0


def test_an_inline_commit_that_fails_reports_log_unavailable():
    def inline(batch):
        raise OSError("disk gone")

    c = GroupCommitter(lambda batch: None, name="test-failing", inline=inline)
    try:
        pending = c.submit("a", inline=True)
        assert pending.done
        with pytest.raises(LogUnavailableError, match="disk gone"):
            pending.wait()
        assert c.inline_commits == 0
    finally:
        c.close()


class Held:
    """Commit functions whose thread commit holds until ``release`` is set; ``order`` records
    what committed (inline commits as ``("inline", payload)``)."""

    def __init__(self) -> None:
        self.release, self.entered = threading.Event(), threading.Event()
        self.order: list = []

    def commit(self, batch) -> None:
        self.entered.set()
        self.release.wait(10)
        self.order.extend(p.payload for p in batch)
        for p in batch:
            p.resolve(p.payload)

    def inline(self, batch) -> bool:
        self.order.append(("inline", batch[0].payload))
        batch[0].resolve(batch[0].payload)
        return True


def test_while_the_thread_commits_requests_queue_in_order_and_none_goes_inline():
    held = Held()
    release, entered, order = held.release, held.entered, held.order
    c = GroupCommitter(held.commit, name="test-busy", inline=held.inline)
    try:
        first = c.submit("first")  # the thread takes it and holds the commit
        assert entered.wait(10)
        later = [c.submit(n, inline=True) for n in ("b", "c", "d")]
        assert not any(p.done for p in later)  # queued behind the running commit, not inline
        release.set()
        assert [p.wait() for p in [first, *later]] == ["first", "b", "c", "d"]
    finally:
        c.close()
    assert order == ["first", "b", "c", "d"]


def test_concurrent_submitters_never_overlap_commits_and_keep_their_own_order(committer, recorder):
    def submitter(name: str) -> None:
        for i in range(200):
            pending = committer.submit((name, i), inline=i % 3 != 0)
            if i % 2:
                pending.wait()  # lets the queue run dry now and then, so some commit inline

    threads = [threading.Thread(target=submitter, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    committer.close()  # commits what is queued
    assert recorder.overlaps == 0
    committed = [payload for _, _, payloads in recorder.commits for payload in payloads]
    assert len(committed) == 800
    for name in ("t0", "t1", "t2", "t3"):
        assert [i for n, i in committed if n == name] == list(range(200))
    assert sum(len(p) for how, _, p in recorder.commits if how == "inline") == committer.inline_commits


# --- the embedded log -----------------------------------------------------------------------------


def test_an_embedded_append_on_an_event_loop_commits_inline_and_is_durable(tmp_path):
    with EmbeddedLog(tmp_path) as log:
        log.create_topic("t", 2)
        writer = log.open_writer("t", 1)

        async def run():
            return [await append_async(writer, [b"a", b"b"]), await append_async(writer, [b"c"])]

        assert asyncio.run(run()) == [[0, 1], [2]]
        assert log._topic("t").committer.inline_commits == 2
        writer.close()
    with EmbeddedLog(tmp_path) as log:
        assert [r.value for r in log.read("t", 1, 0)] == [b"a", b"b", b"c"]


def test_an_embedded_append_waits_for_another_connections_write_lock_on_the_thread(tmp_path):
    with EmbeddedLog(tmp_path) as log:
        log.create_topic("t", 1)
        writer = log.open_writer("t", 0)
        other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # as another process would: the inline commit gives way
        done = threading.Event()
        results = []
        writer.submit([b"x"], lambda offsets, error: (results.append((offsets, error)), done.set()))
        assert not done.wait(0.2)  # waiting on the committer thread, not failed
        other.execute("COMMIT")
        other.close()
        assert done.wait(10)
        assert results == [([0], None)]
        assert log._topic("t").committer.inline_commits == 0
        assert [r.value for r in log.read("t", 0, 0)] == [b"x"]
        assert writer.append([b"y"]) == [1]  # the lock is free again: inline
        assert log._topic("t").committer.inline_commits == 1
        writer.close()


# --- commit_now / append_now: a commit made at once, or nothing --------------------------------


def test_commit_now_commits_on_the_callers_thread_when_idle(committer, recorder):
    pending = committer.commit_now("a")
    assert pending is not None and pending.done
    assert pending.wait() == ("done", "a")
    assert recorder.commits == [("inline", threading.get_ident(), ["a"])]
    assert committer.inline_commits == 1


def test_commit_now_does_nothing_while_a_commit_runs_or_requests_wait():
    held = Held()
    release, entered, committed = held.release, held.entered, held.order
    c = GroupCommitter(held.commit, name="test-now-busy", inline=held.inline)
    try:
        first = c.submit("first")  # the thread holds this commit
        assert entered.wait(10)
        assert c.commit_now("now") is None  # neither committed nor queued
        queued = c.submit("queued")
        release.set()
        assert [first.wait(), queued.wait()] == ["first", "queued"]
        now = c.commit_now("later")  # idle again: at once
        assert now is not None and now.wait() == "later"
    finally:
        c.close()
    assert committed == ["first", "queued", ("inline", "later")]


def test_commit_now_that_gives_way_leaves_nothing_behind():
    recorder = Recorder(inline_answer=False)
    c = GroupCommitter(recorder.commit, name="test-now-refused", inline=recorder.inline)
    try:
        assert c.commit_now("a") is None
    finally:
        c.close()  # would commit anything queued
    assert recorder.commits == []
    assert c.inline_commits == 0


def test_commit_now_that_fails_hands_the_error_back():
    def inline(batch):
        raise OSError("disk gone")

    c = GroupCommitter(lambda batch: None, name="test-now-failing", inline=inline)
    try:
        pending = c.commit_now("a")
        assert pending is not None and pending.done
        with pytest.raises(LogUnavailableError, match="disk gone"):
            pending.wait()
    finally:
        c.close()


def test_an_embedded_append_now_is_durable_at_once_and_gives_way_to_another_writer(tmp_path):
    with EmbeddedLog(tmp_path) as log:
        log.create_topic("t", 1)
        writer = log.open_writer("t", 0)
        assert writer.append_now([b"a", b"b"]) == [0, 1]
        assert writer.append_now([]) == []
        other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        assert writer.append_now([b"x"]) is None  # nothing written, nothing queued
        other.execute("COMMIT")
        other.close()
        assert writer.append_now([b"c"]) == [2]
        writer.close()
    with EmbeddedLog(tmp_path) as log:
        assert [r.value for r in log.read("t", 0, 0)] == [b"a", b"b", b"c"]
