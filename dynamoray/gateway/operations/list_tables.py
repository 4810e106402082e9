"""ListTables: names in order, paginated by ExclusiveStartTableName and Limit (1..100); the
server's internal tables (core/internal_tables.py) are not listed."""

from ...core import internal_tables
from . import operation

DEFAULT_LIMIT = 100


@operation("ListTables")
async def list_tables(ctx, body: dict) -> dict:
    names = internal_tables.visible(await ctx.engine.list_tables())
    start = body.get("ExclusiveStartTableName")
    if start is not None:
        names = [n for n in names if n > start]
    limit = body.get("Limit") or DEFAULT_LIMIT
    page = names[:limit]
    out: dict = {"TableNames": page}
    if len(names) > limit:
        out["LastEvaluatedTableName"] = page[-1]
    return out
