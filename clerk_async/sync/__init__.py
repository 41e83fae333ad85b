"""The client for code without an event loop: Django, Flask, scripts, notebooks.

``from clerk_async.sync import Clerk``: the same services, methods, models, errors and
options as ``clerk_async.Clerk``, each call returning its answer. It drives the async
client on a private event loop in a daemon thread (one per client), so both share one
request path. See the "Sync code" guide.
"""

from __future__ import annotations

from clerk_async.pagination import Page
from clerk_async.sync._batch import SyncBatch
from clerk_async.sync._client import Clerk
from clerk_async.sync._pager import SyncPager

__all__ = ["Clerk", "Page", "SyncBatch", "SyncPager"]
