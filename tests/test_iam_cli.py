"""``dynamoray iam``: command lines become admin requests (the calls themselves are in tests/e2e/test_iam.py)."""

import io
import json

import pytest

from dynamoray import iam_cli
from dynamoray.admin_cli import root_credentials
from dynamoray.cli import build_parser


def parse(*argv):
    return build_parser().parse_args(["iam", *argv])


def test_commands_map_to_admin_operations(tmp_path, monkeypatch):
    assert iam_cli.request_of(parse("create-user", "alice", "--tag", "team=blue", "--context", "app:id=7")) == (
        "CreateUser", {"UserName": "alice", "Tags": [{"Key": "team", "Value": "blue"}],
                       "SessionContext": {"app:id": "7"}})
    assert iam_cli.request_of(parse("create-access-key", "reader", "--role")) == (
        "CreateAccessKey", {"RoleName": "reader"})
    assert iam_cli.request_of(parse("attach-role-policy", "r", "arn:aws:iam::000000000000:policy/p")) == (
        "AttachRolePolicy", {"RoleName": "r", "PolicyArn": "arn:aws:iam::000000000000:policy/p"})
    document = tmp_path / "p.json"
    document.write_text('{"Statement": []}')
    assert iam_cli.request_of(parse("put-user-policy", "alice", "own", str(document))) == (
        "PutUserPolicy", {"UserName": "alice", "PolicyName": "own", "PolicyDocument": '{"Statement": []}'})
    monkeypatch.setattr("sys.stdin", io.StringIO("{}"))
    assert iam_cli.request_of(parse("create-policy", "p", "-"))[1]["PolicyDocument"] == "{}"


def test_root_credentials_from_the_environment_or_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.delenv("DYNAMORAY_ROOT_CREDENTIALS", raising=False)
    with pytest.raises(SystemExit,
                       match="dynamoray iam: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY .or DYNAMORAY_ROOT_CREDENTIALS"):
        root_credentials(parse("list-users"), "iam")
    with pytest.raises(SystemExit, match="root-credentials.json does not exist"):  # a server run on the env var
        root_credentials(parse("--data-dir", str(tmp_path), "list-users"), "iam")
    monkeypatch.setenv("DYNAMORAY_ROOT_CREDENTIALS", "AK3:SK3")  # what serve itself reads
    assert root_credentials(parse("--data-dir", str(tmp_path), "list-users"), "iam") == ("AK3", "SK3")
    assert root_credentials(parse("list-users"), "iam") == ("AK3", "SK3")
    monkeypatch.delenv("DYNAMORAY_ROOT_CREDENTIALS")
    (tmp_path / "root-credentials.json").write_text(json.dumps({"access_key": "AK", "secret_key": "SK"}))
    assert root_credentials(parse("--data-dir", str(tmp_path), "list-users"), "iam") == ("AK", "SK")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AK2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SK2")
    assert root_credentials(parse("list-users"), "iam") == ("AK2", "SK2")


def test_bad_pairs_and_unreachable_servers(capsys, monkeypatch):
    with pytest.raises(SystemExit, match="--tag takes KEY=VALUE"):
        iam_cli.request_of(parse("create-user", "alice", "--tag", "novalue"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SK")
    assert iam_cli.run(parse("--endpoint", "http://127.0.0.1:9", "list-users")) == 1
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err
