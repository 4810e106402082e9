"""The export and import file formats, request rules and catalogs (``core/exports.py``,
``core/imports.py``, ``core/ion.py``), with property tests of the item round trips."""

from __future__ import annotations

import gzip

import orjson
import pytest
from hypothesis import given, settings

from dynamoray.core import errors, exports, imports, ion, values
from dynamoray.schemas.events import ExportUpdated, ImportUpdated

from .test_properties import raw_items

examples = settings(deadline=None, max_examples=150)
ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/music"
PITR = {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35, "EnabledAt": 1000.0}


def _encodable(item: dict) -> bool:
    try:
        orjson.dumps(item)
        return True
    except orjson.JSONEncodeError:  # lone surrogates: not UTF-8, never on the wire
        return False


@examples
@given(raw_items)
def test_an_item_survives_a_dynamodb_json_line(raw):
    if not _encodable(raw):
        return
    item = values.validate_item(raw)
    line = exports.item_line(item)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert exports.parse_item_line(line) == item


@examples
@given(raw_items)
def test_an_item_survives_an_ion_line(raw):
    if not _encodable(raw):
        return
    item = values.validate_item(raw)
    line = exports.ion_line({"Item": item})
    assert ion.parse_item_line(line) == item
    assert ion.parse_item_line(exports.ION_HEADER + line) == item


def test_ion_text_uses_decimals_blobs_and_set_annotations():
    line = exports.ion_line({"Item": {"n": {"N": "1965"}, "f": {"N": "-1.5E+3"}, "b": {"B": "AAE="},
                                      "ss": {"SS": ["a"]}, "ns": {"NS": ["2"]}, "z": {"NULL": True}}})
    assert line == (b"{'Item':{'n':1965d0,'f':-15d2,'b':{{AAE=}},'ss':$dynamodb_SS::[\"a\"],"
                    b"'ns':$dynamodb_NS::[2d0],'z':null}}\n")


def test_a_bad_dynamodb_json_line_is_a_validation_error():
    for line, message in ((b"not json", "Invalid JSON"),
                          (b'{"Item": {}, "x": 1}', 'A DYNAMODB_JSON line must be an object with one member, "Item"')):
        with pytest.raises(errors.DynamoError) as info:
            exports.parse_item_line(line)
        assert (info.value.error_type, info.value.message) == ("ValidationException", message)


def test_change_records_follow_the_view_type():
    keys, old, new = {"p": {"S": "a"}}, {"p": {"S": "a"}, "v": {"N": "1"}}, {"p": {"S": "a"}, "v": {"N": "2"}}
    both = exports.change_record(keys, old, new, 5, exports.NEW_AND_OLD_IMAGES)
    assert both == {"Metadata": {"WriteTimestampMicros": {"N": "5"}}, "Keys": keys, "NewImage": new, "OldImage": old}
    assert "OldImage" not in exports.change_record(keys, old, new, 5, exports.NEW_IMAGE)
    assert set(exports.change_record(keys, old, None, 5, exports.NEW_AND_OLD_IMAGES)) == {"Metadata", "Keys", "OldImage"}


# --- requests -------------------------------------------------------------------------------------


def test_a_full_export_request_resolves_its_time_in_the_window():
    request = exports.parse_request({"TableArn": ARN, "S3Bucket": "b", "S3Prefix": "/x/"})
    assert (request.table_name, request.prefix, request.export_type, request.export_format) == (
        "music", "x", exports.FULL, exports.DYNAMODB_JSON)
    assert exports.check_window(request, PITR, 2000.0).export_time == 2000.0
    with pytest.raises(errors.DynamoError) as info:
        exports.check_window(request, None, 2000.0)
    assert info.value.error_type == "PointInTimeRecoveryUnavailableException"
    early = exports.parse_request({"TableArn": ARN, "S3Bucket": "b", "ExportTime": 999})
    with pytest.raises(errors.DynamoError) as info:
        exports.check_window(early, PITR, 2000.0)
    assert (info.value.error_type, info.value.message) == (
        "InvalidExportTimeException", ("Invalid export time specified. The export time must be between "
                                       "1970-01-01T00:16:40.000Z and 1970-01-01T00:33:20.000Z"))


