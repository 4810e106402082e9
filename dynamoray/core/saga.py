"""The two-phase transaction (TransactWriteItems) as pure transitions.

A transaction is a :class:`Saga` over its actions.  Phase 1 (*prepare*) runs on every participant
partition: :func:`decide_prepare` decides each of the partition's commands against its state (plus
the writes in flight) and, if all pass, yields the :class:`PreparedTransaction` that locks the
items.  The coordinator folds the per-action :class:`ActionResult` s into the saga
(:meth:`Saga.prepared`): all passed -> COMMITTING, else ABORTING with DynamoDB's
``CancellationReasons`` in action order.  Phase 2 applies the decision everywhere; aborting *is* the
saga's compensation (nothing was applied, locks are released).

The coordinator's log is folded by :func:`evolve_coordinator` into a :class:`CoordinatorState`:
the committed transactions still to finish (re-driven after a restart) and the
:class:`IdempotencyTable` of ClientRequestTokens.  Aborts are never logged (presumed abort): a
transaction the coordinator has no COMMIT for, and is not running, is aborted.

No I/O and no clock here: time comes in through an injected clock (ms since the epoch).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Iterable

from . import errors, keys, partition, values
from .commands import ConditionCheckCommand, Item, PreparedTransaction, PutCommand

COMMIT, ABORT, PENDING = "COMMIT", "ABORT", "PENDING"
PREPARING, COMMITTING, ABORTING, COMMITTED, ABORTED = (
    "PREPARING", "COMMITTING", "ABORTING", "COMMITTED", "ABORTED",
)
TOKEN_TTL_MS = 10 * 60 * 1000  # a ClientRequestToken is remembered for 10 minutes
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024  # the aggregate size of a transaction's items


# --- what a transaction is made of ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Participant:
    """One table partition a transaction touches (what a coordinator needs to reach it again)."""

    table_id: str
    table_name: str
    schema: keys.KeySchema
    shard: int = 0

    def to_wire(self) -> list:
        s = self.schema
        return [self.table_id, self.shard, self.table_name, s.hash_name, s.hash_type, s.range_name, s.range_type]

    @classmethod
    def from_wire(cls, row: list) -> Participant:
        table_id, shard, name, hash_name, hash_type, range_name, range_type = row
        return cls(table_id, name, keys.KeySchema(hash_name, hash_type, range_name, range_type), shard)


@dataclass(frozen=True, slots=True)
class Action:
    participant: Participant
    command: Any  # PutCommand | UpdateCommand | DeleteCommand | ConditionCheckCommand


@dataclass(frozen=True, slots=True)
class TransactWrite:
    actions: tuple[Action, ...]
    client_token: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """Phase 1 of one action: ``reason`` is None when it passed, else its CancellationReason;
    the sizes are what capacity is counted on."""

    reason: dict | None = None
    old_size: int = 0
    new_size: int = 0


@dataclass(frozen=True, slots=True)
class TransactWriteResult:
    results: tuple[ActionResult, ...] = ()
    replayed: bool = False  # an idempotent retry: nothing was executed


# --- cancellation reasons ------------------------------------------------------------------------

NO_REASON = {"Code": "None"}


def conflict_reason() -> dict:
    return {"Code": "TransactionConflict", "Message": errors.transaction_conflict().message}


def reason_of(error: errors.DynamoError) -> dict:
    """The CancellationReason of an action whose decision raised ``error``."""
    if error.error_type == "ConditionalCheckFailedException":
        return {"Code": "ConditionalCheckFailed", "Message": error.message, **error.extra}
    if error.error_type == "ValidationException":
        return {"Code": "ValidationError", "Message": error.message}
    raise error


def cancellation_reasons(results: Iterable[ActionResult]) -> list[dict]:
    return [dict(NO_REASON) if r.reason is None else r.reason for r in results]


# --- phase 1 on one partition --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrepareOutcome:
    results: tuple[ActionResult, ...]
    prepared: PreparedTransaction | None  # None: an action failed, nothing is locked


def command_key(schema: keys.KeySchema, command: Any) -> Item:
    if isinstance(command, PutCommand):
        return keys.extract_key(schema, command.item)
    return keys.validate_key(schema, command.key)


def decide_prepare(view: Any, transaction_id: str, commands: Iterable[Any],
                   busy: Callable[[Item], bool]) -> PrepareOutcome:
    """Decide a partition's commands of one transaction against ``view`` (anything with
    ``schema`` and ``lookup``, e.g. the state plus in-flight writes).  ``busy(key)`` says whether
    another transaction or an in-flight write holds the item: that action gets
    TransactionConflict.  Never changes anything."""
    results: list[ActionResult] = []
    locked: list[Item] = []
    changes = []
    failed = False
    for command in commands:
        key = command_key(view.schema, command)
        if busy(key):
            results.append(ActionResult(conflict_reason()))
            failed = True
            continue
        try:
            outcome = partition.decide(view, command)
        except errors.DynamoError as error:
            results.append(ActionResult(reason_of(error)))
            failed = True
            continue
        old_size = outcome.old_size
        if isinstance(command, ConditionCheckCommand):
            old = view.lookup(key)
            old_size = values.item_size(old) if old is not None else 0
        results.append(ActionResult(None, old_size, outcome.new_size))
        locked.append(key)
        if outcome.change is not None:
            position = getattr(command, "position", None)  # "n of m" in the stream (positioned())
            changes.append(outcome.change if position is None else replace(outcome.change, position=position))
    if failed:
        return PrepareOutcome(tuple(results), None)
    return PrepareOutcome(tuple(results), PreparedTransaction(transaction_id, tuple(locked), tuple(changes)))


# --- the saga ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Saga:
    """One transaction's progress: PREPARING -> COMMITTING|ABORTING -> COMMITTED|ABORTED."""

    transaction_id: str
    actions: int
    phase: str = PREPARING
    results: tuple[ActionResult, ...] = ()

    def prepared(self, results: Iterable[ActionResult | None]) -> Saga:
        """Phase 1 is over; ``results`` are in action order, ``None`` for an action whose
        participant did not answer (it counts as failed, with no reason of its own)."""
        if self.phase != PREPARING:
            raise ValueError(f"transaction {self.transaction_id} is not preparing but {self.phase}")
        results = tuple(results)
        if len(results) != self.actions:
            raise ValueError("one result per action is needed")
        passed = all(r is not None and r.reason is None for r in results)
        shaped = tuple(r if r is not None else ActionResult() for r in results)
        return Saga(self.transaction_id, self.actions, COMMITTING if passed else ABORTING, shaped)

    @property
    def decision(self) -> str:
        if self.phase in (COMMITTING, COMMITTED):
            return COMMIT
        if self.phase in (ABORTING, ABORTED):
            return ABORT
        return PENDING

    def finished(self) -> Saga:
        if self.phase not in (COMMITTING, ABORTING):
            raise ValueError(f"transaction {self.transaction_id} has no decision to finish")
        return Saga(self.transaction_id, self.actions, COMMITTED if self.phase == COMMITTING else ABORTED,
                    self.results)

    def reasons(self) -> list[dict]:
        return cancellation_reasons(self.results)


