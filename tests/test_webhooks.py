"""clerk_async.webhooks.verify: the Standard Webhooks (Svix) scheme, the hostile cases, and
every event type of the vendored spec round-tripped (signed, verified, typed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
import time
from typing import Any

import attrs
import pytest

from clerk_async import ClerkConfigError
from clerk_async.webhooks import (
    DEFAULT_MAX_BODY_BYTES,
    EVENTS,
    User,
    UserCreatedEvent,
    WebhookEvent,
    WebhookVerificationError,
    sign,
    verify,
)
from clerk_async.webhooks import _verify as verify_module
from tests._webhook_corpus import example, payloads, spec

# The JS SDK's test fixture: whsec_ + base64("test_signing_secret_32_chars_long").
SECRET = "whsec_" + base64.b64encode(b"test_signing_secret_32_chars_long").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another_secret_of_32_characters!").decode()
# Clerk's User JSON, as its own user.created example sends it (every field the API's User
# requires is there): the data of the deliveries below.
USER = {**example("user.created")["data"], "id": "user_29w83sxmDNGwOuEthce5gg56FcC"}
USER_CREATED = json.dumps(
    {
        "type": "user.created",
        "object": "event",
        "timestamp": 1716883200,
        "instance_id": "ins_123",
        "data": USER,
        "event_attributes": {"http_request": {"client_ip": "0.0.0.0", "user_agent": "ua"}},
    }
).encode()


def refused(reason: str, body: Any, headers: dict[str, str], **kwargs: Any) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, secret=kwargs.pop("secret", SECRET), **kwargs)
    assert caught.value.reason == reason
    text = str(caught.value)
    for secret_part in (SECRET, SECRET.removeprefix("whsec_"), headers.get("svix-signature")):
        assert not secret_part or secret_part not in text
    return caught.value.message


def test_a_signed_event_verifies_as_its_class() -> None:
    event = verify(USER_CREATED, sign(USER_CREATED, secret=SECRET), secret=SECRET)
    assert isinstance(event, UserCreatedEvent)
    assert isinstance(event.data, User)
    assert event.data.id == "user_29w83sxmDNGwOuEthce5gg56FcC"
    assert (event.type, event.instance_id) == ("user.created", "ins_123")
    assert event.timestamp == 1716883200
    assert event.event_attributes is not None
    assert event.event_attributes.http_request is not None
    assert event.event_attributes.http_request.client_ip == "0.0.0.0"


def test_the_standard_webhooks_test_vector() -> None:
    """Svix's documented example: an independent check of the scheme, not our own signer."""
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    # Signed, but not an event: the signature passed, the payload is refused after.
    message = refused("payload-invalid", body, headers, secret=secret, now=1614265330)
    assert "not an event" in message
    refused("signature-mismatch", body.replace(b"2", b"3"), headers, secret=secret, now=1614265330)


def test_sign_is_the_scheme() -> None:
    headers = sign(USER_CREATED, secret=SECRET, msg_id="msg_1", timestamp=1700000000)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, b"msg_1.1700000000." + USER_CREATED, hashlib.sha256).digest()
    assert headers == {
        "svix-id": "msg_1",
        "svix-timestamp": "1700000000",
        "svix-signature": "v1," + base64.b64encode(digest).decode(),
    }


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-301, "timestamp-too-old"), (301, "timestamp-too-new"), (-3600, "timestamp-too-old")],
)
def test_a_timestamp_outside_five_minutes_is_refused(offset: int, reason: str) -> None:
    now = time.time()
    headers = sign(USER_CREATED, secret=SECRET, timestamp=now + offset)
    refused(reason, USER_CREATED, headers, now=now)


@pytest.mark.parametrize("offset", [-300, 300, 0])
def test_five_minutes_either_way_is_accepted(offset: int) -> None:
    now = 1_800_000_000
    headers = sign(USER_CREATED, secret=SECRET, timestamp=now + offset)
    assert isinstance(verify(USER_CREATED, headers, secret=SECRET, now=now), UserCreatedEvent)


def test_a_replayed_delivery_is_refused_once_stale_and_a_refreshed_timestamp_breaks_it() -> None:
    sent_at = 1_800_000_000
    headers = sign(USER_CREATED, secret=SECRET, timestamp=sent_at)
    assert verify(USER_CREATED, headers, secret=SECRET, now=sent_at + 60)  # a retry: fine
    refused("timestamp-too-old", USER_CREATED, headers, now=sent_at + 301)
    # The attacker cannot move the timestamp forward: it is signed.
    fresh = {**headers, "svix-timestamp": str(sent_at + 301)}
    refused("signature-mismatch", USER_CREATED, fresh, now=sent_at + 301)


