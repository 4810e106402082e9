"""The IAM store's pure fold and commands (core/principals.py)."""

import json
from functools import reduce

import pytest

from dynamoray.core import principals as p
from dynamoray.core.errors import DynamoError
from dynamoray.events.codec import EventCodec

ARN = "arn:aws:iam::000000000000:user/alice"
DOC = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}})
TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/Orders"
RESOURCE_DOC = json.dumps({"Version": "2012-10-17", "Statement": {
    "Effect": "Allow", "Principal": {"AWS": ARN}, "Action": "dynamodb:GetItem", "Resource": TABLE}})


def run(state, events):
    return reduce(p.evolve, events, state)


def with_alice():
    return run(p.IamState(), p.create_principal(p.IamState(), "user", "alice", "AIDA1", ARN, 5, {"team": "a"}))


def raises(error_type, message, fn, *args):
    with pytest.raises(DynamoError) as caught:
        fn(*args)
    assert (caught.value.error_type, caught.value.message) == (error_type, message)
    return caught.value


def test_create_and_describe_a_user():
    state = with_alice()
    alice = state.principal("user", "alice")
    assert (alice.principal_id, alice.arn, alice.created_at, dict(alice.tags)) == ("AIDA1", ARN, 5, {"team": "a"})
    raises("EntityAlreadyExists", "User with name alice already exists.",
           p.create_principal, state, "user", "alice", "AIDA2", ARN, 6)
    raises("NoSuchEntity", "The user with name bob cannot be found.", state.principal, "user", "bob")
    assert ("role", "alice") not in state.principals  # users and roles are separate namespaces


def test_names_are_validated_like_iam():
    error = raises("ValidationError",
                   "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: "
                   "Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length at most 64",
                   p.create_principal, p.IamState(), "user", "a b", "AIDA", ARN, 1)
    assert error.status == 400


def test_access_keys_are_limited_to_two_and_revocable():
    state = with_alice()
    state = run(state, p.create_access_key(state, "user", "alice", "AKIA1", "s1", 7))
    state = run(state, p.create_access_key(state, "user", "alice", "AKIA2", "s2", 8))
    raises("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2",
           p.create_access_key, state, "user", "alice", "AKIA3", "s3", 9)
    state = run(state, p.delete_access_key(state, "AKIA1"))
    assert [k.access_key_id for k in state.keys_of("user", "alice")] == ["AKIA2"]
    raises("NoSuchEntity", "The Access Key with id AKIA1 cannot be found.", p.delete_access_key, state, "AKIA1")


def test_inline_and_managed_policies():
    state = with_alice()
    state = run(state, p.put_inline_policy(state, "user", "alice", "all", DOC))
    assert p.inline_policy(state, "user", "alice", "all") == DOC
    raises("MalformedPolicyDocument", "Policy statement must contain resources.",
           p.put_inline_policy, state, "user", "alice", "bad",
           json.dumps({"Statement": {"Effect": "Allow", "Action": "dynamodb:*"}}))
    arn = "arn:aws:iam::000000000000:policy/read"
    state = run(state, p.create_managed_policy(state, "read", arn, DOC, 9))
    raises("EntityAlreadyExists", "A policy called read already exists. Duplicate names are not allowed.",
           p.create_managed_policy, state, "read", arn, DOC, 10)
    state = run(state, p.attach_policy(state, "user", "alice", arn, True))
    assert state.documents_of("user", "alice") == [DOC, DOC]
    raises("DeleteConflict", "Cannot delete a policy attached to entities.", p.delete_managed_policy, state, arn)
    state = run(state, p.attach_policy(state, "user", "alice", arn, False))
    state = run(state, p.delete_managed_policy(state, arn))
    state = run(state, p.delete_inline_policy(state, "user", "alice", "all"))
    assert state.documents_of("user", "alice") == []
    raises("NoSuchEntity", "The user policy with name all cannot be found.",
           p.inline_policy, state, "user", "alice", "all")
    raises("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.",
           p.attach_policy, state, "user", "alice", arn, True)


def test_deleting_a_principal_records_its_keys_and_policies_going():
    state = with_alice()
    state = run(state, p.create_access_key(state, "user", "alice", "AKIA1", "s1", 7))
    state = run(state, p.put_inline_policy(state, "user", "alice", "all", DOC))
    events = p.delete_principal(state, "user", "alice")
    assert [type(e).__name__ for e in events] == ["AccessKeyDeleted", "InlinePolicyChanged", "PrincipalDeleted"]
    state = run(state, events)
    assert not state.principals and not state.keys and state.documents_of("user", "alice") == []


def test_resource_policy_revisions():
    state = p.IamState()
    state = run(state, p.put_resource_policy(state, TABLE, RESOURCE_DOC, "1", p.NO_POLICY))
    raises("PolicyNotFoundException",
           f"Resource-based policy with the expected revision id NO_POLICY not found for the provided "
           f"ResourceArn: {TABLE}", p.put_resource_policy, state, TABLE, RESOURCE_DOC, "2", p.NO_POLICY)
    raises("PolicyNotFoundException",
           f"Resource-based policy with the expected revision id 7 not found for the provided ResourceArn: {TABLE}",
           p.put_resource_policy, state, TABLE, RESOURCE_DOC, "2", "7")
    state = run(state, p.put_resource_policy(state, TABLE, RESOURCE_DOC, "2", "1"))
    assert state.resource_policies[TABLE].revision_id == "2"
    raises("ValidationException",
           "Invalid resource-based policy document: Policy statement must contain exactly one of "
           "Principal or NotPrincipal.", p.put_resource_policy, state, TABLE, DOC, "3")
    stream = TABLE + "/stream/2026-01-01T00:00:00.000"
    state = run(state, p.put_resource_policy(state, stream, RESOURCE_DOC, "4"))
    assert [e.resource_arn for e in p.drop_resource_policies(state, TABLE)] == [TABLE, stream]
    state = run(state, p.delete_resource_policy(state, TABLE))
    raises("PolicyNotFoundException", f"Resource-based policy not found for the provided ResourceArn: {TABLE}",
           p.delete_resource_policy, state, TABLE)


def test_evolve_never_changes_its_input():
    state = with_alice()
    before = dict(state.principals)
    run(state, p.delete_principal(state, "user", "alice"))
    assert dict(state.principals) == before


def test_the_fold_survives_the_codec():
    codec = EventCodec()
    state = with_alice()
    events = (p.create_access_key(state, "user", "alice", "AKIA1", "s1", 7)
              + p.put_inline_policy(state, "user", "alice", "all", DOC))
    direct = run(state, events)
    replayed = run(state, [codec.decode(codec.encode(e)) for e in events])
    assert replayed == direct
