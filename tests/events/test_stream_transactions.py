"""A transaction's changes carry their position ("n of m") from the coordinator's plan
(``saga.positioned``) through TransactionPrepared and ItemChanged to the stream record."""

from dynamoray.actors import records
from dynamoray.core import keys, partition, saga
from dynamoray.core.commands import ConditionCheckCommand, DeleteCommand, ItemChange, PutCommand
from dynamoray.events import streams
from dynamoray.events.log import Record
from dynamoray.schemas.events import ItemChanged

SCHEMA = keys.KeySchema("p", "S")
A, B = saga.Participant("t1", "one", SCHEMA, 0), saga.Participant("t2", "two", SCHEMA, 1)


def _key(p: str) -> dict:
    return {"p": {"S": p}}


def test_writes_are_numbered_across_tables_and_condition_checks_are_not():
    actions = [saga.Action(A, PutCommand({"p": {"S": "x"}})), saga.Action(B, ConditionCheckCommand(_key("c"), None)),
               saga.Action(B, DeleteCommand(_key("y"))), saga.Action(A, PutCommand({"p": {"S": "z"}}))]
    plan = saga.group_by_node(actions, lambda participant: 0)
    positions = {participant.table_name: [getattr(c, "position", None) for _, c in cmds]
                 for participant, cmds in plan[0]}
    assert positions == {"one": [(1, 3), (3, 3)], "two": [None, (2, 3)]}
    assert actions[0].command.position is None  # the caller's actions are left as they were


def test_prepare_puts_the_position_on_the_change_and_the_log_keeps_it():
    state = partition.PartitionState(SCHEMA)
    outcome = saga.decide_prepare(state, "txn", [PutCommand({"p": {"S": "x"}}, position=(2, 5))], lambda key: False)
    (change,) = outcome.prepared.changes
    assert change.position == (2, 5)
    prepared = records.decode_prepared(records.CODEC.decode(records.encode_prepared("t1", outcome.prepared)))
    assert prepared.changes[0].position == (2, 5)  # a restart between the phases keeps it
    event = records.CODEC.decode(records.encode_transaction_change("t1", "txn", change))
    assert (event.transaction_id, event.transaction_index, event.transaction_count) == ("txn", 2, 5)


def test_stream_records_show_the_transaction_only_on_transactional_changes():
    record = Record(offset=7, timestamp=1_000_000, value=b"")
    tagged = ItemChanged("t1", 0, "INSERT", _key("x"), None, {"p": {"S": "x"}}, transaction_id="txn",
                         transaction_index=1, transaction_count=2)
    shown = streams.stream_record(tagged, 0, record, "KEYS_ONLY", "us-east-1", "t")
    assert shown["dynamorayTransaction"] == {"Id": "txn", "Index": 1, "Count": 2}
    old = ItemChanged("t1", 0, "INSERT", _key("x"), None, {"p": {"S": "x"}}, transaction_id="txn")
    assert streams.stream_record(old, 0, record, "KEYS_ONLY", "us-east-1", "t")["dynamorayTransaction"] == {"Id": "txn"}
    plain = ItemChanged("t1", 0, "INSERT", _key("x"), None, {"p": {"S": "x"}})
    assert "dynamorayTransaction" not in streams.stream_record(plain, 0, record, "KEYS_ONLY", "us-east-1", "t")


def test_an_old_prepared_row_without_a_position_still_decodes():
    event = records.CODEC.decode(records.encode_prepared(
        "t1", partition.PreparedTransaction("txn", (_key("x"),), (ItemChange("INSERT", _key("x"), None, _key("x")),))))
    assert len(event.changes[0]) == 4
    assert records.decode_prepared(event).changes[0].position is None
