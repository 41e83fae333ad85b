"""Query flags the spec types as the strings "true"/"false" (issue 23, item 12).

``include_invalid`` (GET /api_keys) and ``verified`` (GET /organizations/{id}/domains
and GET /organization_domains) are spec'd as strings; a Python bool and the spec's own
strings are both accepted and sent as the same text, anything else is refused before
any request, naming the field.
"""

from __future__ import annotations

from typing import Any

import pytest

from clerk_async import ClerkValidationError
from tests._recorder import RecordingServer

UID = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
PAGE: dict[str, Any] = {"data": [], "total_count": 0}


def _calls(clerk: Any) -> list[tuple[str, Any]]:
    return [
        ("include_invalid", lambda value: clerk.api_keys.list(UID, include_invalid=value)),
        ("verified", lambda value: clerk.organization_domains.list("org_1", verified=value)),
        ("verified", lambda value: clerk.organization_domains.list_all(verified=value)),
    ]


@pytest.mark.parametrize(
    ("given", "sent"), [(True, "true"), (False, "false"), ("true", "true"), ("false", "false")]
)
async def test_bools_and_the_specs_strings_are_sent_as_text(
    server: RecordingServer, clerk: Any, given: Any, sent: str
) -> None:
    for name, call in _calls(clerk):
        server.reply(200, PAGE)
        await call(given)
        assert server.requests[-1].query[name] == sent


@pytest.mark.parametrize("given", ["True", "yes", "1", 1, None, ""])
async def test_anything_else_is_refused_naming_the_field(
    server: RecordingServer, clerk: Any, given: Any
) -> None:
    for name, call in _calls(clerk):
        with pytest.raises(ClerkValidationError, match=name):
            await call(given)
    assert server.requests == []
