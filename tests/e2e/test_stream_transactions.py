"""Transactions visible as units in the stream (a dynamoray extension): each record of a
transactional write carries ``dynamorayTransaction {Id, Index, Count}``."""

from dynamoray.boto3_extensions import TRANSACTION_MEMBER, keep_transaction_members

from .conftest import make_client
from .test_streams import read_every_shard, stream_table


def _transact(ddb, name: str) -> None:
    ddb.put_item(TableName=name, Item={"p": {"S": "checked"}})
    ddb.put_item(TableName=name, Item={"p": {"S": "gone"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"p": {"S": "t1"}}}},
        {"ConditionCheck": {"TableName": name, "Key": {"p": {"S": "checked"}},
                            "ConditionExpression": "attribute_exists(p)"}},
        {"Update": {"TableName": name, "Key": {"p": {"S": "t2"}}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "1"}}}},
        {"Delete": {"TableName": name, "Key": {"p": {"S": "gone"}}}},
    ])
    ddb.put_item(TableName=name, Item={"p": {"S": "plain"}, "v": {"N": "2"}})


def test_each_record_of_a_transaction_names_it_and_its_position(server, ddb):
    name, arn = stream_table(ddb)
    _transact(ddb, name)
    streams = keep_transaction_members(make_client(server.endpoint, "dynamodbstreams"))
    records = read_every_shard(streams, arn)
    tagged = {(r["eventName"], r["dynamodb"]["Keys"]["p"]["S"]): r.get(TRANSACTION_MEMBER) for r in records}
    assert tagged[("INSERT", "checked")] is None and tagged[("INSERT", "gone")] is None
    assert tagged[("INSERT", "plain")] is None
    units = [tagged[("INSERT", "t1")], tagged[("INSERT", "t2")], tagged[("REMOVE", "gone")]]
    assert len({u["Id"] for u in units}) == 1 and len(units[0]["Id"]) == 32
    assert [(u["Index"], u["Count"]) for u in units] == [(1, 3), (2, 3), (3, 3)]  # the ConditionCheck writes nothing


def test_a_stock_client_drops_the_member_and_keeps_working(server, ddb):
    name, arn = stream_table(ddb)
    _transact(ddb, name)
    records = read_every_shard(make_client(server.endpoint, "dynamodbstreams"), arn)
    assert len(records) == 6
    assert all(TRANSACTION_MEMBER not in r for r in records)


def test_partiql_transactions_are_units_too(server, ddb):
    name, arn = stream_table(ddb)
    ddb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{name}\" VALUE {{'p': 'x'}}"},
        {"Statement": f"INSERT INTO \"{name}\" VALUE {{'p': 'y'}}"},
    ])
    streams = keep_transaction_members(make_client(server.endpoint, "dynamodbstreams"))
    units = sorted((r[TRANSACTION_MEMBER]["Index"], r[TRANSACTION_MEMBER]["Count"], r["dynamodb"]["Keys"]["p"]["S"])
                   for r in read_every_shard(streams, arn))
    assert units == [(1, 2, "x"), (2, 2, "y")]
