"""The one cattrs converter, the UNSET sentinel, and how params are accepted.

Rules:
- Attribute names are the wire's snake_case keys, so no renaming is needed.
- Params fields the caller did not give are ``UNSET`` and are left out of bodies and
  queries; that is how PATCH means "leave as is". ``None`` is sent as JSON ``null``.
- Each params field says where it goes in its metadata (``param("path" | "query" | "body" |
  "form", ...)``): path fields into the URL, query fields into the query string (lists as
  repeated keys), body fields into the JSON body, form fields into a multipart body. A body
  that is a JSON array is the one field ``request_body``.
- Unknown keys in responses are ignored (Clerk adds fields; that must not break us).
- Params are accepted as an attrs instance, keyword arguments, or a mapping whose keys
  are snake_case (the wire) or camelCase (Clerk's JS docs).
"""

from __future__ import annotations

import enum
import re
import types
from collections import abc
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import (
    Annotated,
    Any,
    Final,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn

from clerk_async.errors import ClerkValidationError
from clerk_async.models.common import Model, Params

__all__ = [
    "UNSET",
    "RequestPlan",
    "Unset",
    "WholeNumber",
    "WrongType",
    "build_params",
    "converter",
    "describe_structure_error",
    "param",
    "register_one_of",
    "register_renames",
    "request_plan",
    "snake_case",
    "wire_names",
]


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset.UNSET
"""A field the caller did not give: left out of the request."""

Unset = Literal[_Unset.UNSET]

T = TypeVar("T")

converter = cattrs.Converter()


_IN = "clerk_async.in"  # where a params field goes: "path", "query", "body" or "form"
_WIRE = "clerk_async.wire"  # its name on the wire, where that is not the field's name
_WHOLE = "clerk_async.whole"  # the field is the whole JSON body (an array)

Location = Literal["path", "query", "body", "form"]
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def param(
    where: Location,
    validator: Validator | None = None,
    *,
    required: bool = False,
    wire: str | None = None,
    whole: bool = False,
    secret: bool = False,
    converter: Callable[[Any], Any] | None = None,
) -> Any:
    """A params field that goes to ``where``; not ``required`` ones default to UNSET.

    ``validator`` checks given values only (UNSET is never checked); ``wire`` is the
    wire's name when it differs (``apiKeyID`` for ``api_key_id``); ``whole`` marks the
    field that is the entire JSON body; ``secret`` keeps the value out of the repr.
    """
    metadata: dict[str, Any] = {_IN: where}
    if wire is not None:
        metadata[_WIRE] = wire
    if whole:
        metadata[_WHOLE] = True
    if validator is not None and not required:
        validator = _skip_unset(validator)
    if required:
        return attrs.field(
            validator=validator, converter=converter, metadata=metadata, repr=not secret
        )
    return attrs.field(
        default=UNSET, validator=validator, converter=converter, metadata=metadata, repr=not secret
    )


def _skip_unset(validator: Validator) -> Validator:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not UNSET:
            validator(instance, attribute, value)

    return check


@attrs.frozen
class RequestPlan:
    """Where each field of one params class goes, worked out once per class.

    Each entry is ``(field name, wire name)``. ``default`` is where fields without a
    location go (legacy params classes: the body, or the query for list operations).
    """

    path: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...]
    body: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...]
    whole: str | None  # the field that is the whole JSON body, if any
    # Every field says where it goes (generated params): a POST without body fields then
    # sends no body, as its operation declares none. Hand-written params send ``{}``.
    declared: bool = False


def request_plan(cls: type, query: bool = False) -> RequestPlan:
    """The :class:`RequestPlan` of a params class (callers cache it: it is not cheap)."""
    places: dict[str, list[tuple[str, str]]] = {"path": [], "query": [], "body": [], "form": []}
    whole = None
    declared = True
    for a in attrs.fields(cls):
        declared = declared and _IN in a.metadata
        where = a.metadata.get(_IN) or ("query" if query else "body")
        if a.metadata.get(_WHOLE):
            whole = a.name
            continue
        places[where].append((a.name, a.metadata.get(_WIRE, a.name)))
    return RequestPlan(
        path=tuple(places["path"]),
        query=tuple(places["query"]),
        body=tuple(places["body"]),
        form=tuple(places["form"]),
        whole=whole,
        declared=declared,
    )


def _is_params(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Params) and attrs.has(cls)


@lru_cache(maxsize=512)
def snake_case(key: str) -> str:
    """``defaultTokenTtl`` -> ``default_token_ttl``; snake_case keys pass unchanged."""
    return _CAMEL_BOUNDARY.sub("_", key).lower()


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _field_names(cls: type) -> frozenset[str]:
    return frozenset(a.name for a in attrs.fields(cls))