@pytest.mark.parametrize("body, message", [
    ({"TableArn": "music"}, "Invalid TableArn: music"),
    ({"ExportType": "INCREMENTAL_EXPORT"},
     "IncrementalExportSpecification.ExportFromTime is required for an INCREMENTAL_EXPORT"),
    ({"ExportType": "INCREMENTAL_EXPORT", "ExportTime": 5, "IncrementalExportSpecification": {"ExportFromTime": 1}},
     "ExportTime cannot be specified for an INCREMENTAL_EXPORT; use IncrementalExportSpecification"),
    ({"IncrementalExportSpecification": {"ExportFromTime": 1}},
     "IncrementalExportSpecification cannot be specified for a FULL_EXPORT"),
    ({"ExportType": "INCREMENTAL_EXPORT", "IncrementalExportSpecification": {"ExportFromTime": 5, "ExportToTime": 5}},
     "ExportFromTime must be earlier than ExportToTime"),
    ({"ExportType": "INCREMENTAL_EXPORT",
      "IncrementalExportSpecification": {"ExportFromTime": 0, "ExportToTime": 86401}},
     "The incremental export period must not be longer than 24 hours"),
])
def test_export_request_errors(body, message):
    with pytest.raises(errors.DynamoError) as info:
        exports.parse_request({"TableArn": ARN, "S3Bucket": "b", **body})
    assert (info.value.error_type, info.value.message) == ("ValidationException", message)


def test_manifests_follow_aws_layout():
    request = exports.check_window(exports.parse_request({"TableArn": ARN, "S3Bucket": "b", "S3Prefix": "p"}),
                                   PITR, 1500.0)
    arn = exports.export_arn(ARN, 1_500_000, "0a1b2c3d")
    assert arn == ARN + "/export/00000001500000-0a1b2c3d"
    assert exports.export_dir(request, arn) == "p/AWSDynamoDB/00000001500000-0a1b2c3d"
    described = exports.started_description(request, arn=arn, table_id="tid", now=1500.0)
    data = gzip.compress(b"x")
    entry = exports.file_entry("p/data/f.json.gz", data, 3)
    assert entry["itemCount"] == 3 and entry["dataFileS3Key"] == "p/data/f.json.gz" and len(entry["etag"]) == 32
    summary = orjson.loads(exports.manifest_summary(described, files_key="k", items=3, billed=10, end=1501.0))
    assert summary["version"] == "2020-06-30" and summary["exportTime"] == "1970-01-01T00:25:00.000Z"
    assert (summary["manifestFilesS3Key"], summary["itemCount"], summary["billedSizeBytes"]) == ("k", 3, 10)
    assert exports.manifest_files([entry, entry]).count(b"\n") == 2


def test_the_export_catalog_folds_updates_and_pages():
    catalog = exports.ExportCatalog()
    arns = [exports.export_arn(ARN, ms, "00000000") for ms in (3, 1, 2)]
    for arn in arns:
        exports.evolve(catalog, ExportUpdated(arn, {"ExportArn": arn, "ExportStatus": "IN_PROGRESS",
                                                    "ExportType": "FULL_EXPORT", "TableArn": ARN}))
    exports.evolve(catalog, ExportUpdated(arns[0], {**catalog.get(arns[0]), "ExportStatus": "COMPLETED"}))
    first, token = exports.list_exports(catalog, {"MaxResults": 2})
    rest, end = exports.list_exports(catalog, {"MaxResults": 2, "NextToken": token})
    assert [s["ExportArn"] for s in first + rest] == sorted(arns) and end is None
    assert rest[0]["ExportStatus"] == "COMPLETED"
    assert exports.list_exports(catalog, {"TableArn": ARN + "x"}) == ([], None)
    with pytest.raises(errors.DynamoError) as info:
        catalog.get("arn:nope")
    assert (info.value.error_type, info.value.message) == ("ExportNotFoundException", "Export not found: arn:nope")


