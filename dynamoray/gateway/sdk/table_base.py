"""What the sync and async tables share: the item codec, the key schema and the response parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from .convert import item_from_wire
from .models import ItemCodec, KeySchema

T = TypeVar("T")


class TableBase(Generic[T]):
    """A table name, the item type ``T`` (``dict[str, Any]`` or a pydantic model) and its keys."""

    def __init__(self, name: str, model: type[T] | None = None, key_schema: KeySchema | None = None) -> None:
        self.name = name
        self.model = model
        self._codec: ItemCodec[T] = ItemCodec(model)
        self._key_schema = key_schema or self._codec.key_schema

    def __repr__(self) -> str:
        model = f", model={self.model.__name__}" if self.model is not None else ""
        return f"{type(self).__name__}({self.name!r}{model})"

    def _needs_schema(self, key: Any) -> bool:
        return self._key_schema is None and not isinstance(key, Mapping)

    def _key(self, key: Any) -> dict[str, Any]:
        """The key attributes of ``key`` (a key mapping, or a whole item or model instance)."""
        attributes = self._codec.dump(key)
        return self._key_schema.key_of(attributes) if self._key_schema is not None else attributes

    def _item(self, item: Any) -> dict[str, Any]:
        return self._codec.dump(item)

    def _load(self, attributes: dict[str, Any]) -> T:
        return self._codec.load(attributes)

    def _loaded(self, response: dict[str, Any], member: str) -> T | None:
        raw = response.get(member)
        return self._codec.load(item_from_wire(raw)) if raw else None

    @staticmethod
    def _attributes(response: dict[str, Any]) -> dict[str, Any] | None:
        raw = response.get("Attributes")
        return item_from_wire(raw) if raw else None
