"""Table metadata: CreateTable/UpdateTable requests to TableDescriptions, with DynamoDB's rules.

A table description is kept in DynamoDB's wire shape (what DescribeTable returns), so the catalog
hands it out as it is.  Time and ids come in as arguments: this module does no I/O.
"""

from __future__ import annotations

import copy
from typing import Any

from . import errors, keys

PAY_PER_REQUEST, PROVISIONED = "PAY_PER_REQUEST", "PROVISIONED"


def _throughput(request: dict, mode: str) -> dict:
    given = request.get("ProvisionedThroughput")
    if mode == PAY_PER_REQUEST:
        if given is not None:
            raise errors.invalid_parameter(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )
        return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if given is None:
        raise errors.invalid_parameter(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    return {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": given["ReadCapacityUnits"],
        "WriteCapacityUnits": given["WriteCapacityUnits"],
    }


def new_table_description(request: dict, *, arn: str, table_id: str, now: float) -> dict:
    """Validate a CreateTable request and return the new table's description (status ACTIVE)."""
    if request.get("GlobalSecondaryIndexes") or request.get("LocalSecondaryIndexes"):
        raise errors.validation("dynamoray does not support secondary indexes yet")
    schema = keys.key_schema_from_wire(request["KeySchema"], request["AttributeDefinitions"])
    keys.check_definitions_used(request["AttributeDefinitions"], list(schema.names), has_indexes=False)
    mode = request.get("BillingMode") or PROVISIONED
    description: dict[str, Any] = {
        "AttributeDefinitions": copy.deepcopy(request["AttributeDefinitions"]),
        "TableName": request["TableName"],
        "KeySchema": copy.deepcopy(request["KeySchema"]),
        "TableStatus": "ACTIVE",
        "CreationDateTime": now,
        "ProvisionedThroughput": _throughput(request, mode),
        "TableSizeBytes": 0,
        "ItemCount": 0,
        "TableArn": arn,
        "TableId": table_id,
        "DeletionProtectionEnabled": bool(request.get("DeletionProtectionEnabled", False)),
        "TableClassSummary": {"TableClass": request.get("TableClass") or "STANDARD"},
    }
    if mode == PAY_PER_REQUEST:
        description["BillingModeSummary"] = {
            "BillingMode": PAY_PER_REQUEST, "LastUpdateToPayPerRequestDateTime": now,
        }
    stream = request.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        raise errors.validation("dynamoray does not support streams yet")
    return description


def key_schema_of(description: dict) -> keys.KeySchema:
    return keys.key_schema_from_wire(description["KeySchema"], description["AttributeDefinitions"])


def updated_description(description: dict, request: dict, now: float) -> dict:
    """Apply an UpdateTable request (billing mode, throughput, deletion protection, table class)."""
    new = copy.deepcopy(description)
    changed = False
    mode = request.get("BillingMode")
    current = (description.get("BillingModeSummary") or {}).get("BillingMode", PROVISIONED)
    if request.get("GlobalSecondaryIndexUpdates") or request.get("ReplicaUpdates"):
        raise errors.validation("dynamoray does not support secondary indexes or replicas yet")
    if request.get("StreamSpecification", {}).get("StreamEnabled"):
        raise errors.validation("dynamoray does not support streams yet")
    target = mode or current
    if mode is not None and mode != current:
        changed = True
        if mode == PAY_PER_REQUEST:
            new["BillingModeSummary"] = {
                "BillingMode": PAY_PER_REQUEST, "LastUpdateToPayPerRequestDateTime": now,
            }
        else:
            new["BillingModeSummary"] = {"BillingMode": PROVISIONED}
    if "ProvisionedThroughput" in request or (mode == PROVISIONED and current != PROVISIONED):
        new["ProvisionedThroughput"] = _throughput(request, target)
        changed = True
    elif mode == PAY_PER_REQUEST and current != PAY_PER_REQUEST:
        new["ProvisionedThroughput"] = _throughput({}, PAY_PER_REQUEST)
    if "DeletionProtectionEnabled" in request:
        new["DeletionProtectionEnabled"] = bool(request["DeletionProtectionEnabled"])
        changed = True
    if "TableClass" in request:
        new["TableClassSummary"] = {"TableClass": request["TableClass"]}
        changed = True
    if not changed:
        raise errors.validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
            "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
        )
    return new
