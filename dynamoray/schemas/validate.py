"""Check a request body against DynamoDB's service model, the way DynamoDB's front end does.

DynamoDB checks every request against its model before anything else, in two steps:

1. Deserialization. A member of the wrong JSON type stops the request at once with a
   ``SerializationException`` ("NUMBER_VALUE cannot be converted to String", "Unexpected field
   type", ...); the wording depends on the expected type and on whether the member is a field of a
   structure or an element of a list or map.
2. Constraints. Missing required members, lengths, ranges, enums and patterns are all collected
   and reported together in one ``ValidationException``: "2 validation errors detected: Value null
   at 'key' failed to satisfy constraint: Member must not be null; ...". Paths are member names in
   lowerCamelCase; list elements read ``keySchema.1.member`` (1-based) and map values
   ``requestItems.<key>.member``. At most ten are listed.

Unknown members are ignored. Attribute values are only checked to be JSON objects here;
``dynamoray.core.values.validate_value`` checks their contents later. Each operation's input shape
is compiled once into a tree of small closures, so a valid body costs a few µs.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
import zlib
from decimal import Decimal
from typing import Any, Callable

from botocore.model import Shape

from dynamoray.core import errors
from dynamoray.schemas import service as svc

__all__ = ["validate_request", "operation_names", "MAX_LISTED"]

operation_names = svc.operation_names

MAX_LISTED = 10  # DynamoDB lists at most ten constraint violations

# Where a value sits, which decides both its path and the wording of a type error.
FIELD, VALUE, ROOT = 0, 1, 2

# A checker gets (value, parent path, key, found violations); it raises SerializationException
# on a type mismatch and appends constraint violations to ``found``. Paths are chains of
# (parent, key, position) tuples, only turned into strings when something is wrong.
Checker = Callable[[Any, Any, Any, list], None]

_AV = "AttributeValue"
_PASSED_MAX = 4096  # strings remembered per shape as known to pass
_TABLE_NAME = {"type": "string", "min": 3, "max": 255, "pattern": "[a-zA-Z0-9_.-]+"}  # pre-ARN TableName
# Control-plane operations that check TableName before the model's constraints.
_NAME_PRECHECK = frozenset(
    ("CreateTable", "DeleteTable", "DescribeTable", "UpdateTable", "DescribeTimeToLive", "UpdateTimeToLive")
)
# Newer models make these optional (for GlobalTableSourceArn, unsupported here); DynamoDB requires them.
_ALSO_REQUIRED = {"CreateTableInput": ("AttributeDefinitions", "KeySchema")}
_OVERRIDES = {"ScalarAttributeType": {"enum": ["B", "N", "S"]}}  # DynamoDB lists this enum sorted
# dynamoray extensions accepted beside a model's enum (not listed in its error message): the stream
# replay iterator types (events/streams.py, docs/extensions.md)
_OVERRIDES["ShardIteratorType"] = {"also_allowed": ["REPLAY_TRIM_HORIZON", "REPLAY_AT_SEQUENCE_NUMBER",
                                                    "REPLAY_AFTER_SEQUENCE_NUMBER", "REPLAY_AT_TIMESTAMP"]}
_NUMBER = (int, float, Decimal)
_ACCEPT = {"string": (str,), "blob": (str,), "boolean": (bool,), "timestamp": (*_NUMBER, str)}
_ACCEPT.update(dict.fromkeys(("integer", "long", "double", "float"), _NUMBER))
_JAVA = {"string": "String", "boolean": "Boolean", "timestamp": "Date"}
_JAVA.update({k: k.capitalize() for k in ("integer", "long", "double", "float")})
_JAVA_FULL = {"blob": "java.nio.ByteBuffer", "timestamp": "java.util.Date"}


def validate_request(service: str, operation: str, body: dict) -> None:
    """Raise the DynamoError DynamoDB would answer ``body`` with, or return None if it is well formed."""
    check = _operation_checker(service, operation)
    found: list[str] = []
    check(body, None, None, found)
    if service == "dynamodb" and operation in _NAME_PRECHECK:
        _precheck_table_name(body.get("TableName"))
    if found:
        raise errors.constraint_violations(found[:MAX_LISTED])


def _precheck_table_name(name: Any) -> None:
    if name is None:
        raise errors.parameter_required("TableName")
    if not name.startswith("arn:") and not 3 <= len(name) <= 255:
        raise errors.table_name_length()


@functools.cache
def _operation_checker(service: str, operation: str) -> Checker:
    try:
        shape = svc.input_shape(service, operation)
    except KeyError:
        raise errors.unknown_operation() from None
    return _compiler(service)(shape, ROOT, True)


# --- paths and Java-style rendering, used only when something is wrong -----------------------------


def _path(chain: Any) -> str:
    parts = []
    while chain is not None:
        chain, key, position = chain
        parts.append(f"{key}.member" if position == VALUE else str(key))
    return ".".join(reversed(parts))


def _render(value: Any, shape: Shape) -> str:
    """``value`` as the Java model object's toString shows it."""
    kind = shape.type_name
    if kind == "structure":
        digest = zlib.crc32(json.dumps(value, sort_keys=True, default=str).encode())
        return f"{errors.JAVA_NS}{shape.name}@{digest:x}"
    if kind == "list" and type(value) is list:
        return "[" + ", ".join(_render(v, shape.member) for v in value) + "]"
    if kind == "map" and type(value) is dict:
        return "{" + ", ".join(f"{k}={_render(v, shape.value)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


def _violation(value: Any, shape: Shape, chain: Any, constraint: str) -> str:
    rendered = "null" if value is None else f"'{_render(value, shape)}'"
    return errors.constraint_violation(rendered, _path(chain), constraint)


def _missing(chain: Any) -> str:
    return errors.constraint_violation("null", _path(chain), errors.MEMBER_NOT_NULL)


def _java_type(shape: Shape) -> str:
    kind = shape.type_name
    if kind == "structure":
        return errors.JAVA_NS + shape.name
    if kind == "list":
        return f"java.util.List<{_java_type(shape.member)}>"
    if kind == "map":
        return f"java.util.Map<java.lang.String, {_java_type(shape.value)}>"
    return _JAVA_FULL.get(kind) or "java.lang." + _JAVA[kind]


def _json_kind(value: Any) -> str:
    if type(value) is bool:
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    return {int: "NUMBER_VALUE", str: "STRING_VALUE"}.get(type(value), "DECIMAL_VALUE")


def _type_error(shape: Shape, position: int, value: Any) -> errors.DynamoError:
    """The SerializationException for ``value`` where ``shape`` was expected."""
    kind = shape.type_name
    if type(value) is list:
        java = _java_type(shape)
        return errors.unrecognized_collection(java if kind in ("list", "map") else "class " + java)
    if type(value) is dict:
        return errors.serialization(errors.STRUCTURE_NOT_EXPECTED)
    if kind == "structure":
        return errors.serialization(errors.UNEXPECTED_VALUE if position else errors.UNEXPECTED_FIELD)
    if kind in ("list", "map"):
        return errors.serialization(errors.PARAMETERIZED_CAST if position else errors.UNEXPECTED_FIELD)
    if kind == "blob":
        return errors.serialization(errors.NOT_BASE64)
    if kind == "boolean" and type(value) is str:
        return errors.serialization(errors.UNEXPECTED_TOKEN)
    return errors.not_convertible(_json_kind(value), _JAVA[kind])


# --- constraints -----------------------------------------------------------------------------------


def _length(value: Any) -> int:
    """Java's length: UTF-16 code units for strings, entries for lists and maps."""
    if type(value) is str and not value.isascii():
        return len(value.encode("utf-16-le")) // 2
    return len(value)


def _java_regex(pattern: str) -> re.Pattern:
    """Java regex -> Python: supplementary ranges written as surrogate pairs, POSIX \\p{Print}."""
    translated = pattern.replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\U00010000-\U0010FFFF")
    translated = translated.replace(r"\p{Print}", r"[\x20-\x7E]")
    return re.compile(translated, re.ASCII)


class _Rules:
    """One shape's own constraints: ``failed(v)`` -> failing texts or None; ``bracket`` lists all."""

    __slots__ = ("checks", "bracket", "skip_up_to", "passed")

    def __init__(self, meta: dict) -> None:
        numeric = meta["type"] in ("integer", "long", "double", "float")
        rules: dict[str, tuple[Callable[[Any], bool], str]] = {}
        if "enum" in meta:
            allowed = frozenset(meta["enum"]) | frozenset(meta.get("also_allowed", ()))
            text = errors.constraint_text("enum", ", ".join(meta["enum"]))
            rules["enum"] = (lambda v: v not in allowed, text)
        if "pattern" in meta:
            regex, text = _java_regex(meta["pattern"]), errors.constraint_text("pattern", meta["pattern"])
            rules["pattern"] = (lambda v: regex.fullmatch(v) is None, text)
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None:
            test = (lambda v: v < lo) if numeric else (lambda v: _length(v) < lo)
            rules["min"] = (test, errors.constraint_text("min" if numeric else "min_len", lo))
        if hi is not None:
            test = (lambda v: v > hi) if numeric else (lambda v: _length(v) > hi)
            rules["max"] = (test, errors.constraint_text("max" if numeric else "max_len", hi))
        # One by one they are reported pattern first; inside "[...]" coral lists the maximum first.
        self.checks = tuple(rules[k] for k in ("enum", "pattern", "min", "max") if k in rules)
        self.bracket = ", ".join(rules[k][1] for k in ("max", "min", "pattern", "enum") if k in rules)
        # Strings no longer than this cannot fail (a code point is at most two UTF-16 units).
        self.skip_up_to = hi // 2 if list(rules) == ["max"] and not numeric else -1
        # Strings already seen to pass (table names, enum values repeat on every request).
        self.passed: set | None = set() if meta["type"] == "string" else None

    def failed(self, value: Any) -> list[str] | None:
        passed = self.passed
        if passed is not None and value in passed:
            return None
        texts = [text for test, text in self.checks if test(value)]
        if texts:
            return texts
        if passed is not None and len(passed) < _PASSED_MAX:
            passed.add(value)
        return None

    def pick(self, value: Any) -> _Rules:
        return self


class _NameOrArnRules:
    """A ``TableArn`` member holds a table name or an ARN; a name keeps TableName's rules."""

    __slots__ = ("name", "arn")
    skip_up_to = -1

    def __init__(self, name: _Rules, arn: _Rules) -> None:
        self.name, self.arn = name, arn

    def pick(self, value: Any) -> _Rules:
        return self.arn if value.startswith("arn:") else self.name

    def failed(self, value: Any) -> list[str] | None:
        return self.pick(value).failed(value)


def _rules(shape: Shape) -> _Rules | _NameOrArnRules | None:
    meta = {"type": shape.type_name, **shape.metadata, **_OVERRIDES.get(shape.name, {})}
    if not any(k in meta for k in ("enum", "pattern", "min", "max")):
        return None
    if shape.name == "TableArn":
        return _NameOrArnRules(_Rules(_TABLE_NAME), _Rules(meta))
    return _Rules(meta)


# --- the compiler: one closure per (shape, position) -----------------------------------------------


@functools.cache
def _compiler(service: str) -> Callable[[Shape, int, bool], Checker]:
    """A memoizing compiler for one service's shapes (shared shapes compile once)."""
    cache: dict[tuple, Checker] = {}

    def compile_(shape: Shape, position: int, own: bool) -> Checker:
        key = (shape.name, position, own)
        if key not in cache:
            cell: list[Checker] = []
            cache[key] = lambda v, p, k, f: cell[0](v, p, k, f)  # ties a knot if shapes recurse
            cell.append(_build(shape, position, own, compile_))
            cache[key] = cell[0]
        return cache[key]

    return compile_


def _build(shape: Shape, position: int, own: bool, compile_: Callable) -> Checker:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, position, compile_)
    if kind == "list":
        return _list(shape, position, own, compile_)
    if kind == "map":
        return _map(shape, position, own, compile_)
    return _scalar(shape, position, own)


