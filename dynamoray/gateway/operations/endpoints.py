"""DescribeEndpoints and DescribeLimits: fixed answers about this server."""

from . import operation


@operation("DescribeEndpoints")
async def describe_endpoints(ctx, body: dict) -> dict:
    return {"Endpoints": [{"Address": f"dynamodb.{ctx.region}.amazonaws.com", "CachePeriodInMinutes": 1440}]}


@operation("DescribeLimits")
async def describe_limits(ctx, body: dict) -> dict:
    return {
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000,
    }
