"""The EventLog contract: one abstract suite every backend's test module subclasses.

A subclass overrides the ``log`` fixture (built with the ``clock`` fixture) and sets
``CONTIGUOUS`` (whether a fresh partition's offsets start at 0 with no gaps).
"""

from __future__ import annotations

import itertools
import threading

import pytest

from dynamoray.events.log import (
    EventLog,
    FencedError,
    LogClosedError,
    LogError,
    OffsetOutOfRangeError,
    TopicExistsError,
    TruncatedError,
    UnknownTopicError,
)

_names = itertools.count()


class ManualClock:
    """A settable clock in ms."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def read_all(log: EventLog, topic: str, partition: int, offset: int = 0, batch: int = 7):
    out = []
    while True:
        got = log.read(topic, partition, offset, batch)
        if not got:
            return out
        out.extend(got)
        offset = got[-1].offset + 1


class EventLogContract:
    CONTIGUOUS = True

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def log(self, clock) -> EventLog:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @pytest.fixture
    def topic(self, log, request) -> str:
        name = f"t{next(_names)}-{request.node.name[:40].replace('[', '_').replace(']', '_')}"
        log.create_topic(name, 3)
        return name

    # --- topics ----------------------------------------------------------------------------------

    def test_create_topic_and_partition_count(self, log, topic):
        assert log.partition_count(topic) == 3
        with pytest.raises(TopicExistsError):
            log.create_topic(topic, 2)

    def test_unknown_topic_and_partition(self, log, topic):
        with pytest.raises(UnknownTopicError):
            log.partition_count("no-such-topic")
        with pytest.raises(UnknownTopicError):
            log.read("no-such-topic", 0, 0)
        with pytest.raises(UnknownTopicError):
            log.open_writer(topic, 3)
        with pytest.raises(UnknownTopicError):
            log.end_offset(topic, -1)

    @pytest.mark.parametrize("bad", ["", "a/b", "a b", "..", "x" * 250])
    def test_invalid_topic_name(self, log, bad):
        with pytest.raises(LogError, match="invalid topic name"):
            log.create_topic(bad, 1)

    def test_invalid_partition_count(self, log):
        with pytest.raises(LogError, match="invalid partition count"):
            log.create_topic(f"zero{next(_names)}", 0)

    def test_delete_topic(self, log, topic):
        with log.open_writer(topic, 0) as w:
            w.append([b"a"])
        log.delete_topic(topic)
        with pytest.raises(UnknownTopicError):
            log.partition_count(topic)
        with pytest.raises(UnknownTopicError):
            log.delete_topic(topic)

    def test_deleting_a_topic_while_another_thread_reads_it(self, log, topic):
        with log.open_writer(topic, 0) as w:
            w.append([b"a"])
        reading = threading.Event()
        outcome: list = []

        def reader() -> None:
            try:
                for _ in range(100_000):
                    log.read(topic, 0, log.start_offset(topic, 0))
                    reading.set()
                outcome.append("never stopped")
            except BaseException as error:  # noqa: BLE001 - the assertion names it
                outcome.append(error)
            reading.set()

        thread = threading.Thread(target=reader)
        thread.start()
        assert reading.wait(60)
        log.delete_topic(topic)
        thread.join(60)
        assert [type(o) for o in outcome] == [UnknownTopicError], outcome

    def test_release_topic_then_use_it_again(self, log, topic):
        with log.open_writer(topic, 0) as w:
            w.append([b"a"])
        log.release_topic(topic)
        with log.open_writer(topic, 0) as w:
            log.release_topic(topic)  # while a writer is open
            w.append([b"b"])
        log.release_topic(topic)
        assert [r.value for r in read_all(log, topic, 0, log.start_offset(topic, 0))] == [b"a", b"b"]

    # --- append and read -------------------------------------------------------------------------

    def test_append_then_read_back(self, log, topic):
        with log.open_writer(topic, 1) as w:
            first = w.append([b"a", b"b"])
            second = w.append([b"c"])
        assert first[1] == first[0] + 1 and second == [first[1] + 1]
        if self.CONTIGUOUS:
            assert first == [0, 1]
        records = log.read(topic, 1, first[0])
        assert [(r.offset, r.value) for r in records] == list(zip(first + second, [b"a", b"b", b"c"]))
        assert log.read(topic, 0, 0) == [] and log.read(topic, 2, 0) == []

    def test_append_nothing(self, log, topic):
        with log.open_writer(topic, 0) as w:
            assert w.append([]) == []
        assert log.read(topic, 0, log.start_offset(topic, 0)) == []

    def test_read_limits_and_bounds(self, log, topic):
        with log.open_writer(topic, 0) as w:
            offsets = w.append([b"%d" % i for i in range(10)])
        got = log.read(topic, 0, offsets[2], max_records=3)
        assert [r.value for r in got] == [b"2", b"3", b"4"]
        end = log.end_offset(topic, 0)
        assert end == offsets[-1] + 1
        assert log.read(topic, 0, end) == []
        with pytest.raises(OffsetOutOfRangeError):
            log.read(topic, 0, end + 5)

    def test_replay_in_batches_is_complete_and_ordered(self, log, topic):
        values = [b"v%03d" % i for i in range(100)]
        with log.open_writer(topic, 2) as w:
            offsets = []
            for i in range(0, 100, 10):
                offsets += w.append(values[i : i + 10])
        records = read_all(log, topic, 2, offsets[0])
        assert [r.value for r in records] == values
        assert [r.offset for r in records] == offsets

    def test_large_value_round_trips(self, log, topic):
        big = bytes(range(256)) * 2000  # 512 KB
        with log.open_writer(topic, 0) as w:
            (offset,) = w.append([big])
        assert log.read(topic, 0, offset)[0].value == big

    def test_concurrent_appends_keep_each_callers_order(self, log, topic):
        writer = log.open_writer(topic, 0)
        results: dict[int, list[int]] = {}

        def work(t: int) -> None:
            results[t] = [writer.append([b"%d:%d" % (t, i)])[0] for i in range(20)]

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        writer.close()
        records = read_all(log, topic, 0, log.start_offset(topic, 0))
        assert len(records) == 160
        by_offset = {r.offset: r.value for r in records}
        for t, offsets in results.items():
            assert offsets == sorted(offsets)
            assert [by_offset[o] for o in offsets] == [b"%d:%d" % (t, i) for i in range(20)]
        if self.CONTIGUOUS:
            assert sorted(by_offset) == list(range(160))

    def test_writer_close(self, log, topic):
        w = log.open_writer(topic, 0)
        w.close()
        with pytest.raises(LogClosedError):
            w.append([b"x"])

    # --- timestamps ------------------------------------------------------------------------------

    def test_timestamps_come_from_the_clock_and_never_go_back(self, log, topic, clock):
        with log.open_writer(topic, 0) as w:
            clock.now = 5_000
            w.append([b"a", b"b"])
            clock.now = 4_000  # the clock steps back: the log keeps max(last, now)
            w.append([b"c"])
            clock.now = 6_000
            w.append([b"d"])
        clock.now = 1_000
        with log.open_writer(topic, 0) as w2:  # a new writer continues from the last stamp
            w2.append([b"e"])
        stamps = [r.timestamp for r in read_all(log, topic, 0, log.start_offset(topic, 0))]
        assert stamps == [5_000, 5_000, 5_000, 6_000, 6_000]

    def test_offset_for_time(self, log, topic, clock):
        offsets = []
        with log.open_writer(topic, 0) as w:
            for now in (100, 200, 200, 300, 500):
                clock.now = now
                offsets += w.append([b"%d" % now])
        assert log.offset_for_time(topic, 0, 0) == offsets[0]
        assert log.offset_for_time(topic, 0, 100) == offsets[0]
        assert log.offset_for_time(topic, 0, 150) == offsets[1]
        assert log.offset_for_time(topic, 0, 200) == offsets[1]
        assert log.offset_for_time(topic, 0, 301) == offsets[4]
        assert log.offset_for_time(topic, 0, 501) == log.end_offset(topic, 0)
        assert log.offset_for_time(topic, 1, 0) == log.end_offset(topic, 1)

    # --- tail ------------------------------------------------------------------------------------

    def test_tail_returns_available_records(self, log, topic):
        with log.open_writer(topic, 0) as w:
            (offset,) = w.append([b"x"])
        assert [r.value for r in log.tail(topic, 0, offset, timeout=5)] == [b"x"]

    def test_tail_times_out_empty(self, log, topic):
        assert log.tail(topic, 0, log.end_offset(topic, 0), timeout=0.05) == []

    def test_tail_wakes_up_on_append(self, log, topic):
        writer = log.open_writer(topic, 0)
        start = log.end_offset(topic, 0)
        got = []
        reader = threading.Thread(target=lambda: got.extend(log.tail(topic, 0, start, timeout=20)))
        reader.start()
        writer.append([b"late"])
        reader.join()
        writer.close()
        assert [r.value for r in got] == [b"late"]

    # --- retention -------------------------------------------------------------------------------

    def test_truncate_before(self, log, topic, clock):
        with log.open_writer(topic, 0) as w:
            offsets = []
            for i in range(6):
                clock.now = 1000 + i
                offsets += w.append([b"%d" % i])
            assert log.start_offset(topic, 0) == 0
            log.truncate_before(topic, 0, offsets[3])
            assert log.start_offset(topic, 0) == offsets[3]
            with pytest.raises(TruncatedError):
                log.read(topic, 0, offsets[1])
            assert [r.value for r in log.read(topic, 0, offsets[3])] == [b"3", b"4", b"5"]
            assert log.offset_for_time(topic, 0, 0) == offsets[3]
            log.truncate_before(topic, 0, offsets[1])  # never moves back
            assert log.start_offset(topic, 0) == offsets[3]
            end = log.end_offset(topic, 0)
            with pytest.raises(OffsetOutOfRangeError):
                log.truncate_before(topic, 0, end + 1)
            (after,) = w.append([b"6"])
        assert after >= end and log.read(topic, 0, after)[0].value == b"6"

    # --- fencing ---------------------------------------------------------------------------------

    def test_a_new_writer_fences_the_old_one(self, log, topic):
        old = log.open_writer(topic, 0)
        old.append([b"old-1"])
        new = log.open_writer(topic, 0)
        assert new.epoch > old.epoch
        with pytest.raises(FencedError) as caught:
            old.append([b"zombie"])
        assert caught.value.epoch == old.epoch
        new.append([b"new-1"])
        newest = log.open_writer(topic, 0)
        with pytest.raises(FencedError):
            new.append([b"zombie-2"])
        newest.append([b"newest-1"])
        for w in (old, new, newest):
            w.close()
        values = [r.value for r in read_all(log, topic, 0, log.start_offset(topic, 0))]
        assert values == [b"old-1", b"new-1", b"newest-1"]

    def test_fencing_is_per_partition(self, log, topic):
        w0 = log.open_writer(topic, 0)
        log.open_writer(topic, 1).close()
        assert len(w0.append([b"still-mine"])) == 1
        w0.close()
