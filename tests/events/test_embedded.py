import threading

import pytest

from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.log import FencedError, LogClosedError, UnknownTopicError

from .contract import EventLogContract, ManualClock, read_all


class TestEmbeddedLog(EventLogContract):
    @pytest.fixture
    def log(self, clock, tmp_path):
        log = EmbeddedLog(tmp_path / "log", clock=clock)
        yield log
        log.close()


def test_records_survive_reopening(tmp_path):
    clock = ManualClock(42)
    with EmbeddedLog(tmp_path, clock=clock) as log:
        log.create_topic("users", 2)
        with log.open_writer("users", 1) as w:
            w.append([b"a", b"b"])
        log.truncate_before("users", 1, 1)
    with EmbeddedLog(tmp_path, clock=clock) as log:
        assert log.partition_count("users") == 2
        assert [(r.offset, r.timestamp, r.value) for r in log.read("users", 1, 1)] == [(1, 42, b"b")]
        assert log.start_offset("users", 1) == 1
        with log.open_writer("users", 1) as w:
            assert w.append([b"c"]) == [2]


def test_fencing_holds_across_two_instances_of_one_directory(tmp_path):
    with EmbeddedLog(tmp_path) as a, EmbeddedLog(tmp_path) as b:
        a.create_topic("t", 1)
        old = a.open_writer("t", 0)
        old.append([b"1"])
        new = b.open_writer("t", 0)
        with pytest.raises(FencedError):
            old.append([b"zombie"])
        new.append([b"2"])
        assert [r.value for r in read_all(a, "t", 0)] == [b"1", b"2"]
        assert [r.value for r in b.tail("t", 0, 1, timeout=5)] == [b"2"]


def test_tail_sees_appends_from_another_instance(tmp_path):
    import threading

    with EmbeddedLog(tmp_path) as a, EmbeddedLog(tmp_path) as b:
        a.create_topic("t", 1)
        got = []
        reader = threading.Thread(target=lambda: got.extend(b.tail("t", 0, 0, timeout=20)))
        reader.start()
        with a.open_writer("t", 0) as w:
            w.append([b"x"])
        reader.join()
        assert [r.value for r in got] == [b"x"]


def test_rejects_unknown_synchronous_mode(tmp_path):
    with pytest.raises(ValueError, match="synchronous"):
        EmbeddedLog(tmp_path, synchronous="OFF")


def _hammer(log, topic: str, stop_after: threading.Barrier, outcomes: list, calls: int = 5000) -> None:
    """Read and open writers until the log fails under us (at most ``calls`` rounds)."""
    log.read(topic, 0, 0)
    stop_after.wait()
    try:
        for _ in range(calls):
            log.read(topic, 0, 0)
            log.open_writer(topic, 0).close()
            log.end_offset(topic, 0)
        outcomes.append(None)
    except BaseException as error:  # noqa: BLE001 - the assertion names it
        outcomes.append(error)


def _race(log, topic: str, act, threads: int = 3) -> list:
    started = threading.Barrier(threads + 1)
    outcomes: list = []
    workers = [threading.Thread(target=_hammer, args=(log, topic, started, outcomes)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    started.wait()
    act()
    for worker in workers:
        worker.join(60)
    return [type(o) for o in outcomes]


def _filled(tmp_path, name: str) -> EmbeddedLog:
    log = EmbeddedLog(tmp_path / name)
    log.create_topic("t", 1)
    with log.open_writer("t", 0) as w:
        w.append([b"%d" % i for i in range(300)])  # reads long enough to be caught inside SQLite
    return log


def test_closing_while_other_threads_read_and_open_writers_raises_log_closed_error(tmp_path):
    """Regression: close() freed the SQLite connections under a reader: a segfault."""
    for i in range(20):
        log = _filled(tmp_path, f"close{i}")
        assert _race(log, "t", log.close) == [LogClosedError] * 3


def test_deleting_a_topic_while_other_threads_use_it_raises_unknown_topic_error(tmp_path):
    for i in range(10):
        log = _filled(tmp_path, f"delete{i}")
        assert _race(log, "t", lambda: log.delete_topic("t")) == [UnknownTopicError] * 3  # noqa: B023  (called before the loop moves on)
        assert not (tmp_path / f"delete{i}" / "t.db").exists()
        log.close()


def test_a_topic_file_still_being_created_by_another_process_is_an_unknown_topic(tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "t.db").execute("PRAGMA journal_mode=WAL").close()  # created, no tables yet
    with EmbeddedLog(tmp_path) as log:
        with pytest.raises(UnknownTopicError):
            log.partition_count("t")
        with pytest.raises(UnknownTopicError):
            log.read("t", 0, 0)
        with EmbeddedLog(tmp_path) as creator:
            creator.create_topic("t", 2)
        assert log.partition_count("t") == 2


def test_looking_up_a_missing_topic_leaves_no_file_behind(tmp_path):
    with EmbeddedLog(tmp_path) as log:
        with pytest.raises(UnknownTopicError):
            log.read("nope", 0, 0)
    assert list(tmp_path.iterdir()) == []


def _committers(topic: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name == f"dynamoray-log-{topic}")


def test_release_topic_frees_its_files_and_thread_until_it_is_used_again(tmp_path):
    with EmbeddedLog(tmp_path) as log:
        log.create_topic("t", 1)
        with log.open_writer("t", 0) as w:
            w.append([b"a"])
        assert _committers("t") == 1
        log.release_topic("t")
        assert _committers("t") == 0
        assert [r.value for r in log.read("t", 0, 0)] == [b"a"]  # opened again
        with log.open_writer("t", 0) as w:
            log.release_topic("t")  # a writer is open: kept
            assert w.append([b"b"]) == [1]
        log.release_topic("t")
        assert _committers("t") == 0


def test_releasing_a_topic_under_concurrent_readers_never_fails_them(tmp_path):
    log = _filled(tmp_path, "release")

    def release_repeatedly() -> None:
        for _ in range(50):
            log.release_topic("t")

    def close_after_releases() -> None:
        release_repeatedly()
        log.close()

    assert _race(log, "t", close_after_releases) == [LogClosedError] * 3
