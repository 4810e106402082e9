"""ExportTableToPointInTime: the table as of an instant (or its changes over a window) written to a
bucket in the background (``actors/exports.py``); answers at once with the export IN_PROGRESS."""

from ...actors.exports import service_for
from . import operation


@operation("ExportTableToPointInTime")
async def export_table_to_point_in_time(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    return {"ExportDescription": await service.export(body)}
