"""Shared model pieces: the params base class and the deleted-object shape."""

from __future__ import annotations

import attrs

__all__ = ["DeletedObject", "Params"]


class Params:
    """Base of every params class: its fields are sent, UNSET ones left out."""

    __slots__ = ()


@attrs.define(kw_only=True)
class DeletedObject:
    """What Clerk answers to a DELETE of a machine or an API key."""

    id: str
    object: str
    deleted: bool = True
