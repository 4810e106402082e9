"""IAM through boto3: several users, per-user items, attribute restrictions, explicit denies,
resource-based policies and the admin API (both engines)."""

import json

import pytest
from botocore.exceptions import ClientError

from dynamoray.cli import main as cli_main
from dynamoray.gateway.admin_client import AdminClient, AdminError

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, create, make_client, unique

ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def admin(server):
    return AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY, REGION)


def new_user(server, admin, policy=None, **create_args):
    name = unique("u")
    admin.call("CreateUser", UserName=name, **create_args)
    if policy is not None:
        admin.call("PutUserPolicy", UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = admin.call("CreateAccessKey", UserName=name)["AccessKey"]
    return name, make_client(server.endpoint, access=key["AccessKeyId"], secret=key["SecretAccessKey"])


def table_arn(table):
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def denied(call, user, action, resource, explicit=None):
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    head = (f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: dynamodb:{action} "
            f"on resource: {resource}")
    if explicit:
        policy = "an identity-based policy" if explicit == "identity" else "a resource-based policy"
        assert error["Message"] == f"{head} with an explicit deny in {policy}"
    else:
        assert error["Message"] == f"{head} because no identity-based policy allows the dynamodb:{action} action"


def s(text):
    return {"S": text}


# --- dynamodb:LeadingKeys: one table, every user sees only their own items ------------------------

OWN_ITEMS = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                   "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
        "Resource": "arn:aws:dynamodb:*:*:table/*",
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}},
    }],
}


@pytest.fixture(scope="module")
def notes(ddb):
    return create(ddb, [("owner", "S", "HASH"), ("n", "N", "RANGE")])


