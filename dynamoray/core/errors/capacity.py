"""Capacity: throttled requests (``core/throttle.py``), capacity limits, and the admin API's
capacity, audit and usage calls (``gateway/admin_capacity.py``)."""

from __future__ import annotations

from .base import DynamoError, limit_exceeded, validation


def item_collection_size_limit_exceeded() -> DynamoError:
    return DynamoError(
        "ItemCollectionSizeLimitExceededException",
        "Collection size exceeded.",
    )


def provisioned_throughput_exceeded() -> DynamoError:
    return DynamoError(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    )


def throttling(message: str = "Throughput exceeds the current capacity for one or more global secondary indexes.") -> DynamoError:
    return DynamoError("ThrottlingException", message)


ON_DEMAND_HOT_KEY = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling "
    "your table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)


def throughput_exceeded(reason: str, resource: str, provisioned: bool, index: bool = False) -> DynamoError:
    """A throttled request (``core/throttle.py``), with its ThrottlingReason (``reason`` on the
    table or index ARN ``resource``).  Provisioned tables answer ProvisionedThroughputExceeded
    (``ThrottlingReasons``); on-demand ones ThrottlingException (``throttlingReasons``, lower case
    in the service model)."""
    reasons = [{"reason": reason, "resource": resource}]
    if provisioned:
        if index and "Write" in reason:
            message = (
                "The level of configured provisioned throughput for one or more global secondary indexes of "
                "the table was exceeded. Consider increasing your provisioning level for the under-provisioned "
                "global secondary indexes with the UpdateTable API"
            )
            return DynamoError("ProvisionedThroughputExceededException", message, ThrottlingReasons=reasons)
        return DynamoError("ProvisionedThroughputExceededException", provisioned_throughput_exceeded().message,
                           ThrottlingReasons=reasons)
    if reason.endswith("MaxOnDemandThroughputExceeded"):
        return DynamoError("ThrottlingException",
                           "Throughput exceeds the maximum OnDemandThroughput configured on table or index",
                           throttlingReasons=reasons)
    return DynamoError("ThrottlingException", ON_DEMAND_HOT_KEY, throttlingReasons=reasons)


def throttling_cancellation(provisioned: bool) -> dict:
    """A transaction item's CancellationReason when its table or index is throttled."""
    message = provisioned_throughput_exceeded().message if provisioned else ON_DEMAND_HOT_KEY
    return {"Code": "ThrottlingError", "Message": message}


def mode_switch_limited(days: str) -> DynamoError:
    """UpdateTable to PAY_PER_REQUEST sooner than the switch interval allows (``gateway/throttling.py``)."""
    return limit_exceeded(f"Subscriber limit exceeded: Update to PayPerRequest mode are limited to once in {days} day(s).")


def request_limit_exceeded() -> DynamoError:
    return DynamoError(
        "RequestLimitExceeded",
        "Throughput exceeds the current throughput limit for your account. "
        "Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
    )


# --- capacity, audit and usage (the admin API: gateway/admin_capacity.py) -------------------------


def capacity_feature_off(feature: str) -> DynamoError:
    """An admin call about a part of issue 10 the server runs without (``--no-audit``, ...)."""
    return validation(f"{feature} is not enabled on this server")


def capacity_parameter(message: str) -> DynamoError:
    return validation(message)
