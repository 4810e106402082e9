"""SSESpecification and SSEDescription: DynamoDB's encryption settings of a table (pure).

Every table is encrypted at rest.  Without SSESpecification, or with ``Enabled: false``, DynamoDB
uses an AWS owned key and DescribeTable shows no SSEDescription.  ``Enabled: true`` (or only
``SSEType: KMS``) uses a KMS key: ``KMSMasterKeyId`` when given (key id, key ARN, alias or alias
ARN), else the AWS managed key ``alias/aws/dynamodb``; DescribeTable then shows
``{"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": <the key's ARN>}``.

Checking a specification (:func:`requested`) is pure; naming the key's ARN needs the key provider
(``gateway/sse.py``), after which :func:`with_key`, :func:`updated` and :func:`restored` shape the
description.  dynamoray applies a change at once: no ``UPDATING`` phase, and records already
written keep their key (new ones take the new key), where DynamoDB re-encrypts in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import errors

SSE = "SSEDescription"
MANAGED_KEY = "alias/aws/dynamodb"


@dataclass(frozen=True, slots=True)
class Requested:
    """What a valid SSESpecification asks for: a KMS key (``key_id`` None: the AWS managed one),
    or (``kms`` False) the AWS owned key."""

    kms: bool
    key_id: str | None = None


def requested(spec: dict | None) -> Requested | None:
    """The meaning of an SSESpecification (None when absent), with DynamoDB's validation errors."""
    if spec is None:
        return None
    enabled, sse_type, key_id = spec.get("Enabled"), spec.get("SSEType"), spec.get("KMSMasterKeyId")
    if enabled is False:
        if sse_type is not None:
            raise errors.sse_type_without_enabled()
        if key_id is not None:
            raise errors.sse_key_without_enabled()
        return Requested(False)
    if sse_type is not None and sse_type != "KMS":
        raise errors.sse_type_not_supported(sse_type)
    if key_id is not None and sse_type is None:
        raise errors.sse_type_required()
    if enabled is None and sse_type is None:  # {}: the default, the AWS owned key
        return Requested(False)
    return Requested(True, key_id)


def description(key_arn: str) -> dict:
    return {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key_arn}


def key_of(table: dict) -> str | None:
    """The ARN of the KMS key a table description names, None for the AWS owned key."""
    return (table.get(SSE) or {}).get("KMSMasterKeyArn")


def with_key(table: dict, key_arn: str | None) -> dict:
    """The description with its SSE set to ``key_arn`` (None: the AWS owned key, no SSEDescription)."""
    out = {k: v for k, v in table.items() if k != SSE}
    if key_arn is not None:
        out[SSE] = description(key_arn)
    return out


def check_update(table: dict, wanted: Requested) -> None:
    """UpdateTable's own refusals: disabling what is the default, or naming (by ARN) the key in use."""
    current = key_of(table)
    if not wanted.kms and current is None:
        raise errors.sse_already_default()
    if wanted.kms and wanted.key_id is not None and wanted.key_id == current:
        raise errors.sse_same_key()


def restored(table: dict, source: dict, override: Requested | None, key_arn: str | None) -> dict:
    """A restored table's SSE: the source's, or the override's (its key resolved to ``key_arn``)."""
    if override is None:
        return with_key(table, key_of(source))
    return with_key(table, key_arn if override.kms else None)
