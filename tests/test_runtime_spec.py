"""The runtime fits the whole spec: query lists, array and multipart bodies, no-body
answers, bare-array lists, oneOf answers, the escape hatch. Real HTTP on loopback."""

from __future__ import annotations

import io
import json
from typing import Any

import attrs
import pytest

from clerk_async import Clerk, ClerkAPIError, ClerkValidationError
from clerk_async import _validate as v
from clerk_async._convert import Unset, converter, param, register_one_of
from clerk_async._prepare import prepare
from clerk_async.models.common import Params
from clerk_async.pagination import Page, paginate
from clerk_async.services._base import deprecated
from tests._recorder import RecordingServer


@attrs.frozen(kw_only=True)
class _ListParams(Params):
    user_id: list[str] | Unset = param("query", v.items(v.string()))
    banned: bool | Unset = param("query", v.boolean())
    limit: int | Unset = param("query", v.integer(minimum=1, maximum=3))
    offset: int | Unset = param("query", v.integer(minimum=0))


@attrs.frozen(kw_only=True)
class _BulkParams(Params):
    request_body: list[dict[str, Any]] = param("body", v.json_value(), required=True, whole=True)


@attrs.frozen(kw_only=True)
class _UploadParams(Params):
    user_id: str = param("path", v.identifier(), required=True, wire="userID")
    file: Any = param("form", required=True)
    note: str | Unset = param("form", v.string())


