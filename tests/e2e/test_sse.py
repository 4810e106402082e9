"""SSESpecification and SSEDescription through boto3, on a server that encrypts at rest.

The server is in process (local engine, embedded log and keyring in a temporary directory), so the
tests can also look at the raw log: a table's records are sealed under the data key of the KMS key
its SSEDescription names."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors.keys import EncryptionConfig, forget, keys_for
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotStore
from dynamoray.core import encryption as enc
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.encryption import EncryptedLog
from dynamoray.events.keyring import LocalKeyring
from dynamoray.gateway.admin_client import AdminClient, AdminError
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client, unique

INVALID = "One or more parameter values were invalid: "


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory):
    root = tmp_path_factory.mktemp("sse")
    keyring = LocalKeyring.create(root / "keyring.json")
    plain = EmbeddedLog(root / "log")
    config = EncryptionConfig(keyring=str(keyring.path))
    keys = keys_for(config, plain)
    engine = LocalEngine(EncryptedLog(plain, keys), snapshots=SnapshotStore(root / "snapshots", keys.file_cipher()))
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION), ttl_interval=None, keys=keys)
    server = BackgroundServer(gateway).start()
    admin = AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY)
    yield {"ddb": make_client(server.endpoint), "admin": admin, "keys": keys, "plain": plain,
           "endpoint": server.endpoint}
    server.stop()
    asyncio.run(engine.close())
    forget(config)


def _create(ddb, name: str, **extra) -> dict:
    return ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                            **extra)["TableDescription"]


def _masters_of(encrypted, table: str) -> list[str]:
    """The master keys that sealed the table's records, in log order."""
    ddb, plain = encrypted["ddb"], encrypted["plain"]
    description = ddb.describe_table(TableName=table)["Table"]
    topic = f"dynamoray.table.{description['TableId']}"
    state = encrypted["keys"].data_keys()
    found = []
    for partition in range(plain.partition_count(topic)):
        for record in plain.read(topic, partition, 0, 10_000):
            found.append((record.timestamp, state.keys[enc.record_key_ref(record.value)[0].hex()].master_key))
    return [master for _, master in sorted(found)]


def _error(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_without_sse_there_is_no_sse_description_and_the_owned_key_seals(encrypted):
    ddb, name = encrypted["ddb"], unique()
    assert "SSEDescription" not in _create(ddb, name)
    assert "SSEDescription" not in _create(ddb, unique(), SSESpecification={"Enabled": False})
    ddb.put_item(TableName=name, Item={"p": {"S": "a"}})
    assert _masters_of(encrypted, name) == [encrypted["keys"].default_key()]


def test_enabled_uses_the_aws_managed_key(encrypted):
    ddb = encrypted["ddb"]
    one = _create(ddb, unique(), SSESpecification={"Enabled": True})["SSEDescription"]
    two = _create(ddb, unique(), SSESpecification={"SSEType": "KMS"})["SSEDescription"]
    managed = encrypted["admin"].call("DescribeKey", KeyId="alias/aws/dynamodb")["KeyMetadata"]["KeyArn"]
    assert one == two == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": managed}
    assert managed != encrypted["keys"].default_key()


def test_a_customer_key_by_alias_id_or_arn_seals_the_tables_records(encrypted):
    ddb, admin = encrypted["ddb"], encrypted["admin"]
    alias = f"alias/orders-{uuid.uuid4().hex[:6]}"
    arn = admin.call("CreateKey", Alias=alias, Description="orders")["KeyMetadata"]["Arn"]
    key_id = arn.rpartition("/")[2]
    for given in (alias, key_id, arn, f"arn:aws:kms:{REGION}:000000000000:{alias}"):
        name = unique()
        described = _create(ddb, name, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": given})
        assert described["SSEDescription"] == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": arn}
        assert ddb.describe_table(TableName=name)["Table"]["SSEDescription"]["KMSMasterKeyArn"] == arn
    for i in range(3):
        ddb.put_item(TableName=name, Item={"p": {"S": f"k{i}"}})
    assert _masters_of(encrypted, name) == [arn] * 3


def test_an_unknown_key_is_a_kms_validation_error_and_creates_nothing(encrypted):
    ddb, name = encrypted["ddb"], unique()
    code, message = _error(_create, ddb, name, SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                   "KMSMasterKeyId": "alias/no-such-key"})
    assert code == "ValidationException"
    assert message.startswith("KMS validation error: com.amazonaws.services.kms.model.NotFoundException: Alias "
                              f"arn:aws:kms:{REGION}:000000000000:alias/no-such-key is not found. (Service: AWSKMS; "
                              "Status Code: 400; Error Code: NotFoundException; Request ID: ")
    missing = str(uuid.uuid4())
    code, message = _error(_create, ddb, name, SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                   "KMSMasterKeyId": missing})
    assert f"NotFoundException: Key 'arn:aws:kms:{REGION}:000000000000:key/{missing}' does not exist" in message
    assert name not in ddb.list_tables()["TableNames"]


