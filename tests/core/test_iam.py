"""IAM policy grammar and evaluation (core/iam.py, core/iam_conditions.py), against AWS's rules and
the examples of the IAM and DynamoDB documentation."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core.iam import Decision, PolicyError, Request, authorize, evaluate, parse_policy
from dynamoray.core.iam_conditions import Clause, arn_match, clause_holds, glob_match, parse_date, substitute

ACCOUNT = "000000000000"
ORDERS = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
examples = settings(deadline=None, max_examples=150)


def policy(*statements, version="2012-10-17", resource_policy=False):
    return parse_policy(json.dumps({"Version": version, "Statement": list(statements)}),
                        resource_policy=resource_policy)


def allow(action="dynamodb:*", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="dynamodb:*", resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def req(action="dynamodb:GetItem", resource=ORDERS, principals=(ALICE,), **context):
    ctx = {"aws:username": "alice", "aws:userid": "AIDAALICE"}
    ctx.update({k.lower(): v for k, v in context.items()})
    return Request(action, resource, ctx, tuple(principals))


def decide(p, r=None):
    return evaluate([p], r or req())


# --- grammar -------------------------------------------------------------------------------------


def test_single_statement_object_and_string_or_list_elements():
    one = parse_policy({"Version": "2012-10-17", "Statement": allow("dynamodb:GetItem", ORDERS)})
    many = policy(allow(["dynamodb:GetItem", "dynamodb:Query"], [ORDERS, ORDERS + "/index/*"], Sid="Read"))
    assert one.statements[0].actions == ("dynamodb:GetItem",)
    assert many.statements[0].resources == (ORDERS, ORDERS + "/index/*")
    assert many.statements[0].sid == "Read"


@pytest.mark.parametrize("document, message", [
    ("not json", "Syntax errors in policy."),
    ("[]", "Syntax errors in policy."),
    ({"Version": "2012-10-17", "Statement": []}, "Statement must be an object or a non-empty list"),
    ({"Version": "2019-01-01", "Statement": allow()}, "The policy failed legacy parsing"),
    ({"Statement": allow(), "Extra": 1}, "Unknown field Extra"),
    ({"Statement": {"Effect": "Allow", "Resource": "*"}}, "Policy statement must contain actions."),
    ({"Statement": {"Effect": "Allow", "Action": "dynamodb:*"}}, "Policy statement must contain resources."),
    ({"Statement": {**allow(), "Effect": "allow"}}, "Invalid effect: allow"),
    ({"Statement": {**allow(), "NotAction": "s3:*"}}, "cannot have both Action and NotAction"),
    ({"Statement": allow(action="GetItem")}, "Actions/Conditions must be prefaced by a vendor"),
    ({"Statement": allow(resource="table/Orders")}, 'Resource table/Orders must be in ARN format or "*".'),
    ({"Statement": [allow(Sid="A"), deny(Sid="A")]}, "Statement IDs (SID) in a single policy must be unique."),
    ({"Statement": allow(Principal="*")}, "Policy document should not specify a principal."),
    ({"Statement": allow(Condition={"StringEqualz": {"aws:username": "a"}})}, "Invalid Condition type : StringEqualz"),
    ({"Statement": allow(Condition={"ForAllValues:NullIfExists": {"k": "true"}})}, "Invalid Condition type"),
    ({"Statement": allow(Condition={"StringEquals": {"k": {"nested": 1}}})}, "Invalid value for StringEquals k"),
    ({"Statement": allow(Condition={"StringEquals": {"k": []}})}, "Empty value list"),
])
def test_invalid_documents_are_rejected_with_iams_reason(document, message):
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert message in str(caught.value)


def test_resource_policies_need_a_principal_and_accept_accounts_and_arns():
    with pytest.raises(PolicyError, match="exactly one of Principal or NotPrincipal"):
        policy(allow(), resource_policy=True)
    with pytest.raises(PolicyError, match="Invalid principal"):
        policy(allow(Principal={"AWS": "arn:aws:iam::000000000000:user/*"}), resource_policy=True)
    p = policy(allow(Principal={"AWS": [ACCOUNT, ALICE]}), resource_policy=True)
    assert p.statements[0].principals == (f"arn:aws:iam::{ACCOUNT}:root", ALICE)


# --- actions and resources -----------------------------------------------------------------------


@pytest.mark.parametrize("pattern, action, hit", [
    ("dynamodb:GetItem", "dynamodb:GetItem", True),
    ("DynamoDB:getitem", "dynamodb:GetItem", True),  # action names are case-insensitive
    ("dynamodb:*", "dynamodb:Query", True),
    ("dynamodb:Get*", "dynamodb:GetItem", True),
    ("dynamodb:Get*", "dynamodb:BatchGetItem", False),
    ("dynamodb:?etItem", "dynamodb:GetItem", True),
    ("dynamodb:?etItem", "dynamodb:PutItem", False),
    ("*", "dynamodb:DeleteTable", True),
    ("s3:*", "dynamodb:GetItem", False),
])
def test_action_wildcards(pattern, action, hit):
    assert decide(policy(allow(pattern)), req(action)) is (Decision.ALLOW if hit else Decision.NO_MATCH)


def test_not_action_and_not_resource_match_everything_else():
    p = policy({"Effect": "Allow", "NotAction": "dynamodb:Delete*", "NotResource": ORDERS + "/index/*"})
    assert decide(p, req("dynamodb:GetItem")) is Decision.ALLOW
    assert decide(p, req("dynamodb:DeleteItem")) is Decision.NO_MATCH
    assert decide(p, req("dynamodb:Query", ORDERS + "/index/byDate")) is Decision.NO_MATCH


@pytest.mark.parametrize("pattern, arn, hit", [
    ("arn:aws:dynamodb:*:*:table/Orders", ORDERS, True),
    ("arn:aws:dynamodb:us-east-1:000000000000:table/*", ORDERS, True),
    ("arn:aws:dynamodb:*:*:table/Orders", ORDERS + "/index/byDate", False),
    ("arn:aws:dynamodb:*:*:table/Orders/*", ORDERS + "/index/byDate", True),
    ("arn:aws:dynamodb:*:*:table/Ord?rs", ORDERS, True),
    ("arn:aws:dynamodb:eu-west-1:*:table/Orders", ORDERS, False),
    ("arn:aws:dynamodb:*", ORDERS, False),  # a wildcard does not span the ARN's colons
    ("arn:aws:dynamodb:*:*:*", ORDERS, True),
    ("arn:aws:dynamodb:*:*:table/orders", ORDERS, False),  # resources are case-sensitive
    ("*", ORDERS, True),
])
def test_resource_arns_match_segment_by_segment(pattern, arn, hit):
    assert arn_match(pattern, arn) is hit


def test_glob_escapes_regex_characters():
    assert glob_match("a.b+c*", "a.b+cdef")
    assert not glob_match("a.b", "axb")


# --- deny precedence -----------------------------------------------------------------------------


def test_explicit_deny_wins_over_any_allow_in_any_order():
    statements = [allow(), deny("dynamodb:GetItem", ORDERS)]
    assert decide(policy(*statements)) is Decision.DENY
    assert decide(policy(*reversed(statements))) is Decision.DENY
    assert evaluate([policy(allow()), policy(deny())], req()) is Decision.DENY


def test_no_statement_no_match_and_unrelated_deny():
    assert evaluate([], req()) is Decision.NO_MATCH
    assert decide(policy(deny("dynamodb:PutItem"))) is Decision.NO_MATCH


def test_identity_and_resource_policies_same_account():
    ident = policy(allow("dynamodb:GetItem", ORDERS))
    res_allow = policy(allow("dynamodb:GetItem", ORDERS, Principal={"AWS": ALICE}), resource_policy=True)
    res_deny = policy(deny("dynamodb:GetItem", ORDERS, Principal="*"), resource_policy=True)
    other = policy(allow("dynamodb:GetItem", ORDERS, Principal={"AWS": ALICE + "x"}), resource_policy=True)
    assert authorize([ident], [], req()).decision is Decision.ALLOW
    assert authorize([], [res_allow], req()).decision is Decision.ALLOW  # either one allows
    assert authorize([], [other], req()).decision is Decision.NO_MATCH
    outcome = authorize([ident], [res_deny], req())
    assert (outcome.decision, outcome.denied_by) == (Decision.DENY, "resource")
    outcome = authorize([policy(deny())], [res_allow], req())
    assert (outcome.decision, outcome.denied_by) == (Decision.DENY, "identity")


def test_not_principal_and_role_sessions():
    role = f"arn:aws:iam::{ACCOUNT}:role/reader"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/reader"
    by_role = policy(allow(Principal={"AWS": role}), resource_policy=True)
    assert evaluate([by_role], req(principals=(session, role))) is Decision.ALLOW
    assert evaluate([by_role], req()) is Decision.NO_MATCH
    everyone_else = policy(deny(NotPrincipal={"AWS": ALICE}), resource_policy=True)
    assert evaluate([everyone_else], req()) is Decision.NO_MATCH
    assert evaluate([everyone_else], req(principals=(session, role))) is Decision.DENY
    account = policy(allow(Principal={"AWS": ACCOUNT}), resource_policy=True)
    assert evaluate([account], req()) is Decision.NO_MATCH  # the account is its root, not its users
    assert evaluate([account], req(principals=(f"arn:aws:iam::{ACCOUNT}:root",))) is Decision.ALLOW


# --- condition operators -------------------------------------------------------------------------


def holds(operator, key, values, context, qualifier=None, if_exists=False):
    values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
    return clause_holds(Clause(operator, key.lower(), values, qualifier, if_exists), context)


@pytest.mark.parametrize("operator, have, want, result", [
    ("StringEquals", "alice", ["bob", "alice"], True),
    ("StringEquals", "Alice", "alice", False),
    ("StringNotEquals", "alice", ["bob", "carol"], True),
    ("StringNotEquals", "alice", ["bob", "alice"], False),  # NOR over the values
    ("StringEqualsIgnoreCase", "ALICE", "alice", True),
    ("StringNotEqualsIgnoreCase", "ALICE", "alice", False),
    ("StringLike", "home/alice/x", "home/*/x", True),
    ("StringLike", "home/alice", "home/?lice", True),
    ("StringLike", "Home/alice", "home/*", False),
    ("StringNotLike", "tmp/x", ["home/*", "var/*"], True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericNotEquals", "10", "11", True),
    ("NumericLessThan", "9", "10", True),
    ("NumericLessThan", "10", "10", False),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericGreaterThan", "11", "10", True),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericEquals", "ten", "10", False),
    ("DateEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00", True),
    ("DateNotEquals", "2026-01-01T00:00:00Z", "2026-01-02", True),
    ("DateLessThan", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", True),
    ("DateLessThan", "2026-06-01T00:00:00Z", "2026-01-01", False),
    ("DateLessThanEquals", "2026-01-01T00:00:00Z", "2026-01-01", True),
    ("DateGreaterThan", "2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z", True),
    ("DateGreaterThanEquals", "1767225600", "2026-01-01T00:00:00Z", True),  # epoch seconds
    ("Bool", "true", "true", True),
    ("Bool", "false", "True", False),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
    ("IpAddress", "203.0.113.7", "203.0.113.0/24", True),
    ("IpAddress", "198.51.100.1", ["203.0.113.0/24", "198.51.100.1"], True),
    ("IpAddress", "198.51.100.1", "203.0.113.0/24", False),
    ("IpAddress", "2001:db8::1", "2001:db8::/32", True),
    ("IpAddress", "127.0.0.1", "::1/128", False),
    ("NotIpAddress", "10.1.2.3", "203.0.113.0/24", True),
    ("ArnEquals", ALICE, "arn:aws:iam::*:user/alice", True),
    ("ArnLike", ALICE, "arn:aws:iam::000000000000:user/*", True),
    ("ArnNotEquals", ALICE, "arn:aws:iam::*:user/bob", True),
    ("ArnNotLike", ALICE, "arn:aws:iam::*:user/*", False),
])
def test_every_operator(operator, have, want, result):
    assert holds(operator, "k", want, {"k": have}) is result


@pytest.mark.parametrize("operator, result", [
    ("StringEquals", False), ("StringNotEquals", True), ("StringLike", False), ("StringNotLike", True),
    ("NumericLessThan", False), ("NumericNotEquals", True), ("DateGreaterThan", False),
    ("DateNotEquals", True), ("Bool", False), ("IpAddress", False), ("NotIpAddress", True),
    ("ArnLike", False), ("ArnNotLike", True),
])
def test_a_missing_key_fails_positive_operators_and_passes_negated_ones(operator, result):
    assert holds(operator, "absent", "x", {}) is result


def test_if_exists_passes_when_missing_and_checks_when_present():
    assert holds("StringEquals", "dynamodb:Select", "SPECIFIC_ATTRIBUTES", {}, if_exists=True)
    assert holds("StringEquals", "dynamodb:Select", "SPECIFIC_ATTRIBUTES",
                 {"dynamodb:select": "SPECIFIC_ATTRIBUTES"}, if_exists=True)
    assert not holds("StringEquals", "dynamodb:Select", "SPECIFIC_ATTRIBUTES",
                     {"dynamodb:select": "ALL_ATTRIBUTES"}, if_exists=True)


def test_null_checks_presence():
    assert holds("Null", "k", "true", {})
    assert not holds("Null", "k", "true", {"k": "v"})
    assert holds("Null", "k", "false", {"k": "v"})
    assert holds("Null", "k", "true", {"k": ()})  # an empty set is null


@pytest.mark.parametrize("qualifier, operator, values, have, result", [
    ("ForAllValues", "StringEquals", ["a", "b"], ("a", "b"), True),
    ("ForAllValues", "StringEquals", ["a"], ("a", "b"), False),
    ("ForAllValues", "StringEquals", ["a"], (), True),  # vacuously true for an empty set
    ("ForAllValues", "StringEquals", ["a"], None, True),  # ... and for a missing key
    ("ForAnyValue", "StringEquals", ["a"], ("a", "z"), True),
    ("ForAnyValue", "StringEquals", ["a"], ("y", "z"), False),
    ("ForAnyValue", "StringEquals", ["a"], (), False),
    ("ForAnyValue", "StringEquals", ["a"], None, False),
    ("ForAllValues", "StringNotEquals", ["secret"], ("a", "b"), True),
    ("ForAllValues", "StringNotEquals", ["secret"], ("a", "secret"), False),
    ("ForAnyValue", "StringNotEquals", ["secret"], ("a", "secret"), True),
    ("ForAnyValue", "StringNotEquals", ["secret"], ("secret",), False),
    ("ForAllValues", "StringLike", ["user-*"], ("user-1", "user-2"), True),
    ("ForAnyValue", "StringLike", ["admin*"], ("user-1", "admin-2"), True),
])
def test_set_qualifiers(qualifier, operator, values, have, result):
    context = {} if have is None else {"dynamodb:attributes": have}
    assert holds(operator, "dynamodb:Attributes", values, context, qualifier) is result


def test_condition_keys_are_case_insensitive_and_blocks_and_together():
    p = policy(allow(Condition={
        "StringEquals": {"AWS:UserName": "alice", "aws:userid": "AIDAALICE"},
        "Bool": {"aws:SecureTransport": "false"},
    }))
    assert decide(p, req(**{"aws:securetransport": "false"})) is Decision.ALLOW
    assert decide(p, req(**{"aws:securetransport": "true"})) is Decision.NO_MATCH
    assert decide(p, req()) is Decision.NO_MATCH  # a missing key fails Bool


def test_json_booleans_and_numbers_as_condition_values():
    p = policy(allow(Condition={"Bool": {"aws:SecureTransport": False}, "NumericLessThan": {"n": 5}}))
    assert decide(p, req(**{"aws:securetransport": "false", "n": "4"})) is Decision.ALLOW


# --- policy variables ----------------------------------------------------------------------------


def test_substitute_variables_defaults_and_escapes():
    ctx = {"aws:username": "alice", "www.amazon.com:user_id": "amzn1.account.X"}
    assert substitute("home/${aws:username}/x", ctx) == "home/alice/x"
    assert substitute("${www.amazon.com:user_id}", ctx) == "amzn1.account.X"
    assert substitute("${AWS:UserName}", ctx) == "alice"
    assert substitute("${aws:missing, 'nobody'}", ctx) == "nobody"
    assert substitute("${aws:missing}", ctx) is None
    assert substitute("a${*}b${?}c${$}", ctx) == "a*b?c$"
    assert substitute("${aws:username}", None) == "${aws:username}"  # a 2008 policy: literal


def test_variables_in_resources_and_conditions():
    p = policy(allow(resource="arn:aws:dynamodb:*:*:table/${aws:username}-*",
                     Condition={"StringEquals": {"dynamodb:LeadingKeys": "${aws:userid}"}}))
    ok = req(resource=f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/alice-notes",
             **{"dynamodb:leadingkeys": "AIDAALICE"})
    assert decide(p, ok) is Decision.ALLOW
    other_table = req(resource=f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/bob-notes",
                      **{"dynamodb:leadingkeys": "AIDAALICE"})
    assert decide(p, other_table) is Decision.NO_MATCH


def test_a_variables_value_is_literal_inside_a_wildcard_pattern():
    p = policy(allow(Condition={"StringLike": {"k": "${aws:username}/*"}}))
    sneaky = Request("dynamodb:GetItem", ORDERS, {"aws:username": "*", "k": "anything/x"})
    assert decide(p, sneaky) is Decision.NO_MATCH
    fine = Request("dynamodb:GetItem", ORDERS, {"aws:username": "*", "k": "*/x"})
    assert decide(p, fine) is Decision.ALLOW


def test_version_2008_takes_variables_literally():
    p = policy(allow(Condition={"StringEquals": {"k": "${aws:username}"}}), version="2008-10-17")
    assert decide(p, req(k="alice")) is Decision.NO_MATCH
    assert decide(p, req(k="${aws:username}")) is Decision.ALLOW


def test_missing_variable_matches_nothing():
    p = policy(allow(Condition={"StringEquals": {"k": "${aws:nothing}"}}))
    assert decide(p, req(k="")) is Decision.NO_MATCH
    assert decide(policy(deny(Condition={"StringNotEquals": {"k": "${aws:nothing}"}})), req(k="x")) is Decision.DENY


# --- AWS's documented DynamoDB examples ----------------------------------------------------------

LEADING_KEYS_EXAMPLE = {  # "Grant permissions that allow access only to specific partition key values"
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "AllowAccessToOnlyItemsMatchingUserID",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                   "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
        "Resource": [f"arn:aws:dynamodb:us-west-2:{ACCOUNT}:table/GameScores"],
        "Condition": {
            "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${www.amazon.com:user_id}"]},
        },
    }],
}
GAME_SCORES = f"arn:aws:dynamodb:us-west-2:{ACCOUNT}:table/GameScores"


def game_request(action, leading=None, user="amzn1.account.AF1", **extra):
    ctx = {"www.amazon.com:user_id": user, **extra}
    if leading is not None:
        ctx["dynamodb:leadingkeys"] = leading
    return Request(action, GAME_SCORES, ctx)


def test_documented_per_user_leading_keys():
    p = parse_policy(LEADING_KEYS_EXAMPLE)
    assert decide(p, game_request("dynamodb:GetItem", ("amzn1.account.AF1",))) is Decision.ALLOW
    assert decide(p, game_request("dynamodb:BatchWriteItem", ("amzn1.account.AF1",) * 2)) is Decision.ALLOW
    assert decide(p, game_request("dynamodb:GetItem", ("amzn1.account.BOB",))) is Decision.NO_MATCH
    mixed = ("amzn1.account.AF1", "amzn1.account.BOB")
    assert decide(p, game_request("dynamodb:BatchGetItem", mixed)) is Decision.NO_MATCH
    assert decide(p, game_request("dynamodb:Scan")) is Decision.NO_MATCH  # Scan is not granted
    assert decide(p, game_request("dynamodb:GetItem", ("x",), user=None)) is Decision.NO_MATCH


ATTRIBUTES_EXAMPLE = {  # "Allows access to specific attributes" (IAM user guide)
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                   "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
        "Resource": ["arn:aws:dynamodb:*:*:table/GameScores"],
        "Condition": {
            "ForAllValues:StringEquals": {"dynamodb:Attributes": ["UserId", "GameTitle", "TopScore"]},
            "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES",
                                     "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]},
        },
    }],
}


@pytest.mark.parametrize("context, result", [
    ({"dynamodb:attributes": ("UserId", "TopScore"), "dynamodb:select": "SPECIFIC_ATTRIBUTES"}, Decision.ALLOW),
    ({"dynamodb:attributes": ("UserId", "Secret"), "dynamodb:select": "SPECIFIC_ATTRIBUTES"}, Decision.NO_MATCH),
    ({"dynamodb:attributes": ("UserId",), "dynamodb:select": "ALL_ATTRIBUTES"}, Decision.NO_MATCH),
    ({"dynamodb:attributes": ("UserId", "TopScore")}, Decision.ALLOW),  # writes have no Select
    ({"dynamodb:attributes": ("UserId",), "dynamodb:returnvalues": "ALL_NEW"}, Decision.NO_MATCH),
    ({"dynamodb:attributes": ("UserId",), "dynamodb:returnvalues": "UPDATED_NEW"}, Decision.ALLOW),
])
def test_documented_attribute_restriction(context, result):
    r = Request("dynamodb:GetItem", f"arn:aws:dynamodb:us-west-2:{ACCOUNT}:table/GameScores", context)
    assert decide(parse_policy(ATTRIBUTES_EXAMPLE), r) is result


def test_documented_deny_unless_from_an_address_range():
    p = policy(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}))
    assert decide(p, req(**{"aws:sourceip": "203.0.113.9"})) is Decision.ALLOW
    assert decide(p, req(**{"aws:sourceip": "127.0.0.1"})) is Decision.DENY


def test_documented_time_window():
    p = policy(allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
                                "DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}))
    assert decide(p, req(**{"aws:currenttime": "2026-06-01T12:00:00Z"})) is Decision.ALLOW
    assert decide(p, req(**{"aws:currenttime": "2027-01-01T00:00:00Z"})) is Decision.NO_MATCH


def test_parse_date_forms():
    assert parse_date("2026-01-01") == parse_date("2026-01-01T00:00:00Z") == parse_date("1767225600")
    assert parse_date("yesterday") is None


# --- property: a Deny statement never grants -----------------------------------------------------

ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:*", "dynamodb:Get*", "*"]
RESOURCES = [ORDERS, ORDERS + "/*", "arn:aws:dynamodb:*:*:table/*", "*", "arn:aws:dynamodb:*:*:table/Other"]
CONDITIONS = [
    None,
    {"StringEquals": {"aws:username": "alice"}},
    {"StringNotEquals": {"aws:username": "alice"}},
    {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["alice"]}},
    {"ForAnyValue:StringLike": {"dynamodb:Attributes": ["secret*"]}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"Null": {"dynamodb:Select": "true"}},
]


@st.composite
def statements(draw, effect=None):
    s = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
         draw(st.sampled_from(["Action", "NotAction"])): draw(st.sampled_from(ACTIONS)),
         draw(st.sampled_from(["Resource", "NotResource"])): draw(st.sampled_from(RESOURCES))}
    condition = draw(st.sampled_from(CONDITIONS))
    if condition:
        s["Condition"] = condition
    return s


@st.composite
def requests(draw):
    context = {"aws:username": draw(st.sampled_from(["alice", "bob"]))}
    if draw(st.booleans()):
        context["dynamodb:leadingkeys"] = tuple(draw(st.lists(st.sampled_from(["alice", "bob"]), max_size=3)))
    if draw(st.booleans()):
        context["dynamodb:attributes"] = tuple(draw(st.lists(st.sampled_from(["a", "secretX"]), max_size=3)))
    if draw(st.booleans()):
        context["aws:sourceip"] = draw(st.sampled_from(["10.1.1.1", "127.0.0.1"]))
    action = draw(st.sampled_from(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"]))
    resource = draw(st.sampled_from([ORDERS, ORDERS + "/index/i", "arn:aws:dynamodb:us-east-1:1:table/Other"]))
    return Request(action, resource, context)


@examples
@given(st.lists(statements(), min_size=1, max_size=4), statements(effect="Deny"), requests())
def test_adding_a_deny_statement_never_grants(existing, extra_deny, request):
    before = evaluate([policy(*existing)], request)
    after = evaluate([policy(*existing, extra_deny)], request)
    if before is not Decision.ALLOW:
        assert after is not Decision.ALLOW
    if before is Decision.DENY:
        assert after is Decision.DENY


@examples
@given(st.lists(statements(), min_size=1, max_size=4), requests())
def test_statement_order_and_splitting_do_not_matter(existing, request):
    together = evaluate([policy(*existing)], request)
    assert evaluate([policy(*reversed(existing))], request) is together
    assert evaluate([policy(s) for s in existing], request) is together
