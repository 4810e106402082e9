"""``dynamoray restore-status`` and the admin API's restore operations against a live gateway, the
``follow`` loop with a scripted server, and ``dynamoray serve``'s backup options."""

from __future__ import annotations

import asyncio
import io

import pytest

from dynamoray.actors.local import LocalEngine
from dynamoray.backups_cli import PlainBar, follow
from dynamoray.cli import build_parser, main
from dynamoray.gateway.admin_client import AdminClient, AdminError
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

from .e2e.conftest import ACCESS_KEY, SECRET_KEY, make_client, unique
from .e2e.test_backups import wait_active


@pytest.fixture(scope="module")
def live():
    engine = LocalEngine(shards=2)
    asyncio.run(engine.open())
    server = BackgroundServer(build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(), ttl_interval=None,
                                            telemetry=None)).start()
    yield server
    server.stop()
    asyncio.run(engine.close())


def restored_table(ddb, items: int) -> str:
    source = unique("src")
    ddb.create_table(TableName=source, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    for start in range(0, items, 25):
        ddb.batch_write_item(RequestItems={source: [{"PutRequest": {"Item": {"p": {"S": f"k{i}"}}}}
                                                    for i in range(start, min(start + 25, items))]})
    arn = ddb.create_backup(TableName=source, BackupName="cli-test")["BackupDetails"]["BackupArn"]
    target = unique("copy")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    return target


def test_restore_status_follows_a_restore_until_the_table_is_active(live, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    ddb = make_client(live.endpoint)
    target = restored_table(ddb, 1000)
    assert main(["restore-status", target, "--follow", "--interval", "0.05", "--endpoint", live.endpoint]) == 0
    assert ddb.describe_table(TableName=target)["Table"]["TableStatus"] == "ACTIVE"
    shown = capsys.readouterr().out
    assert target in shown and "100%" in shown and "1,000/1,000 items" in shown
    assert main(["restore-status", target, "--endpoint", live.endpoint]) == 0
    assert f"{target}: DONE 1,000/1,000 items (100.0 %)" in capsys.readouterr().out
    assert main(["restore-status", "--endpoint", live.endpoint]) == 0
    assert f"{target}: DONE" in capsys.readouterr().out


def test_the_admin_api_reports_every_figure_and_unknown_tables(live):
    ddb = make_client(live.endpoint)
    target = restored_table(ddb, 100)
    wait_active(ddb, target)
    admin = AdminClient(live.endpoint, ACCESS_KEY, SECRET_KEY)
    answer = admin.call("DescribeRestore", TableName=target)
    restore = answer["Restore"]
    assert answer["TableStatus"] == "ACTIVE"
    assert (restore["Phase"], restore["ItemsRestored"], restore["ItemsTotal"], restore["Percent"]) == ("DONE", 100, 100, 100.0)
    assert restore["Source"].endswith("/backup/" + restore["Source"].rpartition("/backup/")[2])
    assert restore["ItemsPerSecond"] > 0 and restore["FinishedAt"] >= restore["StartedAt"]
    assert target in [r["TableName"] for r in admin.call("ListRestores")["Restores"]]
    source = restore["Source"].split("/backup/")[0].rpartition("/")[2]
    assert admin.call("DescribeRestore", TableName=source) == {"TableStatus": "ACTIVE"}  # never restored
    with pytest.raises(AdminError) as missing:
        admin.call("DescribeRestore", TableName="no_such_table")
    assert missing.value.code == "ResourceNotFoundException"
    with pytest.raises(AdminError) as invalid:
        admin.call("DescribeRestore")
    assert invalid.value.code == "ValidationException"
    ddb.delete_table(TableName=target)
    assert admin.call("DescribeRestore", TableName=target)["TableStatus"] == "DELETED"


def test_the_cli_reports_an_unknown_table_and_an_unreachable_server(live, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    assert main(["restore-status", "no_such_table", "--endpoint", live.endpoint]) == 1
    assert "ResourceNotFoundException" in capsys.readouterr().err
    assert main(["restore-status", "--endpoint", "http://127.0.0.1:1"]) == 1
    assert "cannot reach http://127.0.0.1:1" in capsys.readouterr().err
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with pytest.raises(SystemExit, match="set AWS_ACCESS_KEY_ID"):
        main(["restore-status", "--endpoint", live.endpoint])


def scripted(*answers: dict):
    calls = []

    def call(operation: str, **params):
        calls.append((operation, params))
        return answers[min(len(calls), len(answers)) - 1]

    return call, calls


def entry(phase: str, items: int, total: int | None, **extra) -> dict:
    return {"TableName": "copy", "Phase": phase, "ItemsRestored": items, "ItemsTotal": total,
            "Percent": 100.0 * items / total if total else 0.0, **extra}


def test_follow_shows_each_poll_and_ends_with_the_table():
    call, calls = scripted({"Restore": entry("READING", 0, None), "TableStatus": "CREATING"},
                           {"Restore": entry("WRITING", 500, 2000, ItemsPerSecond=250.0, EtaSeconds=6.0),
                            "TableStatus": "CREATING"},
                           {"Restore": entry("DONE", 2000, 2000, ItemsPerSecond=250.0), "TableStatus": "ACTIVE"})
    out, slept = io.StringIO(), []
    assert follow(call, "copy", PlainBar(out), interval=0.5, sleep=slept.append) == 0
    assert calls == [("DescribeRestore", {"TableName": "copy"})] * 3 and slept == [0.5, 0.5]
    assert out.getvalue().splitlines() == [
        "copy: READING; table CREATING",
        "copy: WRITING 500/2,000 items (25.0 %), 250 items/s, ETA 6 s; table CREATING",
        "copy: DONE 2,000/2,000 items (100.0 %), 250 items/s; table ACTIVE",
    ]
    failed, _ = scripted({"Restore": entry("FAILED", 3, 10, Error="boom"), "TableStatus": "CREATING"})
    assert follow(failed, "copy", PlainBar(io.StringIO()), sleep=slept.append) == 1
    gone, _ = scripted({"Restore": entry("WRITING", 3, 10), "TableStatus": "DELETED"})
    assert follow(gone, "copy", PlainBar(io.StringIO()), sleep=slept.append) == 1


def test_serve_takes_an_s3_backup_store_and_a_retention_interval():
    from dynamoray.backups_cli import backup_options

    args = build_parser().parse_args(["serve", "--backup-store", "s3://bucket/pre/fix",
                                      "--s3-endpoint-url", "http://127.0.0.1:9000", "--log-retention-interval", "0"])
    options = backup_options(args)
    assert options["retention_interval"] is None
    store = options["backup_store"]
    assert (store.bucket, store.prefix, store.endpoint_url) == ("bucket", "pre/fix", "http://127.0.0.1:9000")
    defaults = backup_options(build_parser().parse_args(["serve"]))
    assert defaults == {"backup_store": None, "retention_interval": 600.0}
    for bad in (["--backup-store", "bucket"], ["--s3-endpoint-url", "http://x"]):
        with pytest.raises(SystemExit):
            backup_options(build_parser().parse_args(["serve", *bad]))


def test_serve_puts_local_buckets_under_the_data_dir_unless_told(tmp_path):
    from dynamoray.backups_cli import export_settings

    environ: dict = {}
    export_settings(build_parser().parse_args(["serve", "--data-dir", str(tmp_path)]), environ)
    assert environ == {"DYNAMORAY_LOCAL_BUCKETS": str((tmp_path / "buckets").resolve())}
    export_settings(build_parser().parse_args(["serve", "--local-buckets", str(tmp_path / "b")]), environ)
    assert environ["DYNAMORAY_LOCAL_BUCKETS"] == str((tmp_path / "b").resolve())
    kept = {"DYNAMORAY_LOCAL_BUCKETS": "/elsewhere"}
    export_settings(build_parser().parse_args(["serve"]), kept)
    assert kept == {"DYNAMORAY_LOCAL_BUCKETS": "/elsewhere"}
