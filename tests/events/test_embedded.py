import pytest

from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.log import FencedError

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