def _from_mapping(cls: type[T], mapping: Mapping[str, Any]) -> T:
    names = _field_names(cls)
    kwargs: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ClerkValidationError(repr(key), "keys must be strings")
        name = snake_case(key)
        if name not in names:
            allowed = ", ".join(sorted(names))
            raise ClerkValidationError(
                key, f"unknown field for {cls.__name__} (expected: {allowed})"
            )
        if name in kwargs:
            raise ClerkValidationError(key, f"given twice (as {name!r} too)")
        kwargs[name] = value
    return _construct(cls, kwargs)


_required: dict[type, tuple[str, ...]] = {}


def _construct(cls: type[T], kwargs: dict[str, Any]) -> T:
    required = _required.get(cls)
    if required is None:
        fields = attrs.fields(cls)  # type: ignore[arg-type]
        required = _required[cls] = tuple(a.name for a in fields if a.default is attrs.NOTHING)
    for name in required:
        if name not in kwargs:
            raise ClerkValidationError(name, "is required")
    return cls(**kwargs)


def build_params(
    cls: type[T],
    given: Any,
    fields: dict[str, Any],
    *,
    id_field: str | None = None,
) -> T:
    """Accept params in every supported form and return a validated ``cls`` instance.

    ``given`` is the first positional argument of a service method: an instance of
    ``cls``, a mapping (camelCase or snake_case keys), the resource id (when ``id_field``
    names it), or ``UNSET``. ``fields`` holds the keyword arguments, ``UNSET`` where not
    given. Mixing a params object or mapping with keyword fields is an error: one would
    silently win over the other.
    """
    given_fields = {}
    for key, value in fields.items():  # a loop, not a comprehension: no extra frame (hot path)
        if value is not UNSET:
            given_fields[key] = value
    if type(given) is str and id_field is not None:  # the common form first: update("mch_1", ...)
        if id_field in given_fields:
            raise ClerkValidationError(id_field, "given both positionally and by keyword")
        given_fields[id_field] = given
        return _construct(cls, given_fields)
    if isinstance(given, cls):
        if given_fields:
            _mixed(cls, given_fields)
        return given
    if isinstance(given, Mapping):
        if given_fields:
            _mixed(cls, given_fields)
        return _from_mapping(cls, given)
    if given is not UNSET and given is not None:
        if id_field is None:
            raise ClerkValidationError(
                "params", f"expected {cls.__name__} or a mapping, got {type(given).__name__}"
            )
        if id_field in given_fields:
            raise ClerkValidationError(id_field, "given both positionally and by keyword")
        given_fields[id_field] = given
    return _construct(cls, given_fields)


def _mixed(cls: type, given_fields: dict[str, Any]) -> None:
    field = next(iter(given_fields))
    raise ClerkValidationError(
        field, f"pass either a {cls.__name__}/mapping or keyword fields, not both"
    )


# --- answers are checked, not coerced ----------------------------------------------------
#
# cattrs' default hooks call ``str(value)``, ``int(value)``, ``bool(value)``: ``"false"`` would
# become True and ``null`` the string "None". These hooks accept only the JSON type the spec
# gives a field: ``integer`` takes whole numbers (``3600.0`` reads as 3600, ``3600.9`` is an
# error), ``number`` any number, ``string`` strings, ``boolean`` booleans, and never a boolean
# where a number is expected; null only where the field's type includes None. The error names
# what was expected and what JSON type came, never the value (an answer may hold secrets).

WholeNumber = Annotated[int, "whole number"]
"""A field the spec types ``number`` that Clerk fills with whole numbers (epoch
milliseconds, counts): any JSON number is accepted, as the spec allows, and kept as an int.
To type checkers it is a plain ``int``."""