@pytest.mark.parametrize("spec, message", [
    ({"Enabled": False, "SSEType": "KMS"}, "SSEType can not be specified if Enabled is false"),
    ({"Enabled": False, "KMSMasterKeyId": "alias/x"}, "KMSMasterKeyId can not be specified if Enabled is false"),
    ({"Enabled": True, "SSEType": "AES256"}, "SSEType AES256 is not supported"),
    ({"Enabled": True, "KMSMasterKeyId": "alias/aws/dynamodb"}, "SSEType KMS is required if KMSMasterKeyId is specified"),
])
def test_invalid_specifications(encrypted, spec, message):
    assert _error(_create, encrypted["ddb"], unique(), SSESpecification=spec) == ("ValidationException", INVALID + message)


def test_update_table_switches_keys_and_new_records_follow(encrypted):
    ddb, admin, keys = encrypted["ddb"], encrypted["admin"], encrypted["keys"]
    name = unique()
    _create(ddb, name)
    ddb.put_item(TableName=name, Item={"p": {"S": "owned"}})
    assert _error(ddb.update_table, TableName=name, SSESpecification={"Enabled": False}) == (
        "ValidationException", INVALID + "Table is already encrypted by default")
    arn = admin.call("CreateKey", Alias=f"alias/u-{uuid.uuid4().hex[:6]}")["KeyMetadata"]["Arn"]
    updated = ddb.update_table(TableName=name, SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                 "KMSMasterKeyId": arn})["TableDescription"]
    assert updated["SSEDescription"] == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": arn}
    assert _error(ddb.update_table, TableName=name, SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                      "KMSMasterKeyId": arn}) == (
        "ValidationException", INVALID + "Table is already encrypted with given KMSMasterKeyId. Use "
                                          "KMSMasterKeyId parameter if you want to change Master Key")
    time.sleep(1.1)  # the partition's writer learns the new key within a refresh
    ddb.put_item(TableName=name, Item={"p": {"S": "customer"}})
    ddb.update_table(TableName=name, SSESpecification={"Enabled": False})
    assert "SSEDescription" not in ddb.describe_table(TableName=name)["Table"]
    time.sleep(1.1)
    ddb.put_item(TableName=name, Item={"p": {"S": "owned again"}})
    assert _masters_of(encrypted, name) == [keys.default_key(), arn, keys.default_key()]
    assert len(ddb.scan(TableName=name, ConsistentRead=True)["Items"]) == 3  # every key still reads


