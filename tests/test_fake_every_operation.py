"""FakeClerk serves every operation of the spec, over HTTP, through clerk_async.

Each of the 249 operations, called with its required arguments (the spec's examples, or
the least its constraints allow; ids of seeded resources for the stateful ones), gets a
2xx whose answer fits the generated model. And each operation that declares something it
checks gets a 4xx with Clerk's error body for a request that breaks it, sent with
``clerk.request`` (the client's own validation would stop it before any I/O): the invalid
request is built from the spec here, not from FakeClerk's tables.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from clerk_async import Clerk, ClerkAPIError
from clerk_async.pagination import AsyncPager
from clerk_async.services.spec import OPERATIONS
from clerk_async.testing import FakeClerk
from clerk_async.testing._state import HANDLERS as STATE_HANDLERS
from tests.test_codegen import SPEC
from tests.test_conformance_spec import _operation, _resolve, required_arguments, sample

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
MID2 = "mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em"
MID3 = "mch_2zHmMqR8Z4sYTxuV35DaUl0J8Fn"
UID = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None, seed=7) as server:
        yield server


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[Clerk]:
    async with fake.client(max_retries=0) as client:
        yield client


def _seed(fake: FakeClerk) -> dict[str, Any]:
    """Resources for the stateful operations, as argument overrides by field name."""
    fake.add_machine("ledger", machine_id=MID2)
    fake.add_machine("audit", machine_id=MID3)
    fake.add_machine("worker", machine_id=MID, scoped_machines=[MID2])
    token = fake.add_m2m_token(MID)
    key = fake.add_api_key(UID)
    oauth = fake.add_oauth_token(UID)
    return {
        "machine_id": MID,
        "other_machine_id": MID2,
        "to_machine_id": MID3,
        "m2m_token_id": token.id,
        "token": token.token,
        "subject": MID,
        "api_key_id": key.id,
        "secret": key.secret,
        "access_token": oauth.token,
        "_machine_key": fake.machines[MID].secret_key,
    }


STATEFUL_ARGUMENTS = {
    "getM2MTokens": ("subject",),
    "revokeM2MToken": ("m2m_token_id",),
    "verifyM2MToken": ("token",),
    "getApiKeys": (),  # subject: a user, as sampled
    "getApiKey": ("api_key_id",),
    "updateApiKey": ("api_key_id",),
    "deleteApiKey": ("api_key_id",),
    "getApiKeySecret": ("api_key_id",),
    "revokeApiKey": ("api_key_id",),
    "verifyApiKey": ("secret",),
    "verifyOAuthAccessToken": ("access_token",),
    "CreateMachineScope": ("machine_id", "to_machine_id"),
    "DeleteMachineScope": ("machine_id", "other_machine_id"),
}


async def _seed_state(fake: FakeClerk, clerk: Clerk) -> dict[str, Any]:
    """Users, organizations, sessions... for their operations: ids by argument name."""
    ada = fake.add_user(
        "ada@example.com", first_name="Ada", password="correct horse", phone_number=["+15555550100"]
    )
    bob = fake.add_user("bob@example.com", first_name="Bob")
    org = fake.add_organization("Acme", members={ada.id: "org:admin"})
    session = fake.add_session(ada.id, org_id=org.id)
    template = await clerk.jwt_templates.create(name="hasura", claims={"uid": "{{user.id}}"})
    invitation = await clerk.invitations.create(email_address="carol@example.com")
    org_invitation = await clerk.organization_invitations.create(
        org.id, email_address="dan@example.com", role="org:member"
    )
    domain = await clerk.organization_domains.create(org.id, name="acme.test")
    allowed = await clerk.allowlist_identifiers.create(identifier="eve@example.com")
    blocked = await clerk.blocklist_identifiers.create(identifier="mallory@example.com")
    sign_in = await clerk.sign_in_tokens.create(user_id=ada.id)
    redirect = await clerk.redirect_urls.create(url="https://app.example.com/callback")
    waiting = await clerk.waitlist_entries.create(email_address="frank@example.com")
    permission = await clerk.organization_permissions.create(name="Edit", key="org:posts:edit")
    role = await clerk.organization_roles.create(
        name="Editor", key="org:editor", permissions=[permission.id]
    )
    return {
        "user_id": ada.id,
        "user_ids": [ada.id],
        "organization_id": org.id,
        "session_id": session.id,
        "client_id": session.client_id,
        "email_address_id": ada.email_addresses[0].id,
        "phone_number_id": ada.phone_numbers[0].id,
        "template_id": template.id,
        "template_name": template.name,
        "domain_id": domain.id,
        "sign_in_token_id": sign_in.id,
        "id": redirect.id,
        "waitlist_entry_id": waiting.id,
        "organization_role_id": role.id,
        "permission_id": permission.id,
        "_bob": bob.id,
        "_invitation": invitation.id,
        "_org_invitation": org_invitation.id,
        "_allowed": allowed.id,
        "_blocked": blocked.id,
        "_token": fake.session_token(ada.id, session_id=session.id),
    }


def _state_overrides(op_id: str, ids: dict[str, Any]) -> dict[str, Any]:
    """Arguments a spec-valid call needs beyond ids to succeed on Clerk's semantics."""
    fresh_email = {"email_address": "new@example.com"}
    fresh_phone = {"phone_number": "+15555550199"}
    return {
        "CreateEmailAddress": fresh_email,
        "ReplaceUserEmailAddress": fresh_email,
        "CreatePhoneNumber": fresh_phone,
        "ReplaceUserPhoneNumber": fresh_phone,
        "CreateOrganizationMembership": {"user_id": ids["_bob"], "role": "org:member"},
        "UpdateOrganizationMembership": {"role": "org:member"},
        "CreateOrganizationInvitation": {"email_address": "gina@example.com", "role": "org:admin"},
        "CreateOrganizationDomain": {"name": "acme.example"},
        "UpdateOrganizationDomain": {"enrollment_mode": "automatic_invitation"},
        "CreateInvitation": {"email_address": "henry@example.com"},
        "CreateOrganizationRole": {"key": "org:writer"},
        "CreateBulkInvitations": {"request_body": [{"email_address": "jo@example.com"}]},
        "CreateOrganizationInvitationBulk": {
            "request_body": [{"email_address": "kim@example.com", "role": "org:member"}]
        },
        "CreateOrganizationPermission": {"key": "org:posts:publish"},
        "CreateWaitlistEntry": {"email_address": "iris@example.com"},
        "VerifyPassword": {"password": "correct horse"},
        "RefreshSession": {"expired_token": ids["_token"]},
        "RevokeInvitation": {"invitation_id": ids["_invitation"]},
        "RevokeOrganizationInvitation": {"invitation_id": ids["_org_invitation"]},
        "GetOrganizationInvitation": {"invitation_id": ids["_org_invitation"]},
        "DeleteAllowlistIdentifier": {"identifier_id": ids["_allowed"]},
        "DeleteBlocklistIdentifier": {"identifier_id": ids["_blocked"]},
    }.get(op_id, {})