def test_the_wrong_secret_is_refused() -> None:
    headers = sign(USER_CREATED, secret=OTHER_SECRET)
    assert refused("signature-mismatch", USER_CREATED, headers) == "No matching signature found"


@pytest.mark.parametrize(
    "tampered",
    [
        USER_CREATED.replace(b"user_29w", b"user_39w"),
        USER_CREATED + b" ",
        USER_CREATED[:-1],
        json.dumps(json.loads(USER_CREATED), separators=(",", ":")).encode(),  # re-serialized
    ],
)
def test_a_tampered_body_is_refused(tampered: bytes) -> None:
    refused("signature-mismatch", tampered, sign(USER_CREATED, secret=SECRET))


def test_the_id_is_signed_too() -> None:
    headers = {**sign(USER_CREATED, secret=SECRET), "svix-id": "msg_other"}
    refused("signature-mismatch", USER_CREATED, headers)


@pytest.mark.parametrize(
    ("dropped", "named"),
    [
        (("svix-id",), "svix-id"),
        (("svix-timestamp", "svix-signature"), "svix-timestamp, svix-signature"),
        (verify_module.HEADERS, ", ".join(verify_module.HEADERS)),
    ],
)
def test_missing_headers_are_named(dropped: tuple[str, ...], named: str) -> None:
    headers = {k: v for k, v in sign(USER_CREATED, secret=SECRET).items() if k not in dropped}
    message = refused("headers-missing", USER_CREATED, headers)
    assert message == f"Missing required webhook headers: {named}"


def test_a_blank_header_counts_as_missing() -> None:
    headers = {**sign(USER_CREATED, secret=SECRET), "svix-signature": "   "}
    assert refused("headers-missing", USER_CREATED, headers).endswith("svix-signature")


def test_header_names_are_case_insensitive_and_standard_names_work() -> None:
    signed = sign(USER_CREATED, secret=SECRET)
    # Names in any case; the id and signatures trimmed as JS does (the timestamp: exact).
    shouting = {k.upper(): v if k == "svix-timestamp" else f"  {v} " for k, v in signed.items()}
    standard = {k.replace("svix-", "webhook-"): v for k, v in signed.items()}
    for headers in (shouting, standard):
        assert isinstance(verify(USER_CREATED, headers, secret=SECRET), UserCreatedEvent)


def test_several_signatures_one_valid() -> None:
    signed = sign(USER_CREATED, secret=SECRET)
    valid = signed["svix-signature"]
    wrong = sign(USER_CREATED, secret=OTHER_SECRET)["svix-signature"]
    # Malformed entries (no comma, bad base64, another version) do not stop the scan.
    for signatures in (
        f"{wrong} {valid}",
        f"v1,invalid_signature {valid}",
        f"nocomma v1,abc v1,a,b v1a,{valid[3:]} {valid}",
        f"{valid} {wrong}",
    ):
        headers = {**signed, "svix-signature": signatures}
        assert isinstance(verify(USER_CREATED, headers, secret=SECRET), UserCreatedEvent)
    for signatures in (f"{wrong} v1,invalid", f"v1a,{valid[3:]}", f"v2,{valid[3:]}"):
        refused("signature-mismatch", USER_CREATED, {**signed, "svix-signature": signatures})


@pytest.mark.parametrize(
    "written", ["01800000000", "1800000000.5", "1800000000.", "1800000000.999", " 1800000000 ",
                "1800000000\n", "+1800000000", "1800000000\x00", "1_800_000_000"]
)  # fmt: skip
def test_only_the_canonical_timestamp_text_verifies(written: str) -> None:
    """Another spelling of T with T's signature would make one delivery many (issue 23 item 7);
    the libraries floor fractions (SWPY) or parseInt (SWJS): we refuse them instead."""
    headers = sign(USER_CREATED, secret=SECRET, timestamp=1_800_000_000)
    assert verify(USER_CREATED, headers, secret=SECRET, now=1_800_000_000)
    refused("timestamp-invalid", USER_CREATED, {**headers, "svix-timestamp": written})


@pytest.mark.parametrize("stamp", ["", "abc", "-5", "1e9", "0x10", "1" * 20, "\uff11\uff12\uff13"])
def test_a_bad_timestamp_is_refused(stamp: str) -> None:
    headers = {**sign(USER_CREATED, secret=SECRET), "svix-timestamp": stamp}
    refused("headers-missing" if not stamp else "timestamp-invalid", USER_CREATED, headers)


