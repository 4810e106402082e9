"""PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy: a table's or a stream's policy.

The policies live in the IAM store (``gateway/iam_store.py``), keyed by the resource's ARN, and
are evaluated with the caller's identity-based policies (``gateway/authorize.py``).  Every put
gets a new RevisionId; ``ExpectedRevisionId`` makes a put or delete conditional on the current
revision (``NO_POLICY``: only if there is none yet).  ``ConfirmRemoveSelfResourceAccess`` is
accepted and not checked.
"""

from __future__ import annotations

import re

from ...core import errors, principals
from ...core.errors import DynamoError
from . import operation

_ARN = re.compile(r"arn:aws:dynamodb:([^:]+):(\d{12}):table/([a-zA-Z0-9_.-]{3,255})(/stream/([^/]+))?")


async def _checked_arn(ctx, arn: str) -> str:
    """The ARN of an existing table or stream of this server, else DynamoDB's error."""
    match = _ARN.fullmatch(arn)
    if match is None or match.group(1) != ctx.region or match.group(2) != ctx.account_id:
        raise errors.validation(f"Invalid ResourceArn provided as input {arn}")
    try:
        description = await ctx.engine.describe_table(match.group(3))
    except DynamoError as error:
        if error.error_type != "ResourceNotFoundException":
            raise
        description = None
    stream = match.group(4)
    if description is None or (stream and description.get("LatestStreamArn") != arn):
        raise errors.resource_not_found(f"Requested resource not found: ResourceArn: {arn} not found")
    return arn


def _store(ctx):
    guard = getattr(ctx, "iam", None)
    if guard is None:
        raise errors.validation("Resource-based policies are not enabled on this server")
    return guard.store


@operation("PutResourcePolicy")
async def put_resource_policy(ctx, body: dict) -> dict:
    store = _store(ctx)
    arn = await _checked_arn(ctx, body["ResourceArn"])
    current = store.state.resource_policies.get(arn)
    revision = store.clock()
    if current is not None and current.revision_id.isdigit() and int(current.revision_id) >= revision:
        revision = int(current.revision_id) + 1  # revisions always grow
    revision = str(revision)
    await store.execute(lambda s: principals.put_resource_policy(
        s, arn, body["Policy"], revision, body.get("ExpectedRevisionId")))
    return {"RevisionId": revision}


@operation("GetResourcePolicy")
async def get_resource_policy(ctx, body: dict) -> dict:
    store = _store(ctx)
    arn = await _checked_arn(ctx, body["ResourceArn"])
    current = store.state.resource_policies.get(arn)
    if current is None:
        raise errors.policy_not_found(arn)
    return {"Policy": current.document, "RevisionId": current.revision_id}


@operation("DeleteResourcePolicy")
async def delete_resource_policy(ctx, body: dict) -> dict:
    store = _store(ctx)
    arn = await _checked_arn(ctx, body["ResourceArn"])
    events = await store.execute(lambda s: principals.delete_resource_policy(s, arn, body.get("ExpectedRevisionId")))
    return {"RevisionId": events[-1].revision_id}
