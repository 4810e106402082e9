"""SSESpecification's keys: from the key a request names to its ARN, through the key provider.

With encryption at rest on (``ctx.keys``, a KeyManager), a key is looked up in the keyring or KMS:
an unknown one is DynamoDB's "KMS validation error" (nothing is created or changed), and a key
a table starts using gets its first data key here, so the partitions find it ready.  With
``--no-encryption`` the settings are only recorded: an ARN is taken as it is, a key id becomes its
ARN in this region, an alias a stable made-up key id.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ..core import errors, sse
from ..events.keyring import KeyDisabled, KeyNotFound, alias_arn, key_arn
from ..events.kms import KmsRefused


def _recorded_only(ctx: Any, key_id: str) -> str:
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/"):
        key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, alias_arn(ctx.region, ctx.account_id, key_id)))
    return key_arn(ctx.region, ctx.account_id, key_id)


def _resolve(keys: Any, key_id: str | None) -> str:
    """(worker thread) The ARN of the master key and, once, its first data key."""
    arn = keys.provider.managed_key() if key_id in (None, sse.MANAGED_KEY) else keys.resolve(key_id)
    keys.ensure_data_key(arn)
    return arn


async def key_arn_of(ctx: Any, wanted: sse.Requested | None) -> str | None:
    """The ARN of the KMS key ``wanted`` names (None for the AWS owned key or no request)."""
    if wanted is None or not wanted.kms:
        return None
    keys = getattr(ctx, "keys", None)
    if keys is None:
        return _recorded_only(ctx, wanted.key_id or sse.MANAGED_KEY)
    try:
        return await asyncio.to_thread(_resolve, keys, wanted.key_id)
    except KeyNotFound as error:
        raise errors.kms_key_not_found(error.kind, error.arn, str(uuid.uuid4())) from None
    except KeyDisabled as error:
        raise errors.kms_key_disabled(error.arn, str(uuid.uuid4())) from None
    except KmsRefused as error:  # access denied, key state or usage, throttled, unreachable: a 400
        if error.code == "ThrottlingException":
            raise errors.kms_throttled(error.detail, str(uuid.uuid4())) from None
        raise errors.kms_refused(error.code, error.detail, str(uuid.uuid4())) from None


def kms_error(error: Exception) -> errors.DynamoError | None:
    """DynamoDB's 400 for the key provider refusing a key (not found, disabled, access denied, key
    state or usage, throttled, unreachable), or None for another error."""
    if isinstance(error, KeyNotFound):
        return errors.kms_key_not_found(error.kind, error.arn, str(uuid.uuid4()))
    if isinstance(error, KeyDisabled):
        return errors.kms_key_disabled(error.arn, str(uuid.uuid4()))
    if isinstance(error, KmsRefused):
        if error.code == "ThrottlingException":
            return errors.kms_throttled(error.detail, str(uuid.uuid4()))
        return errors.kms_refused(error.code, error.detail, str(uuid.uuid4()))
    return None


async def resolved_override(ctx: Any, body: dict) -> dict:
    """A restore request whose SSESpecificationOverride names its key by ARN (checked first)."""
    override = body.get("SSESpecificationOverride")
    wanted = sse.requested(override)
    if wanted is None or not wanted.kms:
        return body
    arn = await key_arn_of(ctx, wanted)
    return {**body, "SSESpecificationOverride": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": arn}}


# --- the data plane: tables whose KMS key has become unusable (actors/key_health.py) -----------

DATA_PLANE = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                        "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})


def _tables_of(body: dict) -> list[str]:
    names = [body["TableName"]] if isinstance(body.get("TableName"), str) else []
    if isinstance(body.get("RequestItems"), dict):
        names += list(body["RequestItems"])
    for action in body.get("TransactItems") or ():
        if isinstance(action, dict):
            names += [a["TableName"] for a in action.values() if isinstance(a, dict) and "TableName" in a]
    return names


def guard(keys: Any, name: str, body: dict) -> None:
    """Refuse a data-plane call on a table whose KMS key is known to be unusable (a 400)."""
    if name not in DATA_PLANE:
        return
    health = keys.health
    health.start()  # once: the checks run on a thread of their own
    if not health.any_refused():
        return
    for table in _tables_of(body):
        refusal = health.refusal(table)
        if refusal is not None:
            raise errors.kms_inaccessible(table, refusal.arn, refusal.code)


def inaccessible_error(error: Any, body: Any) -> errors.DynamoError:
    """The 400 for a call that met data sealed under a KMS key unusable now (an
    ``events.encryption.KeyInaccessible``: e.g. a table opened while its key was refused)."""
    names = _tables_of(body) if isinstance(body, dict) else []
    return errors.kms_inaccessible(names[0] if names else "?", error.master_key, error.code)


def describe_inaccessible(keys: Any, table: dict) -> dict:
    """DescribeTable's view of a table whose key is unusable: INACCESSIBLE_ENCRYPTION_CREDENTIALS,
    with SSEDescription.InaccessibleEncryptionDateTime."""
    if keys is None:
        return table
    refusal = (keys.health.refusal(table.get("TableName", ""))  # by the key the table names, too: known
               or keys.health.refusal_of_key((table.get(sse.SSE) or {}).get("KMSMasterKeyArn")))  # at start
    if refusal is None:
        return table
    described = {**(table.get(sse.SSE) or {}), "InaccessibleEncryptionDateTime": refusal.since}
    return {**table, "TableStatus": "INACCESSIBLE_ENCRYPTION_CREDENTIALS", sse.SSE: described}