def _scalar(shape: Shape, position: int, own: bool) -> Checker:
    accept = _ACCEPT[shape.type_name]
    rules = _rules(shape) if own else None
    integral = shape.type_name in ("integer", "long")

    def check(value: Any, parent: Any, key: Any, found: list) -> None:
        if type(value) not in accept:
            raise _type_error(shape, position, value)
        if rules is not None:
            if integral and type(value) is not int:
                value = math.floor(value)  # Jackson truncates a decimal given for an integer
            failed = rules.failed(value)
            if failed:
                found.extend(_violation(value, shape, (parent, key, position), text) for text in failed)

    return check


def _structure(shape: Shape, position: int, compile_: Callable) -> Checker:
    opaque = shape.name == _AV  # only an attribute value's JSON type is checked here
    members = {} if opaque else {name: _member(name, m, compile_) for name, m in shape.members.items()}
    needed = () if opaque else (*shape.required_members, *_ALSO_REQUIRED.get(shape.name, ()))
    required = tuple((name, members[name][0]) for name in needed)
    root = position == ROOT

    def check(value: Any, parent: Any, key: Any, found: list) -> None:
        if type(value) is not dict:
            raise _type_error(shape, VALUE if root else position, value)
        here = None if root else (parent, key, position)
        for name, member in value.items():  # in the body's order, as a JSON parser meets them
            known = members.get(name)
            if known is None or member is None:
                continue
            label, child, plain = known
            if plain is None:
                child(member, here, label, found)
            elif type(member) not in plain:
                child(member, here, label, found)  # raises the type error
        for name, label in required:
            if value.get(name) is None:
                found.append(_missing((here, label, FIELD)))

    return check


