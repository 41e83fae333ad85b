"""Sync pagination over the async pager: one loop hop per page, not per item."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from clerk_async.pagination import AsyncPager, Page

if TYPE_CHECKING:
    from clerk_async.sync._client import Clerk

__all__ = ["SyncPager"]

T = TypeVar("T")
_END: Any = object()


async def _first(pager: AsyncPager[T]) -> Page[T]:
    return await pager


async def _next(pages: AsyncIterator[Page[T]]) -> Page[T]:
    try:
        return await pages.__anext__()
    except StopAsyncIteration:
        return cast("Page[T]", _END)  # a StopIteration cannot cross the future; this marker does


class SyncPager(Generic[T]):
    """What a sync list method returns; nothing is sent until it is used.

    - ``pager.page()`` fetches one page (the offset and limit asked for, else the
      server's defaults): ``page.data``, ``page.total_count``;
    - ``for item in pager`` walks every item, page after page;
    - ``for page in pager.pages()`` walks the pages themselves.

    Bad params raise on first use, as with ``AsyncPager``.
    """

    __slots__ = ("_client", "_pager")

    def __init__(self, client: Clerk, pager: AsyncPager[T]) -> None:
        self._client = client
        self._pager = pager

    def __repr__(self) -> str:
        return f"<SyncPager over {self._pager!r}>"

    def page(self) -> Page[T]:
        """One page: one request."""
        return self._client._run(_first(self._pager))

    def pages(self) -> Iterator[Page[T]]:
        """Every page from the caller's offset on (see ``AsyncPager.pages``)."""
        pages = self._pager.pages()
        while True:
            page = self._client._run(_next(pages))
            if page is _END:
                return
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.data