async def valid_call(fake: FakeClerk, clerk: Clerk, op_id: str) -> Any:
    """The operation ``op_id`` called through ``clerk`` with valid arguments (seeded
    resources of ``fake`` for the stateful ones): its awaitable (a coroutine or a pager)."""
    seeded = _seed(fake)
    operation = OPERATIONS[op_id]
    kwargs = required_arguments(op_id)
    for name in STATEFUL_ARGUMENTS.get(op_id, ("machine_id",)):
        if name in kwargs:
            kwargs[name] = seeded[name]
    if op_id in STATE_HANDLERS:
        ids = await _seed_state(fake, clerk)
        kwargs.update({k: ids[k] for k in kwargs if k in ids})
        kwargs.update(_state_overrides(op_id, ids))
    if op_id == "verifyOAuthAccessToken":
        kwargs["access_token"] = seeded["access_token"]
    if op_id == "createM2MToken":
        kwargs["machine_secret_key"] = seeded["_machine_key"]
    return getattr(getattr(clerk, operation.service), operation.method)(**kwargs)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
async def test_every_operation_answers_a_valid_call(
    fake: FakeClerk, clerk: Clerk, op_id: str
) -> None:
    result = await valid_call(fake, clerk, op_id)
    if isinstance(result, AsyncPager):
        page = await result
        assert isinstance(page.data, list)
        return
    await result  # a 4xx/5xx or an answer that does not fit its model raises


# Breaks of the body as a whole: Clerk's request_body_invalid, a 400 on every operation.
BODY_ERRORS = {"no body", "a JSON body, not multipart", "an object, not an array"}


def invalid_request(op_id: str) -> tuple[str, dict[str, Any], Any, str] | None:
    """Path, query, JSON body and what breaks the spec, for a request the spec refuses;
    None when the operation declares nothing that can be broken."""
    found = _invalid(op_id)
    if found is None:
        return None
    query, body, why = found
    url = _url(op_id)
    if why.startswith("path "):
        url = _url(op_id, bad=why.removeprefix("path "))
    return url, query, body, why


