"""ImportTable, pure: the request's rules, reading the input files into items, the import catalog.

An import reads every object under ``S3BucketSource`` (bucket and key prefix), decompresses it
(``InputCompressionType`` NONE, GZIP or ZSTD) and parses it by ``InputFormat``:

- ``DYNAMODB_JSON``: one ``{"Item": {...}}`` per line (a full export's data files);
- ``ION``: one ``{Item:{...}}`` per line (a full ION export's data files; ``ion.py``'s subset);
- ``CSV``: a header line (or ``InputFormatOptions.Csv.HeaderList``), then one item per line, split
  on ``Delimiter`` (``,`` by default).  As on AWS every value is a string, except the key
  attributes of the table and of its global secondary indexes, which take the type their
  ``AttributeDefinitions`` give; an empty cell is no attribute.

A line that cannot be read, or whose item lacks a key attribute, has one of the wrong type or is
over 400 KB, is an error: counted (``ErrorCount``), not fatal, as on AWS.  ``ProcessedItemCount``
counts every line read, ``ImportedItemCount`` the items written.

The catalog is a fold of ``ImportUpdated`` events carrying the whole ``ImportTableDescription``.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..schemas.events import ImportUpdated
from . import errors, values
from .exports import DEFAULT_LIST_LIMIT, page, parse_item_line

DYNAMODB_JSON, ION, CSV = "DYNAMODB_JSON", "ION", "CSV"
NONE, GZIP, ZSTD = "NONE", "GZIP", "ZSTD"
IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
SKIPPED_NAMES = ("manifest-summary.json", "manifest-files.json", "_started")  # an export's own files


def check_request(body: dict) -> None:
    """The ImportTable rules the model does not express."""
    if body.get("InputFormatOptions") is not None and body["InputFormat"] != CSV:
        raise errors.validation("InputFormatOptions can only be specified when InputFormat is CSV")


def import_arn(table_arn: str, created_ms: int, suffix: str) -> str:
    """``<table ARN>/import/<ms, 14 digits>-<8 hex>``, as DynamoDB names imports."""
    return f"{table_arn}/import/{created_ms:014d}-{suffix}"


def import_id(arn: str) -> str:
    return arn.rpartition("/import/")[2]


def key_types(description: dict) -> dict[str, str]:
    """The attributes typed on import: the table's and its global secondary indexes' keys."""
    defined = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
    names = [k["AttributeName"] for k in description["KeySchema"]]
    for index in description.get("GlobalSecondaryIndexes") or ():
        names += [k["AttributeName"] for k in index["KeySchema"]]
    return {name: defined[name] for name in names if name in defined}


def table_keys(description: dict) -> dict[str, str]:
    """The table's own key attributes and their types (every item must have them)."""
    defined = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
    return {k["AttributeName"]: defined[k["AttributeName"]] for k in description["KeySchema"]}


def wanted(name: str) -> bool:
    """Whether an object under the source prefix is input (not an export's manifest or checksum)."""
    base = name.rsplit("/", 1)[-1]
    return bool(base) and base not in SKIPPED_NAMES and not base.endswith(".checksum")


# --- reading ------------------------------------------------------------------------------------


def decompress(data: bytes, compression: str) -> bytes:
    """An input object's bytes, decompressed (ValueError if they are not of that compression)."""
    if compression == GZIP:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"not gzip data: {error}") from None
    if compression == ZSTD:
        import zstandard

        try:
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        except zstandard.ZstdError as error:
            raise ValueError(f"not zstd data: {error}") from None
    return data


@dataclass(frozen=True)
class Line:
    """One input line: its item, or the error that kept it out."""

    item: dict | None
    error: str | None = None
    size: int = 0  # bytes read


def lines(text: bytes, input_format: str, options: dict | None, types: dict[str, str],
          keys: dict[str, str]) -> Iterator[Line]:
    """The items of one decompressed input object, checked against the table's keys."""
    if input_format == CSV:
        parsed = csv_items(text.decode("utf-8", errors="replace"), options, types)
    elif input_format == ION:
        from .ion import parse_item_line as parse_ion

        parsed = _per_line(text, parse_ion)
    else:
        parsed = _per_line(text, parse_item_line)
    for item, error, size in parsed:
        if item is not None:
            try:
                check_item(item, keys)
            except errors.DynamoError as failure:
                item, error = None, failure.message
        yield Line(item, error, size)


def _per_line(text: bytes, parse: Any) -> Iterator[tuple[dict | None, str | None, int]]:
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            yield parse(raw), None, len(raw)
        except errors.DynamoError as error:
            yield None, error.message, len(raw)


