"""KMS failures as DynamoDB's 400s through boto3 (in-process server, KMS through its test double
tests/kms_double.py): at CreateTable/UpdateTable with SSESpecification, and on the data plane once
a table's key becomes unusable (INACCESSIBLE_ENCRYPTION_CREDENTIALS)."""

from __future__ import annotations

import asyncio
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from dynamoray.actors.keys import EncryptionConfig, forget, keys_for
from dynamoray.actors.local import LocalEngine
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.encryption import EncryptedLog
from dynamoray.events.kms import KmsKeys
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig
from tests.kms_double import FakeKms

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client, unique

TAIL = r" \(Service: AWSKMS; Status Code: 400; Error Code: {code}; Request ID: [0-9a-f-]+; Proxy: null\)$"


@pytest.fixture(scope="module")
def kms(tmp_path_factory):
    fake = FakeKms()
    default = fake.add()
    plain = EmbeddedLog(tmp_path_factory.mktemp("kms") / "log")
    config = EncryptionConfig(kms_key_id=default)
    keys = keys_for(config, plain, KmsKeys(default, REGION, client=fake))
    engine = LocalEngine(EncryptedLog(plain, keys))
    asyncio.run(engine.open())
    server = BackgroundServer(build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                                            ttl_interval=None, keys=keys)).start()
    ddb = make_client(server.endpoint)
    no_retries = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name=REGION,
                              aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                              config=Config(retries={"max_attempts": 1}))
    yield {"fake": fake, "keys": keys, "ddb": ddb, "no_retries": no_retries}
    server.stop()
    asyncio.run(engine.close())
    forget(config)


def _create(ddb, name, key):
    return ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key})


def _error(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_create_table_with_an_unusable_key_is_a_400_and_creates_nothing(kms):
    fake, ddb = kms["fake"], kms["ddb"]
    cases = [
        (fake.add(state="PendingDeletion"), None, "key state", "KMSInvalidStateException", "{arn} is pending deletion."),
        (fake.add(spec="RSA_2048"), None, "key usage", "InvalidKeyUsageException",
         "{arn} is a RSA_2048 key for ENCRYPT_DECRYPT: DynamoDB needs a symmetric encryption key "
         "(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)."),
        (fake.add(), ("DescribeKey", "AccessDeniedException", "User: x is not authorized to perform: kms:DescribeKey"),
         "access denied", "AccessDeniedException", "User: x is not authorized to perform: kms:DescribeKey"),
        (fake.add(), ("GenerateDataKey", "AccessDeniedException", "no grant"), "access denied",
         "AccessDeniedException", "no grant"),
    ]
    for arn, failure, kind, code, detail in cases:
        if failure:
            fake.fail(failure[0], failure[1], failure[2])
        name = unique()
        try:
            status, got, message = _error(_create, ddb, name, arn)
        finally:
            if failure:
                fake.fail(failure[0])
        assert (status, got) == (400, "ValidationException")
        head = f"KMS {kind} error: com.amazonaws.services.kms.model.{code}: {detail.format(arn=arn)}"
        assert re.fullmatch(re.escape(head) + TAIL.format(code=code), message), message
        assert name not in ddb.list_tables()["TableNames"]


def test_kms_throttled_or_unreachable(kms):
    fake, ddb = kms["fake"], kms["no_retries"]
    arn = fake.add()
    fake.fail("DescribeKey", "ThrottlingException", "Rate exceeded")
    try:
        status, code, message = _error(_create, ddb, unique(), arn)
    finally:
        fake.fail("DescribeKey")
    assert (status, code) == (400, "ThrottlingException")
    assert message.startswith("KMS throttling error: com.amazonaws.services.kms.model.ThrottlingException: Rate exceeded")
    fake.fail("DescribeKey", error=EndpointConnectionError(endpoint_url="https://kms.example/"))
    try:
        status, code, message = _error(_create, ddb, unique(), arn)
    finally:
        fake.fail("DescribeKey")
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("KMS unavailable error: com.amazonaws.services.kms.model.KMSUnreachable: "
                              'KMS could not be reached: Could not connect to the endpoint URL: "https://kms.example/"')


def test_update_table_to_a_key_kms_refuses_is_a_400_and_changes_nothing(kms):
    fake, ddb = kms["fake"], kms["ddb"]
    name, good, refused = unique(), fake.add(), fake.add(state="PendingDeletion")
    _create(ddb, name, good)
    status, code, message = _error(ddb.update_table, TableName=name, SSESpecification={
        "Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": refused})
    assert (status, code) == (400, "ValidationException") and "KMSInvalidStateException" in message
    assert ddb.describe_table(TableName=name)["Table"]["SSEDescription"]["KMSMasterKeyArn"] == good


def test_a_table_whose_key_becomes_unusable_is_inaccessible_until_it_is_usable_again(kms):
    fake, keys, ddb = kms["fake"], kms["keys"], kms["ddb"]
    name, other, arn = unique(), unique(), fake.add()
    _create(ddb, name, arn)
    _create(ddb, other, fake.add())
    ddb.put_item(TableName=name, Item={"p": {"S": "a"}})
    key_id = arn.rpartition("/")[2]
    fake.keys[key_id]["state"] = "Disabled"
    keys.health.check()  # what the health thread does every CHECK_EVERY seconds
    for call, kwargs in ((ddb.put_item, {"TableName": name, "Item": {"p": {"S": "b"}}}),
                         (ddb.get_item, {"TableName": name, "Key": {"p": {"S": "a"}}}),
                         (ddb.scan, {"TableName": name}),
                         (ddb.batch_write_item, {"RequestItems": {name: [{"PutRequest": {"Item": {"p": {"S": "c"}}}}]}}),
                         (ddb.transact_write_items, {"TransactItems": [{"Put": {"TableName": name,
                                                                                "Item": {"p": {"S": "d"}}}}]})):
        status, code, message = _error(call, **kwargs)
        assert (status, code) == (400, "ValidationException")
        assert message == (f"KMS key access denied error: the KMS key {arn} of table {name} is inaccessible "
                           "(DisabledException); the table is INACCESSIBLE_ENCRYPTION_CREDENTIALS until the key "
                           "is usable again")
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["TableStatus"] == "INACCESSIBLE_ENCRYPTION_CREDENTIALS"
    assert "InaccessibleEncryptionDateTime" in described["SSEDescription"]
    ddb.put_item(TableName=other, Item={"p": {"S": "x"}})  # other tables are not affected
    fake.keys[key_id]["state"] = "Enabled"
    keys.health.check()
    assert ddb.get_item(TableName=name, Key={"p": {"S": "a"}})["Item"] == {"p": {"S": "a"}}
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
