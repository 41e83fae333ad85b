"""The response models' decoders (``_convert._decoder``) against cattrs' own path.

Each model's decoder is written out from its attrs fields with the scalar checks inlined;
on any failure it hands the answer to cattrs' generated function, which names the field.
That fallback must only ever explain a refusal: for every model, for every field, for
values of every JSON type, the decoder accepts exactly what cattrs' path accepts, builds
the same object, and refuses with the same message.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import attrs
import cattrs
import pytest
from cattrs.gen import make_dict_structure_fn

import clerk_async.models as models
from clerk_async._convert import (
    WholeNumber,
    _decoder,
    converter,
    describe_structure_error,
)
from clerk_async.models.common import Model
from clerk_async.models.users import User
from clerk_async.webhooks import _events

USER = json.loads((Path(__file__).parents[1] / "benchmarks" / "user.json").read_text())
# One value of each JSON type, and the whole and fractional numbers an integer field
# treats differently.
VALUES: tuple[Any, ...] = (None, True, 0, 3.0, 2.5, "x", [], [1], {}, {"a": 1})
_ABSENT = object()


def _response_models() -> list[type]:
    found: dict[str, type] = {}
    for name in models.__all__:
        cls = getattr(models, name)
        if isinstance(cls, type) and issubclass(cls, Model) and attrs.has(cls):
            found[f"models.{name}"] = cls
    for name in _events.__all__:
        cls = getattr(_events, name)
        if isinstance(cls, type) and attrs.has(cls):
            found[f"webhooks.{name}"] = cls
    return [found[key] for key in sorted(found)]


MODELS = _response_models()


def _sample(tp: Any, depth: int = 0) -> Any:
    """A valid JSON value for ``tp`` (every field given, nested models too)."""
    if get_origin(tp) in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        return _sample(members[0], depth)
    if get_origin(tp) is Literal:
        return get_args(tp)[0]
    if tp == WholeNumber or tp is int:
        return 7
    if tp is str:
        return "s"
    if tp is float:
        return 1.5
    if tp is bool:
        return True
    if get_origin(tp) is list:
        return [_sample(get_args(tp)[0], depth)] if depth < 3 else []
    if attrs.has(tp):
        hints = get_type_hints(tp, include_extras=True)
        out = {}
        for a in attrs.fields(tp):
            if a.default is not attrs.NOTHING and a.default is not None:
                out[a.name] = a.default  # a tag (object: "machine") keeps its value
            else:
                out[a.name] = _sample(hints[a.name], depth + 1)
        return out
    return {"k": 1}  # Any, mappings


def _outcome(structure: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, structure()
    except Exception as exc:
        return False, describe_structure_error(exc)


def _cases(cls: type) -> Iterator[tuple[str, dict[str, Any]]]:
    base = _sample(cls)
    yield "as sampled", base
    yield "with unknown keys", {**base, "brand_new_field": {"a": [1]}}
    for name in base:
        for value in (_ABSENT, *VALUES):
            answer = {k: v for k, v in base.items() if k != name}
            if value is not _ABSENT:
                answer[name] = value
            yield f"{name}={'absent' if value is _ABSENT else repr(value)}", answer


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_the_decoder_accepts_and_refuses_exactly_as_cattrs(cls: type) -> None:
    decoder = converter.get_structure_hook(cls)
    reference = make_dict_structure_fn(cls, converter)
    if decoder is not _decoder(cls):  # a model with its own hook (renamed wire keys)
        pytest.skip("not decoded by a generated decoder")
    scope = decoder.__globals__
    precise = scope["precise"]
    explained: list[bool] = []

    def recording(value: Any) -> Any:
        explained.append(True)
        return precise(value)

    scope["precise"] = recording
    try:
        for case, answer in _cases(cls):
            explained.clear()
            expected = _outcome(lambda answer=answer: reference(answer, cls))
            got = _outcome(lambda answer=answer: decoder(answer, cls))
            assert got == expected, f"{cls.__name__} {case}"
            if expected[0]:
                assert not explained, f"{cls.__name__} {case}: cattrs decided, not the decoder"
    finally:
        scope["precise"] = precise


@attrs.define(kw_only=True)
class Node(Model):
    name: str
    children: list[Node] | None = None
    parent: Node | None = None


def test_a_model_that_nests_itself() -> None:
    tree = {"name": "a", "children": [{"name": "b", "children": [], "x": 1}], "parent": None}
    node = converter.structure(tree, Node)
    assert node == Node(name="a", children=[Node(name="b", children=[])])
    tree["children"][0]["name"] = 5  # type: ignore[index]
    with pytest.raises(cattrs.BaseValidationError) as info:
        converter.structure(tree, Node)
    assert describe_structure_error(info.value) == (
        "expected a string, got a number @ answer.children[0].name"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda u: u["email_addresses"][1].update(reserved="no"),
            "expected a boolean, got a string @ answer.email_addresses[1].reserved",
        ),
        (
            lambda u: u["email_addresses"][0].pop("created_at"),
            "required field missing @ answer.email_addresses[0].created_at",
        ),
        (lambda u: u.update(email_addresses=[3]), "expected an object, got a number"),
        (lambda u: u.update(last_sign_in_at=1.5), "expected an integer, got a number"),
        (lambda u: u.update(private_metadata=[]), "expected an object, got an array"),
        (lambda u: u.pop("id"), "required field missing @ answer.id"),
    ],
)
def test_a_big_answer_names_the_field_deep_inside(
    change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    user = json.loads(json.dumps(USER))
    change(user)
    with pytest.raises(cattrs.BaseValidationError) as info:
        converter.structure(user, User)
    assert message in describe_structure_error(info.value)


def test_a_big_answer_with_unknown_keys_and_whole_floats() -> None:
    user = json.loads(json.dumps(USER))
    user["brand_new"] = {"nested": [1, 2]}
    user["email_addresses"][0]["also_new"] = True
    user["created_at"] = float(user["created_at"])
    decoded = converter.structure(user, User)
    assert decoded.created_at == USER["created_at"]
    assert type(decoded.created_at) is int
    assert decoded.email_addresses[0].email_address == "ada@example.com"
    assert decoded == converter.structure(USER, User)