def csv_items(text: str, options: dict | None, types: dict[str, str]) -> Iterator[tuple[dict | None, str | None, int]]:
    """Each CSV line's item (values strings, key attributes typed), or its error."""
    csv_options = (options or {}).get("Csv") or {}
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=csv_options.get("Delimiter") or ",")
    header = csv_options.get("HeaderList")
    for row in rows:
        if not row or row == [""]:
            continue
        size = sum(len(cell) for cell in row) + len(row)
        if header is None:
            header = row
            continue
        if len(row) != len(header):
            yield None, f"expected {len(header)} fields, found {len(row)}", size
            continue
        try:
            yield csv_item(dict(zip(header, row)), types), None, size
        except errors.DynamoError as error:
            yield None, error.message, size


def csv_item(row: dict[str, str], types: dict[str, str]) -> dict:
    """A CSV row as an item: strings, except the typed key attributes; empty cells left out."""
    item: dict[str, Any] = {}
    for name, cell in row.items():
        if cell == "":
            continue
        kind = types.get(name, "S")
        item[name] = values.validate_value({kind: cell})
    return item


def check_item(item: dict, keys: dict[str, str]) -> None:
    """The item has every key attribute, of its type, and is at most 400 KB."""
    for name, kind in keys.items():
        value = item.get(name)
        if value is None:
            raise errors.validation(f"One or more parameter values were invalid: Missing the key {name} in the item")
        if next(iter(value)) != kind:
            raise errors.validation(f"One or more parameter values were invalid: Type mismatch for key {name} "
                                    f"expected: {kind} actual: {next(iter(value))}")
    values.check_item_size(item)


# --- descriptions -------------------------------------------------------------------------------


def started_description(body: dict, *, arn: str, table_arn: str, table_id: str, now: float) -> dict:
    out: dict[str, Any] = {
        "ImportArn": arn, "ImportStatus": IN_PROGRESS, "TableArn": table_arn, "TableId": table_id,
        "S3BucketSource": dict(body["S3BucketSource"]), "ErrorCount": 0, "InputFormat": body["InputFormat"],
        "InputCompressionType": body.get("InputCompressionType") or NONE,
        "TableCreationParameters": dict(body["TableCreationParameters"]), "StartTime": now,
        "ProcessedSizeBytes": 0, "ProcessedItemCount": 0, "ImportedItemCount": 0,
    }
    for member in ("ClientToken", "InputFormatOptions"):
        if body.get(member) is not None:
            out[member] = body[member]
    return out


def progressed(description: dict, *, processed: int, imported: int, errors_: int, size: int) -> dict:
    return {**description, "ProcessedItemCount": processed, "ImportedItemCount": imported, "ErrorCount": errors_,
            "ProcessedSizeBytes": size}


def completed(description: dict, *, now: float) -> dict:
    return {**description, "ImportStatus": COMPLETED, "EndTime": now}


def failed(description: dict, *, now: float, code: str, message: str) -> dict:
    return {**description, "ImportStatus": FAILED, "EndTime": now, "FailureCode": code, "FailureMessage": message}


def summary(description: dict) -> dict:
    """A ListImports ``ImportSummaryList`` entry."""
    keys_ = ("ImportArn", "ImportStatus", "TableArn", "S3BucketSource", "InputFormat", "StartTime", "EndTime")
    return {k: description[k] for k in keys_ if k in description}


# --- the catalog --------------------------------------------------------------------------------


@dataclass
class ImportCatalog:
    imports: dict[str, dict] = field(default_factory=dict)  # ARN -> ImportTableDescription

    def get(self, arn: str) -> dict:
        found = self.imports.get(arn)
        if found is None:
            raise errors.import_not_found(arn)
        return found

    def by_token(self, token: str) -> dict | None:
        for description in self.imports.values():
            if description.get("ClientToken") == token:
                return description
        return None


def evolve(state: ImportCatalog, event: ImportUpdated) -> None:
    state.imports[event.import_arn] = dict(event.description)


def list_imports(state: ImportCatalog, request: dict) -> tuple[list[dict], str | None]:
    """The page of ImportSummaryList ListImports asks for (oldest first), and its NextToken."""
    table = request.get("TableArn")
    found = [d for d in state.imports.values() if table is None or d.get("TableArn") == table]
    found.sort(key=lambda d: import_id(d["ImportArn"]))
    return page(found, request.get("NextToken"), request.get("PageSize") or DEFAULT_LIST_LIMIT,
                lambda d: import_id(d["ImportArn"]), summary)
