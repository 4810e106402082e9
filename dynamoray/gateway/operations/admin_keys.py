"""The admin API's key operations (root only): ``ListKeys``, ``DescribeKey``, ``CreateKey``, ``RotateKey``.

- ``CreateKey {Alias?, Description?}``: a customer master key in the local keyring, for a table's
  ``SSESpecification.KMSMasterKeyId`` (with KMS, keys are made in KMS).
- ``RotateKey {KeyId?, ReencryptFiles?}``: new material for a master key (the server's own by
  default) and a new data key under it; from then on new records are sealed with it, in every
  process within a second, and everything written before stays readable.  ``ReencryptFiles``
  also re-wraps the data key of every snapshot and backup file under the new material.
- ``ListKeys``, ``DescribeKey {KeyId}``: master keys, their aliases, versions and data keys.

``dynamoray keys ...`` (``keys_cli.py``) calls them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...actors.keys import reencrypt_files
from ...core import errors
from ...events.keyring import KeyDisabled, KeyNotFound, KeyUnavailable
from ..admin import ADMIN_SERVICE, is_root
from ..sse import kms_error
from . import operation


def _keys(ctx: Any) -> Any:
    if not is_root(ctx.principal):
        raise errors.access_denied(
            f"User: {ctx.principal.arn} is not authorized to perform this operation: "
            "only the root credentials may call the dynamoray admin API"
        )
    if getattr(ctx, "keys", None) is None:
        raise errors.encryption_off()
    return ctx.keys


def _key_id(body: dict, required: bool) -> str | None:
    value = body.get("KeyId")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise errors.validation("KeyId must be a key id, key ARN, alias name or alias ARN")
    return value


async def _run(function: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(function, *args)
    except (KeyNotFound, KeyDisabled, KeyUnavailable) as error:  # KMS refused the key: a 400
        found = kms_error(error)
        if found is None:
            raise
        raise found from None
    except ValueError as error:  # e.g. an alias that exists, or CreateKey with KMS
        raise errors.validation(str(error)) from None


@operation("ListKeys", service=ADMIN_SERVICE)
async def list_keys(ctx, body: dict) -> dict:
    keys = _keys(ctx)
    return {"Keys": await _run(keys.describe_keys)}


@operation("DescribeKey", service=ADMIN_SERVICE)
async def describe_key(ctx, body: dict) -> dict:
    keys = _keys(ctx)
    arn = await _run(keys.resolve, _key_id(body, True))
    found = [k for k in await _run(keys.describe_keys) if k["KeyArn"] == arn]
    return {"KeyMetadata": found[0] if found else {"KeyArn": arn}}


@operation("CreateKey", service=ADMIN_SERVICE)
async def create_key(ctx, body: dict) -> dict:
    keys = _keys(ctx)
    alias, description = body.get("Alias"), body.get("Description") or ""
    if alias is not None and (not isinstance(alias, str) or not alias.startswith("alias/") or alias.startswith("alias/aws/")):
        raise errors.validation("Alias must start with alias/ (and not alias/aws/, which AWS reserves)")
    arn = await _run(keys.provider.create_key, alias, description)
    return {"KeyMetadata": {"KeyId": arn.rpartition("/")[2], "Arn": arn, "Aliases": [alias] if alias else [],
                            "Description": description}}


@operation("RotateKey", service=ADMIN_SERVICE)
async def rotate_key(ctx, body: dict) -> dict:
    keys = _keys(ctx)
    rotated = await _run(keys.rotate, _key_id(body, False))
    rotated["ReencryptedFiles"] = 0
    store = getattr(ctx.engine, "snapshot_store", None)
    if body.get("ReencryptFiles") and getattr(store, "cipher", None) is not None:
        roots = [store.root, store.root.parent / "backups"]
        rotated["ReencryptedFiles"] = await asyncio.to_thread(reencrypt_files, roots, store.cipher)
    return rotated
