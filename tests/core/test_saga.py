"""The pure two-phase transaction: phase-1 decisions, saga transitions, tokens, the coordinator log."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core import keys, partition, saga
from dynamoray.core.commands import (
    ConditionCheckCommand, DeleteCommand, ItemChange, PreparedTransaction, PutCommand, UpdateCommand,
)
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext
from dynamoray.schemas.events import TransactionCompleted, TransactionDecided

SCHEMA = keys.KeySchema("p", "S")
examples = settings(deadline=None, max_examples=60)


def state_with(*items: dict) -> partition.PartitionState:
    state = partition.PartitionState(SCHEMA)
    for item in items:
        partition.evolve(state, ItemChange("INSERT", {"p": item["p"]}, None, item))
    return state


def item(p: str, **numbers: int) -> dict:
    return {"p": {"S": p}, **{k: {"N": str(v)} for k, v in numbers.items()}}


def cond(text: str, **values: int):
    ex = ExpressionContext(None, {f":{k}": {"N": str(v)} for k, v in values.items()} or None)
    return ex.condition(text)


def update(text: str, **values):
    ex = ExpressionContext(None, {f":{k}": v for k, v in values.items()} or None)
    return ex.update(text)


def never_busy(key):
    return False


# --- phase 1 on a partition ----------------------------------------------------------------------


def test_prepare_that_passes_locks_every_item_and_carries_the_changes():
    state = state_with(item("a", bal=10), item("c", bal=1))
    before = copy.deepcopy(state.collections)
    commands = [
        UpdateCommand({"p": {"S": "a"}}, update("SET bal = bal - :v", v={"N": "4"}), cond("bal >= :v", v=4)),
        PutCommand(item("b", bal=4)),
        ConditionCheckCommand({"p": {"S": "c"}}, cond("attribute_exists(bal)")),
        DeleteCommand({"p": {"S": "missing"}}),
    ]
    outcome = saga.decide_prepare(state, "t1", commands, never_busy)
    assert [r.reason for r in outcome.results] == [None] * 4
    prepared = outcome.prepared
    assert prepared.transaction_id == "t1"
    assert [k["p"]["S"] for k in prepared.locked] == ["a", "b", "c", "missing"]
    assert [(c.event_name, c.keys["p"]["S"]) for c in prepared.changes] == [("MODIFY", "a"), ("INSERT", "b")]
    assert prepared.changes[0].new_image == item("a", bal=6)
    assert outcome.results[2].old_size > 0  # a ConditionCheck is charged on its item's size
    assert state.collections == before and not state.locks  # deciding changes nothing


def test_a_failed_condition_cancels_with_the_item_only_when_asked():
    state = state_with(item("a", bal=3))
    commands = [
        UpdateCommand({"p": {"S": "a"}}, update("SET bal = bal - :v", v={"N": "5"}), cond("bal >= :v", v=5),
                      return_old_on_failure=True),
        PutCommand(item("b"), cond("attribute_exists(p)")),
        PutCommand(item("c")),
    ]
    outcome = saga.decide_prepare(state, "t1", commands, never_busy)
    assert outcome.prepared is None
    assert outcome.results[0].reason == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
                                         "Item": item("a", bal=3)}
    assert outcome.results[1].reason == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    assert outcome.results[2].reason is None


def test_an_update_that_cannot_apply_is_a_validation_error_reason():
    state = state_with({"p": {"S": "a"}, "label": {"S": "x"}})
    commands = [UpdateCommand({"p": {"S": "a"}}, update("ADD label :one", one={"N": "1"}))]
    outcome = saga.decide_prepare(state, "t1", commands, never_busy)
    assert outcome.prepared is None
    assert outcome.results[0].reason == {
        "Code": "ValidationError", "Message": "An operand in the update expression has an incorrect data type"}


def test_a_busy_item_is_a_transaction_conflict():
    state = state_with(item("a"))
    outcome = saga.decide_prepare(state, "t2", [PutCommand(item("a")), PutCommand(item("b"))],
                                  lambda key: key["p"]["S"] == "a")
    assert outcome.prepared is None
    assert outcome.results[0].reason == {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    assert outcome.results[1].reason is None


def test_other_errors_are_not_reasons():
    with pytest.raises(DynamoError) as caught:
        saga.reason_of(DynamoError("ResourceNotFoundException", "Requested resource not found"))
    assert caught.value.error_type == "ResourceNotFoundException"


# --- locks in the partition state ----------------------------------------------------------------


def test_prepared_locks_fold_in_and_release_and_a_commit_applies_only_what_is_left():
    state = state_with(item("a", bal=1))
    change_a = ItemChange("MODIFY", {"p": {"S": "a"}}, item("a", bal=1), item("a", bal=2))
    change_b = ItemChange("INSERT", {"p": {"S": "b"}}, None, item("b"))
    prepared = PreparedTransaction("t1", ({"p": {"S": "a"}}, {"p": {"S": "b"}}, {"p": {"S": "c"}}), (change_a, change_b))
    partition.evolve_prepared(state, prepared, 7)
    assert partition.lock_holder(state, {"p": {"S": "c"}}) == "t1"
    assert partition.prepared_floor(state) == 7
    assert state.lookup({"p": {"S": "a"}}) == item("a", bal=1)  # readers see the committed value
    partition.evolve_transaction_change(state, "t1", change_a, 8)
    assert state.prepared["t1"].changes == (change_b,)  # a re-driven commit applies only b
    assert state.lookup({"p": {"S": "a"}}) == item("a", bal=2)
    partition.evolve_released(state, "t1", 9)
    assert not state.locks and not state.prepared and partition.prepared_floor(state) is None
    assert partition.lock_holder(state, {"p": {"S": "a"}}) is None and state.applied_offset == 9


# --- the saga ------------------------------------------------------------------------------------


def test_saga_commits_when_every_action_passed():
    s = saga.Saga("t", 2).prepared([saga.ActionResult(None, 0, 10), saga.ActionResult()])
    assert (s.phase, s.decision) == (saga.COMMITTING, saga.COMMIT)
    assert s.finished().phase == saga.COMMITTED and s.finished().decision == saga.COMMIT


def test_saga_aborts_with_reasons_in_action_order():
    failed = saga.ActionResult({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"})
    s = saga.Saga("t", 3).prepared([saga.ActionResult(), failed, None])
    assert (s.phase, s.decision) == (saga.ABORTING, saga.ABORT)
    assert [r["Code"] for r in s.reasons()] == ["None", "ConditionalCheckFailed", "None"]
    assert s.finished().phase == saga.ABORTED


def test_saga_refuses_moves_out_of_order():
    fresh = saga.Saga("t", 1)
    assert fresh.decision == saga.PENDING
    with pytest.raises(ValueError):
        fresh.finished()
    with pytest.raises(ValueError):
        fresh.prepared([])
    done = fresh.prepared([saga.ActionResult()]).finished()
    with pytest.raises(ValueError):
        done.prepared([saga.ActionResult()])


def test_actions_are_grouped_by_node_then_partition_in_action_order():
    a = saga.Participant("ta", "A", SCHEMA)
    b = saga.Participant("tb", "B", SCHEMA)
    c = saga.Participant("tc", "C", SCHEMA)
    actions = [saga.Action(p, i) for i, p in enumerate([a, b, a, c])]
    nodes = saga.group_by_node(actions, lambda p: 0 if p.table_id in ("ta", "tc") else 1)
    assert nodes == {0: [(a, [(0, 0), (2, 2)]), (c, [(3, 3)])], 1: [(b, [(1, 1)])]}


def test_participants_survive_the_log():
    p = saga.Participant("id", "orders", keys.KeySchema("p", "S", "c", "N"), 0)
    assert saga.Participant.from_wire(p.to_wire()) == p


def test_request_hash_ignores_key_order_but_not_content():
    one = [{"Put": {"TableName": "t", "Item": {"p": {"S": "a"}, "n": {"N": "1"}}}}]
    same = [{"Put": {"Item": {"n": {"N": "1"}, "p": {"S": "a"}}, "TableName": "t"}}]
    other = [{"Put": {"TableName": "t", "Item": {"p": {"S": "a"}, "n": {"N": "2"}}}}]
    assert saga.request_hash(one) == saga.request_hash(same) != saga.request_hash(other)


# --- idempotency ---------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def test_tokens_replay_commits_for_ten_minutes_and_refuse_other_requests():
    clock = Clock()
    table = saga.IdempotencyTable(clock)
    assert table.check("tok", "h1") is False
    table.begin("tok", "h1")
    with pytest.raises(DynamoError) as caught:
        table.check("tok", "h1")
    assert caught.value.error_type == "TransactionInProgressException"
    table.committed("tok", "h1", clock(), offset=3)
    assert table.check("tok", "h1") is True
    with pytest.raises(DynamoError) as caught:
        table.check("tok", "h2")
    assert caught.value.error_type == "IdempotentParameterMismatchException"
    assert caught.value.message == "Specified ClientRequestToken has already been used with a different request."
    assert table.oldest_offset() == 3
    clock.now += saga.TOKEN_TTL_MS
    assert table.check("tok", "h2") is False  # expired: a new request
    assert table.check(None, "h1") is False


def test_a_cancelled_transaction_forgets_its_token():
    table = saga.IdempotencyTable(Clock())
    table.begin("tok", "h1")
    table.abandon("tok")
    assert table.check("tok", "h2") is False and len(table) == 0


# --- the coordinator's log -----------------------------------------------------------------------


def test_the_coordinator_log_folds_into_unfinished_commits_and_tokens():
    clock = Clock()
    state = saga.CoordinatorState(saga.IdempotencyTable(clock))
    wire = [saga.Participant("id", "A", SCHEMA).to_wire()]
    saga.evolve_coordinator(state, TransactionDecided("t1", "COMMIT", wire, "tok", "h"), 0, clock())
    saga.evolve_coordinator(state, TransactionDecided("t2", "ABORT", wire), 1, clock())
    saga.evolve_coordinator(state, TransactionDecided("t3", "COMMIT", wire), 2, clock())
    assert set(state.unfinished) == {"t1", "t3"}
    assert state.decision_of("t1") == saga.COMMIT and state.decision_of("t2") == saga.ABORT
    assert state.decision_of("never-heard-of") == saga.ABORT  # presumed abort
    assert state.unfinished["t1"].participants[0].table_name == "A"
    assert state.tokens.check("tok", "h") is True
    saga.evolve_coordinator(state, TransactionCompleted("t1"), 3, clock())
    saga.evolve_coordinator(state, TransactionCompleted("t3"), 4, clock())
    assert state.unfinished == {} and state.retained_from() == 0  # the token still needs offset 0
    clock.now += saga.TOKEN_TTL_MS
    state.tokens.expire()
    assert state.retained_from() is None


# --- property: prepare then commit is the same as the writes one by one -------------------------

puts = st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 9), st.booleans()), min_size=1, max_size=6,
                unique_by=lambda t: t[0])


@examples
@given(existing=st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 9)), writes=puts)
def test_prepare_and_commit_equals_applying_the_writes_when_all_pass(existing, writes):
    state = state_with(*(item(k, n=v) for k, v in existing.items()))
    direct = state_with(*(item(k, n=v) for k, v in existing.items()))
    commands = [PutCommand(item(k, n=v), cond("attribute_not_exists(n) OR n < :ten", ten=10) if guarded else None)
                for k, v, guarded in writes]
    outcome = saga.decide_prepare(state, "t", commands, never_busy)
    assert outcome.prepared is not None
    partition.evolve_prepared(state, outcome.prepared, 0)
    for change in outcome.prepared.changes:
        partition.evolve_transaction_change(state, "t", change)
    partition.evolve_released(state, "t")
    for command in commands:
        partition.evolve(direct, partition.decide(direct, command).change)
    assert state.collections == direct.collections and state.item_count == direct.item_count
    assert not state.locks and not state.prepared
