"""Shared model pieces: the response model and params base classes."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

__all__ = ["Model", "Params"]


class Params:
    """Base of every params class: its fields are sent, UNSET ones left out."""

    __slots__ = ()


class Model:
    """Base of every response model: Clerk's JSON out, and a type FastAPI understands.

    ``to_dict()`` gives the object as Clerk's JSON has it (wire names such as ``x5t#S256``,
    nested objects as dicts): a field the spec requires is always there (``null`` where
    it is nullable), an optional one only when it has a value, as Clerk leaves it out;
    ``converter.structure(m.to_dict(), type(m)) == m``.
    Secret fields (tokens, backup codes, ...) are hidden from ``repr`` only: ``to_dict``
    and ``to_json`` contain them, as Clerk's answer did, so treat their output as you
    would the secret.

    A model can be a FastAPI route's return annotation or ``response_model`` (and a field
    of a pydantic model): pydantic, when installed, validates it as itself (or builds it
    from Clerk's JSON) and serializes it with ``to_dict``. pydantic is imported only then,
    it is not a dependency of the client.
    """

    __slots__ = ()

    # The fields the spec does not require: left out of ``to_dict`` while None (generated).
    _optional: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """The model as Clerk's JSON object (a new dict of plain values)."""
        from clerk_async._convert import converter

        out: dict[str, Any] = converter.unstructure(self)
        return out

    def to_json(self) -> str:
        """The model as Clerk's JSON text (compact, UTF-8 characters kept)."""
        from clerk_async._json import dumps

        return dumps(self.to_dict()).decode()

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        from clerk_async._convert import converter, describe_structure_error

        def validate(value: Any) -> Any:
            if isinstance(value, cls):
                return value
            try:
                return converter.structure(value, cls)
            except Exception as exc:  # pydantic reports ValueError as a 422, not a 500
                raise ValueError(describe_structure_error(exc)) from None

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda model: model.to_dict(), when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        """For OpenAPI docs: the wire's keys, their JSON types where simple, which are required."""
        from clerk_async._convert import wire_names

        names = wire_names(cls)
        fields = attrs.fields(cls)  # type: ignore[arg-type]
        hints = _hints(cls)
        out: dict[str, Any] = {
            "type": "object",
            "title": cls.__name__,
            "properties": {names[f.name]: _json_type(hints.get(f.name)) for f in fields},
        }
        if getattr(handler, "mode", None) == "serialization":  # what to_dict always writes
            required = [names[f.name] for f in fields if f.name not in cls._optional]
        else:  # what a body must hold to be read
            required = [names[f.name] for f in fields if f.default is attrs.NOTHING]
        if required:
            out["required"] = required
        if cls.__doc__:
            out["description"] = cls.__doc__.strip()
        return out


def _hints(cls: type) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(cls)
    except Exception:  # a name only the generated module can resolve: leave types open
        return {}


_SIMPLE = {str: "string", int: "integer", bool: "boolean", float: "number"}


def _json_type(tp: Any) -> dict[str, Any]:
    """A small JSON schema for a field's type: primitives, lists, objects; else anything."""
    import types
    import typing

    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return _json_type(args[0]) if len(args) == 1 else {}
    if origin is typing.Annotated:
        return _json_type(args[0])
    if origin is typing.Literal and all(isinstance(a, str) for a in args):
        return {"type": "string", "enum": list(args)}  # the spec's enum, as Clerk documents it
    if origin is list:
        return {"type": "array", "items": _json_type(args[0]) if args else {}}
    if origin is dict or (isinstance(tp, type) and attrs.has(tp)):
        return {"type": "object"}
    if tp in _SIMPLE:
        return {"type": _SIMPLE[tp]}
    return {}
