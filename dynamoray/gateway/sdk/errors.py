"""The SDK's exceptions: one base class, :class:`DynamoDBError`, and a subclass per DynamoDB error name.

An error answer of the service becomes the subclass named by its ``__type`` (``ResourceNotFoundException``,
``ConditionalCheckFailedException``, ...), or :class:`DynamoDBError` itself for a name this module does
not know; ``error.code`` is always the wire name.  Failures on the client side (no connection, a
response that fails its CRC32 check, a waiter that times out, items left unprocessed) are
subclasses too, so ``except DynamoDBError`` catches everything the SDK raises on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class DynamoDBError(Exception):
    """Base of every SDK error.  ``code`` is DynamoDB's error name, ``message`` its text, ``status``
    the HTTP status (0 when no answer came), ``body`` the decoded error body."""

    code = "DynamoDBError"

    def __init__(self, message: str, *, code: str | None = None, status: int = 0,
                 request_id: str | None = None, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code or self.code}: {message}")
        self.code = code or type(self).code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.body: dict[str, Any] = body or {}


# --- client-side failures ------------------------------------------------------------------------


class EndpointConnectionError(DynamoDBError):
    """No answer: the connection failed, was reset or timed out (retried, see ``retry.py``)."""

    code = "EndpointConnectionError"


class ChecksumMismatchError(DynamoDBError):
    """The response body does not match its ``x-amz-crc32`` header (retried)."""

    code = "ChecksumMismatch"


class NoCredentialsError(DynamoDBError):
    """Neither explicit keys nor botocore's credential chain gave credentials."""

    code = "NoCredentials"


class WaiterTimeoutError(DynamoDBError):
    """A ``wait_until_*`` helper gave up before the table or restore reached the wanted state."""

    code = "WaiterTimeout"


class UnprocessedItemsError(DynamoDBError):
    """A batch kept coming back with unprocessed requests after every retry.  ``unprocessed``
    holds what was left, in the wire form of ``UnprocessedItems`` or ``UnprocessedKeys``."""

    code = "UnprocessedItems"

    def __init__(self, message: str, unprocessed: dict[str, Any]) -> None:
        super().__init__(message)
        self.unprocessed = unprocessed


# --- the service's errors --------------------------------------------------------------------------


class ValidationException(DynamoDBError):
    code = "ValidationException"


class SerializationException(DynamoDBError):
    code = "SerializationException"


class ConditionalCheckFailedException(DynamoDBError):
    """``item`` is the item as it was (plain Python) when the write asked for it with
    ``return_values_on_condition_check_failure="ALL_OLD"``, else None."""

    code = "ConditionalCheckFailedException"

    @property
    def item(self) -> dict[str, Any] | None:
        from .convert import item_from_wire

        raw = self.body.get("Item")
        return item_from_wire(raw) if isinstance(raw, dict) else None


@dataclass(frozen=True)
class CancellationReason:
    """Why one action of a cancelled transaction failed (``code`` is ``"None"`` for those that did not)."""

    code: str
    message: str | None
    item: dict[str, Any] | None


class TransactionCanceledException(DynamoDBError):
    """``reasons`` has one :class:`CancellationReason` per action, in request order."""

    code = "TransactionCanceledException"

    @property
    def reasons(self) -> list[CancellationReason]:
        from .convert import item_from_wire

        out = []
        for raw in self.body.get("CancellationReasons") or []:
            item = raw.get("Item")
            out.append(CancellationReason(str(raw.get("Code", "None")), raw.get("Message"),
                                          item_from_wire(item) if isinstance(item, dict) else None))
        return out


class ResourceNotFoundException(DynamoDBError):
    code = "ResourceNotFoundException"


class ResourceInUseException(DynamoDBError):
    code = "ResourceInUseException"


class ProvisionedThroughputExceededException(DynamoDBError):
    code = "ProvisionedThroughputExceededException"


class ThrottlingException(DynamoDBError):
    code = "ThrottlingException"


class RequestLimitExceeded(DynamoDBError):
    code = "RequestLimitExceeded"


class InternalServerError(DynamoDBError):
    code = "InternalServerError"


class LimitExceededException(DynamoDBError):
    code = "LimitExceededException"


class TransactionConflictException(DynamoDBError):
    code = "TransactionConflictException"


class TransactionInProgressException(DynamoDBError):
    code = "TransactionInProgressException"


class IdempotentParameterMismatchException(DynamoDBError):
    code = "IdempotentParameterMismatchException"


class ItemCollectionSizeLimitExceededException(DynamoDBError):
    code = "ItemCollectionSizeLimitExceededException"


class ReplicatedWriteConflictException(DynamoDBError):
    code = "ReplicatedWriteConflictException"


class DuplicateItemException(DynamoDBError):
    code = "DuplicateItemException"


class BackupNotFoundException(DynamoDBError):
    code = "BackupNotFoundException"


class BackupInUseException(DynamoDBError):
    code = "BackupInUseException"


class TableNotFoundException(DynamoDBError):
    code = "TableNotFoundException"


class TableAlreadyExistsException(DynamoDBError):
    code = "TableAlreadyExistsException"


class TableInUseException(DynamoDBError):
    code = "TableInUseException"


class ContinuousBackupsUnavailableException(DynamoDBError):
    code = "ContinuousBackupsUnavailableException"


class PointInTimeRecoveryUnavailableException(DynamoDBError):
    code = "PointInTimeRecoveryUnavailableException"


class InvalidRestoreTimeException(DynamoDBError):
    code = "InvalidRestoreTimeException"


class PolicyNotFoundException(DynamoDBError):
    code = "PolicyNotFoundException"


class IndexNotFoundException(DynamoDBError):
    code = "IndexNotFoundException"


class ExpiredIteratorException(DynamoDBError):
    code = "ExpiredIteratorException"


class TrimmedDataAccessException(DynamoDBError):
    code = "TrimmedDataAccessException"


class AccessDeniedException(DynamoDBError):
    code = "AccessDeniedException"


class UnrecognizedClientException(DynamoDBError):
    code = "UnrecognizedClientException"


class InvalidSignatureException(DynamoDBError):
    code = "InvalidSignatureException"


class MissingAuthenticationTokenException(DynamoDBError):
    code = "MissingAuthenticationTokenException"


class UnknownOperationException(DynamoDBError):
    code = "UnknownOperationException"


class RequestEntityTooLarge(DynamoDBError):
    code = "RequestEntityTooLarge"


class ServiceUnavailable(DynamoDBError):
    code = "ServiceUnavailable"


def _subclasses(base: type[DynamoDBError]) -> list[type[DynamoDBError]]:
    found = []
    for cls in base.__subclasses__():
        found.append(cls)
        found.extend(_subclasses(cls))
    return found


ERRORS: dict[str, type[DynamoDBError]] = {cls.code: cls for cls in _subclasses(DynamoDBError)}


def from_response(status: int, body: dict[str, Any], request_id: str | None) -> DynamoDBError:
    """The exception for an error answer (``body`` is the decoded JSON, possibly empty)."""
    code = str(body.get("__type") or "").rsplit("#", 1)[-1]
    if not code:
        code = "InternalServerError" if status >= 500 else f"HTTP{status}"
    message = body.get("message", body.get("Message"))
    cls = ERRORS.get(code, DynamoDBError)
    return cls(str(message) if message is not None else "", code=code, status=status,
               request_id=request_id, body=body)
