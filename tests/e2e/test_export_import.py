"""ExportTableToPointInTime and ImportTable through boto3, on every engine: a full export imported
into a new table equals its source; the export as of a past instant; an incremental export's
changes; CSV and gzip imports with bad lines counted; the S3 path against moto; every error."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ..s3_server import bucket_objects, new_bucket, s3_endpoint  # noqa: F401 - the fixture
from .conftest import create, unique
from .test_backups import instant, wait_active


def _error(info) -> tuple[str, str]:
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


@pytest.fixture
def buckets(tmp_path, monkeypatch):
    """A local-bucket root with one bucket, ``exports`` (a dynamoray extension)."""
    monkeypatch.setenv("DYNAMORAY_LOCAL_BUCKETS", str(tmp_path))
    (tmp_path / "exports").mkdir()
    return tmp_path


def pitr_table(ddb, keys=(("p", "S", "HASH"),)) -> tuple[str, str]:
    name = create(ddb, list(keys))
    ddb.update_continuous_backups(TableName=name,
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    return name, ddb.describe_table(TableName=name)["Table"]["TableArn"]


def wait_export(ddb, arn: str, deadline: float = 120.0) -> dict:
    stop = time.monotonic() + deadline
    while True:
        found = ddb.describe_export(ExportArn=arn)["ExportDescription"]
        if found["ExportStatus"] != "IN_PROGRESS":
            return found
        assert time.monotonic() < stop, "the export never finished"
        time.sleep(0.05)


def wait_import(ddb, arn: str, deadline: float = 120.0) -> dict:
    stop = time.monotonic() + deadline
    while True:
        found = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
        if found["ImportStatus"] != "IN_PROGRESS":
            return found
        assert time.monotonic() < stop, "the import never finished"
        time.sleep(0.05)


def scan(ddb, name: str) -> dict:
    pages = ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
    return {json.dumps(item["p"]): item for page in pages for item in page["Items"]}


def data_lines(root: Path, manifest: dict) -> list[dict]:
    out = []
    for line in (root / manifest["manifestFilesS3Key"]).read_text().splitlines():
        entry = json.loads(line)
        text = gzip.decompress((root / entry["dataFileS3Key"]).read_bytes()).decode()
        lines = [json.loads(x) for x in text.splitlines()]
        assert len(lines) == entry["itemCount"]
        out += lines
    return out


def creation(name: str, attribute_type: str = "S") -> dict:
    return {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": attribute_type}]}


# --- full export, then import -----------------------------------------------------------------------


def test_a_full_export_imported_into_a_new_table_equals_its_source(ddb, buckets):
    name, arn = pitr_table(ddb)
    for i in range(40):
        ddb.put_item(TableName=name, Item={"p": {"S": f"k{i}"}, "n": {"N": str(i)}, "l": {"L": [{"BOOL": True}]},
                                           "ss": {"SS": ["a", "b"]}, "b": {"B": b"\x00\x01"}})
    started = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", S3Prefix="runs/one",
                                                ExportFormat="DYNAMODB_JSON")["ExportDescription"]
    assert started["ExportStatus"] == "IN_PROGRESS" and started["ExportType"] == "FULL_EXPORT"
    done = wait_export(ddb, started["ExportArn"])
    assert done["ExportStatus"] == "COMPLETED" and done["ItemCount"] == 40 and done["BilledSizeBytes"] > 0
    export_id = started["ExportArn"].rpartition("/export/")[2]
    root = buckets / "exports"
    assert done["ExportManifest"] == f"runs/one/AWSDynamoDB/{export_id}/manifest-summary.json"
    summary = json.loads((root / done["ExportManifest"]).read_text())
    assert summary["itemCount"] == 40 and summary["outputFormat"] == "DYNAMODB_JSON"
    assert summary["exportArn"] == started["ExportArn"] and (root / f"runs/one/AWSDynamoDB/{export_id}/_started").exists()
    lines = data_lines(root, summary)
    assert all(set(line) == {"Item"} for line in lines) and len(lines) == 40

    target = unique("imported")
    imported = ddb.import_table(S3BucketSource={"S3Bucket": "exports", "S3KeyPrefix": f"runs/one/AWSDynamoDB/{export_id}/data/"},
                                InputFormat="DYNAMODB_JSON", InputCompressionType="GZIP",
                                TableCreationParameters=creation(target))["ImportTableDescription"]
    assert imported["ImportStatus"] == "IN_PROGRESS"
    finished = wait_import(ddb, imported["ImportArn"])
    assert finished["ImportStatus"] == "COMPLETED", finished
    assert (finished["ProcessedItemCount"], finished["ImportedItemCount"], finished["ErrorCount"]) == (40, 40, 0)
    wait_active(ddb, target)
    assert scan(ddb, target) == scan(ddb, name)

    listed = ddb.list_exports(TableArn=arn)["ExportSummaries"]
    assert listed == [{"ExportArn": started["ExportArn"], "ExportStatus": "COMPLETED", "ExportType": "FULL_EXPORT"}]
    imports = [s["ImportArn"] for s in ddb.list_imports(TableArn=finished["TableArn"])["ImportSummaryList"]]
    assert imports == [imported["ImportArn"]]


def test_an_export_holds_the_table_as_of_its_export_time(ddb, buckets):
    name, arn = pitr_table(ddb)
    ddb.put_item(TableName=name, Item={"p": {"S": "before"}})
    moment = instant()
    ddb.put_item(TableName=name, Item={"p": {"S": "after"}})
    ddb.delete_item(TableName=name, Key={"p": {"S": "before"}})
    started = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", ExportTime=moment)["ExportDescription"]
    done = wait_export(ddb, started["ExportArn"])
    assert done["ItemCount"] == 1
    summary = json.loads((buckets / "exports" / done["ExportManifest"]).read_text())
    assert [line["Item"]["p"]["S"] for line in data_lines(buckets / "exports", summary)] == ["before"]


def test_list_exports_pages(ddb, buckets):
    _, arn = pitr_table(ddb)
    arns = [ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports")["ExportDescription"]["ExportArn"]
            for _ in range(3)]
    first = ddb.list_exports(TableArn=arn, MaxResults=2)
    second = ddb.list_exports(TableArn=arn, MaxResults=2, NextToken=first["NextToken"])
    assert [s["ExportArn"] for s in first["ExportSummaries"] + second["ExportSummaries"]] == sorted(arns)
    assert "NextToken" not in second
    for export in arns:
        wait_export(ddb, export)


# --- incremental export ------------------------------------------------------------------------------


def test_an_incremental_export_holds_each_changed_item_once_with_both_images(ddb, buckets):
    name, arn = pitr_table(ddb)
    ddb.put_item(TableName=name, Item={"p": {"S": "kept"}, "v": {"S": "0"}})
    ddb.put_item(TableName=name, Item={"p": {"S": "changed"}, "v": {"S": "0"}})
    ddb.put_item(TableName=name, Item={"p": {"S": "deleted"}, "v": {"S": "0"}})
    start = instant()
    ddb.put_item(TableName=name, Item={"p": {"S": "changed"}, "v": {"S": "1"}})
    ddb.put_item(TableName=name, Item={"p": {"S": "changed"}, "v": {"S": "2"}})
    ddb.put_item(TableName=name, Item={"p": {"S": "new"}, "v": {"S": "1"}})
    ddb.delete_item(TableName=name, Key={"p": {"S": "deleted"}})
    ddb.put_item(TableName=name, Item={"p": {"S": "brief"}})
    ddb.delete_item(TableName=name, Key={"p": {"S": "brief"}})
    end = instant()
    ddb.put_item(TableName=name, Item={"p": {"S": "later"}})
    started = ddb.export_table_to_point_in_time(
        TableArn=arn, S3Bucket="exports", ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={"ExportFromTime": start, "ExportToTime": end})["ExportDescription"]
    assert started["IncrementalExportSpecification"]["ExportViewType"] == "NEW_AND_OLD_IMAGES"
    done = wait_export(ddb, started["ExportArn"])
    assert done["ExportStatus"] == "COMPLETED" and done["ItemCount"] == 3
    summary = json.loads((buckets / "exports" / done["ExportManifest"]).read_text())
    assert summary["exportType"] == "INCREMENTAL_EXPORT" and summary["outputView"] == "NEW_AND_OLD_IMAGES"
    lines = {line["Keys"]["p"]["S"]: line for line in data_lines(buckets / "exports", summary)}
    assert set(lines) == {"changed", "new", "deleted"}
    assert lines["changed"]["NewImage"]["v"] == {"S": "2"} and lines["changed"]["OldImage"]["v"] == {"S": "0"}
    assert "OldImage" not in lines["new"] and lines["new"]["NewImage"]["v"] == {"S": "1"}
    assert "NewImage" not in lines["deleted"] and lines["deleted"]["OldImage"]["v"] == {"S": "0"}
    micros = int(lines["changed"]["Metadata"]["WriteTimestampMicros"]["N"])
    assert start * 1e6 - 1e3 <= micros <= end * 1e6


def test_a_new_image_incremental_export_has_no_old_images(ddb, buckets):
    name, arn = pitr_table(ddb)
    ddb.put_item(TableName=name, Item={"p": {"S": "a"}, "v": {"S": "0"}})
    start = instant()
    ddb.put_item(TableName=name, Item={"p": {"S": "a"}, "v": {"S": "1"}})
    started = ddb.export_table_to_point_in_time(
        TableArn=arn, S3Bucket="exports", ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={"ExportFromTime": start, "ExportViewType": "NEW_IMAGE"})["ExportDescription"]
    done = wait_export(ddb, started["ExportArn"])
    summary = json.loads((buckets / "exports" / done["ExportManifest"]).read_text())
    (line,) = data_lines(buckets / "exports", summary)
    assert set(line) == {"Metadata", "Keys", "NewImage"} and line["NewImage"]["v"] == {"S": "1"}


# --- CSV and gzip imports -----------------------------------------------------------------------------


def test_a_csv_import_types_the_keys_and_counts_bad_lines(ddb, buckets):
    rows = io.StringIO()
    writer = csv.writer(rows, delimiter=";")
    writer.writerow(["p", "name", "age"])
    writer.writerow(["1", "ada", "36"])
    writer.writerow(["2", "grace", ""])
    writer.writerow(["not-a-number", "x", "1"])  # a bad key: counted, not fatal
    writer.writerow(["3", "too", "many", "fields"])  # a bad line
    (buckets / "exports" / "csv").mkdir()
    (buckets / "exports" / "csv" / "people.csv.gz").write_bytes(gzip.compress(rows.getvalue().encode()))
    target = unique("csv")
    imported = ddb.import_table(S3BucketSource={"S3Bucket": "exports", "S3KeyPrefix": "csv/"}, InputFormat="CSV",
                                InputFormatOptions={"Csv": {"Delimiter": ";"}}, InputCompressionType="GZIP",
                                TableCreationParameters=creation(target, "N"))["ImportTableDescription"]
    finished = wait_import(ddb, imported["ImportArn"])
    assert finished["ImportStatus"] == "COMPLETED"
    assert (finished["ProcessedItemCount"], finished["ImportedItemCount"], finished["ErrorCount"]) == (4, 2, 2)
    wait_active(ddb, target)
    items = {item["p"]["N"]: item for item in ddb.scan(TableName=target)["Items"]}
    assert items == {"1": {"p": {"N": "1"}, "name": {"S": "ada"}, "age": {"S": "36"}},
                     "2": {"p": {"N": "2"}, "name": {"S": "grace"}}}


def test_a_csv_import_with_a_header_list_reads_every_line_as_data(ddb, buckets):
    (buckets / "exports" / "plain").mkdir()
    (buckets / "exports" / "plain" / "a.csv").write_text("x,1\ny,2\n")
    target = unique("csvh")
    imported = ddb.import_table(S3BucketSource={"S3Bucket": "exports", "S3KeyPrefix": "plain/"}, InputFormat="CSV",
                                InputFormatOptions={"Csv": {"HeaderList": ["p", "v"]}},
                                TableCreationParameters=creation(target))["ImportTableDescription"]
    finished = wait_import(ddb, imported["ImportArn"])
    assert finished["ImportedItemCount"] == 2 and finished["InputCompressionType"] == "NONE"
    wait_active(ddb, target)
    assert sorted(i["p"]["S"] for i in ddb.scan(TableName=target)["Items"]) == ["x", "y"]


def test_an_import_from_an_empty_prefix_fails_and_leaves_no_table(ddb, buckets):
    target = unique("empty")
    imported = ddb.import_table(S3BucketSource={"S3Bucket": "exports", "S3KeyPrefix": "nothing-here/"},
                                InputFormat="DYNAMODB_JSON", TableCreationParameters=creation(target))
    finished = wait_import(ddb, imported["ImportTableDescription"]["ImportArn"])
    assert finished["ImportStatus"] == "FAILED" and finished["FailureCode"] == "S3NoSuchKey"
    assert target not in ddb.list_tables()["TableNames"]


# --- S3 (moto) -------------------------------------------------------------------------------------------


def test_export_to_and_import_from_an_s3_bucket(ddb, s3_endpoint, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("DYNAMORAY_LOCAL_BUCKETS", raising=False)
    bucket = new_bucket(s3_endpoint)
    name, arn = pitr_table(ddb)
    for i in range(12):
        ddb.put_item(TableName=name, Item={"p": {"S": f"k{i}"}, "v": {"N": str(i)}})
    started = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="ddb")["ExportDescription"]
    done = wait_export(ddb, started["ExportArn"])
    assert done["ExportStatus"] == "COMPLETED" and done["ItemCount"] == 12
    objects = bucket_objects(s3_endpoint, bucket)
    export_dir = done["ExportManifest"].rpartition("/")[0]
    assert f"{export_dir}/manifest-files.json" in objects and f"{export_dir}/_started" in objects
    target = unique("from_s3")
    imported = ddb.import_table(S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": f"{export_dir}/data/"},
                                InputFormat="DYNAMODB_JSON", InputCompressionType="GZIP",
                                TableCreationParameters=creation(target))["ImportTableDescription"]
    assert wait_import(ddb, imported["ImportArn"])["ImportedItemCount"] == 12
    wait_active(ddb, target)
    assert scan(ddb, target) == scan(ddb, name)


def test_an_export_to_a_missing_bucket_fails(ddb, s3_endpoint, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("DYNAMORAY_LOCAL_BUCKETS", raising=False)
    _, arn = pitr_table(ddb)
    started = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="no-such-bucket-dynamoray")["ExportDescription"]
    done = wait_export(ddb, started["ExportArn"])
    assert done["ExportStatus"] == "FAILED" and done["FailureCode"] == "S3NoSuchBucket"


# --- errors --------------------------------------------------------------------------------------------


def test_export_errors(ddb, buckets):
    name = create(ddb, [("p", "S", "HASH")])
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    with pytest.raises(ClientError) as info:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports")
    assert _error(info) == ("PointInTimeRecoveryUnavailableException",
                            f"Point in time recovery is not enabled for table '{name}'")
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    with pytest.raises(ClientError) as info:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", ExportTime=time.time() - 3600)
    code, message = _error(info)
    assert code == "InvalidExportTimeException"
    assert message.startswith("Invalid export time specified. The export time must be between ")
    missing = arn.rpartition("/")[0] + "/no_such_table"
    with pytest.raises(ClientError) as info:
        ddb.export_table_to_point_in_time(TableArn=missing, S3Bucket="exports")
    assert _error(info) == ("TableNotFoundException", f"Table not found: {missing}")
    with pytest.raises(ClientError) as info:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", ExportType="INCREMENTAL_EXPORT")
    assert _error(info) == ("ValidationException",
                            "IncrementalExportSpecification.ExportFromTime is required for an INCREMENTAL_EXPORT")
    with pytest.raises(ClientError) as info:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports",
                                          IncrementalExportSpecification={"ExportFromTime": time.time()})
    assert _error(info) == ("ValidationException",
                            "IncrementalExportSpecification cannot be specified for a FULL_EXPORT")
    with pytest.raises(ClientError) as info:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", ExportType="INCREMENTAL_EXPORT",
                                          IncrementalExportSpecification={"ExportFromTime": time.time(),
                                                                          "ExportToTime": time.time() - 10})
    assert _error(info) == ("ValidationException", "ExportFromTime must be earlier than ExportToTime")
    with pytest.raises(ClientError) as info:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", ExportFormat="CSV")
    assert _error(info)[0] == "ValidationException" and "Member must satisfy enum value set" in _error(info)[1]
    unknown = arn + "/export/01700000000000-0000abcd"
    with pytest.raises(ClientError) as info:
        ddb.describe_export(ExportArn=unknown)
    assert _error(info) == ("ExportNotFoundException", f"Export not found: {unknown}")


def test_import_errors(ddb, buckets):
    existing = create(ddb, [("p", "S", "HASH")])
    with pytest.raises(ClientError) as info:
        ddb.import_table(S3BucketSource={"S3Bucket": "exports"}, InputFormat="DYNAMODB_JSON",
                         TableCreationParameters=creation(existing))
    assert _error(info) == ("ResourceInUseException", f"Table already exists: {existing}")
    with pytest.raises(ClientError) as info:
        ddb.import_table(S3BucketSource={"S3Bucket": "exports"}, InputFormat="DYNAMODB_JSON",
                         InputFormatOptions={"Csv": {"Delimiter": ","}}, TableCreationParameters=creation(unique()))
    assert _error(info) == ("ValidationException", "InputFormatOptions can only be specified when InputFormat is CSV")
    bad = creation(unique())
    bad["KeySchema"] = [{"AttributeName": "q", "KeyType": "HASH"}]
    with pytest.raises(ClientError) as info:
        ddb.import_table(S3BucketSource={"S3Bucket": "exports"}, InputFormat="CSV", TableCreationParameters=bad)
    assert _error(info)[0] == "ValidationException"
    unknown = ddb.describe_table(TableName=existing)["Table"]["TableArn"] + "/import/01700000000000-0000abcd"
    with pytest.raises(ClientError) as info:
        ddb.describe_import(ImportArn=unknown)
    assert _error(info) == ("ImportNotFoundException", f"Import not found: {unknown}")


# --- ION and zstd ----------------------------------------------------------------------------------------


def test_an_ion_export_imported_as_ion_equals_its_source(ddb, buckets):
    name, arn = pitr_table(ddb)
    for i in range(10):
        ddb.put_item(TableName=name, Item={"p": {"S": f"k{i}"}, "n": {"N": f"{i}.5"}, "ns": {"NS": ["1", "2"]},
                                           "m": {"M": {"b": {"B": b"\xff"}, "z": {"NULL": True}}}})
    started = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="exports", ExportFormat="ION")["ExportDescription"]
    done = wait_export(ddb, started["ExportArn"])
    assert done["ExportStatus"] == "COMPLETED" and done["ItemCount"] == 10
    data_dir = done["ExportManifest"].rpartition("/")[0] + "/data/"
    files = sorted((buckets / "exports" / data_dir).iterdir())
    assert files and all(f.name.endswith(".ion.gz") for f in files)
    first = next(gzip.decompress(f.read_bytes()) for f in files if f.stat().st_size > 30)
    assert first.startswith(b"$ion_1_0 {'Item':{")
    target = unique("ion")
    imported = ddb.import_table(S3BucketSource={"S3Bucket": "exports", "S3KeyPrefix": data_dir}, InputFormat="ION",
                                InputCompressionType="GZIP", TableCreationParameters=creation(target))
    assert wait_import(ddb, imported["ImportTableDescription"]["ImportArn"])["ImportedItemCount"] == 10
    wait_active(ddb, target)
    assert scan(ddb, target) == scan(ddb, name)


def test_a_zstd_import(ddb, buckets):
    import zstandard

    lines = b"".join(json.dumps({"Item": {"p": {"S": f"z{i}"}}}).encode() + b"\n" for i in range(5))
    (buckets / "exports" / "zstd").mkdir()
    (buckets / "exports" / "zstd" / "part.json.zst").write_bytes(zstandard.ZstdCompressor().compress(lines))
    target = unique("zstd")
    imported = ddb.import_table(S3BucketSource={"S3Bucket": "exports", "S3KeyPrefix": "zstd/"},
                                InputFormat="DYNAMODB_JSON", InputCompressionType="ZSTD",
                                TableCreationParameters=creation(target))
    finished = wait_import(ddb, imported["ImportTableDescription"]["ImportArn"])
    assert (finished["ImportStatus"], finished["ImportedItemCount"]) == ("COMPLETED", 5)
