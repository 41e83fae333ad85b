"""mypy on user code: the auth types catch the mistakes they should, and only those.

The probe is code a user would write against verify_token, authenticate_request,
require_auth and has(). Each line ending in ``# error`` must be reported by mypy --strict,
and no other line may be: the set of reported lines is compared whole. ``assert_type``
lines prove the precise types (a wrong type there would be reported too).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._mypy_probe import check_probe

PROBE = """\
from typing import Annotated

from fastapi import Depends, FastAPI
from typing_extensions import assert_type

from clerk_async import Clerk
from clerk_async.auth import (
    APIKeyAuth, Auth, M2MAuth, OAuthAuth, RequestState, SessionAuth, TokenType,
)
from clerk_async.fastapi import AuthDependency, require_auth


async def verify(clerk: Clerk, token: str, headers: dict[str, str]) -> None:
    session = await clerk.verify_token(token)
    assert_type(session, SessionAuth)
    print(session.user_id, session.org_role, session.has(role="org:admin"))
    print(session.machine_id)  # error
    m2m = await clerk.verify_token(token, accepts_token="m2m_token")
    assert_type(m2m, M2MAuth)
    print(m2m.machine_id, m2m.scopes)
    print(m2m.user_id)  # error
    assert_type(await clerk.verify_token(token, accepts_token="api_key"), APIKeyAuth)
    assert_type(await clerk.verify_token(token, accepts_token="oauth_token"), OAuthAuth)
    pair = await clerk.verify_token(token, accepts_token=("m2m_token", "api_key"))
    assert_type(pair, M2MAuth | APIKeyAuth)
    print(pair.scopes)
    print(pair.name)  # error
    if isinstance(pair, APIKeyAuth):
        print(pair.name)
    anything = await clerk.verify_token(token, accepts_token="any")
    assert_type(anything, Auth)
    listed: list[TokenType] = ["session_token", "oauth_token"]
    assert_type(await clerk.verify_token(token, accepts_token=listed), Auth)
    await clerk.verify_token(token, accepts_token="sesion_token")  # error
    await clerk.verify_token(token, accepts_token=("m2m_token", "api-key"))  # error
    kind: str = "m2m_token"
    await clerk.verify_token(token, accepts_token=kind)  # error

    state = await clerk.authenticate_request(headers)
    assert_type(state, RequestState[SessionAuth])
    if state.auth is not None:
        print(state.auth.session_id)
    print(state.auth.user_id)  # error
    machines = await clerk.authenticate_request(
        headers, accepts_token=("oauth_token", "m2m_token")
    )
    assert_type(machines, RequestState[OAuthAuth | M2MAuth])
    if machines.auth is not None:
        print(machines.auth.org_id)  # error
    bare: RequestState = await clerk.authenticate_request(headers, accepts_token="any")
    print(bare.has(permission="org:invoices:read"))
    print(bare.has(rol="admin"))  # error
    print(session.has(reverification="strct"))  # error
    print(session.has(reverification="strict_mfa"))


assert_type(require_auth(), AuthDependency[SessionAuth])
assert_type(require_auth("m2m_token", scopes="mch_me"), AuthDependency[M2MAuth])
assert_type(require_auth(["api_key"], role="org:admin"), AuthDependency[Auth])
assert_type(require_auth(("session_token", "api_key")), AuthDependency[SessionAuth | APIKeyAuth])
require_auth("m2m_tokens")  # error
require_auth(permision="org:invoices:read")  # error

app = FastAPI()


@app.get("/me")
async def me(auth: Annotated[SessionAuth, Depends(require_auth(role="org:admin"))]) -> str:
    return auth.user_id
"""


@pytest.mark.slow
def test_mypy_reports_exactly_the_marked_lines(tmp_path: Path) -> None:
    check_probe(PROBE, tmp_path, 12)
