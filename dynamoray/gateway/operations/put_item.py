"""PutItem."""

from ...core.commands import PutCommand
from .. import requests
from . import operation


@operation("PutItem")
async def put_item(ctx, body: dict) -> dict:
    ex = requests.expression_context(body)
    command = PutCommand(
        item=requests.item(body),
        condition=requests.write_condition(ex, body),
        return_values=requests.return_values(body, ("NONE", "ALL_OLD")),
        return_old_on_failure=requests.return_old_on_failure(body),
    )
    return await requests.run_write(ctx, body, ex, command)
