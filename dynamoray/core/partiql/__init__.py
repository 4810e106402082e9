"""PartiQL for DynamoDB: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.

A statement goes through the same phases as an expression (``core/expressions``), each a pure
module, and reaches the engines as the commands and ASTs every other operation uses:

```
text ──tokens.py──▶ tokens ──parser.py (+ grammar.py)──▶ syntax.py nodes ──bind.py──▶ bound
     (cached)                                                    │ Parameters
bound ──translate.py──▶ WriteAction (Put/Update/Delete/ConditionCheck command) | ReadPlan (Queries | Scan)
page ──results.py──▶ projected items, NextToken
```

The API:

```python
parsed = parse(text)                    # syntax.Parsed (statement, number of ?)
statement = bind(parsed, parameters)    # the ? replaced by the request's Parameters
write_action(statement, key_schema)     # INSERT / UPDATE / DELETE / EXISTS -> WriteAction
read_plan(statement, key_schema)        # SELECT -> ReadPlan
key_read(statement, key_schema)         # single-item SELECT (batches, transactions) -> key
project(paths, item); digest(text, parameters); encode_token(...); decode_token(...)
```
"""

from __future__ import annotations

from typing import Any, Sequence

from . import permissions
from .bind import bind
from .parser import parse
from .render import render
from .results import decode_token, digest, encode_token, label, project
from .syntax import Delete, Exists, Insert, Parsed, Select, Update, is_read, source_of, table_of
from .translate import ReadPlan, WriteAction, key_read, read_plan, write_action

__all__ = [
    "parse", "bind", "prepare", "write_action", "read_plan", "key_read", "ReadPlan", "WriteAction",
    "project", "label", "digest", "encode_token", "decode_token", "render", "permissions",
    "Select", "Insert", "Update", "Delete", "Exists", "Parsed", "is_read", "source_of", "table_of",
]


def prepare(text: str, parameters: Sequence[Any] | None = None) -> Any:
    """``bind(parse(text), parameters)``: the statement ready to translate."""
    return bind(parse(text), parameters)