def group_by_node(actions: Iterable[Action], route: Callable[[Participant], Hashable]
                  ) -> dict[Hashable, list[tuple[Participant, list[tuple[int, Any]]]]]:
    """Phase 1's calls: per node (a host), per participant partition, its ``(action index,
    command)`` pairs in action order."""
    nodes: dict[Hashable, dict[Participant, list[tuple[int, Any]]]] = {}
    for index, action in enumerate(positioned(actions)):
        node = nodes.setdefault(route(action.participant), {})
        node.setdefault(action.participant, []).append((index, action.command))
    return {node: list(parts.items()) for node, parts in nodes.items()}


def positioned(actions: Iterable[Action]) -> list[Action]:
    """The actions, each write (Put, Update, Delete) with its position among the transaction's
    writes, ``(n, m)``: its changes carry it to the log and stream records show it ("n of m")."""
    actions = list(actions)
    count = sum(hasattr(a.command, "position") for a in actions)  # a ConditionCheck writes nothing
    out, n = [], 0
    for action in actions:
        if hasattr(action.command, "position"):
            n += 1
            action = Action(action.participant, replace(action.command, position=(n, count)))
        out.append(action)
    return out


def request_hash(transact_items: Any) -> str:
    """A digest of a request's TransactItems (a retry with the same token must send the same)."""
    canonical = json.dumps(transact_items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


# --- ClientRequestToken idempotency --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenEntry:
    request_hash: str | None
    committed_at: int | None  # ms; None while its transaction runs
    offset: int = -1  # the coordinator-log offset of its COMMIT
    transaction_id: str | None = None


class IdempotencyTable:
    """ClientRequestTokens of committed transactions, for ``ttl_ms`` after the commit.

    - :meth:`check` before running a request: True means it already committed (answer success,
      change nothing); it raises IdempotentParameterMismatchException for the same token with
      another request, TransactionInProgressException while the first one still runs.
    - :meth:`begin` / :meth:`abandon` / :meth:`committed` track the run.  A cancelled or failed
      transaction forgets its token, so a retry runs again."""

    def __init__(self, clock: Callable[[], int], ttl_ms: int = TOKEN_TTL_MS) -> None:
        self._clock = clock
        self._ttl = ttl_ms
        self._entries: dict[str, TokenEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> TokenEntry | None:
        entry = self._entries.get(token)
        if entry is not None and entry.committed_at is not None and entry.committed_at + self._ttl <= self._clock():
            del self._entries[token]
            return None
        return entry

    def check(self, token: str | None, request_hash: str | None) -> bool:
        if token is None:
            return False
        entry = self.get(token)
        if entry is None:
            return False
        if entry.request_hash != request_hash:
            raise errors.idempotent_parameter_mismatch()
        if entry.committed_at is None:
            raise errors.transaction_in_progress()
        return True

    def begin(self, token: str | None, request_hash: str | None) -> None:
        if token is not None:
            self._entries[token] = TokenEntry(request_hash, None)

    def abandon(self, token: str | None) -> None:
        if token is not None and token in self._entries and self._entries[token].committed_at is None:
            del self._entries[token]

    def committed(self, token: str | None, request_hash: str | None, at_ms: int, offset: int = -1,
                  transaction_id: str | None = None) -> None:
        if token is not None:
            self._entries[token] = TokenEntry(request_hash, at_ms, offset, transaction_id)

    def expire(self) -> None:
        now = self._clock()
        for token in [t for t, e in self._entries.items() if e.committed_at is not None and e.committed_at + self._ttl <= now]:
            del self._entries[token]

    def oldest_offset(self) -> int | None:
        offsets = [e.offset for e in self._entries.values() if e.committed_at is not None and e.offset >= 0]
        return min(offsets) if offsets else None


# --- the coordinator's log, folded ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    transaction_id: str
    participants: tuple[Participant, ...]
    offset: int = -1


@dataclass
class CoordinatorState:
    """What the coordinator's log says: committed transactions not yet finished everywhere, and
    the tokens of recent commits."""

    tokens: IdempotencyTable
    unfinished: dict[str, Decision] = field(default_factory=dict)

    def decision_of(self, transaction_id: str) -> str:
        """COMMIT if the log holds its COMMIT and it is not finished, else ABORT (presumed abort;
        a finished transaction holds no lock anyone could ask about)."""
        return COMMIT if transaction_id in self.unfinished else ABORT

    def retained_from(self) -> int | None:
        """The oldest coordinator-log offset still needed (None: none is)."""
        offsets = [d.offset for d in self.unfinished.values() if d.offset >= 0]
        oldest_token = self.tokens.oldest_offset()
        if oldest_token is not None:
            offsets.append(oldest_token)
        return min(offsets) if offsets else None


def evolve_coordinator(state: CoordinatorState, event: Any, offset: int = -1, timestamp: int = 0) -> None:
    """Fold one coordinator-log event (TransactionDecided or TransactionCompleted)."""
    kind = type(event).__name__
    if kind == "TransactionDecided":
        if event.decision != COMMIT:
            return
        participants = tuple(Participant.from_wire(row) for row in event.participants)
        state.unfinished[event.transaction_id] = Decision(event.transaction_id, participants, offset)
        state.tokens.committed(event.client_token, event.request_hash, timestamp, offset, event.transaction_id)
    elif kind == "TransactionCompleted":
        state.unfinished.pop(event.transaction_id, None)
