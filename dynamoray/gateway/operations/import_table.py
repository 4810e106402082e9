"""ImportTable: a new table (TableCreationParameters, CREATING) loaded in the background from a
bucket's DYNAMODB_JSON, ION or CSV objects (``actors/imports.py``)."""

import time
import uuid

from ...actors.exports import service_for
from ...core import sse, tables
from .. import sse as sse_keys
from . import operation


@operation("ImportTable")
async def import_table(ctx, body: dict) -> dict:
    parameters = body["TableCreationParameters"]
    table = tables.new_table_description(parameters, arn=ctx.table_arn(parameters["TableName"]),
                                         table_id=str(uuid.uuid4()), now=time.time())
    wanted = sse.requested(parameters.get("SSESpecification"))
    table = sse.with_key(table, await sse_keys.key_arn_of(ctx, wanted))
    service = await service_for(ctx.engine)
    return {"ImportTableDescription": await service.import_table(body, table)}
