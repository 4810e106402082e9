"""TransactWriteItems and TransactGetItems through boto3, on both engines.

Locks of a transaction in flight are made with the participants' own phase-1 call (what the
coordinator sends), then released with its phase-2 ABORT, so the isolation rules are checked
against real locks without timing games.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors.local import LocalEngine
from dynamoray.core.commands import ConditionCheckCommand
from dynamoray.core.expressions import ExpressionContext

from .conftest import create, make_client, unique

CANCELLED = "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]"
CONFLICT = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


def error_of(info) -> tuple[str, str]:
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def accounts(ddb):
    """Three tables of accounts (hash key ``p``), spread over the hosts."""
    return [create(ddb, [("p", "S", "HASH")], unique("acct")) for _ in range(3)]


def key(p: str) -> dict:
    return {"p": {"S": p}}


def balance(ddb, table: str, p: str) -> int | None:
    found = ddb.get_item(TableName=table, Key=key(p), ConsistentRead=True).get("Item")
    return None if found is None else int(found["bal"]["N"])


def put(ddb, table: str, p: str, bal: int) -> None:
    ddb.put_item(TableName=table, Item={"p": {"S": p}, "bal": {"N": str(bal)}})


def debit(table: str, p: str, amount: int, **extra) -> dict:
    return {"Update": {"TableName": table, "Key": key(p), "UpdateExpression": "SET bal = bal - :a",
                       "ConditionExpression": "bal >= :a", "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                       **extra}}


def credit(table: str, p: str, amount: int) -> dict:
    return {"Update": {"TableName": table, "Key": key(p), "UpdateExpression": "ADD bal :a",
                       "ExpressionAttributeValues": {":a": {"N": str(amount)}}}}


class Locks:
    """Holds a real transaction lock on an item, through the participants' phase-1/phase-2 calls."""

    def __init__(self, server) -> None:
        self.engine = server.gateway.engine
        self.loop = server._loop

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _step(self, table: str, txn: str, phase: str, keys: list[dict]) -> None:
        check = ExpressionContext(None, None).condition("attribute_not_exists(never_there)")
        commands = [ConditionCheckCommand(k, check) for k in keys]
        if isinstance(self.engine, LocalEngine):  # the table's shards, as the participants reach them
            group = self.engine._group(table)
            if phase == "prepare":
                results = await group.prepare(txn, commands)
                assert all(r.reason is None for r in results)
            else:
                await group.finish(txn, "ABORT")
            return
        ref = await self.engine._ref(table)
        if phase == "prepare":
            results = await self.engine._host(ref).call("prepare", txn, [(ref, commands)])
            assert all(r.reason is None for r in results[0])
        else:
            await self.engine._host(ref).call("finish", txn, "ABORT", [ref])

    @contextmanager
    def held(self, table: str, *ps: str):
        txn = uuid.uuid4().hex
        self._run(self._step(table, txn, "prepare", [key(p) for p in ps]))
        try:
            yield txn
        finally:
            self._run(self._step(table, txn, "finish", []))


@pytest.fixture(scope="module")
def locks(server):
    return Locks(server)


# --- TransactWriteItems: commit --------------------------------------------------------------------


def test_a_transfer_across_tables_commits_all_actions(ddb, accounts):
    a, b, c = accounts
    src, dst, audit, gone = unique(), unique(), unique(), unique()
    put(ddb, a, src, 100)
    put(ddb, b, dst, 5)
    put(ddb, c, gone, 1)
    ddb.transact_write_items(TransactItems=[
        debit(a, src, 30),
        credit(b, dst, 30),
        {"Put": {"TableName": c, "Item": {"p": {"S": audit}, "amount": {"N": "30"}},
                 "ConditionExpression": "attribute_not_exists(p)"}},
        {"Delete": {"TableName": c, "Key": key(gone)}},
    ])
    assert balance(ddb, a, src) == 70 and balance(ddb, b, dst) == 35
    assert ddb.get_item(TableName=c, Key=key(audit))["Item"]["amount"] == {"N": "30"}
    assert "Item" not in ddb.get_item(TableName=c, Key=key(gone))


def test_a_condition_check_guards_without_changing_its_item(ddb, accounts):
    a, b, _ = accounts
    flag, target = unique(), unique()
    ddb.put_item(TableName=a, Item={"p": {"S": flag}, "open": {"BOOL": True}})
    ddb.transact_write_items(TransactItems=[
        {"ConditionCheck": {"TableName": a, "Key": key(flag), "ConditionExpression": "#o = :t",
                            "ExpressionAttributeNames": {"#o": "open"},
                            "ExpressionAttributeValues": {":t": {"BOOL": True}}}},
        {"Put": {"TableName": b, "Item": {"p": {"S": target}, "bal": {"N": "1"}}}},
    ])
    assert ddb.get_item(TableName=a, Key=key(flag))["Item"] == {"p": {"S": flag}, "open": {"BOOL": True}}
    assert balance(ddb, b, target) == 1


