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


async def resolved_override(ctx: Any, body: dict) -> dict:
    """A restore request whose SSESpecificationOverride names its key by ARN (checked first)."""
    override = body.get("SSESpecificationOverride")
    wanted = sse.requested(override)
    if wanted is None or not wanted.kms:
        return body
    arn = await key_arn_of(ctx, wanted)
    return {**body, "SSESpecificationOverride": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": arn}}
