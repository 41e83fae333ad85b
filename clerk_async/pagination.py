"""The async pager behind every list method.

``clerk.machines.list(...)`` returns an ``AsyncPager`` without sending anything.
Then (bad params raise here, on ``await`` or iteration, never at the call):

- ``page = await pager`` fetches one page: ``page.data`` and ``page.total_count``;
- ``async for item in pager`` walks every item, page after page;
- ``async for page in pager.pages()`` walks the pages themselves.

Pages are fetched by offset, each from where the items received so far end. A walk ends
at ``total_count`` when the answer has one, else at the first empty page; a page shorter
than asked for is not the end (a server may cap its pages below ``limit``). Endpoints that
answer a bare JSON array page the same way; their pages' ``total_count`` is None.

A walk never goes on for ever: a page that repeats an earlier one (a server that ignores
``offset``) raises ``PaginationError``, and so does a walk past
its bounds, ``max_pages`` pages or ``max_items`` items (``pages(max_pages=...)``,
``items(max_items=...)``; ``None`` lifts a bound).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import attrs

from clerk_async._convert import UNSET, Unset, WholeNumber
from clerk_async._prepare import prepare
from clerk_async.errors import ClerkError, ClerkValidationError, PaginationError

if TYPE_CHECKING:
    from clerk_async._transport import CallOptions, Transport
    from clerk_async.models.common import Params

__all__ = ["MAX_ITEMS", "MAX_PAGES", "AsyncPager", "FetchPage", "Page", "paginate"]

T = TypeVar("T")

# The default bounds of a walk: past Clerk's largest lists at any page size (a million
# users are 2,000 pages of 500), short of for ever.
MAX_PAGES = 100_000
MAX_ITEMS = 10_000_000


@attrs.define(kw_only=True)
class Page(Generic[T]):
    """One page of a list: its items and how many there are in all.

    ``total_count`` is None for the endpoints that answer a bare array.
    """

    data: list[T]
    total_count: WholeNumber | None  # some list endpoints type it ``number``; None: bare arrays


FetchPage = Callable[[int | Unset, int | Unset], Awaitable[Page[T]]]
"""Fetches the page at ``(offset, limit)``; UNSET leaves either out of the request."""


class AsyncPager(Generic[T]):
    """Awaitable for the first page; async-iterable over every item; ``pages()`` for pages."""

    __slots__ = ("_fetch", "_limit", "_max_limit", "_offset")

    def __init__(
        self,
        fetch: FetchPage[T],
        *,
        offset: int | Unset = UNSET,
        limit: int | Unset = UNSET,
        max_limit: int,
    ) -> None:
        self._fetch = fetch
        self._offset = offset
        self._limit = limit
        self._max_limit = max_limit

    def __repr__(self) -> str:
        return f"<AsyncPager offset={self._offset!r} limit={self._limit!r}>"

    def __await__(self) -> Generator[Any, None, Page[T]]:
        # Exactly what the caller asked for: one request, the server's defaults otherwise.
        return self._fetch(self._offset, self._limit).__await__()

    def pages(
        self, *, max_pages: int | None = MAX_PAGES, max_items: int | None = MAX_ITEMS
    ) -> AsyncIterator[Page[T]]:
        """Every page from the caller's offset on; the page size is the caller's ``limit``
        or else the endpoint's maximum (fewest round trips).

        A walk that would yield more than ``max_pages`` pages or ``max_items`` items raises
        ``PaginationError`` instead (``None``: no bound).
        """
        limit = self._max_limit if self._limit is UNSET else self._limit
        return _Pages(self._fetch, self._offset, limit, max_pages, max_items)

    def items(
        self, *, max_pages: int | None = MAX_PAGES, max_items: int | None = MAX_ITEMS
    ) -> AsyncIterator[T]:
        """Every item, page after page, within the same bounds as ``pages``;
        ``async for item in pager`` is ``items()`` with the default bounds."""
        return _Items(self.pages(max_pages=max_pages, max_items=max_items))

    def __aiter__(self) -> AsyncIterator[T]:
        return self.items()


def _bound(name: str, value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise ClerkValidationError(name, f"must be a positive int or None, got {value!r}")


def _page_key(data: list[Any]) -> int | None:
    """A page's fingerprint: the hash of its items' ids, None if they have none."""
    ids = [getattr(item, "id", None) for item in data]
    return None if None in ids else hash(tuple(ids))


class _Pages(Generic[T]):
    """Iterates pages. A plain class, not an async generator: abandoning it half-way
    leaves nothing for the event loop to finalise."""

    def __init__(
        self,
        fetch: FetchPage[T],
        offset: int | Unset,
        limit: int,
        max_pages: int | None,
        max_items: int | None,
    ) -> None:
        self._fetch = fetch
        self._next = offset  # the next request's offset; the first keeps the caller's
        self._position = 0 if offset is UNSET else offset
        self._limit = limit
        self._bounds = (max_pages, max_items)  # checked on the first step: errors on await
        self._pages = 0  # pages and items yielded so far
        self._items = 0
        self._seen: set[int] = set()  # the fingerprints of the pages yielded
        self._last: list[T] | None = None  # the last page, for items without ids
        self._done = False

    def __aiter__(self) -> _Pages[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._done:
            raise StopAsyncIteration
        max_pages = _bound("max_pages", self._bounds[0])
        max_items = _bound("max_items", self._bounds[1])
        offset = self._next
        page = await self._fetch(offset, self._limit)
        received = len(page.data)
        if received == 0:  # the end, whatever total_count said
            self._done = True
            raise StopAsyncIteration
        self._check(page.data, offset, max_pages, max_items)
        self._pages += 1
        self._items += received
        # The next page starts where what we received ends: a server that caps its pages
        # below our limit is walked to the end, page by shorter page.
        self._position += received
        self._next = self._position
        total = page.total_count
        if total is not None and self._position >= total:
            self._done = True
        return page

    def _check(
        self, data: list[T], offset: int | Unset, max_pages: int | None, max_items: int | None
    ) -> None:
        """Raise before a page that repeats an earlier one or goes past a bound."""
        key = _page_key(data)
        repeated = data == self._last if key is None else key in self._seen
        where = f"the page at offset {0 if offset is UNSET else offset}"
        done = f"after {self._pages:,} pages and {self._items:,} items"
        if repeated:
            self._done = True
            raise PaginationError(
                f"{where} repeats an earlier page: the server ignores offset; stopped {done}",
                pages=self._pages,
                items=self._items,
            )
        if max_pages is not None and self._pages + 1 > max_pages:
            self._done = True
            raise PaginationError(
                f"{where} would pass max_pages={max_pages:,}; stopped {done} "
                "(pass a larger max_pages, or None, to .pages() or .items())",
                pages=self._pages,
                items=self._items,
            )
        if max_items is not None and self._items + len(data) > max_items:
            self._done = True
            raise PaginationError(
                f"{where} would pass max_items={max_items:,}; stopped {done} "
                "(pass a larger max_items, or None, to .pages() or .items())",
                pages=self._pages,
                items=self._items,
            )
        if key is None:
            self._last = data
        else:
            self._seen.add(key)


class _Items(Generic[T]):
    def __init__(self, pages: AsyncIterator[Page[T]]) -> None:
        self._pages = pages
        self._items: list[T] = []
        self._index = 0

    def __aiter__(self) -> _Items[T]:
        return self

    async def __anext__(self) -> T:
        while self._index >= len(self._items):
            self._items = (await self._pages.__anext__()).data
            self._index = 0
        item = self._items[self._index]
        self._index += 1
        return item


class _PageLike(Protocol[T]):
    """A list response: ``{data, total_count}``, or another shape exposing them."""

    @property
    def data(self) -> list[T]: ...

    @property
    def total_count(self) -> int | None: ...


class _Paged(Protocol):
    @property
    def offset(self) -> int | Unset: ...

    @property
    def limit(self) -> int | Unset: ...


def paginate(
    transport: Transport,
    template: str,
    response_type: type[_PageLike[T]] | type[list[T]],
    params: Params | Callable[[], Params],
    *,
    max_limit: int,
    options: CallOptions,
) -> AsyncPager[T]:
    """A pager over ``GET template`` whose params have ``offset`` and ``limit`` fields.

    ``params`` may be a function that builds them: what it raises (bad input) is raised
    when the pager is awaited or walked, never here.

    ``response_type`` is ``Page[Item]`` for the usual ``{data, total_count}`` shape, a
    model that exposes ``data`` and ``total_count`` over another shape (M2M tokens), or
    ``list[Item]`` for the endpoints that answer a bare array.
    """
    if callable(params):
        try:
            params = params()
        except ClerkError as exc:
            return AsyncPager(_refused(exc), max_limit=max_limit)
    paged = cast("_Paged", params)

    async def fetch(offset: int | Unset, limit: int | Unset) -> Page[T]:
        page_params = _window(params, offset, limit)
        prepared = prepare("GET", template, response_type, page_params, query=True)
        result: Any = await transport.send(prepared, options)
        if isinstance(result, Page):
            return result
        if isinstance(result, list):
            return Page(data=result, total_count=None)
        return Page(data=result.data, total_count=result.total_count)

    return AsyncPager(fetch, offset=paged.offset, limit=paged.limit, max_limit=max_limit)


def _refused(error: ClerkError) -> FetchPage[Any]:
    """A pager's fetch that raises the error its params were refused with."""

    async def fetch(offset: int | Unset, limit: int | Unset) -> Page[Any]:
        raise error

    return fetch


# Each params class's field names, for ``_window``'s copy.
_FIELDS: dict[type, tuple[str, ...]] = {}


def _window(params: Params, offset: int | Unset, limit: int | Unset) -> Params:
    """``params`` with another page window. The other fields are not validated again (they
    were when built; a 26-field ``users.list`` params costs ~60k instructions to validate),
    and the window is the caller's validated one or the page counts from it.

    The copy sets the fields one by one: half the time of ``copy.copy``, which goes through
    ``__reduce_ex__`` and attrs' ``__getstate__`` (2.1 vs 4.0 µs for ``GetUserListParams``,
    timeit)."""
    cls: Any = type(params)  # an attrs class (the Params base is not one)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(field.name for field in attrs.fields(cls))
    page: Params = object.__new__(cls)
    set_field = object.__setattr__  # params are frozen: a fresh copy, each field set once
    for name in names:
        set_field(page, name, getattr(params, name))
    set_field(page, "offset", offset)
    set_field(page, "limit", limit)
    return page
