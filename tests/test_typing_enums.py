"""mypy on user code: the spec's enums (and the auth types) catch the mistakes they should.

The probe is code a user would write: filters and options whose values the spec lists
(``status=``, ``order_by=``, ``token_format=``, a path's ``template_type``), and answers
compared with those values. Each line ending in ``# error`` must be reported by
``mypy --strict`` (which turns on ``--strict-equality``: a comparison that can never be
true is an error), and no other line may be: the set of reported lines is compared whole.
The correct lines beside them prove the Literal types cost correct code nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clerk_async import Clerk, ClerkResponseValidationError, ClerkValidationError
from tests._mypy_probe import check_probe
from tests._recorder import RecordingServer

PROBE = """\
from typing import Literal

from clerk_async import Clerk
from clerk_async import sync
from clerk_async.auth import M2MAuth
from clerk_async.fastapi import require_auth
from clerk_async.models import ListInvitationsParams, M2MToken
from clerk_async.services.spec.users import GetUserListOrderBy


async def requests(clerk: Clerk) -> None:
    await clerk.sessions.list(status="active", user_id="user_1")
    await clerk.sessions.list(status="actve", user_id="user_1")  # error
    await clerk.invitations.list(status="pending")
    await clerk.invitations.list(status="pendng")  # error
    await clerk.users.list(order_by="-created_at")
    await clerk.users.list(order_by="-created")  # error
    await clerk.organizations.list(order_by="-members_count")
    await clerk.organizations.list(order_by="members_count desc")  # error
    await clerk.m2m.create_token(token_format="jwt")
    await clerk.m2m.create_token(token_format="jwk")  # error
    await clerk.email_sms_templates.list("email")
    await clerk.email_sms_templates.list("mail")  # error
    await clerk.organization_domains.list_all(enrollment_mode=["-enterprise_sso"])
    await clerk.organization_domains.list_all(enrollment_mode=["manual"])  # error
    await clerk.invitations.list(ListInvitationsParams(status="expired"))
    ListInvitationsParams(status="expird")  # error
    newest: GetUserListOrderBy = "-created_at"
    await clerk.users.list(order_by=newest)


def sync_requests(clerk: sync.Clerk) -> None:
    clerk.sessions.list(status="revoked", user_id="user_1")
    clerk.sessions.list(status="revokd", user_id="user_1")  # error


async def answers(clerk: Clerk) -> None:
    session = await clerk.sessions.get("sess_1")
    if session.status == "active":
        print(session.id)
    if session.status == "actve":  # error
        print(session.id)
    invitation = await clerk.invitations.revoke("inv_1")
    if invitation.status == "revoked":
        print(invitation.id)
    if invitation.status == "acepted":  # error
        print(invitation.id)
    await clerk.invitations.list(status=invitation.status)
    await clerk.invitations.list(status=session.status)  # error
    token: M2MToken = await clerk.m2m.create_token()
    if token.object == "machine_to_machine_token":
        print(token.id)
    if token.object == "m2m_token":  # error
        print(token.id)
    kept: Literal["active", "ended"] = "active"
    if session.status == kept:
        print(session.id)
    label: str = session.status  # an answer's enum is a str wherever a str is wanted
    print(label)


async def auth(clerk: Clerk, token: str) -> None:
    m2m = await clerk.verify_token(token, accepts_token="m2m_token")
    print(m2m.machine_id)
    print(m2m.user_id)  # error
    await clerk.verify_token(token, accepts_token="sesion_token")  # error
    assert isinstance(m2m, M2MAuth)


require_auth("m2m_tokens")  # error
"""

# The deliberate mistakes: 13 about the spec's enums, 3 about the auth types. With the
# enums typed as plain ``str`` (before 2026-12-08), mypy caught the 3 auth ones only.
MISTAKES = 16


@pytest.mark.slow
def test_mypy_reports_exactly_the_marked_lines(tmp_path: Path) -> None:
    check_probe(PROBE, tmp_path, MISTAKES)


# --- what the Literal types promise at runtime ------------------------------------------


def session_json(status: str) -> dict[str, object]:
    return {
        "object": "session",
        "id": "sess_1",
        "user_id": "user_1",
        "client_id": "client_1",
        "status": status,
        "last_active_at": 1,
        "expire_at": 2,
        "abandon_at": 3,
        "updated_at": 4,
        "created_at": 5,
    }


async def test_a_value_a_newer_clerk_sends_decodes_as_its_string(
    server: RecordingServer, clerk: Clerk
) -> None:
    """``Session.status`` is the spec's Literal; a status the spec does not list (yet)
    comes back as itself, not as a failed answer; a non-string still fails."""
    server.reply(200, session_json("pending_mfa"))
    session = await clerk.sessions.get("sess_1")
    assert session.status == "pending_mfa"  # type: ignore[comparison-overlap]
    assert session.to_dict()["status"] == "pending_mfa"
    server.reply(200, session_json("active"))
    assert (await clerk.sessions.get("sess_1")).status == "active"
    server.reply(200, {**session_json("active"), "status": 7})
    with pytest.raises(ClerkResponseValidationError, match=r"answer\.status"):
        await clerk.sessions.get("sess_1")


async def test_a_value_outside_a_request_enum_fails_on_await_naming_the_values(
    server: RecordingServer, clerk: Clerk
) -> None:
    call = clerk.m2m.create_token(token_format="jwk")  # type: ignore[arg-type]
    with pytest.raises(ClerkValidationError) as caught:
        await call
    assert caught.value.field == "token_format"
    assert "must be one of 'opaque', 'jwt', got 'jwk'" in str(caught.value)
    pager = clerk.users.list(order_by="-created")  # type: ignore[arg-type]
    with pytest.raises(ClerkValidationError, match="'-created_at'") as listed:
        await pager
    assert listed.value.field == "order_by"
    assert server.requests == []  # refused before anything was sent
