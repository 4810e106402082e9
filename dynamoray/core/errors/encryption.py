"""Encryption at rest: SSESpecification, and KMS keys that KMS refuses or that became unusable."""

from __future__ import annotations

from .base import DynamoError, invalid_parameter, validation


def sse_type_without_enabled() -> DynamoError:
    return invalid_parameter("SSEType can not be specified if Enabled is false")


def sse_key_without_enabled() -> DynamoError:
    return invalid_parameter("KMSMasterKeyId can not be specified if Enabled is false")


def sse_type_not_supported(sse_type: str) -> DynamoError:
    return invalid_parameter(f"SSEType {sse_type} is not supported")


def sse_type_required() -> DynamoError:
    return invalid_parameter("SSEType KMS is required if KMSMasterKeyId is specified")


def sse_already_default() -> DynamoError:
    return invalid_parameter("Table is already encrypted by default")


def sse_same_key() -> DynamoError:
    return invalid_parameter(
        "Table is already encrypted with given KMSMasterKeyId. Use KMSMasterKeyId parameter if you want to change "
        "Master Key"
    )


def _kms(kind: str, exception: str, detail: str, request_id: str) -> str:
    return (f"KMS {kind} error: com.amazonaws.services.kms.model.{exception}: {detail} (Service: AWSKMS; "
            f"Status Code: 400; Error Code: {exception}; Request ID: {request_id}; Proxy: null)")


def kms_key_not_found(kind: str, arn: str, request_id: str) -> DynamoError:
    """``kind``: "Alias" or "Key"; ``arn``: what was asked for, as an ARN."""
    detail = f"Alias {arn} is not found." if kind == "Alias" else f"Key '{arn}' does not exist"
    return validation(_kms("validation", "NotFoundException", detail, request_id))


def kms_key_disabled(arn: str, request_id: str) -> DynamoError:
    return validation(_kms("key disabled", "DisabledException", f"{arn} is disabled.", request_id))


def kms_refused(code: str, detail: str, request_id: str) -> DynamoError:
    """CreateTable/UpdateTable/a restore naming a KMS key that KMS refuses to use: access denied,
    a key in another state (pending deletion...), an asymmetric or signing key, KMS unreachable."""
    kind = {"AccessDeniedException": "access denied", "KMSInvalidStateException": "key state",
            "InvalidKeyUsageException": "key usage", "KMSUnreachable": "unavailable"}.get(code, "validation")
    return validation(_kms(kind, code, detail, request_id))


def kms_throttled(detail: str, request_id: str) -> DynamoError:
    """KMS throttled the server's call: DynamoDB's retryable ThrottlingException (400)."""
    return DynamoError("ThrottlingException", _kms("throttling", "ThrottlingException", detail, request_id))


def kms_inaccessible(table: str, arn: str, code: str) -> DynamoError:
    """A data-plane call on a table whose KMS key has become unusable (the table is
    INACCESSIBLE_ENCRYPTION_CREDENTIALS until the key is usable again)."""
    return validation(f"KMS key access denied error: the KMS key {arn} of table {table} is inaccessible "
                      f"({code}); the table is INACCESSIBLE_ENCRYPTION_CREDENTIALS until the key is usable again")


def encryption_off() -> DynamoError:
    return validation("Encryption at rest is off on this server (dynamoray serve --no-encryption)")