def test_a_huge_body_is_refused_before_any_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    huge = b'{"type": "user.created", "data": "' + b"x" * DEFAULT_MAX_BODY_BYTES + b'"}'
    headers = sign(huge, secret=SECRET)  # signed: only the size is wrong

    def no_hmac(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("hashed a body over the limit")

    monkeypatch.setattr(verify_module.hmac, "new", no_hmac)
    assert "max_body_bytes" in refused("body-too-large", huge, headers)
    refused("body-too-large", USER_CREATED, headers, max_body_bytes=100)


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = sign(USER_CREATED, secret=SECRET)
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
    assert isinstance(verify(USER_CREATED, headers), UserCreatedEvent)
    monkeypatch.delenv("CLERK_WEBHOOK_SIGNING_SECRET")
    with pytest.raises(ClerkConfigError, match="CLERK_WEBHOOK_SIGNING_SECRET") as caught:
        verify(USER_CREATED, headers)
    assert caught.value.field == "secret"


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", "whsec_===="])
def test_an_invalid_secret_is_a_configuration_error_that_does_not_repeat_it(secret: str) -> None:
    with pytest.raises(ClerkConfigError) as caught:
        verify(USER_CREATED, sign(USER_CREATED, secret=SECRET), secret=secret)
    assert caught.value.field == "secret"
    shown = secret.removeprefix("whsec_")
    assert not shown or shown not in str(caught.value).replace("whsec_", "")


def test_a_secret_without_its_prefix_works() -> None:
    headers = sign(USER_CREATED, secret=SECRET)
    assert verify(USER_CREATED, headers, secret=SECRET.removeprefix("whsec_"))


def test_an_unknown_event_type_verifies_as_a_generic_event() -> None:
    body = json.dumps(
        {
            "type": "agent.dreamed",
            "object": "event",
            "timestamp": 1,
            "instance_id": "ins_1",
            "data": {"dream": ["electric", "sheep"]},
        }
    )
    event = verify(body, sign(body, secret=SECRET), secret=SECRET)
    assert type(event) is WebhookEvent
    assert event.data == {"dream": ["electric", "sheep"]}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not an event"),
        (b'{"type": 5}', "not an event"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (
            USER_CREATED.replace(b'"user_29w83sxmDNGwOuEthce5gg56FcC"', b"29"),
            "expected a string, got a number @ event.data.id",
        ),
        (
            USER_CREATED.replace(b'"instance_id": "ins_123", ', b""),
            "required field missing @ event.instance_id",
        ),
    ],
)
def test_a_signed_body_that_is_not_an_event_of_its_type_is_refused(body: bytes, said: str) -> None:
    message = refused("payload-invalid", body, sign(body, secret=SECRET))
    assert said in message


def test_the_error_pickles() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(USER_CREATED, sign(USER_CREATED, secret=OTHER_SECRET), secret=SECRET)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.reason, copy.message, str(copy)) == (
        caught.value.reason,
        caught.value.message,
        str(caught.value),
    )


# --- every event type of the spec ---------------------------------------------------------

CORPUS = payloads()


def test_the_corpus_covers_every_event_type_of_the_spec() -> None:
    types = set(spec()["x-webhooks"])
    assert len(types) == 45
    assert {t for t, _, _ in CORPUS} == types == set(EVENTS)
    assert len(CORPUS) == 45 + sum(1 for _, source, _ in CORPUS if source == "example")


def assert_carries(model: Any, value: Any, path: str) -> None:
    """``model`` (structured) holds every value of ``value`` (the JSON it came from)."""
    if attrs.has(type(model)):
        assert isinstance(value, dict), path
        fields = attrs.fields_dict(type(model))
        for key, item in value.items():
            if key in fields:
                assert_carries(getattr(model, key), item, f"{path}.{key}")
    elif isinstance(model, list):
        assert len(model) == len(value), path
        for i, (m, v) in enumerate(zip(model, value, strict=True)):
            assert_carries(m, v, f"{path}[{i}]")
    else:
        assert model == value, path


@pytest.mark.parametrize(
    ("event_type", "source", "payload"), CORPUS, ids=[f"{t}-{s}" for t, s, _ in CORPUS]
)
def test_every_event_round_trips_as_its_class(
    event_type: str, source: str, payload: dict[str, Any]
) -> None:
    body = json.dumps(payload)
    event = verify(body, sign(body, secret=SECRET, msg_id=f"msg_{event_type}"), secret=SECRET)
    assert type(event) is EVENTS[event_type]
    assert event.type == event_type
    assert attrs.has(type(event.data))
    assert_carries(event, payload, "event")