class WrongType(TypeError):
    """A JSON value of the wrong type for its field (the message holds no value)."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(f"expected {expected}, got {json_type(value)}")


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type: the one thing a message may say about it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _str(value: Any, _: Any) -> str:
    if value.__class__ is str:
        return value
    raise WrongType("a string", value)


def _int(value: Any, _: Any) -> int:
    if value.__class__ is int:
        return value
    if value.__class__ is float and value.is_integer():
        return int(value)
    raise WrongType("an integer", value)


def _float(value: Any, _: Any) -> float:
    if value.__class__ is int or value.__class__ is float:
        return value
    raise WrongType("a number", value)


def _whole_number(value: Any, _: Any) -> int:
    if value.__class__ is int:
        return value
    if value.__class__ is float and value == value and abs(value) != float("inf"):
        return int(value)
    raise WrongType("a number", value)


def _bool(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return value
    raise WrongType("a boolean", value)


_SCALARS: dict[Any, Callable[[Any, Any], Any]] = {
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
}


def _nullable(hook: Callable[[Any, Any], T]) -> Callable[[Any, Any], T | None]:
    # One call instead of cattrs' generic Optional dispatch: nullable fields are common.
    def structure(value: Any, tp: Any) -> T | None:
        return None if value is None else hook(value, tp)

    return structure


for _type, _hook in _SCALARS.items():
    converter.register_structure_hook(_type, _hook)
    converter.register_structure_hook(_type | None, _nullable(_hook))
# Annotated types are matched by equality, not registered by class.
converter.register_structure_hook_func(lambda tp: tp == WholeNumber, _whole_number)
converter.register_structure_hook_func(
    lambda tp: tp == WholeNumber | None, _nullable(_whole_number)
)


# An answer's enum field is typed as the spec's ``Literal`` (for type checkers and readers),
# but a newer Clerk may send a value the spec does not list yet: any string passes, as
# itself. cattrs' own Literal hook would refuse it and fail the whole answer.


def _is_text_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal and all(isinstance(a, str) for a in get_args(tp))


converter.register_structure_hook_func(_is_text_literal, _str)


def _is_list(tp: Any) -> bool:
    return get_origin(tp) is list


def _list_hook(tp: Any) -> Callable[[Any, Any], list[Any]]:
    args = get_args(tp)
    item_type = args[0] if args else Any
    item = converter.get_structure_hook(item_type)
    precise: list[Callable[[Any, Any], list[Any]]] = []

    def structure(value: Any, tp: Any) -> list[Any]:
        if value.__class__ is not list:
            raise WrongType("an array", value)
        try:
            items = []
            for x in value:  # a loop, not a comprehension: no extra frame
                items.append(item(x, item_type))
            return items
        except Exception:
            pass
        if not precise:  # cattrs' own list function: the same item hook, and it names the index
            precise.append(list_structure_factory(tp, converter))
        result: list[Any] = precise[0](value, tp)
        return result

    return structure


def _is_model(tp: Any) -> bool:
    return attrs.has(tp) and not _is_params(tp)


# --- response models: one decoder per class, written out from its attrs fields ---------------
#
# For ``Machine`` (abridged)::
#
#     def structure_Machine(o, _=None):
#         if o.__class__ is not dict:
#             raise WrongType("an object", o)
#         try:
#             v0 = o['id']
#             if not (v0.__class__ is str):
#                 v0 = h0(v0, t0)                      # _str: raises WrongType
#             ...
#             v5 = o['scoped_machines']
#             if v5.__class__ is not list:
#                 raise WrongType("an array", v5)
#             if v5:
#                 items = []
#                 for x in v5:
#                     items.append(h5(x, t5))          # structure_ScopedMachine
#                 v5 = items
#             v7 = o.get('default_token_ttl', None)
#             if v7 is not None and not (v7.__class__ is int):
#                 v7 = h7(v7, t7)                      # _int: 3600.0 reads as 3600
#             return cls(id=v0, ..., default_token_ttl=v7)
#         except Exception:
#             pass
#         return precise(o)                            # cattrs' path: raises, naming the field
#
# Each check is the scalar hook's own test inlined; a value that fails it goes to that hook,
# which converts it (an integral float for an int) or raises. So the decoder accepts exactly
# what the hooks accept, and cattrs' generated function (built on the first failure) runs
# only to raise the error with the field's path: it never decides anything the decoder did
# not. Unknown keys are never read.
# Worth (instructions per decode, `.venv/bin/python -m benchmarks.decode_instructions`, stdlib
# json, at 0369bbc's models; the table is in benchmarks/RESULTS.md): the machines.update answer
# (a Machine, one ScopedMachine) 67,077; with cattrs' generated functions alone 82,431, with
# them and the exec-built shortcuts this replaced 72,102; JSON plus a hand-written builder
# without checks 63,745. One realistic User: 224,959; 269,984; 239,115; 221,895.

# A scalar's test, passed by exactly the values its hook returns unchanged.
_EXACT: dict[Any, str] = {
    str: "{v}.__class__ is str",
    int: "{v}.__class__ is int",
    WholeNumber: "{v}.__class__ is int",
    float: "({v}.__class__ is float or {v}.__class__ is int)",
    bool: "({v} is True or {v} is False)",
}


def _model_hook(tp: Any) -> Callable[[Any, Any], Any]:
    if _decodable(tp):
        return _decoder(tp)
    fields = make_dict_structure_fn(tp, converter)  # generics (Page[Machine]): cattrs' own

    def structure(value: Any, tp: Any) -> Any:
        if value.__class__ is not dict:
            raise WrongType("an object", value)
        return fields(value, tp)

    return structure


def _decodable(cls: Any) -> bool:
    """A plain model whose every field is set from its own keyword with a plain default."""
    return (
        isinstance(cls, type)
        and not getattr(cls, "__parameters__", None)
        and all(
            a.init and not isinstance(a.default, attrs.Factory)  # type: ignore[arg-type]
            for a in attrs.fields(cls)
        )
    )


_decoders: dict[type, Callable[[Any, Any], Any]] = {}


def _decoder(cls: type) -> Callable[[Any, Any], Any]:
    """The decoder of one response model, written once (see the example above)."""
    done = _decoders.get(cls)
    if done is not None:
        return done
    hints = get_type_hints(cls, include_extras=True)
    scope: dict[str, Any] = {"cls": cls, "WrongType": WrongType}
    hooks: dict[int, Any] = {}  # index -> the type whose hook ``h<index>`` is
    body: list[str] = []
    call: list[str] = []
    for index, a in enumerate(attrs.fields(cls)):
        v, key = f"v{index}", repr(a.name)
        tp, nullable = _unwrap_nullable(hints[a.name])
        check = _check_source(v, tp, nullable, index, hooks)
        if a.default is attrs.NOTHING:
            body += [f"{v} = o[{key}]", *check]
        elif _passes(a.default, tp, nullable):  # absent or present, the same checks
            scope[f"d{index}"] = a.default
            body += [f"{v} = o.get({key}, d{index})", *check]
        else:  # a default its own checks would refuse: used as is when the key is absent
            scope[f"d{index}"] = a.default
            body += [f"if {key} in o:", f"    {v} = o[{key}]", *("    " + c for c in check)]
            body += ["else:", f"    {v} = d{index}"]
        call.append(f"{a.alias}={v}")
    source = "\n".join(
        [
            f"def structure_{cls.__name__}(o, _=None):",
            "    if o.__class__ is not dict:",
            '        raise WrongType("an object", o)',
            "    try:",
            *("        " + line for line in body),
            f"        return cls({', '.join(call)})",
            "    except Exception:",
            "        pass",
            "    return precise(o)",
        ]
    )
    exec(source, scope)  # our own source, from the class's fields (as attrs and cattrs do)
    decoder: Callable[[Any, Any], Any] = scope[f"structure_{cls.__name__}"]
    _decoders[cls] = decoder  # before the nested hooks: a model may nest itself
    scope["precise"] = _precise_path(cls)
    for index, field_type in hooks.items():
        scope[f"t{index}"] = field_type
        scope[f"h{index}"] = converter.get_structure_hook(field_type)
    return decoder


def _unwrap_nullable(tp: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(tp, False)``."""
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        members = [m for m in args if m is not type(None)]
        if len(members) == 1 and len(args) == 2:
            return members[0], True
    return tp, False


