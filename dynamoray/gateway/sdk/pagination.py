"""Query and Scan results as iterators that page transparently (sync and async).

``limit`` caps the number of items in total; ``page_size`` is DynamoDB's ``Limit`` (items read
per request).  Each request asks for at most the items still wanted, so a page never has to be
cut and every page's ``last_key`` is an exact place to resume from (``start_key=``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .convert import item_from_wire
from .payloads import Payload

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One Query or Scan response."""

    items: list[T]
    last_key: dict[str, Any] | None  # LastEvaluatedKey (plain Python): None on the last page
    count: int
    scanned_count: int
    consumed_capacity: dict[str, Any] | None = field(default=None)


def _page(response: dict[str, Any], load: Callable[[dict[str, Any]], T]) -> Page[T]:
    last = response.get("LastEvaluatedKey")
    return Page([load(item_from_wire(i)) for i in response.get("Items", ())],
                item_from_wire(last) if last else None, int(response.get("Count", 0)),
                int(response.get("ScannedCount", 0)), response.get("ConsumedCapacity"))


class _Paging:
    def __init__(self, request: Payload, limit: int | None, page_size: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        self.request = request
        self.limit = limit
        self.page_size = page_size
        self.seen = 0

    def next_request(self, start: dict[str, Any] | None) -> Payload:
        request = dict(self.request)
        if start is not None:
            request["ExclusiveStartKey"] = start
        sizes = [s for s in (self.page_size, None if self.limit is None else self.limit - self.seen) if s]
        if sizes:
            request["Limit"] = min(sizes)
        return request

    def done(self, response: dict[str, Any]) -> bool:
        self.seen += int(response.get("Count", 0))
        return not response.get("LastEvaluatedKey") or (self.limit is not None and self.seen >= self.limit)


class Items(Generic[T]):
    """``for item in table.query(...)``; ``.pages()`` for whole responses; ``.all()``, ``.first()``."""

    def __init__(self, fetch: Callable[[Payload], dict[str, Any]], request: Payload,
                 load: Callable[[dict[str, Any]], T], limit: int | None = None,
                 page_size: int | None = None) -> None:
        self._fetch, self._request, self._load = fetch, request, load
        self._limit, self._page_size = limit, page_size

    def pages(self) -> Iterator[Page[T]]:
        paging = _Paging(self._request, self._limit, self._page_size)
        start = None
        while True:
            response = self._fetch(paging.next_request(start))
            yield _page(response, self._load)
            if paging.done(response):
                return
            start = response["LastEvaluatedKey"]

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def all(self) -> list[T]:
        return list(self)

    def first(self) -> T | None:
        return next(iter(self), None)

    def count(self) -> int:
        """The number of matching items (``Select=COUNT``: no item is sent back)."""
        request = {**self._request, "Select": "COUNT"}
        request.pop("ProjectionExpression", None)
        return sum(p.count for p in Items(self._fetch, request, self._load, self._limit, self._page_size).pages())


class AsyncItems(Generic[T]):
    """``async for item in table.query(...)``; ``.pages()``, ``await .all()``, ``await .first()``."""

    def __init__(self, fetch: Callable[[Payload], Awaitable[dict[str, Any]]], request: Payload,
                 load: Callable[[dict[str, Any]], T], limit: int | None = None,
                 page_size: int | None = None) -> None:
        self._fetch, self._request, self._load = fetch, request, load
        self._limit, self._page_size = limit, page_size

    async def pages(self) -> AsyncIterator[Page[T]]:
        paging = _Paging(self._request, self._limit, self._page_size)
        start = None
        while True:
            response = await self._fetch(paging.next_request(start))
            yield _page(response, self._load)
            if paging.done(response):
                return
            start = response["LastEvaluatedKey"]

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def all(self) -> list[T]:
        return [item async for item in self]

    async def first(self) -> T | None:
        async for item in self:
            return item
        return None

    async def count(self) -> int:
        """The number of matching items (``Select=COUNT``: no item is sent back)."""
        request = {**self._request, "Select": "COUNT"}
        request.pop("ProjectionExpression", None)
        items = AsyncItems(self._fetch, request, self._load, self._limit, self._page_size)
        return sum([p.count async for p in items.pages()])

