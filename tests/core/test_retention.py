"""Log retention, pure (``core/retention.py``): how far back a log must reach, the anchor snapshot
and the truncation point, and when a checkpoint is pinned."""

from __future__ import annotations

from hypothesis import given, strategies as st

from dynamoray.core import retention
from dynamoray.core.retention import SnapshotMark

DAY = 86_400.0


def test_keep_since_is_the_pitr_window_start_and_never_less_than_the_minimum_age():
    now = 100 * DAY
    assert retention.keep_since(None, now) == now - DAY  # streams' 24 hours
    assert retention.keep_since({"PointInTimeRecoveryEnabled": False, "RecoveryPeriodInDays": 35}, now, 0) == now
    on = {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7, "EnabledAt": 10 * DAY}
    assert retention.keep_since(on, now) == now - 7 * DAY
    assert retention.keep_since(dict(on, EnabledAt=now - 3600), now) == now - DAY  # enabled an hour ago
    assert retention.keep_since(dict(on, EnabledAt=now - 3600), now, 0) == now - 3600


def test_the_anchor_is_the_newest_snapshot_at_or_before_the_needed_offset_replaying_within_the_log():
    marks = [SnapshotMark(90, 91), SnapshotMark(50, 40), SnapshotMark(30, 31), SnapshotMark(10, 5)]
    assert retention.anchor(marks, 60, 0) == SnapshotMark(50, 40)
    assert retention.anchor(marks, 50, 0) == SnapshotMark(50, 40)
    assert retention.anchor(marks, 49, 0) == SnapshotMark(30, 31)
    assert retention.anchor(marks, 9, 0) is None and retention.anchor(marks, -1, 0) is None
    assert retention.anchor(marks, 60, 41) is None  # its replay needs truncated records
    assert retention.truncation_point(SnapshotMark(50, 40), 0) == 40
    assert retention.truncation_point(SnapshotMark(50, 40), 40) is None  # already there
    assert retention.truncation_point(None, 0) is None


def test_a_checkpoint_is_due_once_the_newest_pin_is_an_eighth_of_the_span_old():
    now, since = 10 * DAY, 2 * DAY  # an 8-day span: one checkpoint a day
    newest = SnapshotMark(500, 480, int((now - 3600) * 1000))
    assert retention.checkpoint_due(None, newest, since, now)
    assert not retention.checkpoint_due(None, None, since, now)
    assert not retention.checkpoint_due(newest, newest, since, now)  # already pinned
    assert not retention.checkpoint_due(SnapshotMark(400, 390, newest.timestamp - 3_600_000), newest, since, now)
    assert retention.checkpoint_due(SnapshotMark(400, 390, newest.timestamp - 86_400_000), newest, since, now)


@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 30)), min_size=0, max_size=20),
       st.integers(-1, 1000), st.integers(0, 500))
def test_truncating_at_the_anchor_keeps_every_offset_from_the_needed_one_rebuildable(raw, needed, start):
    """Whatever the snapshots: after truncating before the anchor's replay_from, the anchor replays
    within the log, and the records from ``needed`` on are kept."""
    marks = sorted({SnapshotMark(o, max(o + 1 - back, 0)) for o, back in raw}, key=lambda m: -m.offset)
    chosen = retention.anchor(marks, needed, start)
    cut = retention.truncation_point(chosen, start)
    new_start = start if cut is None else cut
    assert new_start >= start
    if chosen is not None:
        assert chosen.offset <= needed and chosen.replay_from >= new_start
        assert new_start <= needed + 1  # every record after the needed offset is kept
        assert all(m.offset > needed or m.replay_from < start or m.offset <= chosen.offset for m in marks)
    else:
        assert cut is None
