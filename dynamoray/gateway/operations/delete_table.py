"""DeleteTable: refused while deletion protection is on."""

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
    return {"TableDescription": tables.public_description(await ctx.engine.delete_table(name))}
