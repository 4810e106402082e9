"""The admin API's hook operations (``X-Amz-Target: DynamoRayAdmin_20261126.<Op>``, root only).

- ``DeployHook {HookName, TableName, Function, Source?, BatchSize?, StartingPosition?,
  MaximumRetryAttempts?, BisectBatchOnFunctionError?, OnFailure?, ExactlyOnce?, Members?,
  MaximumBatchingWindowInSeconds?, StreamViewType?}`` -> ``{Hook}``.  ``Function`` is the base64 of
  the function pickled by value (``dynamoray.hooks.deploy`` and ``dynamoray hooks deploy`` make it).
  Deploying a name again replaces the function and settings; the hook keeps its checkpoints.
- ``ListHooks {}`` -> ``{Hooks}``; ``DescribeHook {HookName}`` -> ``{Hook}`` with its running
  ``Members`` (batches, records, failures, positions per log partition).
- ``RemoveHook {HookName}`` -> ``{}``: the members stop; checkpoints and dead letters stay, so a
  later deploy under the same name resumes where it stopped.
- ``GetHookDeadLetters {HookName, StartingOffset?, Limit?}`` -> ``{DeadLetters, NextOffset}``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..core import errors, hooks
from .admin import ADMIN_SERVICE, is_root
from .operations import operation


async def _service(ctx: Any) -> Any:
    if not is_root(ctx.principal):
        raise errors.access_denied(
            f"User: {ctx.principal.arn} is not authorized to perform this operation: "
            "only the root credentials may call the dynamoray admin API"
        )
    service = getattr(ctx, "hooks", None)
    if service is None:
        raise errors.hook_unavailable("the server runs without hooks")
    await service.ready()
    return service


def _name(body: dict) -> str:
    name = body.get("HookName")
    if not isinstance(name, str) or not name:
        raise errors.hook_constraint("null" if name is None else name, "hookName", "Member must not be null")
    return name


@operation("DeployHook", service=ADMIN_SERVICE)
async def deploy_hook(ctx, body: dict) -> dict:
    service = await _service(ctx)
    spec = hooks.spec_from_wire(body)
    encoded = body.get("Function")
    if not isinstance(encoded, str) or not encoded:
        raise errors.hook_constraint("null", "function", "Member must not be null")
    try:
        function = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise errors.hook_constraint("...", "function", "Member must be base64") from None
    source = body.get("Source") if isinstance(body.get("Source"), str) else "(unnamed)"
    return {"Hook": await service.deploy(spec, function, source)}


@operation("ListHooks", service=ADMIN_SERVICE)
async def list_hooks(ctx, body: dict) -> dict:
    return {"Hooks": (await _service(ctx)).list()}


@operation("DescribeHook", service=ADMIN_SERVICE)
async def describe_hook(ctx, body: dict) -> dict:
    service = await _service(ctx)
    name = _name(body)
    return {"Hook": {**service.describe(name), "Members": await service.status(name)}}


@operation("RemoveHook", service=ADMIN_SERVICE)
async def remove_hook(ctx, body: dict) -> dict:
    await (await _service(ctx)).remove(_name(body))
    return {}


@operation("GetHookDeadLetters", service=ADMIN_SERVICE)
async def get_hook_dead_letters(ctx, body: dict) -> dict:
    service = await _service(ctx)
    name = _name(body)
    start, limit = body.get("StartingOffset"), body.get("Limit", 100)
    if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0):
        raise errors.hook_constraint(start, "startingOffset", "Member must have value greater than or equal to 0")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise errors.hook_constraint(limit, "limit", "Member must have value from 1 to 100")
    entries, next_offset = await service.dead_letters(name, start, limit)
    return {"DeadLetters": entries, "NextOffset": next_offset}
