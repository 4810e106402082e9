"""ExportTableToPointInTime, pure: the request's rules, the file formats, the export catalog.

An export writes, under ``<S3Prefix>/AWSDynamoDB/<ExportId>/``, AWS's layout:

- ``data/<name>.json.gz`` (or ``.ion.gz``): one item per line, gzip-compressed, one file per shard;
- ``manifest-files.json``: one JSON line per data file (``itemCount``, ``md5Checksum``, ``etag``,
  ``dataFileS3Key``), and ``manifest-summary.json``: the export as a whole (``manifestFilesS3Key``,
  ``itemCount``, ``billedSizeBytes``, ``outputFormat``...), each with a ``.checksum`` (MD5 hex);
- ``_started``: an empty object written first.

A full export's line is ``{"Item": {...}}``; an incremental export's line is one changed item,
``{"Metadata": {"WriteTimestampMicros": {"N": ...}}, "Keys": ..., "NewImage": ..., "OldImage":
...}`` (``NEW_IMAGE`` view: no ``OldImage``; a deleted item has no ``NewImage``).  The ION format
writes the same records in Amazon Ion text (``ion_line``).

The catalog is a fold of ``ExportUpdated`` events, each carrying the whole ``ExportDescription``
(times in epoch seconds), so DescribeExport/ListExports survive a restart.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

import orjson

from ..schemas.events import ExportUpdated
from . import backups, errors, values

FULL, INCREMENTAL = "FULL_EXPORT", "INCREMENTAL_EXPORT"
DYNAMODB_JSON, ION = "DYNAMODB_JSON", "ION"
NEW_AND_OLD_IMAGES, NEW_IMAGE = "NEW_AND_OLD_IMAGES", "NEW_IMAGE"
IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
MAX_INCREMENTAL_SECONDS = 24 * 3600.0  # AWS's longest incremental export window
FULL_VERSION, INCREMENTAL_VERSION = "2020-06-30", "2023-08-01"  # manifest-summary.json "version"
PREFIX_DIR = "AWSDynamoDB"
DEFAULT_LIST_LIMIT = 25


@dataclass(frozen=True)
class ExportRequest:
    """A checked ExportTableToPointInTime request (times in epoch seconds)."""

    table_name: str
    table_arn: str
    bucket: str
    prefix: str
    export_format: str
    export_type: str
    export_time: float | None  # FULL_EXPORT: None means now
    from_time: float | None = None  # INCREMENTAL_EXPORT: inclusive
    to_time: float | None = None  # INCREMENTAL_EXPORT: exclusive; None means now
    view: str = NEW_AND_OLD_IMAGES
    body: dict = field(default_factory=dict, compare=False)


def parse_request(body: dict) -> ExportRequest:
    """Check an ExportTableToPointInTime body (the shapes were checked against the model already)."""
    arn = body["TableArn"]
    if not arn.startswith("arn:") or ":table/" not in arn:
        raise errors.validation(f"Invalid TableArn: {arn}")
    export_type = body.get("ExportType") or FULL
    spec = body.get("IncrementalExportSpecification")
    out = ExportRequest(backups.table_name_of(arn), arn, body["S3Bucket"], (body.get("S3Prefix") or "").strip("/"),
                        body.get("ExportFormat") or DYNAMODB_JSON, export_type, None, body=body)
    if export_type == FULL:
        if spec is not None:
            raise errors.validation("IncrementalExportSpecification cannot be specified for a FULL_EXPORT")
        when = body.get("ExportTime")
        return out if when is None else _replace(out, export_time=backups.parse_time(when))
    if body.get("ExportTime") is not None:
        raise errors.validation("ExportTime cannot be specified for an INCREMENTAL_EXPORT; use "
                                "IncrementalExportSpecification")
    if not spec or spec.get("ExportFromTime") is None:
        raise errors.validation("IncrementalExportSpecification.ExportFromTime is required for an INCREMENTAL_EXPORT")
    start = backups.parse_time(spec["ExportFromTime"])
    end = backups.parse_time(spec["ExportToTime"]) if spec.get("ExportToTime") is not None else None
    if end is not None and end <= start:
        raise errors.validation("ExportFromTime must be earlier than ExportToTime")
    if end is not None and end - start > MAX_INCREMENTAL_SECONDS:
        raise errors.validation("The incremental export period must not be longer than 24 hours")
    return _replace(out, from_time=start, to_time=end, view=spec.get("ExportViewType") or NEW_AND_OLD_IMAGES)


def _replace(request: ExportRequest, **changes: Any) -> ExportRequest:
    import dataclasses

    return dataclasses.replace(request, **changes)


def check_window(request: ExportRequest, pitr: dict | None, now: float) -> ExportRequest:
    """The request with its instants resolved against the table's PITR window: the table must have
    point-in-time recovery (PointInTimeRecoveryUnavailableException) and every instant must be in
    the window (InvalidExportTimeException)."""
    if not backups.enabled(pitr):
        raise errors.point_in_time_recovery_unavailable(request.table_name)
    earliest, latest = backups.window(pitr, now)
    if request.export_type == FULL:
        when = now if request.export_time is None else request.export_time
        _in_window(when, earliest, latest)
        return _replace(request, export_time=when)
    end = now if request.to_time is None else request.to_time
    _in_window(request.from_time, earliest, latest)
    _in_window(end, earliest, latest)
    if end <= request.from_time:
        raise errors.validation("ExportFromTime must be earlier than ExportToTime")
    return _replace(request, to_time=end)


def _in_window(when: float, earliest: float, latest: float) -> None:
    if not earliest <= when <= latest:
        raise errors.invalid_export_time(iso(earliest), iso(latest))


def export_arn(table_arn: str, created_ms: int, suffix: str) -> str:
    """``<table ARN>/export/<ms, 14 digits>-<8 hex>``, as DynamoDB names exports."""
    return f"{table_arn}/export/{created_ms:014d}-{suffix}"


def export_id(arn: str) -> str:
    return arn.rpartition("/export/")[2]


def export_dir(request: ExportRequest, arn: str) -> str:
    """The key prefix of the export's files: ``<S3Prefix>/AWSDynamoDB/<ExportId>``."""
    return "/".join(p for p in (request.prefix, PREFIX_DIR, export_id(arn)) if p)


