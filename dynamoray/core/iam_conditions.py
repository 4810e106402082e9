"""IAM's matching rules, pure: wildcards, policy variables and the Condition operators.

- Wildcards: ``*`` matches any run of characters, ``?`` any one character.  ARNs are matched one
  colon-separated segment at a time (a wildcard never crosses a ``:`` between the first five
  segments); the sixth segment (the resource) is the rest of the ARN.
- Policy variables (``${aws:username}``, ``${www.amazon.com:user_id}``, ``${aws:username, 'x'}``
  with a default, and the escapes ``${*}``, ``${?}``, ``${$}``) are replaced by the request
  context's single value for the key.  A variable with no value and no default makes that policy
  value match nothing.
- A request context maps lower-cased condition keys to a ``str`` (single-valued key) or a
  ``tuple`` of str (multivalued key, e.g. ``dynamodb:LeadingKeys``).

Condition semantics follow AWS: operators in a block AND, keys of one operator AND, several values
of one key OR (NOR for the negated operators).  A key missing from the context makes a positive
operator false and a negated one true, except ``...IfExists`` (true when missing) and ``Null``.
``ForAllValues:`` holds when every request value matches (so also for a missing or empty key);
``ForAnyValue:`` when at least one does (so never for a missing or empty key).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Callable, Mapping, Union

Context = Mapping[str, Union[str, tuple]]

FOR_ALL, FOR_ANY = "ForAllValues", "ForAnyValue"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"\s*'([^']*)'\s*")


# --- policy variables --------------------------------------------------------------------------


def _variable_value(inner: str, context: Context) -> str | None:
    if inner in _ESCAPES:
        return _ESCAPES[inner]
    key, comma, default = inner.partition(",")
    value = context.get(key.strip().lower())
    if isinstance(value, str):
        return value
    if comma:
        quoted = _DEFAULT.fullmatch(default)
        if quoted is not None:
            return quoted.group(1)
    return None


def substitute(text: str, context: Context | None) -> str | None:
    """``text`` with its variables replaced (None: a variable has no value).  ``context=None``
    means the policy predates variables (Version 2008-10-17): the text is taken literally."""
    if context is None or "${" not in text:
        return text
    missing = False

    def replace(match: re.Match) -> str:
        nonlocal missing
        value = _variable_value(match.group(1), context)
        if value is None:
            missing = True
            return ""
        return value

    out = _VARIABLE.sub(replace, text)
    return None if missing else out


# --- wildcards -----------------------------------------------------------------------------------


def _glob_part(text: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern:
    return re.compile(pattern, re.S | (re.I if ignore_case else 0))


@functools.lru_cache(maxsize=4096)
def _plain_glob(pattern: str, ignore_case: bool) -> re.Pattern:
    return _compiled(_glob_part(pattern), ignore_case)


def glob_regex(pattern: str, context: Context | None = None, ignore_case: bool = False) -> re.Pattern | None:
    """The regex of a wildcard pattern; variables' values are matched literally (even ``*``)."""
    if context is None or "${" not in pattern:
        return _plain_glob(pattern, ignore_case)
    parts, last = [], 0
    for match in _VARIABLE.finditer(pattern):
        parts.append(_glob_part(pattern[last:match.start()]))
        value = _variable_value(match.group(1), context)
        if value is None:
            return None
        parts.append(re.escape(value))
        last = match.end()
    parts.append(_glob_part(pattern[last:]))
    return _compiled("".join(parts), ignore_case)


def glob_match(pattern: str, value: str, context: Context | None = None, ignore_case: bool = False) -> bool:
    regex = glob_regex(pattern, context, ignore_case)
    return regex is not None and regex.fullmatch(value) is not None


def _arn_parts(arn: str) -> list[str] | None:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 else None


_ANY_SEGMENT = None  # a "*" segment: matches without a regex


@functools.lru_cache(maxsize=4096)
def _arn_pattern(pattern: str) -> tuple | None:
    """A variable-free ARN pattern, compiled once: per segment None ("*"), a str (exact) or a regex."""
    parts = _arn_parts(pattern)
    if parts is None:
        return None
    return tuple(_ANY_SEGMENT if p == "*" else p if "*" not in p and "?" not in p else _plain_glob(p, False)
                 for p in parts)


def arn_match(pattern: str, arn: str, context: Context | None = None) -> bool:
    """ARN matching (Resource, ArnLike, ArnEquals): segment by segment, wildcards allowed."""
    if pattern == "*":
        return True
    if context is not None and "${" in pattern:
        want, have = _arn_parts(pattern), _arn_parts(arn)
        return want is not None and have is not None and all(
            glob_match(w, h, context) for w, h in zip(want, have))
    return _plain_arn_match(pattern, arn)


