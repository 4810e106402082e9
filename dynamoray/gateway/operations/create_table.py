"""CreateTable: validate, build the description, register it (ACTIVE at once)."""

import time
import uuid

from ...core import errors, internal_tables, sse, tables
from .. import sse as sse_keys
from . import operation


@operation("CreateTable")
async def create_table(ctx, body: dict) -> dict:
    if internal_tables.is_internal(body.get("TableName")):  # reserved: the server's own table
        raise errors.table_already_exists(body["TableName"])
    description = tables.new_table_description(
        body, arn=ctx.table_arn(body["TableName"]), table_id=str(uuid.uuid4()), now=time.time()
    )
    wanted = sse.requested(body.get("SSESpecification"))  # encryption at rest: which key (core/sse.py)
    description = sse.with_key(description, await sse_keys.key_arn_of(ctx, wanted))
    created = await ctx.engine.create_table(description)
    if body.get("Tags"):
        await ctx.engine.set_tags(created["TableName"], {t["Key"]: t["Value"] for t in body["Tags"]})
    return {"TableDescription": tables.public_description(created)}
