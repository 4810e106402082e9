"""DynamoDB numbers in their wire text: parsing, range checks, the canonical text, storage size.

Split from :mod:`values` (which re-exports every public name here) because numbers are the one
attribute type with rules of their own: decimals, never floats, up to 38 significant digits,
magnitude between 1E-130 and 9.9999999999999999999999999999999999999E+125, or zero; always kept
in one canonical text, so equal numbers are equal strings.  The keys and the update arithmetic use
them without the rest of the value model.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal
from typing import Any

from . import errors

MAX_DIGITS = 38
MAX_EXPONENT = 125  # adjusted exponent of the largest magnitude
MIN_EXPONENT = -130  # adjusted exponent of the smallest non-zero magnitude

# Enough precision that no valid number is ever rounded while parsing or adding.
DECIMAL_CONTEXT = Context(prec=300, Emax=999999, Emin=-999999)
# What Java's BigDecimal accepts: ASCII digits only, an optional sign and exponent, no spaces.
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

# A number already in canonical form (what format_number writes): no exponent, no leading or
# trailing zeros, no "+", no "-0".  At most 38 characters, so at most 37 digits and an adjusted
# exponent within -37..37: always in range.  The hot path returns such a text as it is.
_CANONICAL_NUMBER_RE = re.compile(r"-?(?:[1-9][0-9]*(?:\.[0-9]*[1-9])?|0\.[0-9]*[1-9])|0")
_CANONICAL_MAX = 38


def parse_number(text: Any) -> Decimal:
    """Parse and range-check a DynamoDB number; raise its ValidationException when invalid."""
    if not isinstance(text, str):
        raise errors.wrong_json_type(text, "String")
    if not _NUMBER_RE.fullmatch(text):
        raise errors.number_not_numeric(text)
    return check_number(Decimal(text))


def check_number(value: Decimal) -> Decimal:
    """Range- and precision-check a Decimal as DynamoDB does (used after arithmetic too) and
    return it normalized (no trailing zeros).  Works on the digits exactly: no context rounding,
    so a 300-digit input is refused rather than rounded, and any exponent is range-checked."""
    if not value.is_finite():
        raise errors.number_not_numeric(str(value))
    sign, digits, exponent = value.as_tuple()
    kept = len(bytes(digits).rstrip(b"\0"))  # drop the trailing zeros
    if not kept:
        return Decimal(0)
    exponent += len(digits) - kept
    digits = digits[:kept]
    adjusted = exponent + len(digits) - 1
    if adjusted > MAX_EXPONENT:
        raise errors.number_overflow()
    if adjusted < MIN_EXPONENT:
        raise errors.number_underflow()
    if len(digits) > MAX_DIGITS:
        raise errors.number_too_precise()
    return Decimal((sign, digits, exponent))


def _plain_integer(text: str) -> bool:
    """A positive integer in canonical form (ASCII digits, no leading zero): checked without a regex."""
    return text.isascii() and text.isdigit() and text[0] != "0"


def format_number(value: Decimal) -> str:
    """The canonical text of a (checked) number: plain digits, no exponent, no trailing zeros."""
    if not value:
        return "0"
    return format(value.normalize(DECIMAL_CONTEXT), "f")


def normalize_number(text: Any) -> str:
    """``"01.50"`` -> ``"1.5"``; raises the DynamoDB error for a bad number."""
    if text.__class__ is str and len(text) <= _CANONICAL_MAX and (
            _plain_integer(text) or _CANONICAL_NUMBER_RE.fullmatch(text)):
        return text  # already canonical (the common case): the same text the slow path writes
    return format_number(parse_number(text))


def to_decimal(normalized: str) -> Decimal:
    """A normalized number string back to a Decimal (no validation: it was validated on entry)."""
    return Decimal(normalized)


def number_size(normalized: str) -> int:
    """Storage size of a number: one byte of exponent plus one byte per base-100 digit pair,
    pairs aligned on the decimal point, plus one byte for a negative number."""
    if normalized.__class__ is str:
        if _plain_integer(normalized):  # trailing zeros are not stored
            return 2 + (len(normalized) - 1) // 2 - (len(normalized) - len(normalized.rstrip("0"))) // 2
        if _CANONICAL_NUMBER_RE.fullmatch(normalized):
            return _canonical_number_size(normalized)
    sign, digits, exponent = Decimal(normalized).as_tuple()
    kept = len(bytes(digits).rstrip(b"\0"))  # trailing zeros are not stored
    if not kept:
        return 1
    lowest = exponent + len(digits) - kept  # decimal position of the least significant digit
    highest = exponent + len(digits) - 1
    pairs = highest // 2 - lowest // 2 + 1
    return 1 + pairs + (1 if sign else 0)


def _canonical_number_size(text: str) -> int:
    """:func:`number_size` read off a canonical text's digits, without a Decimal."""
    negative = text[0] == "-"
    whole, _, fraction = (text[1:] if negative else text).partition(".")
    if whole == "0":
        if not fraction:
            return 1  # zero
        highest = len(fraction.lstrip("0")) - len(fraction) - 1  # 0.05: the 5 is at -2
        lowest = -len(fraction)
    else:
        highest = len(whole) - 1
        lowest = -len(fraction) if fraction else len(whole) - len(whole.rstrip("0"))
    return 2 + highest // 2 - lowest // 2 + negative