def _wait_active(ddb, name: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        table = ddb.describe_table(TableName=name)["Table"]
        if table["TableStatus"] == "ACTIVE":
            return table
        time.sleep(0.05)
    raise AssertionError(f"{name} never became ACTIVE")


def test_restores_keep_or_override_the_source_key(encrypted):
    ddb, admin = encrypted["ddb"], encrypted["admin"]
    arn = admin.call("CreateKey", Alias=f"alias/r-{uuid.uuid4().hex[:6]}")["KeyMetadata"]["Arn"]
    source = unique()
    _create(ddb, source, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": arn})
    ddb.put_item(TableName=source, Item={"p": {"S": "restored"}})
    backup = ddb.create_backup(TableName=source, BackupName="sse")["BackupDetails"]["BackupArn"]
    kept, owned, managed = unique(), unique(), unique()
    ddb.restore_table_from_backup(TargetTableName=kept, BackupArn=backup)
    ddb.restore_table_from_backup(TargetTableName=owned, BackupArn=backup, SSESpecificationOverride={"Enabled": False})
    ddb.restore_table_from_backup(TargetTableName=managed, BackupArn=backup, SSESpecificationOverride={"Enabled": True})
    assert _wait_active(ddb, kept)["SSEDescription"]["KMSMasterKeyArn"] == arn
    assert "SSEDescription" not in _wait_active(ddb, owned)
    managed_arn = admin.call("DescribeKey", KeyId="alias/aws/dynamodb")["KeyMetadata"]["KeyArn"]
    assert _wait_active(ddb, managed)["SSEDescription"]["KMSMasterKeyArn"] == managed_arn
    assert _masters_of(encrypted, kept) == [arn] and _masters_of(encrypted, owned) == [encrypted["keys"].default_key()]
    assert ddb.get_item(TableName=kept, Key={"p": {"S": "restored"}}, ConsistentRead=True)["Item"]
    ddb.update_continuous_backups(TableName=source, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    code, message = _error(ddb.restore_table_to_point_in_time, SourceTableName=source, TargetTableName=unique(),
                           UseLatestRestorableTime=True,
                           SSESpecificationOverride={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/none"})
    assert code == "ValidationException" and "Alias" in message and "is not found" in message


def test_the_keys_admin_api_is_for_root_only(encrypted):
    admin = encrypted["admin"]
    assert admin.call("CreateUser", UserName="not-root")
    key = admin.call("CreateAccessKey", UserName="not-root")["AccessKey"]
    other = AdminClient(encrypted["endpoint"], key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(AdminError) as caught:
        other.call("RotateKey")
    assert caught.value.code == "AccessDeniedException"
    with pytest.raises(AdminError) as caught:
        admin.call("CreateKey", Alias="aws/reserved")
    assert caught.value.code == "ValidationException"
    listed = admin.call("ListKeys")["Keys"]
    assert any(k["Owned"] for k in listed) and all(k["KeyArn"].startswith("arn:aws:kms:") for k in listed)


def test_with_kms_a_table_names_a_kms_key_and_is_sealed_under_it(tmp_path):
    """KMS through a test double of its client (tests/kms_double.py): KMS is not what is tested."""
    from dynamoray.events.kms import KmsKeys
    from tests.kms_double import FakeKms

    fake = FakeKms()
    default, customer = fake.add(), fake.add("alias/customer")
    plain = EmbeddedLog(tmp_path / "log")
    config = EncryptionConfig(kms_key_id=default)
    keys = keys_for(config, plain, KmsKeys(default, REGION, client=fake))
    engine = LocalEngine(EncryptedLog(plain, keys))
    asyncio.run(engine.open())
    server = BackgroundServer(build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION),
                                            ttl_interval=None, keys=keys)).start()
    try:
        ddb = make_client(server.endpoint)
        described = _create(ddb, "kms_table", SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                 "KMSMasterKeyId": "alias/customer"})
        assert described["SSEDescription"]["KMSMasterKeyArn"] == customer
        ddb.put_item(TableName="kms_table", Item={"p": {"S": "a"}})
        assert _masters_of({"ddb": ddb, "plain": plain, "keys": keys}, "kms_table") == [customer]
        code, message = _error(_create, ddb, "other_table", SSESpecification={
            "Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/missing"})
        assert code == "ValidationException" and "NotFoundException: Alias" in message
        assert "GenerateDataKey" in fake.calls and "DescribeKey" in fake.calls
    finally:
        server.stop()
        asyncio.run(engine.close())
        forget(config)
