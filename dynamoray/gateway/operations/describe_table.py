"""DescribeTable."""

from ...core import tables
from .. import sse as sse_keys
from . import operation


@operation("DescribeTable")
async def describe_table(ctx, body: dict) -> dict:
    described = tables.public_description(await ctx.engine.describe_table(body["TableName"]))
    # a table whose KMS key has become unusable: INACCESSIBLE_ENCRYPTION_CREDENTIALS (gateway/sse.py)
    return {"Table": sse_keys.describe_inaccessible(getattr(ctx, "keys", None), described)}
