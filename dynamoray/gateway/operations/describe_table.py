"""DescribeTable."""

from . import operation


@operation("DescribeTable")
async def describe_table(ctx, body: dict) -> dict:
    return {"Table": await ctx.engine.describe_table(body["TableName"])}
