"""TagResource, UntagResource, ListTagsOfResource (tables are the taggable resources)."""

from ...core import errors
from . import operation

MAX_TAGS = 50


async def _table_name(ctx, arn: str) -> str:
    prefix = f"arn:aws:dynamodb:{ctx.region}:{ctx.account_id}:table/"
    if not arn.startswith(prefix):
        raise errors.validation(f"Invalid TableArn: {arn}")
    name = arn[len(prefix):].split("/")[0]
    try:
        await ctx.engine.describe_table(name)
    except errors.DynamoError:
        raise errors.resource_not_found(f"Requested resource not found: ResourcArn: {arn} not found") from None
    return name


@operation("TagResource")
async def tag_resource(ctx, body: dict) -> dict:
    name = await _table_name(ctx, body["ResourceArn"])
    tags = await ctx.engine.get_tags(name)
    tags.update({t["Key"]: t["Value"] for t in body["Tags"]})
    if len(tags) > MAX_TAGS:
        raise errors.limit_exceeded("The number of tags exceeds the limit for the resource")
    await ctx.engine.set_tags(name, tags)
    return {}


@operation("UntagResource")
async def untag_resource(ctx, body: dict) -> dict:
    name = await _table_name(ctx, body["ResourceArn"])
    tags = await ctx.engine.get_tags(name)
    for key in body["TagKeys"]:
        tags.pop(key, None)
    await ctx.engine.set_tags(name, tags)
    return {}


@operation("ListTagsOfResource")
async def list_tags_of_resource(ctx, body: dict) -> dict:
    name = await _table_name(ctx, body["ResourceArn"])
    tags = await ctx.engine.get_tags(name)
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
