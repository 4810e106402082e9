"""DynamoDB Streams (``events/streams.py``, the stream operations) and StreamSpecification."""

from __future__ import annotations

from .base import DynamoError, invalid_parameter, resource_not_found, validation


def expired_iterator(message: str) -> DynamoError:
    return DynamoError("ExpiredIteratorException", message)


def trimmed_data_access(message: str) -> DynamoError:
    return DynamoError("TrimmedDataAccessException", message)


def _java_date(ms: int) -> str:
    """A UTC time the way Java's ``Date.toString`` prints it (``Tue Jun 13 18:37:38 UTC 2017``)."""
    import datetime

    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return moment.strftime("%a %b %d %H:%M:%S UTC %Y")


def iterator_expired(issued_ms: int, now_ms: int, max_age_ms: int) -> DynamoError:
    return expired_iterator(
        f"Iterator expired. The iterator was created at time {_java_date(issued_ms)} while right now it "
        f"is {_java_date(now_ms)} which is further in the future than the tolerated delay of "
        f"{max_age_ms} milliseconds."
    )


def records_trimmed() -> DynamoError:
    return trimmed_data_access(
        "The operation attempted to read past the oldest stream record in a shard: the requested "
        "records are older than the 24 hour retention period and have been trimmed"
    )


def stream_not_found(arn: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Stream: {arn} not found")


def shard_not_found(shard_id: str, arn: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Shard: {shard_id} in Stream: {arn} not found")


def invalid_stream_arn(arn: str) -> DynamoError:
    return validation(f"Invalid StreamArn: {arn}")


def invalid_shard_iterator() -> DynamoError:
    return validation("Invalid ShardIterator")


def invalid_sequence_number(sequence_number: str, shard_id: str) -> DynamoError:
    return validation(f"Invalid SequenceNumber {sequence_number} for shard {shard_id}")


def sequence_number_required(iterator_type: str) -> DynamoError:
    return validation(f"SequenceNumber is required when ShardIteratorType is {iterator_type}")


def sequence_number_not_allowed(iterator_type: str) -> DynamoError:
    return validation(f"SequenceNumber must not be specified when ShardIteratorType is {iterator_type}")


def timestamp_required() -> DynamoError:
    return validation("Timestamp is required when ShardIteratorType is AT_TIMESTAMP")


def timestamp_in_future() -> DynamoError:
    return validation("The Timestamp must not be in the future")


def stream_view_type_required(creating: bool) -> DynamoError:
    if creating:
        return invalid_parameter("Table is being created with a stream enabled, UpdateViewType is required")
    return invalid_parameter("If stream is being enabled then UpdateViewType is required")


def stream_view_type_forbidden(creating: bool) -> DynamoError:
    if creating:
        return invalid_parameter("Table is being created with a stream disabled, UpdateViewType should not be specified")
    return invalid_parameter("If stream is being disabled, then UpdateViewType must not be specified")


def stream_already_enabled(table: str) -> DynamoError:
    return validation(f"Table already has an enabled stream: TableName: {table}")


def no_stream_to_disable(table: str) -> DynamoError:
    return validation(f"Table has no stream to disable: TableName: {table}")
