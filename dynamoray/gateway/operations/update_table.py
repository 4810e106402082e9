"""UpdateTable: billing mode, provisioned throughput, deletion protection, table class."""

import time

from ...core import tables
from . import operation


@operation("UpdateTable")
async def update_table(ctx, body: dict) -> dict:
    name = body["TableName"]
    current = await ctx.engine.describe_table(name)
    updated = tables.updated_description(current, body, time.time())
    return {"TableDescription": await ctx.engine.replace_table(name, updated)}
