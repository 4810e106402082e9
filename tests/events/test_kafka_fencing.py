"""The fencing protocol against an in-memory transport that can slip records in between ours."""

import pytest

from dynamoray.events.kafka_fencing import append_checked, claim
from dynamoray.events.kafka_records import CLAIM, DATA, Stamp
from dynamoray.events.log import FencedError


class RacyTransport:
    """A partition as a list of stamps; ``inject[i]`` records land just before our i-th record."""

    def __init__(self):
        self.log: list[tuple[Stamp, bytes]] = []
        self.inject: dict[int, list[tuple[int, int, int]]] = {}  # i -> [(expected, epoch, kind)]

    def _add(self, expected, ts, epoch, kind, value):
        offset = len(self.log)
        self.log.append((Stamp(offset, expected, ts, epoch, kind), value))
        return offset

    def produce(self, topic, partition, values, expected, ts, epoch, kind):
        out = []
        for i, value in enumerate(values):
            for other_expected, other_epoch, other_kind in self.inject.pop(i, []):
                self._add(other_expected, ts, other_epoch, other_kind, b"intruder")
            out.append(self._add(expected + i, ts, epoch, kind, value))
        return out

    def stamps(self, topic, partition, start, stop):
        return [s for s, _ in self.log[start:stop]]

    def end_offset(self, topic, partition):
        return len(self.log)

    def low_watermark(self, topic, partition):
        return 0

    def valid_values(self):
        return [v for s, v in self.log if s.valid and s.kind == DATA]


def test_a_valid_record_slipped_inside_a_batch_fences_the_rest():
    t = RacyTransport()
    writer = claim(t, "t", 0, lambda: 10)
    t.inject[1] = [(2, 2, CLAIM)]  # a newer writer's claim lands right after our first record
    with pytest.raises(FencedError) as caught:
        append_checked(t, writer, [b"a", b"b", b"c"])
    assert caught.value.appended == (1,)
    assert t.valid_values() == [b"a"]
    writer.close()


def test_rejected_records_in_between_are_stepped_over():
    t = RacyTransport()
    writer = claim(t, "t", 0, lambda: 10)
    t.inject[0] = [(0, 0, DATA)]  # a zombie's record, expecting an offset it cannot get
    assert append_checked(t, writer, [b"a", b"b"]) == [4, 5]  # 1 the zombie, 2-3 our rejected copies
    assert t.valid_values() == [b"a", b"b"]
    assert [s.epoch for s, _ in t.log if s.kind == CLAIM] == [1]
    writer.close()


def test_claims_race_and_the_epoch_follows_the_last_valid_record():
    t = RacyTransport()
    first = claim(t, "t", 0, lambda: 10)
    append_checked(t, first, [b"x"])
    t.inject[0] = [(2, 9, DATA)]  # our claim is beaten by a record: claim() looks again
    second = claim(t, "t", 0, lambda: 10)
    assert second.epoch == 10 and second.expected == len(t.log)
    first.close()
    second.close()