def test_consumed_capacity_counts_transactional_writes_double_and_checks_as_reads(ddb, accounts):
    a, b, _ = accounts
    src, dst = unique(), unique()
    put(ddb, a, src, 10)
    response = ddb.transact_write_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
        debit(a, src, 1),
        {"Put": {"TableName": b, "Item": {"p": {"S": dst}, "pad": {"S": "x" * 1500}}}},
        {"ConditionCheck": {"TableName": b, "Key": key(src), "ConditionExpression": "attribute_not_exists(p)"}},
    ])
    assert response["ConsumedCapacity"] == [
        {"TableName": a, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0},
        {"TableName": b, "CapacityUnits": 6.0, "ReadCapacityUnits": 2.0, "WriteCapacityUnits": 4.0},
    ]
    assert "ConsumedCapacity" not in ddb.transact_write_items(TransactItems=[credit(a, src, 1)])


def test_transaction_changes_reach_the_stream(ddb, server):
    name = unique("txs")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"p": {"S": "one"}}}},
        {"Put": {"TableName": name, "Item": {"p": {"S": "two"}}}},
    ])
    streams = make_client(server.endpoint, "dynamodbstreams")
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:  # one per log partition
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records += streams.get_records(ShardIterator=it)["Records"]
    assert sorted((r["eventName"], r["dynamodb"]["Keys"]["p"]["S"]) for r in records) == [
        ("INSERT", "one"), ("INSERT", "two")]


# --- TransactWriteItems: cancellation -------------------------------------------------------------


def test_a_failed_condition_cancels_everything_with_reasons_in_order(ddb, accounts):
    a, b, c = accounts
    src, dst, new = unique(), unique(), unique()
    put(ddb, a, src, 10)
    put(ddb, b, dst, 0)
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=[
            credit(b, dst, 50),
            debit(a, src, 50, ReturnValuesOnConditionCheckFailure="ALL_OLD"),
            {"Put": {"TableName": c, "Item": {"p": {"S": new}}}},
            {"ConditionCheck": {"TableName": c, "Key": key(src), "ConditionExpression": "attribute_exists(p)"}},
        ])
    assert error_of(info) == ("TransactionCanceledException",
                              CANCELLED.format("None, ConditionalCheckFailed, None, ConditionalCheckFailed"))
    assert info.value.response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
         "Item": {"p": {"S": src}, "bal": {"N": "10"}}},
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
    ]
    assert balance(ddb, a, src) == 10 and balance(ddb, b, dst) == 0
    assert "Item" not in ddb.get_item(TableName=c, Key=key(new))


def test_an_update_that_cannot_apply_cancels_with_a_validation_error(ddb, accounts):
    a, b, _ = accounts
    text, other = unique(), unique()
    ddb.put_item(TableName=a, Item={"p": {"S": text}, "bal": {"S": "not a number"}})
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": b, "Item": {"p": {"S": other}}}},
            credit(a, text, 1),
        ])
    assert error_of(info) == ("TransactionCanceledException", CANCELLED.format("None, ValidationError"))
    assert info.value.response["CancellationReasons"][1] == {
        "Code": "ValidationError", "Message": "An operand in the update expression has an incorrect data type"}
    assert "Item" not in ddb.get_item(TableName=b, Key=key(other))


# --- TransactWriteItems: request validation -------------------------------------------------------


@pytest.mark.parametrize("items, message", [
    (lambda t, p: [{"Put": {"TableName": t, "Item": {"p": {"S": p}}}}, {"Delete": {"TableName": t, "Key": key(p)}}],
     "Transaction request cannot include multiple operations on one item"),
    (lambda t, p: [{"Put": {"TableName": t, "Item": {"p": {"S": p}}}, "Delete": {"TableName": t, "Key": key(p)}}],
     "TransactItems can only contain one of Check, Put, Update or Delete"),
    (lambda t, p: [{}], "TransactItems can only contain one of Check, Put, Update or Delete"),
    (lambda t, p: [{"Put": {"TableName": t, "Item": {"q": {"S": p}}}}],
     "One or more parameter values were invalid: Missing the key p in the item"),
    (lambda t, p: [{"Delete": {"TableName": t, "Key": {"p": {"N": "1"}}}}],
     "The provided key element does not match the schema"),
    (lambda t, p: [{"Put": {"TableName": t, "Item": {"p": {"S": p}},
                            "ExpressionAttributeValues": {":x": {"S": "x"}}, "ConditionExpression": "attribute_exists(p)"}}],
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"),
    (lambda t, p: [{"Update": {"TableName": t, "Key": key(p), "UpdateExpression": "SET p = :x",
                               "ExpressionAttributeValues": {":x": {"S": "x"}}}}],
     "One or more parameter values were invalid: Cannot update attribute p. This attribute is part of the key"),
])
def test_invalid_requests_are_validation_errors(ddb, accounts, items, message):
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=items(accounts[0], unique()))
    assert error_of(info) == ("ValidationException", message)