# --- descriptions -----------------------------------------------------------------------------


def started_description(request: ExportRequest, *, arn: str, table_id: str, now: float) -> dict:
    """The ExportDescription of a new export (IN_PROGRESS)."""
    body = request.body
    out: dict[str, Any] = {
        "ExportArn": arn, "ExportStatus": IN_PROGRESS, "StartTime": now, "TableArn": request.table_arn,
        "TableId": table_id, "S3Bucket": request.bucket, "S3SseAlgorithm": body.get("S3SseAlgorithm") or "AES256",
        "ExportFormat": request.export_format, "ExportType": request.export_type,
    }
    if request.prefix:
        out["S3Prefix"] = request.prefix
    for member in ("ClientToken", "S3BucketOwner", "S3SseKmsKeyId"):
        if body.get(member) is not None:
            out[member] = body[member]
    if request.export_type == FULL:
        out["ExportTime"] = request.export_time
    else:
        out["IncrementalExportSpecification"] = {"ExportFromTime": request.from_time,
                                                 "ExportToTime": request.to_time, "ExportViewType": request.view}
    return out


def completed(description: dict, *, now: float, items: int, billed: int, manifest: str) -> dict:
    return {**description, "ExportStatus": COMPLETED, "EndTime": now, "ItemCount": items,
            "BilledSizeBytes": billed, "ExportManifest": manifest}


def failed(description: dict, *, now: float, code: str, message: str) -> dict:
    return {**description, "ExportStatus": FAILED, "EndTime": now, "FailureCode": code, "FailureMessage": message}


def summary(description: dict) -> dict:
    """A ListExports ``ExportSummaries`` entry."""
    return {k: description[k] for k in ("ExportArn", "ExportStatus", "ExportType") if k in description}


# --- the catalog ------------------------------------------------------------------------------


@dataclass
class ExportCatalog:
    exports: dict[str, dict] = field(default_factory=dict)  # ARN -> ExportDescription, oldest first

    def get(self, arn: str) -> dict:
        found = self.exports.get(arn)
        if found is None:
            raise errors.export_not_found(arn)
        return found

    def by_token(self, token: str) -> dict | None:
        for description in self.exports.values():
            if description.get("ClientToken") == token:
                return description
        return None


def evolve(state: ExportCatalog, event: ExportUpdated) -> None:
    state.exports[event.export_arn] = dict(event.description)


def list_exports(state: ExportCatalog, request: dict) -> tuple[list[dict], str | None]:
    """The page of ExportSummaries ListExports asks for (oldest first), and its NextToken."""
    table = request.get("TableArn")
    found = [d for d in state.exports.values() if table is None or d.get("TableArn") == table]
    found.sort(key=lambda d: export_id(d["ExportArn"]))
    return page(found, request.get("NextToken"), request.get("MaxResults") or DEFAULT_LIST_LIMIT,
                lambda d: export_id(d["ExportArn"]), summary)


def page(found: list[dict], token: str | None, limit: int, position: Any, shape: Any) -> tuple[list[dict], str | None]:
    """One page of ``found`` (sorted by ``position``) after ``token``, and the token of the next."""
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise errors.validation("Invalid NextToken") from None
        found = [d for d in found if position(d) > after]
    if len(found) > limit:
        return [shape(d) for d in found[:limit]], base64.urlsafe_b64encode(position(found[limit - 1]).encode()).decode()
    return [shape(d) for d in found], None


# --- data lines ---------------------------------------------------------------------------------


def item_line(item: dict) -> bytes:
    """A full export's DYNAMODB_JSON line: ``{"Item": {...}}`` and a newline."""
    return orjson.dumps({"Item": item}) + b"\n"


