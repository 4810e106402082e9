"""The authorization hook (gateway/authorize.py) in process: the request context it builds and its
decisions, over an in-memory IAM store and an engine stub."""

import asyncio
import json

import pytest

from dynamoray.core import principals
from dynamoray.core.errors import DynamoError
from dynamoray.core.keys import KeySchema
from dynamoray.events.memory import MemoryLog
from dynamoray.gateway.auth import Authenticator, Principal
from dynamoray.gateway.authorize import Authorizer
from dynamoray.gateway.context import RequestContext
from dynamoray.gateway.iam_store import IamStore

ACCOUNT, REGION = "000000000000", "us-east-1"
ORDERS = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders"
NOON = 1_782_820_800_000  # 2026-06-30T12:00:00Z, in ms


class Engine:
    def __init__(self):
        self.log = MemoryLog()
        self.schema_calls = 0

    async def stream_log(self):
        return self.log

    async def key_schema(self, table):
        self.schema_calls += 1
        if table != "Orders":
            raise DynamoError("ResourceNotFoundException", "Requested resource not found")
        return KeySchema("user", "S")


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(**extra):
    return {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*", **extra}


async def setup(kind="user", document=None, tags=None, context=None):
    engine = Engine()
    store = IamStore(Authenticator(), ACCOUNT, engine.stream_log, clock=lambda: NOON)
    authorizer = Authorizer(store, clock=lambda: NOON)
    await authorizer.on_startup(None)
    arn = f"arn:aws:iam::{ACCOUNT}:{kind}/ada"
    await store.execute(lambda s: principals.create_principal(s, kind, "ada", "AIDAADA", arn, 0, tags, context))
    await store.execute(lambda s: principals.create_access_key(s, kind, "ada", "AKIAADA", "secret", 0))
    if document is not None:
        await store.execute(lambda s: principals.put_inline_policy(s, kind, "ada", "p", document))
    caller = arn if kind == "user" else f"arn:aws:sts::{ACCOUNT}:assumed-role/ada/ada"
    ctx = RequestContext(engine, Principal("AKIAADA", caller, ACCOUNT), REGION, ACCOUNT, "r", authorizer)
    return authorizer, ctx


def check(document, name="GetItem", body=None, remote="127.0.0.1", **setup_args):
    async def run():
        authorizer, ctx = await setup(document=document, **setup_args)
        await authorizer(ctx, "dynamodb", name, body or {"TableName": "Orders", "Key": {"user": {"S": "ada"}}},
                         remote)
        return ctx

    return asyncio.run(run())


def refused(document, **kwargs):
    with pytest.raises(DynamoError) as caught:
        check(document, **kwargs)
    assert caught.value.error_type == "AccessDeniedException"
    return caught.value.message


def test_source_ip_comes_from_the_connection():
    doc = policy(allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    check(doc, remote="10.1.2.3")
    refused(doc, remote="127.0.0.1")
    refused(doc, remote=None)  # no address: the key is missing, a positive operator fails


def test_current_time_epoch_time_and_secure_transport():
    check(policy(allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-06-30T11:59:59Z"},
                                  "NumericEquals": {"aws:EpochTime": str(NOON // 1000)}})))
    refused(policy(allow(Condition={"DateLessThan": {"aws:CurrentTime": "2026-01-01"}})))
    refused(policy(allow(Condition={"Bool": {"aws:SecureTransport": "true"}})))  # no TLS yet
    check(policy(allow(Condition={"StringEquals": {"aws:RequestedRegion": REGION}})))


def test_principal_keys_tags_and_session_context():
    check(policy(allow(Condition={"StringEquals": {
        "aws:username": "ada", "aws:userid": "AIDAADA", "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/ada",
        "aws:PrincipalType": "User", "aws:PrincipalAccount": ACCOUNT, "aws:PrincipalTag/team": "blue",
        "cognito-identity.amazonaws.com:sub": "sub-1"}})),
        tags={"team": "blue"}, context={"cognito-identity.amazonaws.com:sub": "sub-1"})


def test_a_role_session_has_no_username_and_a_session_userid():
    doc = policy(allow(Condition={"StringEquals": {"aws:userid": "AIDAADA:ada", "aws:PrincipalType": "AssumedRole",
                                                   "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ada"},
                                  "Null": {"aws:username": "true"}}))
    check(doc, kind="role")
    message = refused(policy(allow(Condition={"StringEquals": {"aws:username": "ada"}})), kind="role")
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/ada/ada is not authorized")


def test_item_keys_are_computed_only_when_a_policy_tests_them():
    ctx = check(policy(allow()))
    assert ctx.engine.schema_calls == 0
    ctx = check(policy(allow(Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "${aws:username}"}})))
    assert ctx.engine.schema_calls == 1
    refused(policy(allow(Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "someone"}})))


def test_a_missing_table_is_not_an_error_of_the_authorizer():
    leading = policy(allow(Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "${aws:username}"}}))
    check(leading, body={"TableName": "Gone", "Key": {"user": {"S": "ada"}}})  # the handler says ResourceNotFound


def test_messages_name_the_decision():
    assert refused(None) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/ada is not authorized to perform: dynamodb:GetItem on resource: "
        f"{ORDERS} because no identity-based policy allows the dynamodb:GetItem action")
    assert refused(policy(allow(), {"Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": ORDERS})) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/ada is not authorized to perform: dynamodb:GetItem on resource: "
        f"{ORDERS} with an explicit deny in an identity-based policy")


def test_root_skips_evaluation_and_revoked_keys_are_unrecognized():
    async def run():
        authorizer, ctx = await setup()
        root = RequestContext(ctx.engine, Principal("AKROOT", f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT),
                              REGION, ACCOUNT, "r", authorizer)
        await authorizer(root, "dynamodb", "DeleteTable", {"TableName": "Orders"}, None)
        await authorizer.store.execute(lambda s: principals.delete_access_key(s, "AKIAADA"))
        with pytest.raises(DynamoError) as caught:
            await authorizer(ctx, "dynamodb", "ListTables", {}, None)
        assert caught.value.error_type == "UnrecognizedClientException"

    asyncio.run(run())


def test_internal_tables_are_refused_to_everyone_but_root_whatever_the_policy():
    hooks = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/dynamoray.hooks"
    for name, body in (("GetItem", {"TableName": "dynamoray.hooks", "Key": {"hook": {"S": "h"}}}),
                       ("DeleteTable", {"TableName": "dynamoray.hooks"}),
                       ("BatchWriteItem", {"RequestItems": {"dynamoray.hooks": [{"DeleteRequest": {"Key": {}}}]}})):
        message = refused(policy(allow()), name=name, body=body)
        assert message == (f"User: arn:aws:iam::{ACCOUNT}:user/ada is not authorized to perform: dynamodb:{name} "
                           f"on resource: {hooks} because it is an internal table of the server")

    async def run():
        authorizer, ctx = await setup(document=policy(allow()))
        root = RequestContext(ctx.engine, Principal("AKROOT", f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT),
                              REGION, ACCOUNT, "r", authorizer)
        await authorizer(root, "dynamodb", "Scan", {"TableName": "dynamoray.hooks"}, None)
        await authorizer(ctx, "dynamodb", "Scan", {"TableName": "dynamoray.hooksx"}, None)

    asyncio.run(run())
