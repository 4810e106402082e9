"""DeleteTable: refused while deletion protection is on.  A table with point-in-time recovery
enabled leaves a SYSTEM backup first (``actors/backups.py``): its log and snapshots then go."""

from ...actors.backups import service_for
from ...core import errors, tables
from . import operation


@operation("DeleteTable")
async def delete_table(ctx, body: dict) -> dict:
    name = body["TableName"]
    current = await ctx.engine.describe_table(name)
    if current.get("DeletionProtectionEnabled"):
        raise errors.validation(
            "Resource cannot be deleted as it is currently protected against deletion. "
            "Disable deletion protection first."
        )
    await (await service_for(ctx.engine)).before_delete_table(name)
    if getattr(ctx, "replication", None) is not None and current.get("Replicas"):
        await ctx.replication.depart(current)  # global tables: the other replicas drop this one
    return {"TableDescription": tables.public_description(await ctx.engine.delete_table(name))}
