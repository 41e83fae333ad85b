"""Response models as Clerk's JSON: ``to_dict``/``to_json`` and FastAPI routes returning them.

FakeClerk serves over loopback; the wire JSON is what it answered to a plain httpx GET, the
models are what our client parsed from the same answers inside a FastAPI app driven by
FastAPI's own ``TestClient``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from clerk_async._convert import converter
from clerk_async.models.common import Model
from clerk_async.models.spec import (
    JWKSRsaPublicKey,
    Organization,
    OrganizationMembership,
    PhoneNumber,
    SignInToken,
    User,
)
from clerk_async.testing import FakeClerk


class World:
    def __init__(self, fake: FakeClerk) -> None:
        self.fake = fake
        self.user = fake.add_user(
            ["ada@example.com", "ada@work.example"],
            first_name="Ada",
            public_metadata={"plan": "pro", "seats": [1, 2]},
            private_metadata={"note": "vip"},
        )
        self.other = fake.add_user("bob@example.com", first_name="Bob")
        self.org = fake.add_organization("Acme", members={self.user.id: "org:admin"})
        self.http = httpx.Client(
            base_url=fake.url, headers={"Authorization": f"Bearer {fake.secret_key}"}
        )

    def wire(self, path: str) -> Any:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with FakeClerk(rate_limit=None) as fake:
        w = World(fake)
        yield w
        w.http.close()


@pytest.fixture(scope="module")
def api(world: World) -> Iterator[TestClient]:
    fake = world.fake
    app = FastAPI()

    @app.get("/users/{user_id}")
    async def get_user(user_id: str) -> User:
        async with fake.client(max_retries=0) as clerk:
            return await clerk.users.get(user_id)

    @app.get("/plain/users/{user_id}", response_model=User)
    async def get_user_plain(user_id: str) -> Any:  # the model says what goes out
        async with fake.client(max_retries=0) as clerk:
            return await clerk.users.get(user_id)

    @app.get("/users")
    async def list_users() -> list[User]:
        async with fake.client(max_retries=0) as clerk:
            return [user async for user in clerk.users.list(order_by="created_at")]

    @app.get("/orgs/{org_id}/memberships")
    async def memberships(org_id: str) -> list[OrganizationMembership]:
        async with fake.client(max_retries=0) as clerk:
            return [m async for m in clerk.organization_memberships.list(org_id)]

    @app.post("/sign_in_tokens/{user_id}")
    async def sign_in_token(user_id: str) -> SignInToken:
        async with fake.client(max_retries=0) as clerk:
            return await clerk.sign_in_tokens.create(user_id=user_id)

    @app.post("/echo")
    async def echo(user: User = Body()) -> User:  # noqa: B008
        return user

    with TestClient(app) as client:
        yield client


def test_return_annotation_is_clerks_json(world: World, api: TestClient) -> None:
    wire = world.wire(f"/users/{world.user.id}")
    got = api.get(f"/users/{world.user.id}")
    assert got.status_code == 200, got.text
    assert got.json() == wire
    assert got.json()["public_metadata"] == {"plan": "pro", "seats": [1, 2]}
    assert [e["email_address"] for e in got.json()["email_addresses"]] == [
        "ada@example.com",
        "ada@work.example",
    ]


def test_response_model_without_annotation(world: World, api: TestClient) -> None:
    wire = world.wire(f"/users/{world.other.id}")
    got = api.get(f"/plain/users/{world.other.id}")
    assert got.status_code == 200, got.text
    assert got.json() == wire


def test_list_of_models(world: World, api: TestClient) -> None:
    wire = world.wire("/users?order_by=created_at")
    got = api.get("/users")
    assert got.status_code == 200, got.text
    assert len(got.json()) == 2
    assert got.json() == wire


def test_nested_models(world: World, api: TestClient) -> None:
    wire = world.wire(f"/organizations/{world.org.id}/memberships")["data"]
    got = api.get(f"/orgs/{world.org.id}/memberships")
    assert got.status_code == 200, got.text
    assert got.json() == wire
    assert got.json()[0]["organization"]["name"] == "Acme"
    assert got.json()[0]["public_user_data"]["user_id"] == world.user.id


def test_secret_fields_are_in_the_json(world: World, api: TestClient) -> None:
    got = api.post(f"/sign_in_tokens/{world.other.id}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["object"] == "sign_in_token"
    assert body["token"]  # hidden from repr, not from the JSON a route chose to return
    model = converter.structure(body, SignInToken)
    assert body["token"] not in repr(model)
    assert model.to_dict() == body


def test_model_as_request_body(world: World, api: TestClient) -> None:
    wire = world.wire(f"/users/{world.user.id}")
    got = api.post("/echo", json=wire)
    assert got.status_code == 200, got.text
    assert got.json() == wire
    bad = api.post("/echo", json={**wire, "banned": "maybe", "email_addresses": None})
    assert bad.status_code == 422
    assert "banned" in bad.text
    assert "email_addresses" in bad.text


def test_openapi_lists_the_wire_fields(api: TestClient) -> None:
    spec = api.get("/openapi.json")
    assert spec.status_code == 200, spec.text
    schemas = json.dumps(spec.json())
    assert '"email_addresses"' in schemas
    assert '"public_metadata"' in schemas
    paths = spec.json()["paths"]
    answer = paths["/users/{user_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "first_name" in answer["schema"]["required"]  # required nullable: always written
    user_object = answer["schema"]["properties"]["object"]
    assert user_object == {"type": "string", "enum": ["user"]}  # a Literal: its values
    assert "unsafe_metadata" not in answer["schema"]["required"]  # optional: left out if None
    body = paths["/echo"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "first_name" not in body["required"]  # a body may leave it out: it reads as None
    assert "id" in body["required"]


def _round_trip(model: Model) -> None:
    data = model.to_dict()
    assert converter.structure(data, type(model)) == model
    assert json.loads(model.to_json()) == data


def test_round_trip_from_fake_answers(world: World) -> None:
    user = converter.structure(world.wire(f"/users/{world.user.id}"), User)
    _round_trip(user)
    for item in world.wire(f"/organizations/{world.org.id}/memberships")["data"]:
        _round_trip(converter.structure(item, OrganizationMembership))


def test_round_trip_secret_and_renamed_fields() -> None:
    phone = PhoneNumber(
        id="idn_1",
        phone_number="+15555550100",
        reserved=False,
        linked_to=[],
        created_at=1,
        updated_at=2,
        backup_codes=["code-1", "code-2"],
    )
    assert "code-1" not in repr(phone)
    assert phone.to_dict()["backup_codes"] == ["code-1", "code-2"]
    _round_trip(phone)
    key = converter.structure(
        {
            "kid": "k",
            "alg": "RS256",
            "use": "sig",
            "kty": "RSA",
            "n": "AQ",
            "e": "AQAB",
            "x5t#S256": "thumb",
        },
        JWKSRsaPublicKey,
    )
    assert key.x5t_s256 == "thumb"
    assert key.to_dict()["x5t#S256"] == "thumb"
    assert "x5t_s256" not in key.to_dict()
    _round_trip(key)


# --- to_dict writes what Clerk writes: required fields always, optional ones when given ----


def test_to_dict_is_clerks_json_for_every_fake_answer(world: World) -> None:
    """``to_dict(structure(j)) == j`` for FakeClerk's answers (each checked against the spec
    by tests/test_fake_answers_fit_spec.py): nothing added, nothing lost, nested too."""
    org_id, user_id = world.org.id, world.user.id
    answers: list[tuple[Any, type[Model]]] = [
        (world.wire(f"/users/{user_id}"), User),
        *((u, User) for u in world.wire("/users")),
        (world.wire(f"/organizations/{org_id}"), Organization),
        *(
            (m, OrganizationMembership)
            for m in world.wire(f"/users/{user_id}/organization_memberships")["data"]
        ),
        *(
            (m, OrganizationMembership)
            for m in world.wire(f"/organizations/{org_id}/memberships")["data"]
        ),
    ]
    for wire, cls in answers:
        model = converter.structure(wire, cls)
        assert model.to_dict() == wire, cls.__name__
        assert json.loads(model.to_json()) == wire


def test_optional_none_is_left_out_and_required_nullable_is_null() -> None:
    user = converter.structure(
        {
            "id": "user_1",
            "object": "user",
            "has_image": False,
            "public_metadata": {},
            "email_addresses": [
                {
                    "object": "email_address",
                    "email_address": "ada@example.com",
                    "reserved": False,
                    "linked_to": [],
                    "created_at": 1,
                    "updated_at": 2,
                }
            ],
            **{key: [] for key in ("phone_numbers", "web3_wallets", "passkeys")},
            **{key: [] for key in ("external_accounts", "saml_accounts", "enterprise_accounts")},
            **dict.fromkeys(
                ["password_enabled", "two_factor_enabled", "totp_enabled", "banned", "locked"],
                False,
            ),
            "backup_code_enabled": False,
            "delete_self_enabled": True,
            "create_organization_enabled": True,
            "created_at": 1,
            "updated_at": 2,
        },
        User,
    )
    out = user.to_dict()
    # Required by the spec but nullable: always written, as null.
    assert out["first_name"] is None
    assert out["primary_email_address_id"] is None
    # Optional: Clerk leaves them out, and so does to_dict while they are None...
    assert "unsafe_metadata" not in out
    assert "organization_memberships" not in out
    assert "id" not in out["email_addresses"][0]  # nested models too
    assert sorted(User._optional) == [
        "bypass_client_trust",
        "deprovisioned",
        "image_url",
        "organization_memberships",
        "profile_image_url",
        "scim",  # nullable beside an allOf only: null is not valid (OpenAPI 3.0.3)
        "unsafe_metadata",
    ]
    # ...and writes them once they hold a value.
    user.unsafe_metadata = {"theme": "dark"}
    assert user.to_dict()["unsafe_metadata"] == {"theme": "dark"}
    _round_trip(user)


def test_clerks_own_examples_keep_every_key() -> None:
    """The webhooks spec's examples are Clerk's JSON for users, organizations, memberships
    and domains: ``to_dict`` keeps every key and value of each. The only keys it adds are
    nullable fields newer than the example (``locale``, ``role_set_key``...), as null."""
    import typing

    import clerk_async.models as models
    from clerk_async.webhooks import EVENTS
    from tests._webhook_corpus import payloads

    checked = 0
    for event_type, source, payload in payloads():
        cls = typing.get_type_hints(EVENTS[event_type])["data"]
        if source != "example" or getattr(models, cls.__name__, None) is not cls:
            continue
        if not event_type.endswith((".created", ".updated")):
            continue
        data = payload["data"]
        out = converter.structure(data, cls).to_dict()
        assert _kept(out, data) == data, event_type
        checked += 1
    assert checked >= 8


def _kept(out: Any, wire: Any) -> Any:
    """``out`` with the nulls the example has no key for taken away (checked to be null)."""
    if isinstance(out, dict) and isinstance(wire, dict):
        for key in out.keys() - wire.keys():
            assert out[key] is None, key
        return {k: _kept(v, wire[k]) for k, v in out.items() if k in wire}
    if isinstance(out, list) and isinstance(wire, list):
        return [_kept(o, w) for o, w in zip(out, wire, strict=True)]
    return out
