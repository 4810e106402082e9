"""What a SELECT hands back: projected items and the NextToken of the next page.

A projected path arrives under its last name, as DynamoDB returns it: ``SELECT a.b, l[0]`` gives
``{"b": ..., "l[0]": ...}``; two paths with the same last name are "Duplicate identifiers in
select clause".  Attributes an item lacks are left out.

A NextToken is opaque to clients: base64url JSON holding a digest of the statement and its
parameters (a token only continues the request that made it), the index of the Query the page
stopped in (0 for a Scan) and the key to resume after.  Anything else is "Invalid NextToken".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Sequence

from .. import errors, values
from ..expressions import ast
from ..expressions.evaluate import get_path


def label(path: ast.Path) -> str:
    """The name a projected path is returned under: its last name and any indexes after it."""
    elements = path.elements
    last = max(i for i, e in enumerate(elements) if isinstance(e, str))
    return str(elements[last]) + "".join(f"[{e}]" for e in elements[last + 1:])


def check_projection(paths: tuple[ast.Path, ...] | None) -> None:
    seen: set[str] = set()
    for path in paths or ():
        name = label(path)
        if name in seen:
            raise errors.partiql_duplicate_identifiers(name)
        seen.add(name)


def project(paths: tuple[ast.Path, ...] | None, item: dict) -> dict:
    """``item`` projected on ``paths`` (None: the whole item)."""
    if paths is None:
        return item
    out = {}
    for path in paths:
        found = get_path(item, path)
        if found is not None:
            out[label(path)] = found
    return out


# --- NextToken -----------------------------------------------------------------------------------


def digest(statement: str, parameters: Sequence[Any] | None) -> str:
    """What a NextToken is bound to: the statement text and its parameters."""
    canonical = json.dumps([statement, list(parameters or ())], sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()


def encode_token(request_digest: str, part: int, start: dict | None) -> str:
    body = json.dumps({"d": request_digest, "p": part, "k": start}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode()


def decode_token(token: str, request_digest: str) -> tuple[int, dict | None]:
    """``(part, start key)`` of a NextToken made for this request."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeError):
        raise errors.partiql_invalid_next_token() from None
    if not isinstance(body, dict) or set(body) != {"d", "p", "k"}:
        raise errors.partiql_invalid_next_token()
    part, start = body["p"], body["k"]
    if type(part) is not int or part < 0 or not (start is None or isinstance(start, dict)):
        raise errors.partiql_invalid_next_token()
    if body["d"] != request_digest:
        raise errors.partiql_next_token_mismatch()
    if start is not None:
        try:
            start = values.validate_item(start)
        except errors.DynamoError:
            raise errors.partiql_invalid_next_token() from None
    return part, start
