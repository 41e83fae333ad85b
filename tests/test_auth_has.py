"""auth.has(): Clerk's authorization rules, as JS createCheckAuthorization decides them.

The cases of @clerk/shared's authorization.spec.ts (clerk/javascript at e21ae9a4), ported
one by one, then the same rules over real tokens: signed by FakeClerk, verified by the
client, v2 claims (o.per/o.fpm against fea) and v1 claims (org_permissions).
"""

from __future__ import annotations

from typing import Any

import pytest

from clerk_async import Clerk
from clerk_async.auth import APIKeyAuth, M2MAuth, OAuthAuth, RequestState, SessionAuth
from clerk_async.auth._authorization import split_by_scope
from clerk_async.testing import FakeClerk


def session(
    *,
    user_id: str | None = "user_123",
    org_id: str | None = "org_123",
    org_role: Any = "org:admin",
    org_permissions: Any = ("org:read",),
    features: Any = "",
    plans: Any = "",
    fva: Any = (0, 0),
    status: str | None = "active",
) -> SessionAuth:
    """A SessionAuth with the JS test's AuthorizationOptions (fea/pla/fva in claims)."""
    claims: dict[str, Any] = {"fea": features, "pla": plans, "fva": list(fva) if fva else fva}
    return SessionAuth(
        user_id=user_id,  # type: ignore[arg-type]  # JS tests a missing user too
        session_id="sess_1",
        org_id=org_id,
        org_role=org_role,
        org_permissions=list(org_permissions) if org_permissions is not None else None,  # type: ignore[arg-type]
        session_status=status,
        claims=claims,
    )


def test_features_by_scope() -> None:
    has = session(
        org_role="admin", features="o:reservations,u:dashboard", plans="free_user,plus_user"
    ).has
    for feature in (
        "o:reservations",
        "org:reservations",
        "organization:reservations",
        "reservations",
        "u:dashboard",
        "user:dashboard",
        "dashboard",
    ):
        assert has(feature=feature), feature
    assert not has(feature="lol:dashboard")
    assert not has(feature="u:reservations")  # an org feature is not the user's
    assert not has(feature="o:dashboard")
    assert not has(feature="o:")  # nothing named


def test_malformed_claims_fail_closed() -> None:
    assert not session(org_role=123).has(role="org:admin")
    assert not session(org_permissions=None).has(permission="org:sys_profile:delete")
    assert not session(features={}).has(feature="org:premium")
    assert not session(plans={}).has(plan="u:plus")
    assert not session(features="reservations,o:x").has(feature="x")  # element without scope
    assert not session(features="").has(feature="org:premium")


def test_nothing_asked_is_no() -> None:
    assert not session(features="o:premium", plans="u:plus").has()


def test_no_user_or_pending_session_has_nothing() -> None:
    assert not session(user_id=None).has(role="org:admin")
    assert not session(user_id="").has(role="org:admin")
    assert not session(status="pending").has(role="org:admin")
    assert session(status=None).has(role="org:admin")


def test_role_and_permission_need_an_organization() -> None:
    no_org = session(org_id=None, org_role=None, org_permissions=None)
    assert not no_org.has(permission="org:sys_profile:delete", reverification="strict")
    assert not no_org.has(role="org:admin", reverification="strict")
    assert not no_org.has(role="org:admin")


def test_roles_and_permissions_are_org_prefixed() -> None:
    auth = session(org_role="org:admin", org_permissions=["org:invoices:read"])
    assert auth.has(role="admin")
    assert auth.has(role="org:admin")
    assert auth.has(role="org:org:admin")
    assert not auth.has(role="member")
    assert auth.has(permission="invoices:read")
    assert auth.has(permission="org:invoices:read")
    assert not auth.has(permission="invoices:manage")
    # A token's bare role (old Python SDKs' v2 reading) compares the same way.
    assert session(org_role="admin").has(role="org:admin")


def test_every_check_asked_must_pass() -> None:
    auth = session(org_permissions=["org:sys_memberships:read"], features="o:reservations")
    assert not auth.has(permission="org:sys_profile:delete", feature="org:reservations")
    assert auth.has(permission="org:sys_memberships:read", feature="org:reservations")
    assert not auth.has(role="org:admin", permission="org:sys_profile:delete")
    assert auth.has(role="org:admin", permission="org:sys_memberships:read")
    assert not auth.has(role="org:member", permission="org:sys_memberships:read")
    assert not auth.has(role="org:admin", feature="org:missing")
    assert auth.has(role="org:admin", feature="org:reservations")
    assert auth.has(
        permission="org:sys_memberships:read", feature="org:reservations", reverification="strict"
    )
    billing = session(features="o:reservations", plans="u:plus")
    assert billing.has(feature="org:reservations", plan="u:plus")
    assert not billing.has(feature="org:reservations", plan="u:free")
    assert not billing.has(feature="org:missing", plan="u:plus")
    assert not billing.has(role="org:admin", plan="u:free")
    assert not session().has(feature="org:premium", reverification="strict")


def test_values_of_the_wrong_type_fail_without_raising() -> None:
    has: Any = session(features="o:premium", plans="u:plus").has
    for asked in ("role", "permission", "feature", "plan"):
        assert not has(**{asked: 123}), asked
        assert not has(**{asked: ["org:admin"]}), asked


