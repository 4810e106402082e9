"""The settings every replica of a global table shares (``core.global_tables``): what a replica
changes to take another region's settings, and nothing when it already holds them."""

from dynamoray.core import global_tables, tables


def table(**request) -> dict:
    base = {"TableName": "t", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}
    return tables.new_table_description({**base, **request}, arn="arn:aws:dynamodb:us-east-1:1:table/t",
                                        table_id="id", now=1.0)


GSI = {"IndexName": "g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
       "Projection": {"ProjectionType": "ALL"}}


def test_a_replica_with_the_same_settings_changes_nothing():
    here = table()
    assert global_tables.settings_update(here, None, global_tables.replicated_settings(here, None)) == (None, None)


def test_billing_throughput_sse_and_ttl_differences_become_one_update():
    source = table(BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
    source["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": "arn:key"}
    settings = global_tables.replicated_settings(source, {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"})
    request, ttl = global_tables.settings_update(table(), None, settings)
    assert request == {"BillingMode": "PROVISIONED",
                       "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
                       "SSESpecification": {"Enabled": True, "SSEType": "KMS"}}
    assert ttl == {"Enabled": True, "AttributeName": "exp"}
    off = global_tables.replicated_settings(table(), None)
    assert global_tables.settings_update(source, {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}, off) == (
        {"BillingMode": "PAY_PER_REQUEST", "SSESpecification": {"Enabled": False}},
        {"Enabled": False, "AttributeName": "exp"})


def test_indexes_change_one_per_round_deletes_first():
    with_index = table(AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                             {"AttributeName": "g", "AttributeType": "S"}],
                       GlobalSecondaryIndexes=[GSI])
    request, _ = global_tables.settings_update(table(), None, global_tables.replicated_settings(with_index, None))
    assert request == {"AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
                       "GlobalSecondaryIndexUpdates": [{"Create": GSI}]}
    request, _ = global_tables.settings_update(with_index, None, global_tables.replicated_settings(table(), None))
    assert request == {"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "g"}}]}


def test_only_shared_members_propagate_and_only_active_replicas_become_updating():
    assert global_tables.propagates({"BillingMode": "PAY_PER_REQUEST"})
    assert not global_tables.propagates({"TableClass": "STANDARD_INFREQUENT_ACCESS", "DeletionProtectionEnabled": True})
    described = global_tables.with_replica(global_tables.with_replica(table(), "a", "ACTIVE"), "b", "CREATING")
    updated = global_tables.with_updating(described)
    assert updated["Replicas"] == [{"RegionName": "a", "ReplicaStatus": "UPDATING"},
                                   {"RegionName": "b", "ReplicaStatus": "CREATING"}]