@functools.lru_cache(maxsize=16384)
def _plain_arn_match(pattern: str, arn: str) -> bool:
    """A variable-free pattern against an ARN: deterministic, so remembered (policies x tables)."""
    have, compiled = _arn_parts(arn), _arn_pattern(pattern)
    if have is None or compiled is None:
        return False
    for segment, value in zip(compiled, have):
        if segment is _ANY_SEGMENT:
            continue
        if isinstance(segment, str):
            if segment != value:
                return False
        elif segment.fullmatch(value) is None:
            return False
    return True


# --- value parsers -------------------------------------------------------------------------------


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def parse_date(text: str) -> datetime | None:
    """ISO 8601 (``2026-01-02``, ``2026-01-02T03:04:05Z``, with an offset) or epoch seconds."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        try:
            return datetime.fromtimestamp(int(text), timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


@functools.lru_cache(maxsize=1024)
def _network(text: str):
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _ip_in(value: str, network_text: str) -> bool:
    network = _network(network_text)
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return network is not None and address.version == network.version and address in network


def _compare(parse: Callable[[str], object], check: Callable[[object, object], bool]):
    def test(have: str, want: str, context: Context | None) -> bool:
        a, b = parse(have), parse(want)
        return a is not None and b is not None and check(a, b)

    return test


# --- operators -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    test: Callable[[str, str, Context | None], bool]  # (request value, policy value, variables)
    negated: bool = False
    variables: bool = False  # are policy variables substituted in its values?


def _eq(have, want, ctx):
    want = substitute(want, ctx)
    return want is not None and have == want


def _eq_ignore_case(have, want, ctx):
    want = substitute(want, ctx)
    return want is not None and have.casefold() == want.casefold()


def _like(have, want, ctx):
    return glob_match(want, have, ctx)


def _arn_like(have, want, ctx):
    return arn_match(want, have, ctx)


def _bool(have, want, ctx):
    return have.lower() == want.lower()


def _binary(have, want, ctx):
    return have == want


def _ip(have, want, ctx):
    return _ip_in(have, want)


_ORDER = {
    "Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b, "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _operators() -> dict[str, Operator]:
    ops = [
        Operator("StringEquals", _eq, variables=True),
        Operator("StringNotEquals", _eq, negated=True, variables=True),
        Operator("StringEqualsIgnoreCase", _eq_ignore_case, variables=True),
        Operator("StringNotEqualsIgnoreCase", _eq_ignore_case, negated=True, variables=True),
        Operator("StringLike", _like, variables=True),
        Operator("StringNotLike", _like, negated=True, variables=True),
        Operator("Bool", _bool),
        Operator("BinaryEquals", _binary),
        Operator("IpAddress", _ip),
        Operator("NotIpAddress", _ip, negated=True),
        Operator("ArnEquals", _arn_like, variables=True),
        Operator("ArnLike", _arn_like, variables=True),
        Operator("ArnNotEquals", _arn_like, negated=True, variables=True),
        Operator("ArnNotLike", _arn_like, negated=True, variables=True),
    ]
    for family, parse in (("Numeric", _number), ("Date", parse_date)):
        for suffix, check in _ORDER.items():
            ops.append(Operator(f"{family}{suffix}", _compare(parse, check)))
        ops.append(Operator(f"{family}NotEquals", _compare(parse, _ORDER["Equals"]), negated=True))
    return {op.name: op for op in ops}


OPERATORS: dict[str, Operator] = _operators()
NULL = "Null"


@dataclass(frozen=True, slots=True)
class Clause:
    """One key of one operator of a Condition block: ``ForAllValues:StringLike {key: [values]}``."""

    operator: str  # a name in OPERATORS, or "Null"
    key: str  # lower-cased
    values: tuple[str, ...]
    qualifier: str | None = None  # FOR_ALL | FOR_ANY | None
    if_exists: bool = False


def _request_values(raw) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return (raw,) if isinstance(raw, str) else tuple(raw)


def _null_holds(clause: Clause, raw) -> bool:
    present = raw is not None and raw != () and raw != ""
    return any((value.lower() == "true") != present for value in clause.values)


def clause_holds(clause: Clause, context: Context, variables: bool = True) -> bool:
    """Does the request context satisfy this clause?  ``variables`` is False for old policies."""
    raw = context.get(clause.key)
    if clause.operator == NULL:
        return _null_holds(clause, raw)
    operator = OPERATORS[clause.operator]
    have = _request_values(raw)
    if not have:
        if clause.if_exists or clause.qualifier == FOR_ALL:
            return True
        if clause.qualifier == FOR_ANY:
            return False
        return operator.negated
    ctx = context if variables and operator.variables else None

    def matches(value: str) -> bool:
        return any(operator.test(value, want, ctx) for want in clause.values)

    if operator.negated:
        if clause.qualifier == FOR_ALL:
            return all(not matches(v) for v in have)
        if clause.qualifier == FOR_ANY:
            return any(not matches(v) for v in have)
        return not any(matches(v) for v in have)
    if clause.qualifier == FOR_ALL:
        return all(matches(v) for v in have)
    return any(matches(v) for v in have)
