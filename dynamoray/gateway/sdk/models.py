"""Item types: plain dicts, or pydantic models with their keys declared on the fields.

    class Order(BaseModel):
        customer: Annotated[str, HashKey]
        number: Annotated[int, RangeKey]
        total: Decimal
        note: str | None = None

A model item is stored as ``model_dump(by_alias=True, exclude_none=True)``, where a ``None`` field
or an empty set (DynamoDB has no empty sets) is an absent attribute, and read back with
``model_validate`` (so give such fields a default); its field types must be ones the SDK
converts (no float: use Decimal).  pydantic is never imported here: only the model class given by
the caller is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

T = TypeVar("T")
Item = dict[str, Any]


@dataclass(frozen=True)
class KeyRole:
    key_type: str  # HASH or RANGE

    def __repr__(self) -> str:
        return "HashKey" if self.key_type == "HASH" else "RangeKey"


HashKey = KeyRole("HASH")
RangeKey = KeyRole("RANGE")

_SCALAR_TYPES: dict[type, str] = {str: "S", int: "N", Decimal: "N", bytes: "B"}


def _scalar_type(annotation: Any) -> str:
    if get_origin(annotation) in (Union, UnionType):  # Optional[str], str | None: the non-None member
        members = [a for a in get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else annotation
    for python_type, wire in _SCALAR_TYPES.items():
        if annotation is python_type:
            return wire
    raise TypeError(f"A key attribute must be str, int, Decimal or bytes, not {annotation!r}")


@dataclass(frozen=True)
class KeySchema:
    """The key attributes of a table: names and (when known) their types S, N or B."""

    hash_key: str
    range_key: str | None = None
    hash_type: str | None = None
    range_type: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def key_of(self, item: Mapping[str, Any]) -> Item:
        try:
            return {name: item[name] for name in self.names}
        except KeyError as missing:
            raise ValueError(f"The item has no key attribute {missing}") from None

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> KeySchema:
        types = {d["AttributeName"]: d["AttributeType"] for d in description.get("AttributeDefinitions", [])}
        roles = {k["KeyType"]: k["AttributeName"] for k in description["KeySchema"]}
        hash_key, range_key = roles["HASH"], roles.get("RANGE")
        return cls(hash_key, range_key, types.get(hash_key), types.get(range_key) if range_key else None)


def model_key_schema(model: type[Any]) -> KeySchema | None:
    """The keys declared with ``HashKey``/``RangeKey`` on a pydantic model's fields, if any."""
    roles: dict[str, tuple[str, str]] = {}
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, KeyRole):
                roles[meta.key_type] = (info.alias or name, _scalar_type(info.annotation))
    if "HASH" not in roles:
        if "RANGE" in roles:
            raise TypeError(f"{model.__name__} declares a RangeKey but no HashKey")
        return None
    hash_key, hash_type = roles["HASH"]
    range_key, range_type = roles.get("RANGE", (None, None))
    return KeySchema(hash_key, range_key, hash_type, range_type)


class ItemCodec(Generic[T]):
    """Turns the caller's items (dicts or model instances) into attribute dicts and back."""

    def __init__(self, model: type[T] | None = None) -> None:
        self.model = model
        self.key_schema = model_key_schema(model) if model is not None else None

    def dump(self, item: T | Mapping[str, Any]) -> Item:
        if isinstance(item, Mapping):
            return dict(item)
        dumped: Item = item.model_dump(by_alias=True, exclude_none=True)  # type: ignore[attr-defined]
        return {k: v for k, v in dumped.items() if not (isinstance(v, (set, frozenset)) and not v)}

    def load(self, attributes: Item) -> T:
        if self.model is None:
            return attributes  # type: ignore[return-value]  # T is dict[str, Any] without a model
        loaded: T = self.model.model_validate(attributes)  # type: ignore[attr-defined]
        return loaded