def _exact_test(tp: Any) -> str | None:
    """The inline test of a scalar, an enum's Literal (any string) or a mapping."""
    if _is_text_literal(tp):
        return _EXACT[str]
    if _is_mapping(tp):
        return "{v}.__class__ is dict"
    return _EXACT.get(tp)


def _check_source(v: str, tp: Any, nullable: bool, index: int, hooks: dict[int, Any]) -> list[str]:
    """Lines that check (or build) the value in ``v``; ``h<index>`` is the hook they use."""
    if tp is Any:
        return []
    test = _exact_test(tp)
    if test is not None:  # a scalar or a mapping: the hook only when the test fails
        hooks[index] = tp
        guard = f"{v} is not None and not ({test})" if nullable else f"not ({test})"
        return [f"if {guard.format(v=v)}:", f"    {v} = h{index}({v}, t{index})"]
    item = get_args(tp)[0] if get_origin(tp) is list and get_args(tp) else None
    if item is not None and _is_model(item) and _decodable(item):
        hooks[index] = item  # a list of models: each built by its decoder, here
        lines = [
            f"if {v}.__class__ is not list:",
            f'    raise WrongType("an array", {v})',
            f"if {v}:",  # an empty list (the common case) is kept as it came
            "    items = []",
            f"    for x in {v}:",
            f"        items.append(h{index}(x, t{index}))",
            f"    {v} = items",
        ]
    else:  # a model, a one-of, a list of scalars...: its hook
        hooks[index] = tp
        lines = [f"{v} = h{index}({v}, t{index})"]
    if nullable:
        return [f"if {v} is not None:", *("    " + line for line in lines)]
    return lines