def test_reverification() -> None:
    assert not session(fva=None).has(permission="org:read", reverification="strict")
    assert not session(fva=("0", "0")).has(reverification="strict_mfa")
    assert not session(fva=(-0.5, 0)).has(reverification="strict")
    assert not session(fva=(0, 0)).has(permission="org:read", reverification="invalid-value")  # type: ignore[arg-type]
    for config in ({"level": "multi_factor"}, {"level": "multi_factor", "after_minutes": 0}):
        assert not session().has(reverification=config)
    assert not session().has(reverification={"level": "multi_factor", "after_minutes": -1})
    assert session(fva=(0, -1)).has(permission="org:read", reverification="strict_mfa")
    assert not session(fva=(-1, -1)).has(permission="org:read", reverification="strict")
    # Levels and ages (minutes since the first and the second factor).
    assert session(fva=(5, 20)).has(reverification={"level": "first_factor", "after_minutes": 10})
    assert not session(fva=(5, 20)).has(reverification="strict")  # second factor 20 > 10
    assert session(fva=(5, 20)).has(reverification="moderate")
    assert not session(fva=(5, 20)).has(reverification="strict_mfa")
    assert session(fva=(5, 9)).has(reverification="strict_mfa")
    assert not session(fva=(-1, 5)).has(reverification="strict_mfa")  # no first factor
    assert session(fva=(-1, 5)).has(reverification="strict")  # second_factor falls back
    assert session(fva=(1000, -1)).has(reverification="lax")
    assert session(fva=(5, 9)).has(reverification={"level": "second_factor", "afterMinutes": 10})


def test_split_by_scope() -> None:
    assert split_by_scope("o:reservations,u:dashboard") == (["reservations"], ["dashboard"])
    assert split_by_scope("o:reservations,u:dashboard,ou:support-chat,uo:billing") == (
        ["reservations", "support-chat", "billing"],
        ["dashboard", "support-chat", "billing"],
    )
    with pytest.raises(ValueError, match="no scope"):
        split_by_scope("reservations,dashboard")


def test_machines_and_signed_out_requests_have_nothing() -> None:
    machines: list[Any] = [
        M2MAuth(machine_id="mch_1", token_id="mt_1", scopes=["mch_2"]),
        APIKeyAuth(id="ak_1", subject="user_1", name="k"),
        OAuthAuth(user_id="user_1", client_id="c"),
    ]
    for auth in machines:
        assert not auth.has(role="org:admin")
        assert not RequestState(is_authenticated=True, auth=auth).has(role="org:admin")
    assert not RequestState(is_authenticated=False, reason="session-token-missing").has(
        role="org:admin"
    )
    state = RequestState(is_authenticated=True, auth=session())
    assert state.has(role="org:admin")
    assert not state.has(role="org:member")


# --- over real tokens -----------------------------------------------------------------------


async def test_has_over_verified_v2_and_v1_tokens() -> None:
    async with FakeClerk() as fake, Clerk(jwt_key=fake.jwt_key, base_url=fake.url) as clerk:
        # v2: o.per/o.fpm against the org features of fea (FakeClerk encodes as Clerk does),
        # plus user features and a plan in the claims.
        token = fake.session_token(
            "user_1",
            org_id="org_1",
            org_role="admin",
            org_permissions=["org:invoices:read", "org:invoices:manage", "org:teams:read"],
        )
        auth = await clerk.verify_token(token)
        assert auth.org_role == "org:admin"
        assert auth.has(role="admin")
        assert auth.has(permission="invoices:manage")
        assert auth.has(permission="org:teams:read")
        assert not auth.has(permission="teams:manage")
        assert auth.has(feature="o:invoices")
        assert not auth.has(feature="u:invoices")
        assert not auth.has(plan="pro")  # no pla claim

        plan = fake.sign_jwt(
            {
                "sub": "user_2",
                "sid": "sess_2",
                "v": 2,
                "exp": 4102444800,
                "iat": 1700000000,
                "fea": "u:export,o:dashboard,ou:chat",
                "pla": "u:pro",
                "o": {"id": "org_2", "rol": "member", "per": "read,manage", "fpm": "3,1"},
            },
            {"cat": "cl_B7d4PD111AAA"},
        )
        auth = await clerk.verify_token(plan)
        # fpm's integers belong to the org-scoped features only: dashboard=3, chat=1.
        assert auth.org_permissions == [
            "org:dashboard:read",
            "org:dashboard:manage",
            "org:chat:read",
        ]
        assert auth.has(plan="pro")
        assert auth.has(plan="u:pro")
        assert not auth.has(plan="o:pro")
        assert auth.has(feature="export")
        assert not auth.has(feature="org:export")
        assert auth.has(feature="user:chat")
        assert auth.has(feature="organization:chat")
        assert auth.has(role="org:member", permission="dashboard:manage", plan="pro")
        assert not auth.has(role="org:member", permission="chat:manage")

        v1 = fake.sign_jwt(
            {
                "sub": "user_3",
                "sid": "sess_3",
                "exp": 4102444800,
                "iat": 1700000000,
                "org_id": "org_3",
                "org_role": "org:admin",
                "org_permissions": ["org:impersonation:read", "org:impersonation:manage"],
            }
        )
        auth = await clerk.verify_token(v1)
        assert auth.has(role="admin")
        assert auth.has(permission="impersonation:manage")
        assert not auth.has(feature="impersonation")  # v1 has no fea

        state = await clerk.authenticate_request({"Cookie": f"__session={plan}"})
        assert state.has(plan="pro")
        assert not state.has(plan="enterprise")
