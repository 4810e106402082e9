"""A batch's staged writes: one action per item, merges guarded by the item's committed image."""

import pytest
from hypothesis import given, settings, strategies as st

from dynamoray.core import partition
from dynamoray.core.commands import ConditionCheckCommand, DeleteCommand, PutCommand, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext
from dynamoray.core.hook_writes import GUARD, USER, BatchWrites
from dynamoray.core.keys import KeySchema

SCHEMA = KeySchema("p", "S")


def add(p: str, amount: int) -> UpdateCommand:
    ex = ExpressionContext(None, {":a": {"N": str(amount)}})
    return UpdateCommand({"p": {"S": p}}, ex.update("ADD amount_sum :a"))


def key(p):
    return {"p": {"S": p}}


def apply_all(state, actions):
    """Decide every action against the state, then fold them all (a transaction)."""
    outcomes = [partition.decide(state, a.command) for a in actions]
    for outcome in outcomes:
        if outcome.change is not None:
            partition.evolve(state, outcome.change)


def test_an_item_written_once_passes_through_as_its_own_command():
    writes = BatchWrites()
    command = add("a", 5)
    writes.add("totals", SCHEMA, command)
    assert writes.bases_needed() == []
    (action,) = writes.actions()
    assert (action.table, action.command, action.kind) == ("totals", command, USER)


def test_an_item_written_twice_is_merged_on_its_base_with_a_guard():
    writes = BatchWrites()
    writes.add("totals", SCHEMA, add("a", 5))
    writes.add("totals", SCHEMA, add("a", 7))
    assert writes.bases_needed() == [("totals", key("a"))]
    writes.set_base("totals", SCHEMA, key("a"), {"p": {"S": "a"}, "amount_sum": {"N": "100"}})
    (action,) = writes.actions()
    assert action.kind == GUARD and isinstance(action.command, UpdateCommand)
    state = partition.PartitionState(SCHEMA)
    partition.evolve(state, partition.decide(state, PutCommand({"p": {"S": "a"}, "amount_sum": {"N": "100"}})).change)
    apply_all(state, [action])
    assert state.lookup(key("a"))["amount_sum"] == {"N": "112"}


def test_the_guard_fails_when_the_item_changed_since_its_base_was_read():
    writes = BatchWrites()
    writes.add("totals", SCHEMA, add("a", 5))
    writes.add("totals", SCHEMA, add("a", 7))
    writes.set_base("totals", SCHEMA, key("a"), {"p": {"S": "a"}, "amount_sum": {"N": "100"}})
    (action,) = writes.actions()
    state = partition.PartitionState(SCHEMA)
    partition.evolve(state, partition.decide(state, PutCommand({"p": {"S": "a"}, "amount_sum": {"N": "101"}})).change)
    with pytest.raises(DynamoError) as raised:
        partition.decide(state, action.command)
    assert raised.value.error_type == "ConditionalCheckFailedException"


def test_a_new_item_is_put_only_if_it_is_still_absent():
    writes = BatchWrites()
    writes.add("totals", SCHEMA, add("a", 5))
    writes.add("totals", SCHEMA, add("a", 7))
    writes.set_base("totals", SCHEMA, key("a"), None)
    (action,) = writes.actions()
    assert isinstance(action.command, PutCommand) and action.command.item["amount_sum"] == {"N": "12"}
    state = partition.PartitionState(SCHEMA)
    partition.evolve(state, partition.decide(state, PutCommand({"p": {"S": "a"}})).change)
    with pytest.raises(DynamoError):
        partition.decide(state, action.command)


def test_reads_see_the_batch_own_writes_and_a_read_only_item_is_checked():
    writes = BatchWrites()
    writes.set_base("totals", SCHEMA, key("b"), {"p": {"S": "b"}, "x": {"S": "1"}})
    writes.add("totals", SCHEMA, add("a", 5))
    writes.set_base("totals", SCHEMA, key("a"), {"p": {"S": "a"}, "amount_sum": {"N": "1"}})
    assert writes.current("totals", key("a"))["amount_sum"] == {"N": "6"}
    assert writes.current("totals", key("b")) == {"p": {"S": "b"}, "x": {"S": "1"}}
    kinds = {a.command.key["p"]["S"]: a for a in writes.actions()}
    assert isinstance(kinds["b"].command, ConditionCheckCommand) and kinds["b"].kind == GUARD
    assert isinstance(kinds["a"].command, UpdateCommand) and kinds["a"].kind == GUARD


def test_a_put_then_delete_of_an_existing_item_is_a_guarded_delete():
    writes = BatchWrites()
    writes.add("totals", SCHEMA, PutCommand({"p": {"S": "a"}, "v": {"S": "x"}}))
    writes.add("totals", SCHEMA, DeleteCommand(key("a")))
    writes.set_base("totals", SCHEMA, key("a"), {"p": {"S": "a"}, "old": {"S": "y"}})
    (action,) = writes.actions()
    assert isinstance(action.command, DeleteCommand) and action.command.condition is not None


def test_a_staged_write_whose_condition_fails_raises_on_replay():
    writes = BatchWrites()
    ex = ExpressionContext(None, None)
    writes.add("totals", SCHEMA, PutCommand({"p": {"S": "a"}}, ex.condition("attribute_not_exists(p)")))
    writes.set_base("totals", SCHEMA, key("a"), {"p": {"S": "a"}})
    with pytest.raises(DynamoError) as raised:
        writes.actions()
    assert raised.value.error_type == "ConditionalCheckFailedException"


def test_a_bad_key_is_refused_when_staged():
    with pytest.raises(DynamoError):
        BatchWrites().add("totals", SCHEMA, PutCommand({"q": {"S": "a"}}))


_amounts = st.lists(st.tuples(st.sampled_from("abc"), st.integers(-50, 50)), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(_amounts, st.dictionaries(st.sampled_from("abc"), st.integers(-100, 100)))
def test_merged_actions_equal_applying_every_write_in_order(writes_, initial):
    """Property: committing the merged actions gives the same items as applying each write."""
    state = partition.PartitionState(SCHEMA)
    expected = partition.PartitionState(SCHEMA)
    for p, total in initial.items():
        for s in (state, expected):
            partition.evolve(s, partition.decide(s, PutCommand({"p": {"S": p}, "amount_sum": {"N": str(total)}})).change)
    batch = BatchWrites()
    for p, amount in writes_:
        batch.add("totals", SCHEMA, add(p, amount))
        partition.evolve(expected, partition.decide(expected, add(p, amount)).change)
    for table, k in batch.bases_needed():
        batch.set_base(table, SCHEMA, k, state.lookup(k))
    apply_all(state, batch.actions())
    for p in "abc":
        assert state.lookup(key(p)) == expected.lookup(key(p))
