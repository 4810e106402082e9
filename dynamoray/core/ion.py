"""Reading the Amazon Ion text of ION exports back into items (``core.exports.ion_line`` writes it).

Only the subset DynamoDB's ION exports use: structs with symbol (bare or quoted) field names,
strings, decimals and integers (``N``), blobs ``{{base64}}`` (``B``), ``true``/``false``
(``BOOL``), ``null`` (``NULL``), lists (``L``), structs (``M``), and the set annotations
``$dynamodb_SS::``, ``$dynamodb_NS::``, ``$dynamodb_BS::`` on lists.  A line may start with the
``$ion_1_0`` version marker.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from . import errors, values

_SPACE = re.compile(r"\s*")
_NUMBER = re.compile(r"-?\d+(\.\d*)?([dDeE][+-]?\d+)?")
_BARE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SETS = {"$dynamodb_SS": "SS", "$dynamodb_NS": "NS", "$dynamodb_BS": "BS"}
MARKER = "$ion_1_0"


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def fail(self, what: str) -> errors.DynamoError:
        return errors.validation(f"Invalid ION: {what} at character {self.at}")

    def skip(self) -> None:
        self.at = _SPACE.match(self.text, self.at).end()

    def peek(self, token: str) -> bool:
        self.skip()
        return self.text.startswith(token, self.at)

    def expect(self, token: str) -> None:
        if not self.peek(token):
            raise self.fail(f"expected {token!r}")
        self.at += len(token)

    def string(self, quote: str) -> str:
        self.expect(quote)
        out, text = [], self.text
        while True:
            if self.at >= len(text):
                raise self.fail("unterminated string")
            char = text[self.at]
            if char == quote:
                self.at += 1
                return "".join(out)
            if char == "\\":
                escape = text[self.at + 1:self.at + 2]
                simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0", "/": "/"}
                if escape == "u":
                    out.append(chr(int(text[self.at + 2:self.at + 6], 16)))
                    self.at += 6
                    continue
                out.append(simple.get(escape, escape))
                self.at += 2
                continue
            out.append(char)
            self.at += 1

    def symbol(self) -> str:
        self.skip()
        if self.peek("'"):
            return self.string("'")
        if self.peek('"'):
            return self.string('"')
        found = _BARE.match(self.text, self.at)
        if not found:
            raise self.fail("expected a symbol")
        self.at = found.end()
        return found.group()

    def struct(self) -> dict:
        self.expect("{")
        out: dict[str, Any] = {}
        while not self.peek("}"):
            name = self.symbol()
            self.expect(":")
            out[name] = self.value()
            if not self.peek(","):
                break
            self.expect(",")
        self.expect("}")
        return out

    def value(self) -> dict:
        self.skip()
        if self.peek("{{"):
            self.expect("{{")
            end = self.text.find("}}", self.at)
            if end < 0:
                raise self.fail("unterminated blob")
            raw, self.at = self.text[self.at:end].strip(), end + 2
            return {"B": raw}
        if self.peek("{"):
            return {"M": self.struct()}
        if self.peek("["):
            return {"L": self.elements()}
        if self.peek('"'):
            return {"S": self.string('"')}
        for word, value in (("true", {"BOOL": True}), ("false", {"BOOL": False}), ("null", {"NULL": True})):
            if self.text.startswith(word, self.at):
                self.at += len(word)
                return value
        if self.peek("$dynamodb_"):
            return self.set_value()
        return {"N": self.number()}

    def elements(self) -> list:
        self.expect("[")
        out = []
        while not self.peek("]"):
            out.append(self.value())
            if not self.peek(","):
                break
            self.expect(",")
        self.expect("]")
        return out

    def set_value(self) -> dict:
        annotation = self.symbol()
        kind = _SETS.get(annotation)
        if kind is None:
            raise self.fail(f"unknown annotation {annotation}")
        self.expect("::")
        return {kind: [next(iter(v.values())) for v in self.elements()]}

    def number(self) -> str:
        found = _NUMBER.match(self.text, self.at)
        if not found:
            raise self.fail("expected a value")
        self.at = found.end()
        try:
            return values.normalize_number(str(Decimal(found.group().replace("d", "e").replace("D", "e"))))
        except InvalidOperation:
            raise self.fail("bad number") from None


def parse_record(line: bytes | str) -> dict:
    """One line of Ion text: a struct of images (``{Item:{...}}``), as wire-form dicts."""
    text = line.decode("utf-8") if isinstance(line, bytes) else line
    reader = _Reader(text)
    reader.skip()
    if reader.text.startswith(MARKER, reader.at):
        reader.at += len(MARKER)
    record = reader.struct()
    reader.skip()
    if reader.at != len(text):
        raise reader.fail("trailing characters")
    return {name: value.get("M", value) for name, value in record.items()}


def parse_item_line(line: bytes | str) -> dict:
    """The item of an ION export line, validated."""
    record = parse_record(line)
    if set(record) != {"Item"}:
        raise errors.validation('An ION line must be a struct with one field, "Item"')
    return values.validate_item(record["Item"])
