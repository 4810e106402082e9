"""The perimeter's condition keys in a request's IAM context (gateway/authorize.base_context)."""

from dynamoray.core import principals
from dynamoray.core.iam import Decision, Request, authorize, parse_policy
from dynamoray.gateway.authorize import base_context

USER = principals.Principal(principals.USER, "alice", "AIDAEXAMPLE", "arn:aws:iam::000000000000:user/alice", 0)


def _context(**connection):
    return base_context(USER, "000000000000", "us-east-1", "10.1.2.3", 1_782_820_800_000, **connection)


def test_a_plain_connection_has_no_secure_transport_and_no_endpoint():
    context = _context()
    assert context["aws:securetransport"] == "false" and context["aws:sourceip"] == "10.1.2.3"
    assert "aws:sourcevpce" not in context and "aws:vpcsourceip" not in context


def test_tls_and_an_endpoint_id_show_in_the_context():
    context = _context(secure=True, endpoint_id="vpce-1234")
    assert context["aws:securetransport"] == "true"
    assert context["aws:sourcevpce"] == "vpce-1234" and context["aws:vpcsourceip"] == "10.1.2.3"


def test_aws_documented_shapes_decide_as_aws_does():
    deny_plain = parse_policy('{"Version": "2012-10-17", "Statement": ['
                              '{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},'
                              '{"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*",'
                              ' "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}')
    only_vpce = parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*",'
                             ' "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1234"}}}]}')

    def decide(policy, **connection):
        request = Request("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:000000000000:table/t", _context(**connection),
                          (USER.arn,))
        return authorize((policy,), (), request).decision

    assert decide(deny_plain) is Decision.DENY
    assert decide(deny_plain, secure=True) is Decision.ALLOW
    assert decide(only_vpce, endpoint_id="vpce-1234") is Decision.ALLOW
    assert decide(only_vpce, endpoint_id="vpce-9999") is not Decision.ALLOW
    assert decide(only_vpce) is not Decision.ALLOW
