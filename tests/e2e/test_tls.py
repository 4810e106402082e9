"""TLS on the gateway and the perimeter's IAM condition keys, through boto3.

One gateway, three listeners: the main one over TLS (a self-signed certificate made in the test,
which boto3 verifies with ``verify=``), a plain one, and a plain one with an endpoint id.  Policies
on ``aws:SecureTransport`` and ``aws:SourceVpce`` then allow or deny the same user depending on
the listener its request came through.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError

from dynamoray.actors.local import LocalEngine
from dynamoray.gateway.admin_client import AdminClient
from dynamoray.gateway.runner import BackgroundServer, build_gateway, free_port
from dynamoray.gateway.server import ServerConfig
from dynamoray.gateway.tls import TlsError, server_context
from tests.tls_certs import self_signed

from .conftest import ACCESS_KEY, REGION, SECRET_KEY

ENDPOINT_ID = "vpce-0a1b2c3d4e5f60718"


def client(endpoint: str, access: str = ACCESS_KEY, secret: str = SECRET_KEY, verify=None):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=access,
                        aws_secret_access_key=secret, verify=verify, config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def listeners(tmp_path_factory):
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    engine = LocalEngine()
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION), ttl_interval=None)
    background = BackgroundServer(gateway, ssl=server_context(str(cert), str(key))).start()
    plain = background.listen()
    vpce = background.listen(endpoint_id=ENDPOINT_ID)
    yield {"tls": background.endpoint, "plain": plain, "vpce": vpce, "cert": str(cert)}
    background.stop()
    asyncio.run(engine.close())


def _user(listeners, name: str, statements: list[dict]) -> tuple[str, str]:
    admin = AdminClient(listeners["plain"], ACCESS_KEY, SECRET_KEY)
    admin.call("CreateUser", UserName=name)
    admin.call("PutUserPolicy", UserName=name, PolicyName="p",
               PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = admin.call("CreateAccessKey", UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_boto3_over_tls_verifies_the_certificate(listeners):
    ddb = client(listeners["tls"], verify=listeners["cert"])
    assert listeners["tls"].startswith("https://")
    ddb.create_table(TableName="tls_table", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    ddb.put_item(TableName="tls_table", Item={"p": {"S": "over tls"}})
    assert ddb.get_item(TableName="tls_table", Key={"p": {"S": "over tls"}})["Item"] == {"p": {"S": "over tls"}}
    with pytest.raises(SSLError):  # an unknown certificate is refused by the client
        client(listeners["tls"], verify=True).list_tables()
    with pytest.raises(requests.exceptions.ConnectionError):  # plain HTTP on the TLS port gets nothing
        requests.get(listeners["tls"].replace("https", "http") + "/health", timeout=5)


def test_a_policy_can_require_secure_transport(listeners):
    access, secret = _user(listeners, "tls-only", [
        {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ])
    assert "TableNames" in client(listeners["tls"], access, secret, verify=listeners["cert"]).list_tables()
    with pytest.raises(ClientError) as caught:
        client(listeners["plain"], access, secret).list_tables()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert caught.value.response["Error"]["Message"] == (
        "User: arn:aws:iam::000000000000:user/tls-only is not authorized to perform: dynamodb:ListTables on "
        "resource: * with an explicit deny in an identity-based policy")


def test_a_policy_can_require_an_endpoint(listeners):
    access, secret = _user(listeners, "vpce-only", [
        {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceVpce": ENDPOINT_ID}}},
    ])
    assert "TableNames" in client(listeners["vpce"], access, secret).list_tables()
    for other in ("plain", "tls"):
        with pytest.raises(ClientError) as caught:
            client(listeners[other], access, secret, verify=listeners["cert"]).list_tables()
        assert caught.value.response["Error"]["Message"].endswith(
            "because no identity-based policy allows the dynamodb:ListTables action")
    denied, secret2 = _user(listeners, "not-via-vpce", [
        {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": ENDPOINT_ID}}},
    ])
    assert "TableNames" in client(listeners["vpce"], denied, secret2).list_tables()
    with pytest.raises(ClientError):  # no aws:SourceVpce: the negated operator holds, the deny applies
        client(listeners["plain"], denied, secret2).list_tables()


def test_server_context_reports_an_unusable_certificate(tmp_path):
    cert, _ = self_signed(tmp_path, "one")
    _, other_key = self_signed(tmp_path, "two")
    with pytest.raises(TlsError, match="cannot use the certificate"):
        server_context(str(cert), str(other_key))


# --- dynamoray serve --tls-cert --tls-key -----------------------------------------------------------


def test_serve_over_tls_with_an_endpoint_id(tmp_path):
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}")
    command = [str(Path(sys.executable).parent / "dynamoray"), "serve", "--engine", "local", "--port", str(port),
               "--data-dir", str(tmp_path / "data"), "--tls-cert", str(cert), "--tls-key", str(key),
               "--endpoint-id", ENDPOINT_ID]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline, endpoint = time.monotonic() + 60, f"https://127.0.0.1:{port}"
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            try:
                requests.get(f"{endpoint}/health", timeout=1, verify=str(cert))
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert client(endpoint, verify=str(cert)).list_tables()["TableNames"] == []
        keys_env = dict(env, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        listed = subprocess.run([command[0], "keys", "--endpoint", endpoint, "--ca-bundle", str(cert), "list"],
                                env=keys_env, capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert [k["Owned"] for k in json.loads(listed.stdout)["Keys"]] == [True]
        unverified = subprocess.run([command[0], "keys", "--endpoint", endpoint, "list"], env=keys_env,
                                    capture_output=True, text=True, timeout=60)
        assert unverified.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in unverified.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert b'"endpoint":"https://127.0.0.1:' in proc.stderr.read()
    bad = subprocess.run(command[:-4] + ["--tls-cert", str(cert)], env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "TLS needs both --tls-cert and --tls-key" in bad.stderr