def test_the_same_item_in_two_tables_is_two_items(ddb, accounts):
    p = unique()
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"p": {"S": p}}}} for t in accounts])
    assert all("Item" in ddb.get_item(TableName=t, Key=key(p)) for t in accounts)


def test_a_missing_table_is_not_found(ddb, accounts):
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": accounts[0], "Item": {"p": {"S": unique()}}}},
            {"Put": {"TableName": unique("missing"), "Item": {"p": {"S": "x"}}}},
        ])
    assert error_of(info)[0] == "ResourceNotFoundException"


def test_more_than_100_actions_or_4_mb_are_refused(ddb, accounts):
    many = [{"ConditionCheck": {"TableName": accounts[0], "Key": key(str(i)), "ConditionExpression": "attribute_exists(p)"}}
            for i in range(101)]
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=many)
    assert error_of(info)[0] == "ValidationException"
    assert "Member must have length less than or equal to 100" in error_of(info)[1]
    big = "x" * (390 * 1024)
    items = [{"Put": {"TableName": accounts[i % 3], "Item": {"p": {"S": unique()}, "pad": {"S": big}}}} for i in range(11)]
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=items)
    assert error_of(info) == ("ValidationException", "Transaction request size has exceeded the maximum allowed size of 4 MB")
    assert all("Item" not in ddb.get_item(TableName=i["Put"]["TableName"], Key=key(i["Put"]["Item"]["p"]["S"]))
               for i in items)


# --- ClientRequestToken ---------------------------------------------------------------------------


def test_a_token_replays_a_commit_once_and_refuses_another_request(ddb, accounts):
    a, _, _ = accounts
    p, token = unique(), str(uuid.uuid4())
    put(ddb, a, p, 0)
    for _ in range(3):
        ddb.transact_write_items(TransactItems=[credit(a, p, 5)], ClientRequestToken=token)
    assert balance(ddb, a, p) == 5
    replay = ddb.transact_write_items(TransactItems=[credit(a, p, 5)], ClientRequestToken=token,
                                      ReturnConsumedCapacity="TOTAL")
    assert replay["ConsumedCapacity"] == [{"TableName": a, "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}]
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=[credit(a, p, 6)], ClientRequestToken=token)
    assert error_of(info) == ("IdempotentParameterMismatchException",
                              "Specified ClientRequestToken has already been used with a different request.")
    assert balance(ddb, a, p) == 5


def test_a_cancelled_transaction_does_not_keep_its_token(ddb, accounts):
    a, _, _ = accounts
    p, token = unique(), str(uuid.uuid4())
    put(ddb, a, p, 0)
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=[debit(a, p, 1)], ClientRequestToken=token)
    assert error_of(info)[0] == "TransactionCanceledException"
    ddb.transact_write_items(TransactItems=[credit(a, p, 2)], ClientRequestToken=token)
    assert balance(ddb, a, p) == 2


# --- isolation ------------------------------------------------------------------------------------


def test_single_item_writes_to_a_locked_item_conflict(ddb, accounts, locks):
    a, _, _ = accounts
    p = unique()
    put(ddb, a, p, 1)
    calls = [
        lambda: ddb.put_item(TableName=a, Item={"p": {"S": p}, "bal": {"N": "9"}}),
        lambda: ddb.update_item(TableName=a, Key=key(p), UpdateExpression="ADD bal :o",
                                ExpressionAttributeValues={":o": {"N": "1"}}),
        lambda: ddb.delete_item(TableName=a, Key=key(p)),
    ]
    for call in calls:
        with locks.held(a, p):
            with pytest.raises(ClientError) as info:
                call()
            assert error_of(info) == ("TransactionConflictException", "Transaction is ongoing for the item")
    assert balance(ddb, a, p) == 1  # released by the abort, unchanged
    ddb.update_item(TableName=a, Key=key(p), UpdateExpression="ADD bal :o", ExpressionAttributeValues={":o": {"N": "1"}})
    assert balance(ddb, a, p) == 2


