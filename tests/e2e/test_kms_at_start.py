"""A table whose KMS key is already unusable when the server starts (in-process server, KMS through
its test double tests/kms_double.py): the server starts, the table is
INACCESSIBLE_ENCRYPTION_CREDENTIALS with 400s on the data plane until its key is usable, the other
tables serve; and the admin API's key calls answer KMS refusals as 400s."""

from __future__ import annotations

import asyncio
import time

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors.keys import EncryptionConfig, forget, keys_for
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotStore
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.encryption import EncryptedLog
from dynamoray.events.kms import KmsKeys
from dynamoray.gateway.admin_client import AdminClient, AdminError
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig
from tests.kms_double import FakeKms

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client


class SwitchableKms(FakeKms):
    """The double, with keys whose Decrypt KMS refuses while they are disabled."""

    def decrypt(self, CiphertextBlob, KeyId, EncryptionContext):  # noqa: N803 - boto3's names
        key_id, key = self._key(KeyId)
        if key["state"] != "Enabled":
            from botocore.exceptions import ClientError as Refused

            raise Refused({"Error": {"Code": "DisabledException", "Message": f"{key['arn']} is disabled."}}, "Decrypt")
        return super().decrypt(CiphertextBlob=CiphertextBlob, KeyId=KeyId, EncryptionContext=EncryptionContext)


class Server:
    """One start of the server on ``root``: its KeyManager, engine, gateway and clients."""

    def __init__(self, root, fake, default):
        self.config = EncryptionConfig(kms_key_id=default)
        self.keys = keys_for(self.config, EmbeddedLog(root / "log"), KmsKeys(default, REGION, client=fake),
                             owns_log=True)
        self.engine = LocalEngine(EncryptedLog(EmbeddedLog(root / "log"), self.keys),
                                  snapshots=SnapshotStore(root / "snapshots", self.keys.file_cipher()))
        asyncio.run(self.engine.open())  # must not fail, whatever the tables' keys say
        self.noted = {key["arn"] for key in fake.keys.values()  # refused keys, before any request or check
                      if self.keys.health.refusal_of_key(key["arn"])}
        self.server = BackgroundServer(build_gateway(self.engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                                                     ttl_interval=None, keys=self.keys)).start()
        self.ddb = make_client(self.server.endpoint)
        self.admin = AdminClient(self.server.endpoint, ACCESS_KEY, SECRET_KEY)

    def stop(self):
        self.server.stop()
        asyncio.run(self.engine.close())
        forget(self.config)


def _create(ddb, name, key=None):
    extra = {"SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}} if key else {}
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}], **extra)


def _error(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


@pytest.fixture
def started(tmp_path):
    fake = SwitchableKms()
    default, table_key = fake.add(), fake.add()
    first = Server(tmp_path, fake, default)
    try:
        _create(first.ddb, "sealed", table_key)
        _create(first.ddb, "plain")
        for table in ("sealed", "plain"):
            first.ddb.put_item(TableName=table, Item={"p": {"S": "a"}, "v": {"S": table}})
    finally:
        first.stop()
    fake.keys[table_key.rpartition("/")[2]]["state"] = "Disabled"  # while the server is down
    second = Server(tmp_path, fake, default)
    yield fake, table_key, second
    second.stop()


def test_a_table_whose_key_is_unusable_at_start_is_inaccessible_until_the_key_is_usable(started):
    fake, table_key, server = started
    assert server.noted == {table_key}  # the failed unwrap at open noted it at once
    ddb = server.ddb
    assert ddb.get_item(TableName="plain", Key={"p": {"S": "a"}})["Item"]["v"] == {"S": "plain"}  # the others serve
    table = ddb.describe_table(TableName="sealed")["Table"]
    assert table["TableStatus"] == "INACCESSIBLE_ENCRYPTION_CREDENTIALS"
    assert table["SSEDescription"]["KMSMasterKeyArn"] == table_key
    assert "InaccessibleEncryptionDateTime" in table["SSEDescription"]
    assert "sealed" in ddb.list_tables()["TableNames"]
    expected = (400, "ValidationException",
                f"KMS key access denied error: the KMS key {table_key} of table sealed is inaccessible "
                "(DisabledException); the table is INACCESSIBLE_ENCRYPTION_CREDENTIALS until the key is usable again")
    assert _error(ddb.get_item, TableName="sealed", Key={"p": {"S": "a"}}) == expected
    assert _error(ddb.put_item, TableName="sealed", Item={"p": {"S": "b"}}) == expected
    assert _error(ddb.scan, TableName="sealed") == expected

    fake.keys[table_key.rpartition("/")[2]]["state"] = "Enabled"  # usable again: no restart needed
    server.keys.health.check()  # the periodic check (every 30 s) finds it usable
    deadline, found = time.monotonic() + 30, None
    while found is None:
        try:
            found = ddb.get_item(TableName="sealed", Key={"p": {"S": "a"}})["Item"]
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ValidationException"
            assert time.monotonic() < deadline, "the table never came back"
            time.sleep(0.05)
    assert found["v"] == {"S": "sealed"}
    assert ddb.describe_table(TableName="sealed")["Table"]["TableStatus"] == "ACTIVE"
    ddb.put_item(TableName="sealed", Item={"p": {"S": "b"}})
    assert ddb.describe_table(TableName="sealed")["Table"]["ItemCount"] == 2


def test_admin_key_calls_answer_kms_refusals_as_400s(started):
    fake, table_key, server = started
    with pytest.raises(AdminError) as caught:
        server.admin.call("RotateKey", KeyId=table_key)
    assert (caught.value.code, caught.value.status) == ("ValidationException", 400)
    assert "DisabledException" in caught.value.message and f"{table_key} is disabled." in caught.value.message
    fake.fail("DescribeKey", "AccessDeniedException", "User: x is not authorized to perform: kms:DescribeKey")
    try:
        with pytest.raises(AdminError) as caught:
            server.admin.call("DescribeKey", KeyId=table_key)
        assert (caught.value.code, caught.value.status) == ("ValidationException", 400)
        assert "AccessDeniedException" in caught.value.message and "kms:DescribeKey" in caught.value.message
        fake.fail("DescribeKey", "ThrottlingException", "Rate exceeded")
        with pytest.raises(AdminError) as caught:
            server.admin.call("RotateKey", KeyId=table_key)
        assert (caught.value.code, caught.value.status) == ("ThrottlingException", 400)
    finally:
        fake.fail("DescribeKey")


def test_sealed_data_met_under_an_unusable_key_on_any_path_is_a_400_not_a_500():
    """E.g. the Ray engine's gateway follower opening such a table: the gateway renders it."""
    from dynamoray.events.encryption import KeyInaccessible

    class Refusing(LocalEngine):
        async def get(self, table, key, projection=None, consistent=False):
            raise KeyInaccessible("record 0 of t/0: refused", "arn:aws:kms:us-east-1:000000000000:key/k",
                                  "AccessDeniedException")

    engine = Refusing()
    server = BackgroundServer(build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                                            ttl_interval=None)).start()
    try:
        ddb = make_client(server.endpoint)
        _create(ddb, "ttt")
        assert _error(ddb.get_item, TableName="ttt", Key={"p": {"S": "a"}}) == (
            400, "ValidationException",
            "KMS key access denied error: the KMS key arn:aws:kms:us-east-1:000000000000:key/k of table ttt is "
            "inaccessible (AccessDeniedException); the table is INACCESSIBLE_ENCRYPTION_CREDENTIALS until the "
            "key is usable again")
    finally:
        server.stop()