def parse_item_line(line: bytes | str) -> dict:
    """The item of a DYNAMODB_JSON line, validated (a ValidationException if it is not one)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise errors.validation("Invalid JSON") from None
    if not isinstance(record, dict) or set(record) != {"Item"}:
        raise errors.validation('A DYNAMODB_JSON line must be an object with one member, "Item"')
    return values.validate_item(record["Item"])


def change_record(keys: dict, old: dict | None, new: dict | None, micros: int, view: str) -> dict:
    """An incremental export's record of one changed item (AWS's layout)."""
    out: dict[str, Any] = {"Metadata": {"WriteTimestampMicros": {"N": str(micros)}}, "Keys": keys}
    if new is not None:
        out["NewImage"] = new
    if old is not None and view == NEW_AND_OLD_IMAGES:
        out["OldImage"] = old
    return out


def change_line(keys: dict, old: dict | None, new: dict | None, micros: int, view: str) -> bytes:
    return orjson.dumps(change_record(keys, old, new, micros, view)) + b"\n"


# --- ION ----------------------------------------------------------------------------------------

ION_HEADER = b"$ion_1_0 "
_SET_ANNOTATIONS = {"SS": "$dynamodb_SS", "NS": "$dynamodb_NS", "BS": "$dynamodb_BS"}


def ion_line(record: dict) -> bytes:
    """A record (``{"Item": ...}`` or a change record) as one line of Amazon Ion text."""
    return ("{" + ",".join(f"{_ion_symbol(k)}:{_ion_image(v)}" for k, v in record.items()) + "}\n").encode()


def _ion_image(image: dict) -> str:
    return "{" + ",".join(f"{_ion_symbol(name)}:{ion_value(value)}" for name, value in image.items()) + "}"


def ion_value(value: dict) -> str:
    """One attribute value in Ion text: S string, N decimal, B blob, sets annotated lists."""
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return _ion_string(raw)
    if kind == "N":
        return ion_decimal(raw)
    if kind == "B":
        return "{{" + raw + "}}"
    if kind == "BOOL":
        return "true" if raw else "false"
    if kind == "NULL":
        return "null"
    if kind == "M":
        return _ion_image(raw)
    if kind == "L":
        return "[" + ",".join(ion_value(v) for v in raw) + "]"
    element = {"SS": "S", "NS": "N", "BS": "B"}[kind]
    return f"{_SET_ANNOTATIONS[kind]}::[" + ",".join(ion_value({element: v}) for v in raw) + "]"


def ion_decimal(text: str) -> str:
    """A DynamoDB number as an Ion decimal (``1965.``, ``1.5``, ``1d+30``)."""
    number = Decimal(text)
    sign, digits, exponent = number.as_tuple()
    body = "".join(map(str, digits))
    return f"{'-' if sign else ''}{body}d{exponent}"


def _ion_string(text: str) -> str:
    return orjson.dumps(text).decode()  # JSON string escapes are valid Ion string escapes


def _ion_symbol(name: str) -> str:
    return "'" + orjson.dumps(name).decode()[1:-1].replace("'", "\\'") + "'"


# --- manifests ---------------------------------------------------------------------------------


def iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def file_entry(key: str, data: bytes, items: int) -> dict:
    """A manifest-files.json line for a data file of ``data`` (its compressed bytes)."""
    digest = hashlib.md5(data, usedforsecurity=False)
    return {"itemCount": items, "md5Checksum": base64.b64encode(digest.digest()).decode(),
            "etag": digest.hexdigest(), "dataFileS3Key": key}


def manifest_files(entries: Iterable[dict]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in entries)


def manifest_summary(description: dict, *, files_key: str, items: int, billed: int, end: float) -> bytes:
    """manifest-summary.json for a finished export (its description is still IN_PROGRESS)."""
    incremental = description["ExportType"] == INCREMENTAL
    out: dict[str, Any] = {
        "version": INCREMENTAL_VERSION if incremental else FULL_VERSION,
        "exportArn": description["ExportArn"], "startTime": iso(description["StartTime"]), "endTime": iso(end),
        "tableArn": description["TableArn"], "tableId": description["TableId"],
        "s3Bucket": description["S3Bucket"], "s3Prefix": description.get("S3Prefix"),
        "s3SseAlgorithm": description["S3SseAlgorithm"], "s3SseKmsKeyId": description.get("S3SseKmsKeyId"),
        "manifestFilesS3Key": files_key, "billedSizeBytes": billed, "itemCount": items,
        "outputFormat": description["ExportFormat"],
    }
    if incremental:
        spec = description["IncrementalExportSpecification"]
        out.update(exportType=INCREMENTAL, exportFromTime=iso(spec["ExportFromTime"]),
                   exportToTime=iso(spec["ExportToTime"]), outputView=spec["ExportViewType"])
    else:
        out["exportTime"] = iso(description["ExportTime"])
    return orjson.dumps(out)


def checksum(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).hexdigest().encode()