def _invalid(op_id: str) -> tuple[dict[str, Any], Any, str] | None:
    path, _method, op = _operation(op_id)
    params = [
        _resolve(p) for p in [*SPEC["paths"][path].get("parameters", []), *op.get("parameters", [])]
    ]
    query = {
        p["name"]: _text(p.get("example") or sample(p.get("schema", {})))
        for p in params
        if p["in"] == "query" and p.get("required")
    }
    body_node = _resolve(op.get("requestBody")) or {}
    if "multipart/form-data" in body_node.get("content", {}):
        return query, {"file": "not a file part"}, "a JSON body, not multipart"
    media = body_node.get("content", {}).get("application/json")
    schema = _resolve(media["schema"]) if media else {}
    props = {k: _resolve(v) for k, v in schema.get("properties", {}).items()}
    body: Any = sample(schema) if media and schema.get("type") != "array" else None
    for p in params:
        if p["in"] == "query" and p.get("required"):
            return {k: v for k, v in query.items() if k != p["name"]}, body, f"no {p['name']}"
    for name in schema.get("required", ()):
        if name in props:
            return query, {k: v for k, v in body.items() if k != name}, f"no {name}"
    if media and body_node.get("required"):
        return query, None, "no body"
    if media and schema.get("type") == "array":
        return query, {"not": "an array"}, "an object, not an array"
    for name, prop in props.items():
        if prop.get("type") in ("string", "integer", "number", "boolean", "object"):
            return query, {**body, name: [1]}, f"{name}: an array"
        if prop.get("type") == "array":
            return query, {**body, name: "x"}, f"{name}: a string"
    for p in params:
        kind = _resolve(p.get("schema", {})).get("type")
        if p["in"] == "query" and (
            kind in ("integer", "number", "boolean") or p["schema"].get("enum")
        ):
            return {**query, p["name"]: "not-valid"}, body, f"{p['name']}=not-valid"
    for p in params:
        if p["in"] == "path" and _resolve(p.get("schema", {})).get("pattern"):
            return query, body, f"path {p['name']}"
    return None


def _text(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _url(op_id: str, bad: str = "") -> str:
    path, _, op = _operation(op_id)
    values = required_arguments(op_id)
    for p in [*SPEC["paths"][path].get("parameters", []), *op.get("parameters", [])]:
        p = _resolve(p)
        if p["in"] == "path":
            wire = p["name"]
            value = next(
                v
                for k, v in values.items()
                if k.replace("_", "").lower() == wire.replace("_", "").lower()
            )
            path = path.replace("{" + wire + "}", "not-an-id" if wire == bad else str(value))
    return path


# Operations whose request has nothing the spec constrains (no required or typed
# parameter, no body): any request to them is valid.
UNCHECKABLE = {op_id for op_id in OPERATIONS if invalid_request(op_id) is None}


def test_the_uncheckable_operations_take_no_input_the_spec_constrains() -> None:
    for op_id in UNCHECKABLE:
        path, _, op = _operation(op_id)
        params = [
            _resolve(p)
            for p in [*SPEC["paths"][path].get("parameters", []), *op.get("parameters", [])]
        ]
        assert all(p["in"] == "path" and "pattern" not in p["schema"] for p in params), op_id
        assert "requestBody" not in op, op_id
    assert len(UNCHECKABLE) < len(OPERATIONS) / 2


@pytest.mark.parametrize("op_id", sorted(set(OPERATIONS) - UNCHECKABLE))
async def test_every_operation_refuses_an_invalid_request(
    fake: FakeClerk, clerk: Clerk, op_id: str
) -> None:
    found = invalid_request(op_id)
    assert found is not None
    url, query, body, why = found
    operation = OPERATIONS[op_id]
    options: dict[str, Any] = {}
    if op_id == "createM2MToken":
        seeded = _seed(fake)
        options["machine_secret_key"] = seeded["_machine_key"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ClerkAPIError) as caught:
            await clerk.request(
                operation.http_method, url, query=query or None, json=body, **options
            )
    _, _, op = _operation(op_id)
    # The spec's status for invalid input: 422 where it declares one, else 400; a missing
    # or malformed body is a 400 everywhere.
    expected = 422 if "422" in {str(code) for code in op["responses"]} else 400
    error = caught.value
    assert error.status in ({400} if why in BODY_ERRORS else {expected}), (why, error.status)
    assert error.errors, why
    assert error.errors[0].code.startswith(("form_", "request_body")), why
