"""Global tables on Kafka: two regions, each its own Tansu broker (its own "cluster") with its
table logs on it and ``kafka_bootstrap`` in the regions file, replicate topic to topic: each
region's changes are appended, encrypted, to a replication topic in the other region's cluster,
which that region follows and applies with last-writer-wins, resuming from its checkpoint."""

from __future__ import annotations

import time

import pytest

from dynamoray.actors.mirror import mirror_topic

from .global_regions import ACCESS_KEY, SECRET_KEY, Region, items, kafka_log, replica_active, wait_for

EAST, WEST = "us-east-1", "eu-west-1"


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    from dynamoray.gateway.runner import free_port
    from tests.kafka_broker import start_tansu, stop_tansu

    root = tmp_path_factory.mktemp("kafka-regions")
    brokers = {name: start_tansu(root / f"tansu-{name}.log") for name in (EAST, WEST)}
    mapping = {name: {"endpoint": f"http://127.0.0.1:{free_port()}", "access_key_id": ACCESS_KEY,
                      "secret_access_key": SECRET_KEY, "kafka_bootstrap": brokers[name][1]} for name in (EAST, WEST)}
    found = {name: Region(name, root / name, mapping, kafka=brokers[name][1]).start() for name in (EAST, WEST)}
    yield found, {name: bootstrap for name, (_, bootstrap) in brokers.items()}
    for region in found.values():
        region.stop()
    for proc, _ in brokers.values():
        stop_tansu(proc)


def values(client, table: str) -> dict:
    return {k: i["v"]["S"] for k, i in items(client, table).items()}


def test_changes_go_topic_to_topic_both_ways_encrypted_and_resume_after_a_restart(regions):
    found, brokers = regions
    east, west = found[EAST].client(), found[WEST].client()
    east.create_table(TableName="mirrored", KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                      BillingMode="PAY_PER_REQUEST")
    east.put_item(TableName="mirrored", Item={"p": {"S": "before"}, "v": {"S": "plain-secret-value"}})
    east.update_table(TableName="mirrored", ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    wait_for(lambda: replica_active(east, "mirrored", WEST), timeout=60)
    west.put_item(TableName="mirrored", Item={"p": {"S": "from-west"}, "v": {"S": "w"}})
    expected = {"before": "plain-secret-value", "from-west": "w"}
    for client in (east, west):
        wait_for(lambda c=client: values(c, "mirrored") == expected, timeout=60)
    # both ways through the replication topics, in the target's own cluster
    assert found[EAST].service.follower.applied >= 1 and found[WEST].service.follower.applied >= 1
    west_cluster = kafka_log(brokers[WEST])
    try:
        topic = mirror_topic(EAST)
        records = west_cluster.read(topic, 0, 0, 100)
        assert records and all(b"plain-secret-value" not in r.value for r in records)  # encrypted at rest
    finally:
        west_cluster.close()
    assert mirror_topic(WEST) not in _topics(brokers[WEST])  # a region does not mirror into itself

    # the target region stops; the source keeps mirroring into its cluster; it resumes on restart
    found[WEST].stop()
    try:
        for i in range(20):
            east.put_item(TableName="mirrored", Item={"p": {"S": f"e{i}"}, "v": {"S": str(i)}})
        wait_for(lambda: all(s.pending == 0 for s in found[EAST].service.metrics()), timeout=60)
    finally:
        found[WEST].start()
    west = found[WEST].client()
    expected.update({f"e{i}": str(i) for i in range(20)})
    wait_for(lambda: values(west, "mirrored") == expected, timeout=60)
    assert (found[WEST].directory / "replication" / "mirror" / f"{EAST}.json").exists()

    # conflicting writes to the same items converge
    for round_ in range(10):
        for name, client in ((EAST, east), (WEST, west)):
            client.put_item(TableName="mirrored", Item={"p": {"S": f"k{round_ % 3}"}, "v": {"S": f"{name}-{round_}"}})

    def converged():
        seen = values(east, "mirrored"), values(west, "mirrored")
        return seen[0] == seen[1] and seen[0]

    time.sleep(0.3)
    final = wait_for(converged, timeout=60)
    time.sleep(0.5)
    assert converged() == final


def _topics(bootstrap: str) -> set[str]:
    from confluent_kafka.admin import AdminClient

    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