def _member(name: str, shape: Shape, compile_: Callable) -> tuple[str, Checker, tuple | None]:
    """(path label, checker, accepted types when a type check is all the member needs)."""
    plain = _ACCEPT.get(shape.type_name) if _rules(shape) is None else None
    return name[:1].lower() + name[1:], compile_(shape, FIELD, True), plain


def _list(shape: Shape, position: int, own: bool, compile_: Callable) -> Checker:
    element_shape = shape.member
    element = compile_(element_shape, VALUE, False)
    element_rules = _rules(element_shape)
    rules = _rules(shape) if own else None

    def check(value: Any, parent: Any, key: Any, found: list) -> None:
        if type(value) is not list:
            raise _type_error(shape, position, value)
        here = (parent, key, position)
        if rules is not None and (failed := rules.failed(value)):
            found.extend(_violation(value, shape, here, text) for text in failed)
        mark, bad = len(found), None
        for index, item in enumerate(value, 1):
            if item is None:
                found.append(_missing((here, index, VALUE)))
                continue
            element(item, here, index, found)
            if element_rules is not None and bad is None and element_rules.failed(item):
                bad = item
        if bad is not None:
            text = errors.constraint_text("members", element_rules.pick(bad).bracket)
            found.insert(mark, _violation(value, shape, here, text))

    return check