def test_reads_of_a_locked_item_see_the_last_committed_value(ddb, accounts, locks):
    a, _, _ = accounts
    p = unique()
    put(ddb, a, p, 7)
    with locks.held(a, p):
        assert balance(ddb, a, p) == 7
        assert ddb.query(TableName=a, KeyConditionExpression="p = :p",
                         ExpressionAttributeValues={":p": {"S": p}})["Items"][0]["bal"] == {"N": "7"}


def test_a_transaction_meeting_a_lock_is_cancelled_with_a_conflict(ddb, accounts, locks):
    a, b, _ = accounts
    p, q = unique(), unique()
    put(ddb, a, p, 7)
    with locks.held(a, p):
        with pytest.raises(ClientError) as info:
            ddb.transact_write_items(TransactItems=[credit(b, q, 1), credit(a, p, 1)])
        assert error_of(info) == ("TransactionCanceledException", CANCELLED.format("None, TransactionConflict"))
        assert info.value.response["CancellationReasons"] == [{"Code": "None"}, CONFLICT]
        with pytest.raises(ClientError) as info:
            ddb.transact_get_items(TransactItems=[{"Get": {"TableName": b, "Key": key(q)}},
                                                  {"Get": {"TableName": a, "Key": key(p)}}])
        assert info.value.response["CancellationReasons"] == [{"Code": "None"}, CONFLICT]
    assert balance(ddb, b, q) is None and balance(ddb, a, p) == 7
    ddb.transact_write_items(TransactItems=[credit(b, q, 1), credit(a, p, 1)])
    assert balance(ddb, b, q) == 1 and balance(ddb, a, p) == 8


# --- TransactGetItems -----------------------------------------------------------------------------


def test_transact_get_reads_items_across_tables_with_projections(ddb, accounts):
    a, b, c = accounts
    p = unique()
    ddb.put_item(TableName=a, Item={"p": {"S": p}, "bal": {"N": "1"}, "name": {"S": "ada"}})
    put(ddb, b, p, 2)
    response = ddb.transact_get_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
        {"Get": {"TableName": a, "Key": key(p), "ProjectionExpression": "#n", "ExpressionAttributeNames": {"#n": "name"}}},
        {"Get": {"TableName": b, "Key": key(p)}},
        {"Get": {"TableName": c, "Key": key(p)}},
    ])
    assert response["Responses"] == [{"Item": {"name": {"S": "ada"}}}, {"Item": {"p": {"S": p}, "bal": {"N": "2"}}}, {}]
    assert response["ConsumedCapacity"] == [
        {"TableName": t, "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0} for t in (a, b, c)]


def test_transact_get_validation(ddb, accounts):
    a = accounts[0]
    with pytest.raises(ClientError) as info:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": a, "Key": key("x")}}] * 2)
    assert error_of(info) == ("ValidationException", "Transaction request cannot include multiple operations on one item")
    with pytest.raises(ClientError) as info:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": a, "Key": key("x"),
                                                       "ExpressionAttributeNames": {"#n": "n"}}}])
    assert error_of(info) == ("ValidationException",
                              "ExpressionAttributeNames can only be specified when using expressions")
    with pytest.raises(ClientError) as info:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": unique("missing"), "Key": key("x")}}])
    assert error_of(info)[0] == "ResourceNotFoundException"


def test_transact_get_never_sees_half_a_transfer(ddb, accounts, server):
    """Concurrent transfers between two accounts on different tables; every snapshot sums to the
    total (a read that would straddle a commit is cancelled instead)."""
    import threading

    a, b, _ = accounts
    p = unique()
    put(ddb, a, p, 50)
    put(ddb, b, p, 50)
    writer = make_client(server.endpoint)
    stop = threading.Event()

    def transfers():
        i = 0
        while not stop.is_set():
            amount = 1 + i % 3
            src, dst = (a, b) if i % 2 else (b, a)
            try:
                writer.transact_write_items(TransactItems=[debit(src, p, amount), credit(dst, p, amount)])
            except ClientError:
                pass
            i += 1
            stop.wait(0.01)  # leave the readers a window between transfers

    thread = threading.Thread(target=transfers)
    thread.start()
    sums, conflicts = [], 0
    try:
        while len(sums) < 10 and conflicts < 500:
            try:
                got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": key(p)}} for t in (a, b)])
                sums.append(sum(int(r["Item"]["bal"]["N"]) for r in got["Responses"]))
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TransactionCanceledException"
                conflicts += 1
    finally:
        stop.set()
        thread.join()
    assert len(sums) == 10 and set(sums) == {100}
    assert balance(ddb, a, p) + balance(ddb, b, p) == 100
