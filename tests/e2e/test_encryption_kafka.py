"""Encryption at rest on the Kafka log: what the broker holds is ciphertext.

A server on the session's Tansu broker (local engine, keys in a keyring) takes items through boto3;
then a plain confluent-kafka consumer reads the table's topic and the IAM topic straight from the
broker: every record is sealed and no value appears in it."""

from __future__ import annotations

import asyncio
import uuid

from confluent_kafka import Consumer, TopicPartition

from dynamoray.actors.keys import EncryptionConfig, forget, keys_for
from dynamoray.actors.local import LocalEngine
from dynamoray.core import encryption as enc
from dynamoray.events.encryption import EncryptedLog
from dynamoray.events.kafka import KafkaLog
from dynamoray.events.keyring import LocalKeyring
from dynamoray.gateway.admin_client import AdminClient
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig
import pytest

from tests.kafka_broker import log_config, running_tansu

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client


def _raw_records(bootstrap: str, topic: str, partitions: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 3})
    try:
        values, ends = [], {}
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=20)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        seen = {p: 0 for p in ends}
        for _ in range(200):
            if all(seen[p] >= ends[p] - 1 for p in ends):
                break
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            seen[message.partition()] = message.offset()
            if message.value():  # empty ones are the log's own fencing claims, not records
                values.append(message.value())
        return values
    finally:
        consumer.close()


@pytest.fixture
def broker(tmp_path):
    """A broker of its own: the session's broker holds other tests' plaintext catalog and IAM topics."""
    with running_tansu(tmp_path) as bootstrap:
        yield bootstrap


def test_records_on_the_broker_are_ciphertext(broker, tmp_path):
    tansu = broker
    keyring = LocalKeyring.create(tmp_path / "keyring.json")
    plain = KafkaLog(log_config(tansu))
    config = EncryptionConfig(keyring=str(keyring.path))
    keys = keys_for(config, plain)
    engine = LocalEngine(EncryptedLog(plain, keys))
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION), ttl_interval=None, keys=keys)
    server = BackgroundServer(gateway).start()
    marker = uuid.uuid4().hex[:12]
    try:
        ddb = make_client(server.endpoint)
        table = f"kafka{marker}"
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
        for i in range(10):
            ddb.put_item(TableName=table, Item={"p": {"S": f"k{i}"}, "v": {"S": f"value{marker}"}})
        assert ddb.get_item(TableName=table, Key={"p": {"S": "k3"}})["Item"]["v"] == {"S": f"value{marker}"}
        admin = AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY)
        admin.call("CreateUser", UserName=f"u{marker}")
        secret = admin.call("CreateAccessKey", UserName=f"u{marker}")["AccessKey"]["SecretAccessKey"]
        description = ddb.describe_table(TableName=table)["Table"]
        topic = f"dynamoray.table.{description['TableId']}"
        table_records = _raw_records(tansu, topic, plain.partition_count(topic))
        iam_records = _raw_records(tansu, "dynamoray.iam", 1)
        catalog_records = _raw_records(tansu, "dynamoray.catalog", 1)
    finally:
        server.stop()
        asyncio.run(engine.close())
        forget(config)
    assert len(table_records) == 10 and iam_records and catalog_records
    for value in table_records + iam_records + catalog_records:
        assert enc.is_sealed_record(value)
        for needle in (f"value{marker}", table, f"u{marker}", secret):
            assert needle.encode() not in value
