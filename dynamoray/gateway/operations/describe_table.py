"""DescribeTable."""

from ...core import tables
from . import operation


@operation("DescribeTable")
async def describe_table(ctx, body: dict) -> dict:
    return {"Table": tables.public_description(await ctx.engine.describe_table(body["TableName"]))}
