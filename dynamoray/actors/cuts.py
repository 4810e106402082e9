"""A table as of a cut: each shard rebuilt up to its offset, transactions all or nothing.

Backups and point-in-time recovery (``backups.py``) both read a table *as of a cut*: one log offset
per shard.  Each shard is rebuilt from its newest snapshot at or before its offset plus its log up to
it (``snapshots.rebuild``).  A cut may fall between the changes a committed transaction makes, in
one shard or across the shards of the table.  The shards apply them only after the COMMIT decision,
which comes after every shard made its TransactionPrepared durable; so a cut where some shard holds
a sign of the commit (some of its changes, or its TransactionReleased COMMIT) completes the rest in
every shard still holding it prepared (:func:`complete_commits`), and a cut with no such sign has
none of it.  A cut whose offsets were read at one moment by the actor owning the shards
(``ShardGroup.cut``), or derived from one instant through the records' commit timestamps
(:func:`offsets_at`), is such a cut: a shard that saw a transaction's commit was read after every
shard prepared it.
"""

from __future__ import annotations

import math
from typing import Any

from ..core import partition
from ..events.log import EventLog
from ..schemas.events import ItemChanged, TransactionPrepared, TransactionReleased
from . import records
from .records import table_topic
from .snapshots import SnapshotStore, rebuild

EVIDENCE_SLACK_MS = 5000  # clock slack when looking for a transaction's commit in other shards


def complete_commits(log_: EventLog, topic: str, states: list[partition.PartitionState],
                     cuts: list[int]) -> int:
    """Apply the rest of every committed transaction the shards' states (as of ``cuts``) hold part
    of (see the module docstring); returns how many it completed.  The states' locks are left as
    they are: only items are used."""
    held: dict[str, list[tuple[int, Any]]] = {}  # transaction -> (shard, its PreparedTransaction)
    for shard, state in enumerate(states):
        for prepared in state.prepared.values():
            if prepared.offset >= 0:
                held.setdefault(prepared.transaction_id, []).append((shard, prepared))
    committed, since = set(), {}
    for txn, parts in held.items():
        for shard, prepared in parts:
            found = log_.read(topic, shard, prepared.offset, 1)
            event = records.CODEC.decode(found[0].value) if found else None
            if not isinstance(event, TransactionPrepared):
                continue
            if len(prepared.changes) < len(records.decode_prepared(event).changes):  # some applied
                committed.add(txn)
            since[txn] = min(found[0].timestamp, since.get(txn, found[0].timestamp))
    undecided = {txn for txn in held if txn not in committed and txn in since}
    if undecided and len(states) > 1:
        committed |= _committed_elsewhere(log_, topic, cuts, undecided, min(since[t] for t in undecided))
    for txn in committed:
        for shard, prepared in held[txn]:
            for change in prepared.changes:
                partition.evolve(states[shard], change)
    return len(committed)


def _committed_elsewhere(log_: EventLog, topic: str, cuts: list[int], undecided: set[str], since: int) -> set[str]:
    """Which of ``undecided`` left a sign of their commit in some shard within its cut: a change
    tagged with them, or their TransactionReleased COMMIT.  Such a sign comes after every shard's
    TransactionPrepared, so each shard is read from the oldest of those (less a clock slack)."""
    found: set[str] = set()
    for shard, cut in enumerate(cuts):
        position = max(log_.offset_for_time(topic, shard, since - EVIDENCE_SLACK_MS), log_.start_offset(topic, shard))
        while position <= cut and found != undecided:
            batch = log_.read(topic, shard, position, 1000)
            for record in batch:
                if record.offset > cut:
                    break
                event = records.CODEC.decode(record.value)
                if isinstance(event, ItemChanged) and event.transaction_id in undecided:
                    found.add(event.transaction_id)
                elif (isinstance(event, TransactionReleased) and event.transaction_id in undecided
                      and event.decision == "COMMIT"):
                    found.add(event.transaction_id)
            if not batch:
                break
            position = batch[-1].offset + 1
    return found


def tables_at(log_: EventLog, table_id: str, schema: Any, cuts: list[int],
              snapshots: SnapshotStore | None = None) -> list[partition.PartitionState]:
    """Each shard of the table as of its offset in ``cuts``, transactions completed (a
    worker-thread call)."""
    topic = table_topic(table_id)
    states = [rebuild(log_, topic, table_id, schema, snapshots, shard=shard, upto=cut).state
              for shard, cut in enumerate(cuts)]
    complete_commits(log_, topic, states, cuts)
    return states


def table_at(log_: EventLog, table_id: str, schema: Any, upto: int,
             snapshots: SnapshotStore | None = None) -> partition.PartitionState:
    """A one-shard table's items as of log offset ``upto`` (a worker-thread call)."""
    return tables_at(log_, table_id, schema, [upto], snapshots)[0]


def offsets_at(log_: EventLog, table_id: str, when: float) -> list[int]:
    """Each shard's last offset whose commit timestamp is at or before ``when`` (seconds), -1 if
    none."""
    topic = table_topic(table_id)
    return [offset_at(log_, table_id, when, shard) for shard in range(log_.partition_count(topic))]


def offset_at(log_: EventLog, table_id: str, when: float, shard: int = 0) -> int:
    """The last offset of ``shard`` whose commit timestamp is at or before ``when`` (seconds), -1
    if none."""
    return log_.offset_for_time(table_topic(table_id), shard, math.floor(when * 1000) + 1) - 1


def items_of(*states: partition.PartitionState) -> list[dict]:
    return [item for state in states for collection in state.collections.values() for item in collection.values()]
