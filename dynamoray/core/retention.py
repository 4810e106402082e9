"""Log retention, pure: how far back a table's log must reach, and where it may be truncated.

A table's log is its truth, but it need not be kept whole.  A shard's log is needed only

- from the instant ``keep_since`` on: the start of the point-in-time recovery window when PITR is
  on (``RecoveryPeriodInDays``, or since it was enabled), and in any case the last ``min_age``
  seconds (DynamoDB Streams' 24 hours, hooks and followers that lag);
- plus what rebuilding the shard as of that instant needs: the *anchor*, the newest snapshot at or
  before the instant's offset, and the log from the anchor's ``replay_from`` on.

So the log may be truncated before the anchor's ``replay_from``, provided the anchor is kept (it is
pinned, see ``actors/retention.py``).  Partition snapshots are pruned to the newest few, so an
anchor old enough must have been kept from the start: each round *pins* the newest snapshot as a
checkpoint once the newest pinned one is older than a ``CHECKPOINTS``-th of the span kept
(``checkpoint_due``), and a checkpoint becomes the anchor once the window passes it.  A shard keeps
about ``CHECKPOINTS`` pinned snapshots, and its log reaches back at most a ``CHECKPOINTS``-th of the
span further than needed.  Every instant from ``keep_since`` on then rebuilds exactly:
its offset is at or after the anchor's, so the newest snapshot at or before it is the anchor or a
newer one, and a newer one never replays from earlier than the anchor (a transaction still prepared
at the newer snapshot was already prepared at the anchor).  Without a snapshot old enough, nothing
is truncated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from . import backups

DEFAULT_MIN_AGE = 86_400.0  # seconds of log always kept: DynamoDB Streams' window
CHECKPOINTS = 8  # pinned snapshots per shard, about: one per CHECKPOINTS-th of the span kept


@dataclass(frozen=True)
class SnapshotMark:
    """What retention needs of a snapshot: its offset, where its replay starts, and the commit
    timestamp (ms) of its last record."""

    offset: int
    replay_from: int
    timestamp: int = 0


def keep_since(pitr: dict | None, now: float, min_age: float = DEFAULT_MIN_AGE) -> float:
    """The instant (seconds) from which the table's log must stay restorable."""
    since = now - min_age
    if backups.enabled(pitr):
        earliest, _ = backups.window(pitr, now)
        since = min(since, earliest)
    return since


def anchor(marks: Iterable[SnapshotMark], needed: int, start: int) -> SnapshotMark | None:
    """The newest snapshot at or before offset ``needed`` whose replay starts within the log (at
    or after ``start``); None if there is none (or ``needed`` is -1: nothing to rebuild yet).
    ``marks`` come newest first, and may be lazy: the first that fits is taken."""
    for mark in marks:
        if mark.offset <= needed and mark.replay_from >= start:
            return mark
    return None


def truncation_point(chosen: SnapshotMark | None, start: int) -> int | None:
    """The offset to truncate the log before, None when there is nothing to truncate."""
    if chosen is None or chosen.replay_from <= start:
        return None
    return chosen.replay_from


def checkpoint_due(newest_pinned: SnapshotMark | None, newest: SnapshotMark | None, since: float, now: float) -> bool:
    """Whether to pin ``newest`` (the shard's newest snapshot) as a checkpoint: when nothing newer
    than a ``CHECKPOINTS``-th of the span kept (``since`` to ``now``, seconds) is pinned yet."""
    if newest is None or (newest_pinned is not None and newest_pinned.offset >= newest.offset):
        return False
    if newest_pinned is None:
        return True
    spacing = max(now - since, 0.0) / CHECKPOINTS
    return newest.timestamp - newest_pinned.timestamp >= spacing * 1000
