"""FakeClerk's state beyond machines: users, organizations, sessions and instance lists.

One ``State`` per instance, in parts that reach each other through it (deleting a
user ends their sessions and memberships). ``HANDLERS`` maps the spec's operation ids to
the functions that answer them from the state; ``_app.py`` routes them. Every answer is
built from live records at answer time. A lock makes the state safe to seed and inspect
from a test's thread while a threaded fake (``with FakeClerk()``) serves requests.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clerk_async.testing._state import instance, organizations, roles, sessions, users
from clerk_async.testing._state._base import HANDLERS, ITEMS, Handler, Record, word

if TYPE_CHECKING:
    from clerk_async.testing._tokens import Tokens

__all__ = ["HANDLERS", "ITEMS", "Handler", "Record", "State"]


class State:
    def __init__(
        self, instance_id: str, now: Callable[[], int], tokens: Tokens, rng: random.Random
    ) -> None:
        self.instance_id = instance_id
        self.now = now
        self.tokens = tokens
        self.rng = rng
        self.lock = threading.RLock()
        self.users = users.Users(self)
        self.roles = roles.Roles(self)
        self.orgs = organizations.Organizations(self)
        self.sessions = sessions.Sessions(self)
        self.instance = instance.Instance(self)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{word(self.rng)}"

    def answer(self, fn: Handler, params: dict[str, Any]) -> Any:
        with self.lock:
            return fn(self, params)
