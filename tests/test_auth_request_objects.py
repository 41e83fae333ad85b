"""authenticate_request(request_or_headers): any framework's request object, or headers.

Real request objects of Django, Flask/Werkzeug, Starlette and aiohttp (built by each
framework, not mocks of ours), plain mappings; only Authorization and the __session
cookie are read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from multidict import CIMultiDict

from clerk_async import Clerk, ClerkValidationError
from clerk_async.auth._request import asgi_headers, request_headers
from clerk_async.testing import FakeClerk

USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"


@pytest.fixture
async def fake_and_clerk() -> AsyncIterator[tuple[FakeClerk, Clerk]]:
    async with FakeClerk() as fake, Clerk(jwt_key=fake.jwt_key, base_url=fake.url) as clerk:
        yield fake, clerk


def django_request(headers: dict[str, str]) -> Any:
    from django.http import HttpRequest

    from tests._django import configure

    configure()

    request = HttpRequest()
    for name, value in headers.items():
        request.META["HTTP_" + name.upper().replace("-", "_")] = value
    return request


def flask_request(headers: dict[str, str]) -> Any:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    return Request(EnvironBuilder(headers=headers).get_environ())


def starlette_request(headers: dict[str, str]) -> Any:
    from starlette.requests import Request

    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def aiohttp_request(headers: dict[str, str]) -> Any:
    from aiohttp.test_utils import make_mocked_request

    return make_mocked_request("GET", "/", headers=headers)


BUILDERS: dict[str, Callable[[dict[str, str]], Any]] = {
    "django": django_request,
    "werkzeug": flask_request,
    "starlette": starlette_request,
    "aiohttp": aiohttp_request,
    "dict": dict,
    "multidict": CIMultiDict,
}


@pytest.mark.parametrize("framework", BUILDERS)
async def test_every_request_object(
    framework: str, fake_and_clerk: tuple[FakeClerk, Clerk]
) -> None:
    fake, clerk = fake_and_clerk
    build = BUILDERS[framework]
    token = fake.session_token(USER, org_id="org_1", org_role="admin")
    for headers in (
        {"Authorization": f"Bearer {token}"},
        {"authorization": f"Bearer {token}"}
        if framework != "dict"
        else {"AUTHORIZATION": f"Bearer {token}"},
        {"Cookie": f"theme=dark; __session={token}; other=1"},
    ):
        state = await clerk.authenticate_request(build(headers))
        assert state.is_authenticated, (framework, headers)
        assert state.has(role="org:admin")
    missing = await clerk.authenticate_request(build({"Cookie": "theme=dark"}))
    assert missing.reason == "session-token-missing"
    # The header wins over the cookie, as in JS.
    bad = await clerk.authenticate_request(
        build({"Authorization": "Bearer x.y.z", "Cookie": f"__session={token}"})
    )
    assert not bad.is_authenticated


def test_only_the_two_headers_are_read_from_non_mapping_headers() -> None:
    request = flask_request({"Authorization": "Bearer t", "X-Other": "secret", "Cookie": "a=b"})
    assert request_headers(request) == {"Authorization": "Bearer t", "Cookie": "a=b"}
    scope = {"headers": [(b"authorization", b"Bearer t"), (b"cookie", b"a=1"), (b"cookie", b"b=2")]}
    assert asgi_headers(scope) == {"Authorization": "Bearer t", "Cookie": "a=1; b=2"}


@pytest.mark.parametrize("bad", [None, 42, ["Authorization"], object()])
async def test_anything_else_is_a_clear_error(bad: Any) -> None:
    async with Clerk("sk_test_x") as clerk:
        with pytest.raises(ClerkValidationError) as caught:
            await clerk.authenticate_request(bad)
    assert caught.value.field == "request_or_headers"
    assert "Django" in str(caught.value)
