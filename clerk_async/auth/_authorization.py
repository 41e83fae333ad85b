"""``has()``: Clerk's authorization rules over a session token's claims, as JS decides them.

A port of ``createCheckAuthorization`` in Clerk's JS SDK (``@clerk/shared``,
``authorization.ts``): pure functions over plain values, no I/O.

- Every check asked must pass (AND); asking nothing, or a value that is not a str, fails.
- Missing or malformed data fails closed: no organization, no ``fea``/``pla`` claim, a
  claim element without a ``scope:`` prefix, an unknown scope in the asked value.
- Roles and permissions compare with an ``org:`` prefix added where missing
  (``admin`` and ``org:admin`` are the same role).
- ``fea`` and ``pla`` are comma lists of ``scope:name``, scope ``o`` (the active
  organization), ``u`` (the user), or ``ou``/``uo`` (both). An asked ``o:``/``org:``/
  ``organization:`` name looks at the organization's entries only, ``u:``/``user:`` at the
  user's only, and a bare name at both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "REVERIFICATION_PRESETS",
    "Reverification",
    "check_authorization",
    "org_prefixed",
    "split_by_scope",
]

ReverificationLevel = Literal["first_factor", "second_factor", "multi_factor"]
Reverification = (
    Literal["strict_mfa", "strict", "moderate", "lax"] | Mapping[str, Any]
)  # a preset, or {"level": ..., "after_minutes": ...}

# How recent (minutes) the factors must be, and which: JS's TYPES_TO_OBJECTS.
REVERIFICATION_PRESETS: dict[str, tuple[ReverificationLevel, float]] = {
    "strict_mfa": ("multi_factor", 10),
    "strict": ("second_factor", 10),
    "moderate": ("second_factor", 60),
    "lax": ("second_factor", 1440),
}
_LEVELS = frozenset({"first_factor", "second_factor", "multi_factor"})
_ORG_SCOPES = frozenset({"o", "org", "organization"})
_USER_SCOPES = frozenset({"u", "user"})
_ORG_PREFIXES = re.compile(r"^(?:org:)*")


def org_prefixed(value: str) -> str:
    """``admin`` -> ``org:admin``; ``org:admin`` (or ``org:org:admin``) -> ``org:admin``."""
    return _ORG_PREFIXES.sub("org:", value, count=1)


def split_by_scope(claim: str) -> tuple[list[str], list[str]]:
    """The organization's and the user's names in a ``fea``/``pla`` claim.

    Raises ValueError on an element without ``:`` (JS throws: the claim is malformed).
    Elements of another scope belong to neither.
    """
    org: list[str] = []
    user: list[str] = []
    for element in claim.split(","):
        scope, colon, name = element.strip().partition(":")
        if not colon:
            raise ValueError("a claim element has no scope")
        if scope == "o":
            org.append(name)
        elif scope == "u":
            user.append(name)
        elif scope in ("ou", "uo"):
            org.append(name)
            user.append(name)
    return org, user


def _entitled(claim: Any, asked: str) -> bool:
    """``asked`` (``scope:name`` or a bare ``name``) is granted by the ``fea``/``pla`` claim."""
    if not isinstance(claim, str) or not claim:
        return False
    try:
        org, user = split_by_scope(claim)
    except ValueError:
        return False
    scope, colon, name = asked.partition(":")
    if not colon:
        return asked in org or asked in user
    if not name:  # "o:": nothing named (JS would look for "o"; fail closed instead)
        return False
    if scope in _ORG_SCOPES:
        return name in org
    if scope in _USER_SCOPES:
        return name in user
    return False  # an unknown scope


def _fresh_enough(fva: Any, reverification: Any) -> bool:
    """The factors were verified recently enough (``fva``: minutes since each, -1 = none)."""
    level: Any
    after: Any
    if isinstance(reverification, str):
        preset = REVERIFICATION_PRESETS.get(reverification)
        if preset is None:
            return False
        level, after = preset
    elif isinstance(reverification, Mapping):
        level = reverification.get("level")
        after = reverification.get("after_minutes", reverification.get("afterMinutes"))
        if level not in _LEVELS or not _minutes(after) or after <= 0:
            return False
    else:
        return False
    if not (isinstance(fva, (list, tuple)) and len(fva) == 2):
        return False
    first, second = fva
    if not all(_minutes(age) and (age == -1 or age >= 0) for age in (first, second)):
        return False
    if first == -1 and second == -1:  # no factor enrolled: nothing to vouch for the user
        return False
    first_ok: bool = first != -1 and after > first
    second_ok: bool = second != -1 and after > second
    if level == "first_factor":
        return first_ok
    if level == "second_factor":  # falls back to the enrolled factor when one is missing
        return first_ok if second == -1 else second_ok
    if second == -1:  # multi_factor without a second factor enrolled: the first decides
        return first_ok
    return first_ok and second_ok


def _minutes(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_authorization(
    *,
    user_id: str | None,
    org_id: str | None,
    org_role: str | None,
    org_permissions: Sequence[str] | None,
    claims: Mapping[str, Any],
    role: Any = None,
    permission: Any = None,
    feature: Any = None,
    plan: Any = None,
    reverification: Any = None,
) -> bool:
    """JS ``has()``: True when every check asked passes and at least one was asked.

    ``None`` means "not asked". ``claims`` gives ``fea``, ``pla`` and ``fva``.
    """
    if not user_id:
        return False
    asked = False
    if role is not None or permission is not None:
        asked = True
        if not org_id:
            return False
        if role is not None:
            if not isinstance(role, str) or not isinstance(org_role, str) or not org_role:
                return False
            if org_prefixed(org_role) != org_prefixed(role):
                return False
        if permission is not None:
            if not isinstance(permission, str) or org_permissions is None:
                return False
            if org_prefixed(permission) not in org_permissions:
                return False
    for name, value in (("fea", feature), ("pla", plan)):
        if value is not None:
            asked = True
            if not isinstance(value, str) or not _entitled(claims.get(name), value):
                return False
    if reverification is not None:
        asked = True
        if not _fresh_enough(claims.get("fva"), reverification):
            return False
    return asked
