"""What every framework integration must answer alike (tests/test_integration_*.py)."""

from __future__ import annotations

import json
from typing import Any

USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
INVALID = 'Bearer error="invalid_token"'
INSUFFICIENT = 'Bearer error="insufficient_scope"'


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _parts(response: Any) -> tuple[int, Any, Any]:
    """Status, headers and JSON body of any framework's test response."""
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    body = getattr(response, "content", None)
    if body is None:
        body = response.get_data()
    return int(status), response.headers, json.loads(body)


def assert_unauthorized(response: Any, token: str = "") -> None:
    status, headers, body = _parts(response)
    assert status == 401
    assert headers["WWW-Authenticate"] == INVALID
    # Nothing about the token or why (Litestar adds its status_code to every error body).
    assert body.get("detail") == "Unauthorized"
    assert set(body) <= {"detail", "status_code"}
    if token:
        assert token not in json.dumps(body)
        assert token[-20:] not in json.dumps(dict(headers))


def assert_forbidden(response: Any, challenge: str = INSUFFICIENT) -> None:
    status, headers, body = _parts(response)
    assert status == 403
    assert headers["WWW-Authenticate"] == challenge
    assert body.get("detail") == "Forbidden"
    assert set(body) <= {"detail", "status_code"}