# --- imports --------------------------------------------------------------------------------------

TABLE = {"KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
         "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"},
                                  {"AttributeName": "s", "AttributeType": "N"},
                                  {"AttributeName": "g", "AttributeType": "N"}],
         "GlobalSecondaryIndexes": [{"IndexName": "i", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}]}


def _lines(text: bytes, input_format: str, options=None) -> list[imports.Line]:
    return list(imports.lines(text, input_format, options, imports.key_types(TABLE), imports.table_keys(TABLE)))


def test_csv_types_only_the_key_attributes_and_counts_bad_lines():
    text = b"p,s,g,other\na,1,2,3\nb,2,,\nc,x,1,1\nd,4\n,5,1,1\n"
    found = _lines(text, imports.CSV)
    assert found[0].item == {"p": {"S": "a"}, "s": {"N": "1"}, "g": {"N": "2"}, "other": {"S": "3"}}
    assert found[1].item == {"p": {"S": "b"}, "s": {"N": "2"}}
    assert [line.item is None for line in found] == [False, False, True, True, True]
    assert found[3].error == "expected 4 fields, found 2"
    assert found[4].error == "One or more parameter values were invalid: Missing the key p in the item"


def test_csv_with_a_header_list_and_a_delimiter():
    found = _lines(b"a|1\n", imports.CSV, {"Csv": {"Delimiter": "|", "HeaderList": ["p", "s"]}})
    assert [line.item for line in found] == [{"p": {"S": "a"}, "s": {"N": "1"}}]


def test_dynamodb_json_lines_are_checked_against_the_keys():
    good = exports.item_line({"p": {"S": "a"}, "s": {"N": "1"}})
    wrong = exports.item_line({"p": {"S": "a"}, "s": {"S": "1"}})
    found = _lines(good + b"\n" + wrong + b"garbage\n", imports.DYNAMODB_JSON)
    assert found[0].item == {"p": {"S": "a"}, "s": {"N": "1"}}
    assert found[1].error == ("One or more parameter values were invalid: Type mismatch for key s expected: N "
                              "actual: S")
    assert found[2].error == "Invalid JSON"


def test_decompression():
    assert imports.decompress(gzip.compress(b"abc"), imports.GZIP) == b"abc"
    assert imports.decompress(b"abc", imports.NONE) == b"abc"
    import zstandard

    assert imports.decompress(zstandard.ZstdCompressor().compress(b"abc"), imports.ZSTD) == b"abc"
    with pytest.raises(ValueError):
        imports.decompress(b"abc", imports.ZSTD)
    with pytest.raises(ValueError):
        imports.decompress(b"abc", imports.GZIP)


def test_import_input_skips_an_exports_own_files():
    assert imports.wanted("x/AWSDynamoDB/1/data/a.json.gz")
    assert not any(imports.wanted(f"x/{n}") for n in ("manifest-files.json", "_started", "manifest-summary.checksum"))


def test_the_import_catalog_and_its_errors():
    catalog = imports.ImportCatalog()
    arn = imports.import_arn(ARN, 7, "00000001")
    imports.evolve(catalog, ImportUpdated(arn, {"ImportArn": arn, "ImportStatus": "COMPLETED", "TableArn": ARN,
                                                "InputFormat": "CSV", "S3BucketSource": {"S3Bucket": "b"}}))
    assert imports.list_imports(catalog, {"TableArn": ARN})[0][0]["ImportStatus"] == "COMPLETED"
    with pytest.raises(errors.DynamoError) as info:
        catalog.get(ARN + "/import/x")
    assert (info.value.error_type, info.value.message) == ("ImportNotFoundException", f"Import not found: {ARN}/import/x")
    with pytest.raises(errors.DynamoError) as info:
        imports.check_request({"InputFormat": "DYNAMODB_JSON", "InputFormatOptions": {}})
    assert info.value.message == "InputFormatOptions can only be specified when InputFormat is CSV"
