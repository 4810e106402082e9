"""Every DynamoDB error dynamoray can raise, with its wire name, message and HTTP status.

One exception type, :class:`DynamoError`, carries the error's wire name (``ValidationException``,
``ConditionalCheckFailedException``, ...), its message, the HTTP status and any extra fields the
wire shape has (``Item`` for a failed condition, ``CancellationReasons`` for a cancelled
transaction).  Code anywhere raises it through the named constructors below; the gateway alone
turns it into HTTP (``DynamoError.wire_body``).  Messages follow DynamoDB's own wording, typos
included, so that clients matching on them keep working.
"""

from __future__ import annotations

from typing import Any

# The namespace DynamoDB puts in front of the error name in ``__type``.
_DYNAMODB_NS = "com.amazonaws.dynamodb.v20120810#"
_CORAL_VALIDATE_NS = "com.amazon.coral.validate#"
_CORAL_SERVICE_NS = "com.amazon.coral.service#"

_NAMESPACES = {
    "ValidationException": _CORAL_VALIDATE_NS,
    "SerializationException": _CORAL_SERVICE_NS,
    "UnrecognizedClientException": _CORAL_SERVICE_NS,
    "MissingAuthenticationTokenException": _CORAL_SERVICE_NS,
    "InvalidSignatureException": _CORAL_SERVICE_NS,
    "IncompleteSignatureException": _CORAL_SERVICE_NS,
    "AccessDeniedException": _CORAL_SERVICE_NS,
    "UnknownOperationException": _CORAL_SERVICE_NS,
    "InternalFailure": _CORAL_SERVICE_NS,
    "ServiceUnavailable": _CORAL_SERVICE_NS,
}


class DynamoError(Exception):
    """A DynamoDB error: ``error_type`` is the wire name, ``status`` the HTTP status."""

    __slots__ = ("error_type", "message", "status", "extra")

    def __init__(self, error_type: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.status = status
        self.extra = extra

    @property
    def wire_type(self) -> str:
        return _NAMESPACES.get(self.error_type, _DYNAMODB_NS) + self.error_type

    def wire_body(self) -> dict[str, Any]:
        """The JSON body DynamoDB sends for this error."""
        body: dict[str, Any] = {"__type": self.wire_type, "message": self.message}
        body.update(self.extra)
        return body

    def __reduce__(self):  # keep the error intact across process (Ray) boundaries
        return (_rebuild, (self.error_type, self.message, self.status, self.extra))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DynamoError)
            and (self.error_type, self.message, self.status, self.extra)
            == (other.error_type, other.message, other.status, other.extra)
        )

    __hash__ = Exception.__hash__


def _rebuild(error_type: str, message: str, status: int, extra: dict) -> DynamoError:
    return DynamoError(error_type, message, status, **extra)


# --- validation -------------------------------------------------------------------------------

INVALID_PARAMS = "One or more parameter values were invalid: "
INVALID_PARAMS_ARE = "One or more parameter values are not valid. "


def validation(message: str) -> DynamoError:
    return DynamoError("ValidationException", message)


def invalid_parameter(detail: str) -> DynamoError:
    """``One or more parameter values were invalid: <detail>``."""
    return validation(INVALID_PARAMS + detail)


def serialization(message: str) -> DynamoError:
    return DynamoError("SerializationException", message)


def invalid_expression(kind: str, detail: str) -> DynamoError:
    """``Invalid <kind>: <detail>``, e.g. kind ``ConditionExpression``."""
    return validation(f"Invalid {kind}: {detail}")


def expression_syntax(kind: str, token: str, near: str) -> DynamoError:
    return invalid_expression(kind, f'Syntax error; token: "{token}", near: "{near}"')


def reserved_keyword(kind: str, word: str) -> DynamoError:
    return invalid_expression(kind, f"Attribute name is a reserved keyword; reserved keyword: {word}")


def number_not_convertible() -> DynamoError:
    return validation("A value provided cannot be converted into a number")


def number_too_precise() -> DynamoError:
    return validation("Attempting to store more than 38 significant digits in a Number")


def number_overflow() -> DynamoError:
    return validation("Number overflow. Attempting to store a number with magnitude larger than supported range")


def number_underflow() -> DynamoError:
    return validation(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )


def item_too_large() -> DynamoError:
    return validation("Item size has exceeded the maximum allowed size")


def nesting_too_deep() -> DynamoError:
    return validation("Nesting Levels have exceeded supported limits")


# --- conditions, tables and items ----------------------------------------------------------------


def conditional_check_failed(item: dict | None = None) -> DynamoError:
    extra = {"Item": item} if item is not None else {}
    return DynamoError("ConditionalCheckFailedException", "The conditional request failed", **extra)


def resource_not_found(message: str = "Requested resource not found") -> DynamoError:
    return DynamoError("ResourceNotFoundException", message)


def table_not_found(table: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Table: {table} not found")


def resource_in_use(message: str) -> DynamoError:
    return DynamoError("ResourceInUseException", message)


def table_already_exists(table: str) -> DynamoError:
    return resource_in_use(f"Table already exists: {table}")


def limit_exceeded(message: str) -> DynamoError:
    return DynamoError("LimitExceededException", message)


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


def request_limit_exceeded() -> DynamoError:
    return DynamoError(
        "RequestLimitExceeded",
        "Throughput exceeds the current throughput limit for your account. "
        "Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
    )


# --- transactions --------------------------------------------------------------------------------


def transaction_canceled(reasons: list[dict]) -> DynamoError:
    codes = ", ".join(r.get("Code", "None") for r in reasons)
    return DynamoError(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons,
    )


def transaction_conflict() -> DynamoError:
    return DynamoError(
        "TransactionConflictException",
        "Transaction is ongoing for the item",
    )


def transaction_in_progress() -> DynamoError:
    return DynamoError("TransactionInProgressException", "Transaction is in progress")


def idempotent_parameter_mismatch() -> DynamoError:
    return DynamoError(
        "IdempotentParameterMismatchException",
        "Specified ClientRequestToken has already been used with a different request.",
    )


# --- security and protocol -----------------------------------------------------------------------


def unrecognized_client() -> DynamoError:
    return DynamoError("UnrecognizedClientException", "The security token included in the request is invalid.")


def missing_authentication_token() -> DynamoError:
    return DynamoError("MissingAuthenticationTokenException", "Request is missing Authentication Token")


def invalid_signature(message: str) -> DynamoError:
    return DynamoError("InvalidSignatureException", message)


def access_denied(message: str) -> DynamoError:
    return DynamoError("AccessDeniedException", message)


def unknown_operation() -> DynamoError:
    return DynamoError("UnknownOperationException", "")


def internal_server_error(message: str = "Internal server error") -> DynamoError:
    return DynamoError("InternalServerError", message, status=500)


# --- streams -------------------------------------------------------------------------------------


def expired_iterator(message: str) -> DynamoError:
    return DynamoError("ExpiredIteratorException", message)


def trimmed_data_access(message: str) -> DynamoError:
    return DynamoError("TrimmedDataAccessException", message)