async def test_a_list_query_parameter_goes_out_as_repeated_keys(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.reply(200, [])
    params = _ListParams(user_id=["user_a", "user_b"], banned=False)
    await clerk._transport.send(prepare("GET", "/users", list[Any], params))
    assert server.requests[-1].query_string == "user_id=user_a&user_id=user_b&banned=false"


async def test_a_json_array_body_is_the_request_body_field(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.reply(200, [])
    rows = [{"email_address": "a@example.com"}, {"email_address": "b@example.com"}]
    await clerk._transport.send(
        prepare("POST", "/invitations/bulk", list[Any], _BulkParams(request_body=rows))
    )
    assert json.loads(server.requests[-1].body) == rows


@pytest.mark.parametrize(
    "file", [b"\x89PNG-bytes", io.BytesIO(b"\x89PNG-bytes")], ids=["bytes", "file"]
)
async def test_multipart_operations_take_bytes_or_a_file(
    clerk: Clerk, server: RecordingServer, file: Any
) -> None:
    server.reply(200, {"ok": True})
    params = _UploadParams(user_id="user_1", file=file, note='a "quoted" note')
    await clerk._transport.send(prepare("POST", "/users/{userID}/profile_image", Any, params))
    sent = server.requests[-1]
    assert sent.raw_path == "/v1/users/user_1/profile_image"
    content_type = sent.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1].encode()
    parts = sent.body.split(b"--" + boundary)
    assert b'name="file"; filename="file"' in parts[1]
    assert parts[1].endswith(b"\r\n\r\n\x89PNG-bytes\r\n")
    assert b'name="note"\r\n\r\na "quoted" note\r\n' in parts[2]
    assert parts[-1] == b"--\r\n"


async def test_an_operation_without_an_answer_body_returns_none(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.reply(204, None)
    assert await clerk._transport.send(prepare("DELETE", "/webhooks/svix", type(None))) is None


async def test_a_bare_array_list_pages_until_an_empty_page(
    clerk: Clerk, server: RecordingServer
) -> None:
    # No total_count: a short page may be a server's cap, so only an empty page ends it.
    server.reply(200, [{"n": 1}, {"n": 2}, {"n": 3}])
    server.reply(200, [{"n": 4}])
    server.reply(200, [])
    pager = paginate(
        clerk._transport, "/users", list[dict[str, int]], _ListParams(), max_limit=3, options={}
    )
    assert [item["n"] async for item in pager] == [1, 2, 3, 4]
    assert [r.query for r in server.requests] == [
        {"limit": "3"},
        {"offset": "3", "limit": "3"},
        {"offset": "4", "limit": "3"},
    ]
    server.reply(200, [{"n": 1}])
    page = await pager
    assert page == Page(data=[{"n": 1}], total_count=None)


@attrs.define(kw_only=True)
class _Token:
    jwt: str
    object: str = "token"


@attrs.define(kw_only=True)
class _Cookies:
    cookies: list[str]
    object: str = "cookies"


def test_one_of_answers_are_told_apart_by_their_fields_or_their_tag() -> None:
    register_one_of(_Token | _Cookies, (_Token, _Cookies))
    assert converter.structure({"jwt": "x"}, _Token | _Cookies) == _Token(jwt="x")
    assert converter.structure({"cookies": ["a"]}, _Token | _Cookies) == _Cookies(cookies=["a"])
    with pytest.raises(ValueError, match=r"fits none of _Token \| _Cookies"):
        converter.structure({"other": 1}, _Token | _Cookies)
    register_one_of(_Token | _Cookies, (_Token, _Cookies), tag="object")
    assert converter.structure({"object": "cookies", "cookies": []}, _Token | _Cookies) == (
        _Cookies(cookies=[])
    )


def test_deprecation_names_the_replacement() -> None:
    def old_call() -> None:
        deprecated("clerk.saml_connections.list", "clerk.enterprise_connections.list")

    with pytest.warns(DeprecationWarning, match="use clerk.enterprise_connections.list instead"):
        old_call()


async def test_the_escape_hatch_takes_the_same_path(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(200, {"data": [1, 2], "anything": {"new": True}})
    got = await clerk.request(
        "get", "/brand_new/endpoint", query={"id": ["a", "b"], "flag": True, "skip": None}
    )
    assert got == {"data": [1, 2], "anything": {"new": True}}
    sent = server.requests[-1]
    assert (sent.method, sent.raw_path, sent.query_string) == (
        "GET",
        "/v1/brand_new/endpoint",
        "id=a&id=b&flag=true",
    )
    assert sent.headers["Authorization"] == "Bearer sk_test_secret123"

    server.reply(201, {"id": "x"})
    assert await clerk.request("POST", "/things", json={"name": "n"}, timeout=5) == {"id": "x"}
    assert json.loads(server.requests[-1].body) == {"name": "n"}

    # A POST may have reached the server: a 500 after sending is not retried.
    server.reply(500, {"errors": []}, times=2)
    with pytest.raises(ClerkAPIError):
        await clerk.request("POST", "/things", json={})
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("GET", "users", {}, "path"),
        ("GET", "//evil.example/x", {}, "path"),
        ("GET", "/users/../machines", {}, "path"),
        ("GET", "/users/%2e%2e/machines", {}, "path"),
        ("GET", "/.%2e/v2/users", {}, "path"),  # yarl folds it to {origin}/v2/users
        ("GET", "/users/%2E./machines", {}, "path"),
        ("GET", "/%2e/users", {}, "path"),
        ("GET", "/users?x=1", {}, "path"),
        ("TRACE", "/users", {}, "method"),
        ("GET", "/users", {"query": ["a"]}, "query"),
        ("POST", "/users", {"json": {"a": object()}}, "json"),
        ("GET", "/users", {"nmae": 1}, "nmae"),
    ],
)
async def test_the_escape_hatch_refuses_bad_input_before_sending(
    clerk: Clerk, server: RecordingServer, method: str, path: str, kwargs: Any, field: str
) -> None:
    with pytest.raises(ClerkValidationError) as caught:
        await clerk.request(method, path, **kwargs)
    assert caught.value.field == field
    assert server.requests == []


def test_inlined_model_checks_accept_and_refuse_as_the_hooks_do() -> None:
    import cattrs

    from clerk_async._convert import converter
    from clerk_async.models.spec import Machine

    scoped = {"id": "m2", "name": "x", "instance_id": "i", "created_at": 1.0, "updated_at": 2}
    answer = {
        "id": "m1",
        "name": "n",
        "instance_id": "i",
        "created_at": 1,
        "updated_at": 2,
        "default_token_ttl": None,
        "scoped_machines": [scoped],
    }
    machine = converter.structure(answer, Machine)
    # 1.0 for an integer reads as 1 (the hooks' rule), through the fallback path
    assert machine.scoped_machines[0].created_at == 1
    assert type(machine.scoped_machines[0].created_at) is int
    assert machine.default_token_ttl is None
    assert machine.object == "machine"  # the default where the answer leaves it out
    for broken in ({**answer, "name": 5}, {**answer, "created_at": True}, {"id": "m1"}):
        with pytest.raises(cattrs.BaseValidationError, match="Machine"):
            converter.structure(broken, Machine)
