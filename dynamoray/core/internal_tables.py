"""Tables the server keeps for itself (pure): reserved names, hidden from users.

DynamoDB allows ``.`` in table names, so a user could name a table like one of these.  The names
are reserved instead:

- ListTables never shows them (nor counts them when paging);
- CreateTable of such a name is DynamoDB's ``ResourceInUseException`` ("Table already exists"),
  whether or not the server has made the table yet;
- any other call that names one is refused to every caller but the root credentials, whatever
  their IAM policies say (``gateway/authorize.py``).  The root credentials may read them (and, as
  an escape hatch, change them: e.g. delete a hook's checkpoint to replay it).

The server makes them through the engine, never through the DynamoDB API.
"""

from __future__ import annotations

from typing import Iterable

from .hooks import CHECKPOINT_TABLE

INTERNAL_TABLES = frozenset({CHECKPOINT_TABLE})  # the hooks' checkpoints (core/hooks.py)


def is_internal(name: object) -> bool:
    return isinstance(name, str) and name in INTERNAL_TABLES


def visible(names: Iterable[str]) -> list[str]:
    """``names`` without the internal tables, in their order."""
    return [name for name in names if name not in INTERNAL_TABLES]


def table_of_arn(resource: str) -> str | None:
    """The table an ARN names (``...:table/T``, ``.../index/I``, ``.../stream/S``, ``.../backup/B``)."""
    _, found, rest = resource.partition(":table/")
    return rest.split("/", 1)[0] if found else None
