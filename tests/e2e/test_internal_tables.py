"""The hooks' checkpoint table ``dynamoray.hooks`` is the server's own (core/internal_tables.py):
not listed, not creatable, readable by root only, through boto3 on an in-process server."""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors.hook_runner import ensure_checkpoint_table
from dynamoray.actors.local import LocalEngine
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client

HOOKS = "dynamoray.hooks"


@pytest.fixture(scope="module")
def ddb():
    engine = LocalEngine()
    asyncio.run(engine.open())
    asyncio.run(ensure_checkpoint_table(engine, REGION, "000000000000", 0.0))
    server = BackgroundServer(build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                                            ttl_interval=None)).start()
    yield make_client(server.endpoint)
    server.stop()
    asyncio.run(engine.close())


def _table(ddb, name):
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])


def test_list_tables_and_its_paging_never_show_the_checkpoint_table(ddb):
    for name in ("dynamoray.a", "dynamoray.z"):  # around "dynamoray.hooks" in name order
        _table(ddb, name)
    assert HOOKS not in ddb.list_tables()["TableNames"]
    pages = [ddb.list_tables(Limit=1)]
    while "LastEvaluatedTableName" in pages[-1]:
        pages.append(ddb.list_tables(Limit=1, ExclusiveStartTableName=pages[-1]["LastEvaluatedTableName"]))
    seen = [n for page in pages for n in page["TableNames"]]
    assert HOOKS not in seen and {"dynamoray.a", "dynamoray.z"} <= set(seen)
    assert ddb.list_tables(ExclusiveStartTableName="dynamoray.a", Limit=1)["TableNames"] == ["dynamoray.z"]


def test_create_table_of_the_reserved_name_is_resource_in_use(ddb):
    with pytest.raises(ClientError) as caught:
        _table(ddb, HOOKS)
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ResourceInUseException", f"Table already exists: {HOOKS}")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_root_may_still_read_it(ddb):
    assert ddb.describe_table(TableName=HOOKS)["Table"]["TableName"] == HOOKS
    assert ddb.scan(TableName=HOOKS)["Items"] == []


def _refused(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ResourceInUseException", f"Table already exists: {HOOKS}")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_restores_and_imports_into_the_reserved_name_are_refused_like_create_table(ddb):
    _table(ddb, "restored_from")
    ddb.put_item(TableName="restored_from", Item={"p": {"S": "a"}})
    arn = ddb.create_backup(TableName="restored_from", BackupName="bkp")["BackupDetails"]["BackupArn"]
    _refused(ddb.restore_table_from_backup, TargetTableName=HOOKS, BackupArn=arn)
    ddb.update_continuous_backups(TableName="restored_from",
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    _refused(ddb.restore_table_to_point_in_time, SourceTableName="restored_from", TargetTableName=HOOKS,
             UseLatestRestorableTime=True)
    _refused(ddb.import_table, S3BucketSource={"S3Bucket": "anywhere", "S3KeyPrefix": "data/"},
             InputFormat="DYNAMODB_JSON",
             TableCreationParameters={"TableName": HOOKS, "BillingMode": "PAY_PER_REQUEST",
                                      "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
                                      "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}]})
    assert ddb.describe_table(TableName=HOOKS)["Table"]["ItemCount"] == 0  # the checkpoints are untouched
    assert HOOKS not in ddb.list_tables()["TableNames"]
