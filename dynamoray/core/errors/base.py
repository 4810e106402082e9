"""The one error type, :class:`DynamoError`, and the shared constructors every area builds on.

``DynamoError`` carries the wire name, the message, the HTTP status and any extra fields of the
wire shape; ``validation``, ``invalid_parameter``, ``serialization``, ``resource_not_found``,
``resource_in_use`` and ``limit_exceeded`` are the generic errors the area modules specialise.
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


INVALID_PARAMS = "One or more parameter values were invalid: "
INVALID_PARAMS_ARE = "One or more parameter values are not valid. "


def validation(message: str) -> DynamoError:
    return DynamoError("ValidationException", message)


def invalid_parameter(detail: str) -> DynamoError:
    """``One or more parameter values were invalid: <detail>``."""
    return validation(INVALID_PARAMS + detail)


def serialization(message: str) -> DynamoError:
    return DynamoError("SerializationException", message)


def resource_not_found(message: str = "Requested resource not found") -> DynamoError:
    return DynamoError("ResourceNotFoundException", message)


def resource_in_use(message: str) -> DynamoError:
    return DynamoError("ResourceInUseException", message)


def limit_exceeded(message: str) -> DynamoError:
    return DynamoError("LimitExceededException", message)