def _map(shape: Shape, position: int, own: bool, compile_: Callable) -> Checker:
    key_rules, value_shape = _rules(shape.key), shape.value
    key_skip = key_rules.skip_up_to if key_rules is not None else sys.maxsize
    element = compile_(value_shape, VALUE, False)
    value_rules = _rules(value_shape)
    rules = _rules(shape) if own else None

    def entries(value: dict, here: tuple, found: list) -> tuple[Any, Any]:
        bad_key = bad_value = None
        for name, item in value.items():
            if len(name) > key_skip and bad_key is None and key_rules.failed(name):
                bad_key = name
            if item is None:
                found.append(_missing((here, name, VALUE)))
                continue
            element(item, here, name, found)
            if value_rules is not None and bad_value is None and value_rules.failed(item):
                bad_value = item
        return bad_key, bad_value

    def attribute_values(value: dict, here: tuple, found: list) -> tuple[Any, Any]:
        bad_key = None  # null values are left for validate_value to report
        for name, item in value.items():
            if len(name) > key_skip and bad_key is None and key_rules.failed(name):
                bad_key = name
            if type(item) is not dict and item is not None:
                raise _type_error(value_shape, VALUE, item)
        return bad_key, None

    walk = attribute_values if value_shape.name == _AV else entries

    def check(value: Any, parent: Any, key: Any, found: list) -> None:
        if type(value) is not dict:
            raise _type_error(shape, position, value)
        here = (parent, key, position)
        if rules is not None and (failed := rules.failed(value)):
            found.extend(_violation(value, shape, here, text) for text in failed)
        mark = len(found)
        bad_key, bad_value = walk(value, here, found)
        if bad_key is not None or bad_value is not None:
            wrong = [] if bad_key is None else [("keys", key_rules.pick(bad_key))]
            wrong += [] if bad_value is None else [("values", value_rules.pick(bad_value))]
            texts = [errors.constraint_text(kind, picked.bracket) for kind, picked in wrong]
            found[mark:mark] = [_violation(value, shape, here, text) for text in texts]

    return check