def _passes(default: Any, tp: Any, nullable: bool) -> bool:
    """Whether the field's checks take its default unchanged (then ``o.get`` may supply it)."""
    if default is None:
        return nullable or tp is Any
    test = _exact_test(tp)
    return test is not None and bool(eval(test.format(v="v"), {}, {"v": default}))


def _precise_path(cls: type) -> Callable[[Any], Any]:
    """cattrs' generated function for ``cls``, built on first use: it names the failing field."""
    fields: list[Callable[[Any, Any], Any]] = []

    def precise(value: Any) -> Any:
        if not fields:
            fields.append(make_dict_structure_fn(cls, converter))
        return fields[0](value, cls)

    return precise


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (dict, Mapping, abc.Mapping) or tp in (dict, Mapping)


def _mapping(value: Any, _: Any) -> Any:
    if value.__class__ is not dict:
        raise WrongType("an object", value)
    return value


converter.register_structure_hook_factory(_is_list, _list_hook)
converter.register_structure_hook_factory(_is_model, _model_hook)
converter.register_structure_hook_factory(_is_mapping, lambda _: _mapping)


def describe_structure_error(exc: BaseException) -> str:
    """Where and why an answer failed its model: field paths and JSON types, never values."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, format_exception=_format, path="answer"))
    return _format(exc, None)


def _format(exc: BaseException, _tp: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, WrongType):
        return str(exc)
    return f"invalid value ({type(exc).__name__})"


def _required_names(cls: type) -> frozenset[str]:
    return frozenset(a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING)


def register_one_of(union: Any, variants: tuple[type, ...], *, tag: str | None = None) -> None:
    """Teach the converter to tell the variants of a spec ``oneOf`` answer apart, once.

    With ``tag`` (the spec's discriminator, e.g. ``object``), the answer's value for it
    picks the variant whose field of that name defaults to the same value. Otherwise
    the variant with the most required fields that are all present wins. An answer that
    fits none is a validation error naming the variants.
    """
    by_tag: dict[Any, type] = {}
    if tag is not None:
        for cls in variants:
            field = getattr(attrs.fields(cls), tag, None)
            if field is not None and field.default is not attrs.NOTHING:
                by_tag[field.default] = cls
    ranked = sorted(variants, key=lambda cls: -len(_required_names(cls)))
    required = [(cls, _required_names(cls)) for cls in ranked]
    names = " | ".join(cls.__name__ for cls in variants)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object ({names}), got {type(value).__name__}")
        if tag is not None and value.get(tag) in by_tag:
            cls = by_tag[value[tag]]
            return converter.structure(value, cls)
        for cls, needed in required:
            if needed <= value.keys():
                return converter.structure(value, cls)
        raise ValueError(f"the object fits none of {names}")

    converter.register_structure_hook(union, structure)


_RENAMES: dict[type, dict[str, str]] = {}


def register_renames(cls: type, renames: Mapping[str, str]) -> None:
    """Read and write the response fields whose wire name is no Python name (``x5t#S256``)."""
    from cattrs.gen import make_dict_structure_fn, override

    overrides: dict[str, Any] = {name: override(rename=wire) for name, wire in renames.items()}
    converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, **overrides))
    _RENAMES[cls] = dict(renames)  # written by _model_unstructure_hook


def _is_response_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model) and attrs.has(tp)


def _model_unstructure_hook(cls: type) -> Callable[[Any], dict[str, Any]]:
    """A model as Clerk's JSON: wire names, and its optional fields left out while None
    (Clerk omits them; a required nullable field stays, as null). Built once per class,
    on first use, by cattrs' code generation: one comparison per optional field."""
    from cattrs.gen import make_dict_unstructure_fn, override

    renames = _RENAMES.get(cls, {})
    optional = cls._optional  # type: ignore[attr-defined]
    overrides: dict[str, Any] = {}
    for a in attrs.fields(cls):
        if a.name in renames or a.name in optional:
            omit = a.name in optional and a.default is None
            overrides[a.name] = override(rename=renames.get(a.name), omit_if_default=omit)
    return make_dict_unstructure_fn(cls, converter, **overrides)


converter.register_unstructure_hook_factory(_is_response_model, _model_unstructure_hook)


def wire_names(cls: type) -> dict[str, str]:
    """Each field of a response model and its name on the wire."""
    renames = _RENAMES.get(cls, {})
    return {field.name: renames.get(field.name, field.name) for field in attrs.fields(cls)}
