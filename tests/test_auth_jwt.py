"""The pure parts of token verification: routing, claims, auth objects, headers.

The cases are the JS SDK's own tests where the reference lists them (M1-M13 of
machine.test.ts, J-cases of verifyJwt.test.ts, the fpm vectors of the docs and JS).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clerk_async import _json
from clerk_async.auth import TokenVerificationError, _jwt
from clerk_async.auth._jwt import (
    _INVALID_FORM,
    MAX_TOKEN_LENGTH,
    bearer_token,
    check_claims,
    classify,
    header_value,
    m2m_auth,
    oauth_auth,
    org_permissions,
    session_auth,
    session_cookie,
)


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], **header: Any) -> str:
    return f"{b64({'alg': 'RS256', **header})}.{b64(payload)}.{b64(b'sig')}"


def reason_of(token: str) -> str:
    with pytest.raises(TokenVerificationError) as caught:
        classify(token)
    return caught.value.reason


# --- routing (JS machine.test.ts) -----------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("mt_8XOIucKvqHVr5tYP123456789abcdefghij", "m2m_token"),
        ("oat_8XOIucKvqHVr5tYP123456789abcdefghij", "oauth_token"),
        ("ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9=", "api_key"),
        (unsigned({"sub": "mch_1"}), "m2m_token"),
        (unsigned({"sub": "user_1"}, typ="at+jwt"), "oauth_token"),
        (unsigned({"sub": "user_1"}, typ="application/at+jwt"), "oauth_token"),
        (unsigned({"sub": "user_123"}, typ="JWT"), "session_token"),
        (unsigned({"sub": "mch_1"}, typ="at+jwt"), "m2m_token"),  # mch_ wins, as in JS
    ],
)
def test_tokens_are_routed_as_the_js_sdk_routes_them(token: str, expected: str) -> None:
    assert classify(token)[0] == expected


@pytest.mark.parametrize("sub", [None, 123, {}, []])
def test_an_at_jwt_with_an_odd_sub_is_still_oauth(sub: Any) -> None:
    payload = {} if sub is None else {"sub": sub}
    assert classify(unsigned(payload, typ="at+jwt"))[0] == "oauth_token"


@pytest.mark.parametrize(
    "token",
    [
        "null",
        "undefined",
        "",
        "whatever",
        "42",
        "invalid-jwt",
        "invalid.jwt",
        "invalid.jwt.token.extra",
        "M2M_abc",
        "OAUTH_abc",
        "API_KEY_abc",
        "unknown_prefix_token",
        "a.b.c=",
        "mt_",
        "mt_abc def",
    ],
)
def test_malformed_tokens_are_token_invalid(token: str) -> None:
    assert reason_of(token) == "token-invalid"


@pytest.mark.parametrize(
    "token", ["aaa.bbb.ccc", "YWJj.YWJj.YWJj", f"{b64([1])}.{b64({})}.{b64(b'x')}", "a.b.c"]
)
def test_undecodable_jwts_are_token_invalid(token: str) -> None:
    assert reason_of(token) == "token-invalid"


# The form check is one translation of the token (speed): it must accept exactly what the
# regex of a compact JWT accepts, whatever the characters.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="aZ09-_.+/= \x7f\x80\u00e9\ud800\n", max_size=12))
@example("aZ.09.")
@example(".aZ.09")
@example("aZ..09")
@example("a.b.c.d")
@example("a.b.c\n")
@example("a.b.c=")
@example("a.\u00e9.c")
@example("a.b.c")
def test_the_form_check_accepts_what_the_compact_jwt_regex_accepts(token: str) -> None:
    message = None
    try:
        classify(token)
    except TokenVerificationError as exc:
        message = exc.message
    assert (message == _INVALID_FORM) == (_COMPACT.fullmatch(token) is None), token


def test_a_known_header_is_reused_and_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[object] = []
    monkeypatch.setattr(_jwt, "_HEADERS", {})
    monkeypatch.setattr(_jwt, "check_header", lambda header: checked.append(header))
    first = classify(unsigned({"sub": "user_1"}, typ="JWT"))[1]
    second = classify(unsigned({"sub": "user_2"}, typ="JWT"))[1]
    assert first is not None
    assert second is not None
    assert first.header is second.header
    assert len(checked) == 1
    assert second.payload == {"sub": "user_2"}
    # The same header with a payload that is not JSON: refused as before the header was known.
    header = unsigned({}, typ="JWT").split(".")[0]
    assert reason_of(f"{header}.{b64(b'{not json')}.{b64(b'sig')}") == "token-invalid"


def test_a_header_that_fails_its_check_is_never_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_jwt, "_HEADERS", {})
    token = unsigned({"sub": "user_1"}, crit=["exp"])
    assert reason_of(token) == reason_of(token) == "token-invalid"
    assert _jwt._HEADERS == {}


def test_the_header_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jwt, "_HEADERS", {})
    for i in range(3 * _jwt._HEADERS_MAX):
        classify(unsigned({"sub": "user_1"}, kid=f"ins_{i}"))
    assert 0 < len(_jwt._HEADERS) <= _jwt._HEADERS_MAX


def test_an_oversized_token_is_refused_before_decoding() -> None:
    huge = unsigned({"sub": "user_1", "pad": "x" * MAX_TOKEN_LENGTH})
    with pytest.raises(TokenVerificationError, match="longer than") as caught:
        classify(huge)
    assert caught.value.reason == "token-invalid"
    assert huge not in str(caught.value)


# --- claims (JS assertions.test.ts, verifyJwt.test.ts) -------------------------------

NOW = 1666648250.0
BASE = {"sub": "user_1", "exp": NOW + 60, "iat": NOW, "nbf": NOW - 10, "azp": "https://a.test"}


def claims_reason(payload: dict[str, Any], **options: Any) -> str | None:
    kwargs: dict[str, Any] = {
        "now": NOW,
        "clock_skew": 5.0,
        "audience": None,
        "authorized_parties": None,
        **options,
    }
    try:
        check_claims(payload, "session_token", **kwargs)
    except TokenVerificationError as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("changes", "options", "reason"),
    [
        ({}, {}, None),
        ({"sub": None}, {}, "token-verification-failed"),
        ({"sub": 1}, {}, "token-verification-failed"),
        ({"sub": ""}, {}, None),  # any string, as JS
        ({"exp": None}, {}, "token-verification-failed"),
        ({"exp": "soon"}, {}, "token-verification-failed"),
        ({"exp": True}, {}, "token-verification-failed"),
        ({"exp": NOW}, {"clock_skew": 0.0}, "token-expired"),  # exp == now, no skew
        ({"exp": NOW}, {}, None),  # exp == now, within the skew
        ({"exp": NOW - 1}, {"clock_skew": 0.0}, "token-expired"),  # J22
        ({"exp": NOW - 1}, {}, None),  # J23
        ({"exp": NOW - 5}, {}, "token-expired"),  # exp <= now - skew
        ({"nbf": NOW}, {"clock_skew": 0.0}, None),
        ({"nbf": NOW + 5}, {}, None),
        ({"nbf": NOW + 6}, {}, "token-not-active-yet"),
        ({"iat": NOW + 5}, {}, None),
        ({"iat": NOW + 10}, {}, "token-iat-in-the-future"),  # PyJWT would say nbf
        ({"nbf": None, "iat": None}, {}, None),
        ({}, {"authorized_parties": frozenset({"https://a.test"})}, None),
        ({}, {"authorized_parties": frozenset({"whatever"})}, "token-invalid-authorized-parties"),
        (
            {"azp": None},
            {"authorized_parties": frozenset({"x"})},
            "token-invalid-authorized-parties",
        ),
        ({"azp": ""}, {"authorized_parties": frozenset({"x"})}, "token-invalid-authorized-parties"),
        ({"azp": None}, {}, None),  # no parties configured: no azp needed
        ({"aud": "api"}, {}, None),  # an aud and no audience option: no check
        ({"aud": "api"}, {"audience": frozenset({"api"})}, None),
        ({"aud": ["x", "api"]}, {"audience": frozenset({"api"})}, None),  # J20
        ({"aud": ["x", "y"]}, {"audience": frozenset({"api"})}, "token-verification-failed"),
        ({"aud": "ap"}, {"audience": frozenset({"api"})}, "token-verification-failed"),
        ({"aud": "apis"}, {"audience": frozenset({"api"})}, "token-verification-failed"),
        # Beyond JS: an audience requires an aud, of a sane shape.
        ({}, {"audience": frozenset({"api"})}, "token-verification-failed"),
        ({"aud": ["api", 1]}, {"audience": frozenset({"api"})}, "token-verification-failed"),
        ({"aud": []}, {"audience": frozenset({"api"})}, "token-verification-failed"),
    ],
)
def test_claims_follow_the_js_rules(
    changes: dict[str, Any], options: dict[str, Any], reason: str | None
) -> None:
    payload = {**BASE, **changes}
    payload = {k: v for k, v in payload.items() if v is not None}
    assert claims_reason(payload, **options) == reason


def test_infinite_timestamps_are_refused() -> None:
    # The stdlib JSON decoder reads `Infinity`: a token must not live forever by it.
    payload = json.loads('{"sub": "user_1", "exp": Infinity}')
    assert claims_reason(payload) == "token-verification-failed"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_timestamps_beyond_float_range_are_refused(claim: str) -> None:
    # An integer no float holds (the stdlib decoder reads it): refused, not OverflowError.
    assert claims_reason({**BASE, claim: 10**400}) == "token-verification-failed"
    assert claims_reason({**BASE, claim: -(10**400)}) == "token-verification-failed"


def test_azp_applies_to_session_tokens_only() -> None:
    m2m = {"sub": "mch_1", "exp": NOW + 60}
    check_claims(
        m2m,
        "m2m_token",
        now=NOW,
        clock_skew=5.0,
        audience=None,
        authorized_parties=frozenset({"https://a.test"}),
    )


# --- auth objects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fea", "per", "fpm", "expected"),
    [
        (
            "o:dashboard,o:teams",
            "manage,read",
            "3,2",
            ["org:dashboard:manage", "org:dashboard:read", "org:teams:read"],
        ),
        (
            "o:impersonation,o:memberships",
            "read,manage",
            "1,3",
            ["org:impersonation:read", "org:memberships:read", "org:memberships:manage"],
        ),
        (
            "ou:memberships,u:impersonation",
            "read,manage",
            "3,0",
            ["org:memberships:read", "org:memberships:manage"],
        ),
        ("o:a", "read", "x", []),
        (None, "read", "1", []),
        ("broken,o:a", "read", "1", []),  # JS throws on "broken": nothing is granted
        ("u:b,o:a", "read,manage", "3", ["org:a:read", "org:a:manage"]),  # org features only
        ("o:a,o:b", " read , manage ", "2,x", ["org:a:manage"]),  # trimmed; "x" grants nothing
    ],
)
def test_org_permissions_decode_as_docs_and_js(
    fea: Any, per: Any, fpm: Any, expected: list[str]
) -> None:
    assert org_permissions(fea, per, fpm) == expected


def test_session_claims_v1_and_v2_give_the_same_auth() -> None:
    v2 = {
        "sub": "user_1",
        "sid": "sess_1",
        "v": 2,
        "fea": "o:impersonation",
        "o": {
            "id": "org_xxxxxxx",
            "rol": "admin",
            "slg": "org_test",
            "per": "read,manage",
            "fpm": "3",
        },
    }
    v1 = {
        "sub": "user_1",
        "sid": "sess_1",
        "org_id": "org_xxxxxxx",
        "org_role": "org:admin",
        "org_slug": "org_test",
        "org_permissions": ["org:impersonation:read", "org:impersonation:manage"],
    }
    first, second = session_auth(v2), session_auth(v1)
    fields = ("user_id", "session_id", "org_id", "org_role", "org_slug", "org_permissions")
    assert [getattr(first, f) for f in fields] == [getattr(second, f) for f in fields]
    assert first.org_role == "org:admin"


def test_machine_auth_objects_map_claims_as_js() -> None:
    m2m = m2m_auth(
        {
            "sub": "mch_1",
            "jti": "mt_1",
            "aud": ["mch_a"],
            "scopes": "mch_1x mch_2x",
            "iat": 1,
            "exp": 2,
            "iss": "i",
            "foo": "bar",
        }
    )
    assert (m2m.machine_id, m2m.token_id, m2m.scopes) == ("mch_1", "mt_1", ["mch_1x", "mch_2x"])
    assert m2m.claims == {"aud": ["mch_a"], "scopes": "mch_1x mch_2x", "foo": "bar"}
    assert m2m_auth({"sub": "mch_1", "aud": ["mch_a"]}).scopes == ["mch_a"]
    oauth = oauth_auth({"sub": "user_1", "client_id": "c", "scope": "read:foo write:bar"})
    assert (oauth.user_id, oauth.client_id, oauth.scopes) == (
        "user_1",
        "c",
        ["read:foo", "write:bar"],
    )
    assert oauth_auth({"sub": "user_1", "scp": ["a"], "scope": "b"}).scopes == ["a"]


# --- headers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),  # RFC 7235: the scheme is case-insensitive
        ("abc", "abc"),  # no scheme: the value is the token (JS)
        ("Basic dXNlcjpwYXNzd29yZA==", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_tokens(value: str | None, token: str | None) -> None:
    assert bearer_token(value) == token


@pytest.mark.parametrize(
    ("cookie", "token"),
    [
        ("__session=abc", "abc"),
        ("a=1; __session=abc; b=2", "abc"),
        ('__session="abc"', "abc"),
        ("__session_suffix=abc", None),
        ("__client_uat=1", None),
        ("__session=", None),
        (None, None),
    ],
)
def test_session_cookie(cookie: str | None, token: str | None) -> None:
    assert session_cookie(cookie) == token


def test_header_lookup_ignores_case_in_plain_dicts() -> None:
    assert header_value({"AUTHORIZATION": "x"}, "Authorization") == "x"
    assert header_value({"authorization": "y"}, "Authorization") == "y"
    assert header_value({}, "Authorization") is None


def test_stdlib_and_fast_json_decode_tokens_alike() -> None:
    token = unsigned({"sub": "user_1", "n": 1})
    assert classify(token)[1] is not None
    assert _json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")) == {
        "sub": "user_1",
        "n": 1,
    }


def test_deeply_nested_json_is_token_invalid_with_the_stdlib_codec() -> None:
    # The stdlib decoder raises RecursionError on [[[[...; orjson a ValueError. Both codecs
    # must give token-invalid: run the stdlib one in a process of its own.
    script = (
        "import base64\n"
        "from clerk_async import _json\n"
        "from clerk_async.auth import TokenVerificationError\n"
        "from clerk_async.auth._jwt import classify\n"
        "b = lambda r: base64.urlsafe_b64encode(r).rstrip(b'=').decode()\n"
        "t = b(b'{}') + '.' + b(b'[' * 5000 + b']' * 5000) + '.' + b(b'x')\n"
        "assert _json.CODEC == 'json', _json.CODEC\n"
        "try:\n"
        "    classify(t)\n"
        "except TokenVerificationError as exc:\n"
        "    print(exc.reason)\n"
    )
    env = {**os.environ, "CLERK_ASYNC_PURE_JSON": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "token-invalid"), done.stderr
