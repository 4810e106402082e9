"""UpdateItem (UpdateExpression or the legacy AttributeUpdates)."""

from ...core.commands import UpdateCommand
from ...core.expressions import legacy
from .. import requests
from . import operation

RETURN_VALUES = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")


@operation("UpdateItem")
async def update_item(ctx, body: dict) -> dict:
    ex = requests.expression_context(body)
    if "UpdateExpression" in body:
        update = ex.update(body["UpdateExpression"])
    elif "AttributeUpdates" in body:
        update = legacy.attribute_updates_to_update(body["AttributeUpdates"])
    else:
        update = None
    command = UpdateCommand(
        key=requests.key(body),
        update=update,
        condition=requests.write_condition(ex, body),
        return_values=requests.return_values(body, RETURN_VALUES),
        return_old_on_failure=requests.return_old_on_failure(body),
    )
    return await requests.run_write(ctx, body, ex, command)
