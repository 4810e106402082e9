"""Protocol: an unknown operation, internal and retryable server errors, and the "moved" answer a
host gives for shards it does not own."""

from __future__ import annotations

from .base import DynamoError


def unknown_operation() -> DynamoError:
    return DynamoError("UnknownOperationException", "")


def internal_server_error(message: str = "Internal server error") -> DynamoError:
    return DynamoError("InternalServerError", message, status=500)


def service_unavailable(message: str = "The service is currently unavailable or busy.") -> DynamoError:
    """503: retryable; the SDKs back off and retry it (a partition is restarting, say)."""
    return DynamoError("ServiceUnavailable", message, status=503)


PARTITION_MOVED = "ServiceUnavailable"  # what a "moved" answer looks like if it ever reached a client


def partition_moved(version: int) -> DynamoError:
    """A host's answer for shards it does not own (any more): the engine re-reads the table's
    partition map (at least ``version``) and retries.  A 503, should it ever reach a client."""
    return DynamoError(PARTITION_MOVED, "The partition moved; retry the request.", status=503,
                       moved_version=version)


def is_partition_moved(error: DynamoError) -> bool:
    return error.error_type == PARTITION_MOVED and "moved_version" in error.extra


def partition_move_refused(reason: str) -> DynamoError:
    """A split or move of a table's range that cannot be made (now): the admin API's answer."""
    return DynamoError("ValidationException", f"The partition cannot be moved: {reason}")