def test_per_user_leading_keys(server, admin, notes):
    alice, alice_db = new_user(server, admin, OWN_ITEMS)
    bob, bob_db = new_user(server, admin, OWN_ITEMS)
    alice_db.put_item(TableName=notes, Item={"owner": s(alice), "n": {"N": "1"}, "text": s("mine")})
    bob_db.put_item(TableName=notes, Item={"owner": s(bob), "n": {"N": "1"}})
    got = alice_db.get_item(TableName=notes, Key={"owner": s(alice), "n": {"N": "1"}})["Item"]
    assert got["text"] == s("mine")
    arn = table_arn(notes)
    denied(lambda: bob_db.get_item(TableName=notes, Key={"owner": s(alice), "n": {"N": "1"}}), bob, "GetItem", arn)
    denied(lambda: bob_db.put_item(TableName=notes, Item={"owner": s(alice), "n": {"N": "2"}}), bob, "PutItem", arn)
    denied(lambda: bob_db.delete_item(TableName=notes, Key={"owner": s(alice), "n": {"N": "1"}}),
           bob, "DeleteItem", arn)
    mine = alice_db.query(TableName=notes, KeyConditionExpression="#o = :o",
                          ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": s(alice)})
    assert mine["Count"] == 1
    denied(lambda: bob_db.query(TableName=notes, KeyConditionExpression="#o = :o",
                                ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": s(alice)}),
           bob, "Query", arn)
    denied(lambda: bob_db.scan(TableName=notes), bob, "Scan", arn)
    keys = [{"owner": s(bob), "n": {"N": "1"}}, {"owner": s(alice), "n": {"N": "1"}}]
    denied(lambda: bob_db.batch_get_item(RequestItems={notes: {"Keys": keys}}), bob, "BatchGetItem", arn)
    assert len(bob_db.batch_get_item(RequestItems={notes: {"Keys": keys[:1]}})["Responses"][notes]) == 1
    writes = [{"PutRequest": {"Item": {"owner": s(bob), "n": {"N": "5"}}}},
              {"DeleteRequest": {"Key": {"owner": s(alice), "n": {"N": "1"}}}}]
    denied(lambda: bob_db.batch_write_item(RequestItems={notes: writes}), bob, "BatchWriteItem", arn)
    assert alice_db.get_item(TableName=notes, Key={"owner": s(alice), "n": {"N": "1"}})["Item"]  # untouched


def test_transactions_check_each_underlying_action(server, admin, notes):
    alice, alice_db = new_user(server, admin, OWN_ITEMS)
    items = [{"Put": {"TableName": notes, "Item": {"owner": s(alice), "n": {"N": "7"}}}},
             {"Put": {"TableName": notes, "Item": {"owner": s("someone-else"), "n": {"N": "7"}}}}]
    denied(lambda: alice_db.transact_write_items(TransactItems=items), alice, "PutItem", table_arn(notes))
    alice_db.transact_write_items(TransactItems=items[:1])
    gets = [{"Get": {"TableName": notes, "Key": {"owner": s(alice), "n": {"N": "7"}}}}]
    assert alice_db.transact_get_items(TransactItems=gets)["Responses"][0]["Item"]["owner"] == s(alice)
    gets.append({"Get": {"TableName": notes, "Key": {"owner": s("someone-else"), "n": {"N": "7"}}}})
    denied(lambda: alice_db.transact_get_items(TransactItems=gets), alice, "GetItem", table_arn(notes))


def test_web_identity_variables_from_the_session_context(server, admin, notes):
    documented = json.loads(json.dumps(OWN_ITEMS).replace("${aws:username}", "${www.amazon.com:user_id}"))
    user, db = new_user(server, admin, documented, SessionContext={"www.amazon.com:user_id": "amzn1.account.X"})
    db.put_item(TableName=notes, Item={"owner": s("amzn1.account.X"), "n": {"N": "1"}})
    denied(lambda: db.put_item(TableName=notes, Item={"owner": s(user), "n": {"N": "1"}}),
           user, "PutItem", table_arn(notes))


# --- dynamodb:Attributes and dynamodb:Select: attribute-level read restriction -------------------

SOME_ATTRIBUTES = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": "arn:aws:dynamodb:*:*:table/*",
        "Condition": {
            "ForAllValues:StringEquals": {"dynamodb:Attributes": ["owner", "n", "title", "score"]},
            "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES",
                                     "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]},
        },
    }],
}


def test_attribute_level_read_restriction(server, admin, ddb, notes):
    ddb.put_item(TableName=notes, Item={"owner": s("shared"), "n": {"N": "1"}, "title": s("t"), "secret": s("x")})
    user, db = new_user(server, admin, SOME_ATTRIBUTES)
    arn = table_arn(notes)
    key = {"owner": s("shared"), "n": {"N": "1"}}
    got = db.get_item(TableName=notes, Key=key, ProjectionExpression="title, #s", ExpressionAttributeNames={"#s": "score"})
    assert got["Item"] == {"title": s("t")}
    denied(lambda: db.get_item(TableName=notes, Key=key), user, "GetItem", arn)  # would return "secret"
    denied(lambda: db.get_item(TableName=notes, Key=key, ProjectionExpression="secret"), user, "GetItem", arn)
    denied(lambda: db.get_item(TableName=notes, Key=key, AttributesToGet=["title", "secret"]), user, "GetItem", arn)
    page = db.query(TableName=notes, KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":o": s("shared")}, Select="SPECIFIC_ATTRIBUTES",
                    ProjectionExpression="title")
    assert page["Items"] == [{"title": s("t")}]
    denied(lambda: db.scan(TableName=notes, ProjectionExpression="title", FilterExpression="attribute_exists(secret)"),
           user, "Scan", arn)
    db.put_item(TableName=notes, Item={"owner": s("shared"), "n": {"N": "2"}, "title": s("u")})
    denied(lambda: db.put_item(TableName=notes, Item={"owner": s("shared"), "n": {"N": "3"}, "secret": s("y")}),
           user, "PutItem", arn)
    db.update_item(TableName=notes, Key=key, UpdateExpression="SET score = :v", ExpressionAttributeValues={":v": {"N": "3"}},
                   ReturnValues="UPDATED_NEW")
    denied(lambda: db.update_item(TableName=notes, Key=key, UpdateExpression="SET score = :v",
                                  ExpressionAttributeValues={":v": {"N": "4"}}, ReturnValues="ALL_NEW"),
           user, "UpdateItem", arn)


# --- explicit deny -------------------------------------------------------------------------------


def test_explicit_deny_beats_allow(server, admin, table_s):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["dynamodb:Delete*", "dynamodb:UpdateTable"], "Resource": table_arn(table_s)},
    ]}
    user, db = new_user(server, admin, policy)
    db.put_item(TableName=table_s, Item={"p": s(user)})
    assert table_s in db.list_tables()["TableNames"]
    denied(lambda: db.delete_item(TableName=table_s, Key={"p": s(user)}), user, "DeleteItem",
           table_arn(table_s), explicit="identity")
    denied(lambda: db.delete_table(TableName=table_s), user, "DeleteTable", table_arn(table_s), explicit="identity")


def test_no_policy_no_access_and_revoked_keys(server, admin, table_s):
    user, db = new_user(server, admin)
    denied(lambda: db.describe_table(TableName=table_s), user, "DescribeTable", table_arn(table_s))
    denied(lambda: db.list_tables(), user, "ListTables", "*")
    key = admin.call("ListAccessKeys", UserName=user)["AccessKeyMetadata"][0]["AccessKeyId"]
    admin.call("DeleteAccessKey", AccessKeyId=key)
    with pytest.raises(ClientError) as info:
        db.list_tables()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_managed_policy_attached_to_a_user(server, admin, table_s):
    name = unique("pol")
    document = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:Describe*",
                                                       "Resource": table_arn(table_s)}}
    arn = admin.call("CreatePolicy", PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    user, db = new_user(server, admin)
    admin.call("AttachUserPolicy", UserName=user, PolicyArn=arn)
    assert db.describe_table(TableName=table_s)["Table"]["TableName"] == table_s
    admin.call("DetachUserPolicy", UserName=user, PolicyArn=arn)
    denied(lambda: db.describe_table(TableName=table_s), user, "DescribeTable", table_arn(table_s))
    admin.call("DeletePolicy", PolicyArn=arn)


# --- resource-based policies ---------------------------------------------------------------------


def test_resource_policy_grants_another_user(server, admin, ddb):
    table = create(ddb, [("p", "S", "HASH")])
    arn = table_arn(table)
    ddb.put_item(TableName=table, Item={"p": s("k")})
    carol, carol_db = new_user(server, admin)
    denied(lambda: carol_db.get_item(TableName=table, Key={"p": s("k")}), carol, "GetItem", arn)
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{carol}"},
        "Action": "dynamodb:GetItem", "Resource": arn}]})
    revision = ddb.put_resource_policy(ResourceArn=arn, Policy=document)["RevisionId"]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert (got["Policy"], got["RevisionId"]) == (document, revision)
    assert carol_db.get_item(TableName=table, Key={"p": s("k")})["Item"] == {"p": s("k")}
    denied(lambda: carol_db.put_item(TableName=table, Item={"p": s("x")}), carol, "PutItem", arn)
    with pytest.raises(ClientError) as info:
        ddb.put_resource_policy(ResourceArn=arn, Policy=document, ExpectedRevisionId="nope")
    assert info.value.response["Error"]["Code"] == "PolicyNotFoundException"
    ddb.delete_resource_policy(ResourceArn=arn)
    denied(lambda: carol_db.get_item(TableName=table, Key={"p": s("k")}), carol, "GetItem", arn)
    with pytest.raises(ClientError) as info:
        ddb.get_resource_policy(ResourceArn=arn)
    assert info.value.response["Error"] == {
        "Code": "PolicyNotFoundException",
        "Message": f"Resource-based policy not found for the provided ResourceArn: {arn}"}


def test_resource_policy_deny_and_table_recreation(server, admin, ddb):
    table = create(ddb, [("p", "S", "HASH")])
    arn = table_arn(table)
    user, db = new_user(server, admin, {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}})
    ddb.put_resource_policy(ResourceArn=arn, Policy=json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Deny", "Principal": "*", "Action": "dynamodb:PutItem", "Resource": arn}}))
    denied(lambda: db.put_item(TableName=table, Item={"p": s("x")}), user, "PutItem", arn, explicit="resource")
    ddb.delete_table(TableName=table)
    create(ddb, [("p", "S", "HASH")], name=table)  # a new table of that name has no policy
    db.put_item(TableName=table, Item={"p": s("x")})
    with pytest.raises(ClientError) as info:
        ddb.get_resource_policy(ResourceArn=arn)
    assert info.value.response["Error"]["Code"] == "PolicyNotFoundException"


def test_resource_policy_errors(ddb):
    missing = table_arn(unique())
    with pytest.raises(ClientError) as info:
        ddb.get_resource_policy(ResourceArn=missing)
    assert info.value.response["Error"] == {
        "Code": "ResourceNotFoundException", "Message": f"Requested resource not found: ResourceArn: {missing} not found"}
    with pytest.raises(ClientError) as info:
        ddb.get_resource_policy(ResourceArn="arn:aws:s3:::bucket")
    assert info.value.response["Error"]["Code"] == "ValidationException"


# --- the admin API and the CLI -------------------------------------------------------------------


def test_only_root_may_call_the_admin_api(server, admin):
    user = unique("u")
    admin.call("CreateUser", UserName=user)
    key = admin.call("CreateAccessKey", UserName=user)["AccessKey"]
    as_user = AdminClient(server.endpoint, key["AccessKeyId"], key["SecretAccessKey"], REGION)
    with pytest.raises(AdminError) as info:
        as_user.call("ListUsers")
    assert info.value.code == "AccessDeniedException"
    with pytest.raises(AdminError) as info:
        admin.call("CreateUser", UserName=user)
    assert (info.value.code, info.value.message, info.value.status) == (
        "EntityAlreadyExists", f"User with name {user} already exists.", 409)
    with pytest.raises(AdminError) as info:
        admin.call("PutUserPolicy", UserName=user, PolicyName="x", PolicyDocument="{")
    assert (info.value.code, info.value.message) == ("MalformedPolicyDocument", "Syntax errors in policy.")
    admin.call("DeleteUser", UserName=user)
    with pytest.raises(AdminError) as info:
        admin.call("GetUser", UserName=user)
    assert (info.value.code, info.value.status) == ("NoSuchEntity", 404)


def test_roles_hold_policies_and_keys(server, admin, table_s):
    role = unique("r")
    admin.call("CreateRole", RoleName=role)
    admin.call("PutRolePolicy", RoleName=role, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": "*"}}))
    key = admin.call("CreateAccessKey", RoleName=role)["AccessKey"]
    db = make_client(server.endpoint, access=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert db.describe_table(TableName=table_s)["Table"]["TableName"] == table_s
    with pytest.raises(ClientError) as info:
        db.list_tables()
    assert info.value.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{role} is not authorized to perform: "
        "dynamodb:ListTables on resource: * because no identity-based policy allows the dynamodb:ListTables action")


def test_cli(server, tmp_path, monkeypatch, capsys, table_s):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    user = unique("cli")
    base = ["iam", "--endpoint", server.endpoint]
    assert cli_main([*base, "create-user", user]) == 0
    assert json.loads(capsys.readouterr().out)["User"]["UserName"] == user
    assert cli_main([*base, "create-access-key", user]) == 0
    key = json.loads(capsys.readouterr().out)["AccessKey"]
    document = tmp_path / "policy.json"
    document.write_text(json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}}))
    assert cli_main([*base, "put-user-policy", user, "list", str(document)]) == 0
    capsys.readouterr()
    db = make_client(server.endpoint, access=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert table_s in db.list_tables()["TableNames"]
    assert cli_main([*base, "list-user-policies", user]) == 0
    assert json.loads(capsys.readouterr().out)["PolicyNames"] == ["list"]
    assert cli_main([*base, "delete-user", user]) == 0
    capsys.readouterr()
    assert cli_main([*base, "get-user", user]) == 1
    assert capsys.readouterr().err.strip() == f"dynamoray iam: NoSuchEntity: The user with name {user} cannot be found."


def test_stream_resource_policy(server, admin, ddb):
    table = unique()
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    reader, _ = new_user(server, admin)
    key = admin.call("CreateAccessKey", UserName=reader)["AccessKey"]
    streams = make_client(server.endpoint, "dynamodbstreams", access=key["AccessKeyId"], secret=key["SecretAccessKey"])
    denied(lambda: streams.describe_stream(StreamArn=stream_arn), reader, "DescribeStream", stream_arn)
    ddb.put_resource_policy(ResourceArn=stream_arn, Policy=json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{reader}"},
        "Action": ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"],
        "Resource": stream_arn}}))
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert streams.get_records(ShardIterator=iterator)["Records"] == []
    with pytest.raises(ClientError) as info:  # the table's own policy is a different resource
        ddb.get_resource_policy(ResourceArn=table_arn(table))
    assert info.value.response["Error"]["Code"] == "PolicyNotFoundException"


def test_users_keys_and_policies_survive_a_server_restart(tmp_path):
    """``dynamoray serve`` (a subprocess on the embedded log): the IAM store is replayed on start."""
    import signal

    from dynamoray.gateway.runner import free_port

    from .serving import start_serve

    data_dir, port = tmp_path / "data", free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = start_serve(data_dir, port)
    try:
        admin = AdminClient(endpoint, ACCESS_KEY, SECRET_KEY, REGION)
        admin.call("CreateUser", UserName="ada")
        admin.call("PutUserPolicy", UserName="ada", PolicyName="local", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*",
                                                   "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}}))
        key = admin.call("CreateAccessKey", UserName="ada")["AccessKey"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    proc = start_serve(data_dir, port)
    try:
        ada = make_client(endpoint, access=key["AccessKeyId"], secret=key["SecretAccessKey"])
        assert ada.list_tables()["TableNames"] == []  # the key, the policy and aws:SourceIp all work
        denied(lambda: ada.describe_table(TableName="nope"), "ada", "DescribeTable", table_arn("nope"))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
