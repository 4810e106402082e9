"""DeleteItem."""

from ...core.commands import DeleteCommand
from .. import capacity, requests
from . import operation


@operation("DeleteItem")
async def delete_item(ctx, body: dict) -> dict:
    ex = requests.expression_context(body)
    command = DeleteCommand(
        key=requests.key(body),
        condition=requests.write_condition(ex, body),
        return_values=requests.return_values(body, ("NONE", "ALL_OLD")),
        return_old_on_failure=requests.return_old_on_failure(body),
    )
    ex.check_unused()
    table = body["TableName"]
    outcome = await ctx.engine.write(table, command)
    response: dict = {}
    if outcome.attributes:
        response["Attributes"] = outcome.attributes
    return capacity.attach(response, capacity.for_write(body, table, outcome.old_size, outcome.new_size))
