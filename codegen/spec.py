"""Clerk's OpenAPI spec read into declarations: names, models, operations. No rendering.

:func:`load` reads ``spec/clerk-bapi-2026-05-12.yml`` and ``codegen/overrides.yaml``;
:class:`Models` turns response schemas into :class:`ModelClass` declarations, and
:func:`collect` the paths into :class:`Operation` declarations (fields, locations,
constraints, answer type, paging). The renderers (``codegen/render.py`` for the client,
``generate.py`` for FakeClerk's tables) turn these into source; a sync face can be
rendered from the same declarations.
"""

from __future__ import annotations

import keyword
import re
import textwrap
from collections import defaultdict
from http import HTTPStatus
from pathlib import Path
from typing import Any, NamedTuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "clerk-bapi-2026-05-12.yml"
OVERRIDES = Path(__file__).with_name("overrides.yaml")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
SERVICE_CLASSES: dict[str, str] = {}  # service -> class name, from the overrides


def load() -> tuple[Spec, dict[str, Any]]:
    """The vendored spec and the overrides (which also name some service classes)."""
    spec = Spec(yaml.safe_load(SPEC.read_text()))
    overrides: dict[str, Any] = yaml.safe_load(OVERRIDES.read_text())
    SERVICE_CLASSES.update({k: v["class"] for k, v in overrides["services"].items()})
    return spec, overrides


def service_class(service: str) -> str:
    return SERVICE_CLASSES.get(service) or pascal(service)


# --- names ---------------------------------------------------------------------------------

_WORDS = ("OAuth", "JWKS", "TOTP", "URL")  # one word each (DESIGN.md naming contract)


def snake(name: str) -> str:
    """``getOAuthAccessToken`` -> ``get_oauth_access_token``; ``emailSMSTemplates`` ->
    ``email_sms_templates``; ``apiKeyID`` -> ``api_key_id``."""
    for word in _WORDS:
        name = name.replace(word, word[0] + word[1:].lower())
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower().strip("_")


def pascal(name: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def identifier(name: str) -> str:
    name = snake(name)
    return name + "_" if keyword.iskeyword(name) or name in ("self", "options") else name


def doc_text(text: str | None, width: int = 88) -> list[str]:
    """The first paragraph of a spec description, safe inside a docstring."""
    if not text:
        return []
    text = text.strip().replace("\\", "\\\\").replace('"', "'")
    first = re.split(r"\n\s*\n", text)[0]
    return textwrap.wrap(" ".join(first.split()), width) or []


# --- types ---------------------------------------------------------------------------------

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


def enum_values(schema: Any) -> list[str]:
    """A string schema's enum values (no ``null``), or ``[]`` when it has none."""
    if not isinstance(schema, dict) or schema.get("type") not in ("string", None):
        return []
    values = [e for e in schema.get("enum") or () if e is not None]
    return values if values and all(isinstance(e, str) for e in values) else []


def literal(values: list[str]) -> str:
    """``Literal["a", "b"]``: the spec's enum as a type checkers hold callers and readers to."""
    return "Literal[" + ", ".join(f'"{v}"' for v in values) + "]"


def scalar_type(schema: Any) -> str:
    """The Python type of a scalar schema: a string enum is its ``Literal``."""
    values = enum_values(schema)
    if values:
        return literal(values)
    return _SCALARS.get(schema.get("type"), "Any")


_LITERAL = re.compile(r"Literal\[([^\]]*)\]")


def merge_types(first: str, second: str) -> str | None:
    """One type for a field two merged schemas declare: the same type, or the same shape
    with ``Literal`` values differing (their union, in order); else None."""
    if first == second:
        return first
    if _LITERAL.sub("L", first) != _LITERAL.sub("L", second):
        return None
    extra = iter(_LITERAL.findall(second))

    def union(found: re.Match[str]) -> str:
        values = [*found.group(1).split(", "), *next(extra).split(", ")]
        return "Literal[" + ", ".join(dict.fromkeys(values)) + "]"

    return _LITERAL.sub(union, first)


_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # an HTML tag in a description (<br>, <code>)
_BULLET = re.compile(r"^\s*[-*]\s+")


def description(text: str | None) -> str:
    """A spec description (every paragraph) as one line of docstring-safe Markdown: list
    items joined with "; ", HTML tags dropped, whitespace collapsed."""
    if not text:
        return ""
    text = _TAG.sub("", text.strip().replace("\\", "\\\\").replace('"', "'"))
    out = ""
    listing = False  # after a list item: "Supported values are: `a`; `b`; `c`."
    for line in text.splitlines():
        item = _BULLET.sub("", line).strip()
        if not item:
            continue
        if item != line.strip():
            out += ("; " if listing else " ") + item
            listing = True
            continue
        if listing and out[-1] not in ".:;!?":
            out += "."
        out += " " + item
        listing = False
    out = " ".join(out.split())
    return out + "." if out and out[-1] not in ".:;!?)" else out


def wrapped(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` in lines of ``width``; a word too long (a URL) is a line of its own."""
    return textwrap.wrap(
        text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


# --- the spec ------------------------------------------------------------------------------


class Spec:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.schemas: dict[str, Any] = data["components"]["schemas"]

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self.lookup(node["$ref"])
        return node

    def lookup(self, ref: str) -> Any:
        node: Any = self.data
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


# --- secrets -------------------------------------------------------------------------------
#
# One rule decides which fields are kept out of reprs (params and models alike), from the
# spec alone: a field is a secret when its value is text (bools, numbers, enums and ids never
# are: ``custom_signing_key``, ``password_enabled``, ``token_format``, ``machine_id``) and its
# name or its description calls it a credential (a secret, password, token, private key,
# verification code, session cookie). A URL is a secret when it carries a ticket: the ``url``
# of a token, an invitation or an agent task, or one the spec calls temporary, short-lived or
# session-creating. A params field holding an object or a list of them is a secret when
# anything inside is (``oidc.client_secret``): its repr would show it.
# tests/test_secrets.py lists every secret-like field of the spec against this rule.

_SECRET_NAME = re.compile(
    r"(^|_)(secret|password|token|jwt|digest|cookies)$|(^|_)(private|signing|secret|api)_key$"
    r"|^backup_codes$|^saml_response$"
)
_SECRET_TEXT = re.compile(
    r"\bsecret\b|\bprivate key\b|\bplaintext password|\b(verification|TOTP|backup) code\b",
    re.IGNORECASE,
)
_ID = re.compile(r"(_id|ID|Id)$")
_TICKET_TEXT = re.compile(r"short-lived|\btemporary\b|creates a session", re.IGNORECASE)
_TICKET_OWNER = re.compile(r"(token|invitation|task)$", re.IGNORECASE)


def is_secret(
    spec: Spec, wire: str, schema: Any, owner: str = "", about: str = "", *, nested: bool = True
) -> bool:
    """Whether field ``wire`` (its ``schema``) is a secret.

    ``owner`` names the object that holds it (its schema's name and ``object`` tag),
    ``about`` is what the spec says of that object. ``nested``: an object is a secret if
    anything inside is (a params field's dict); models leave that to the nested classes.
    """
    schema = spec.resolve(schema) or {}
    if schema.get("type") == "array":
        items = spec.resolve(schema.get("items") or {})
        if not _is_object(items):  # a list of strings (backup_codes): the list's words
            items = {**items, "description": schema.get("description") or items.get("description")}
        return is_secret(spec, wire, items, owner, about, nested=nested)
    if _is_object(schema):
        props, _ = properties(spec, schema)
        return nested and any(is_secret(spec, k, v or {}) for k, v in props.items())
    if schema.get("type") not in ("string", None) or schema.get("enum") or _ID.search(wire):
        return False
    text = schema.get("description") or ""
    if wire == "url" or wire.endswith("_url"):
        carrier = wire == "url" and any(_TICKET_OWNER.search(n) for n in owner.split())
        return carrier or bool(_TICKET_TEXT.search(text) or _TICKET_TEXT.search(about))
    return bool(_SECRET_NAME.search(wire) or _SECRET_TEXT.search(text))


def response_words(spec: Spec) -> dict[str, str]:
    """What the spec's named responses say of the schema they return (``SvixURL``: "a
    temporary Svix URL"), by schema name: part of what the spec says of an object."""
    words: dict[str, str] = defaultdict(str)
    for answer in spec.data.get("components", {}).get("responses", {}).values():
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" in schema:
            words[ref_name(schema["$ref"])] += " " + (answer.get("description") or "")
    return dict(words)


# --- response models -----------------------------------------------------------------------


class Models:
    """Turns schemas into attrs classes; a schema seen twice becomes one class."""

    def __init__(self, spec: Spec, overrides: dict[str, Any]) -> None:
        self.spec = spec
        self.classes: dict[str, ModelClass] = {}
        self.order: list[str] = []
        self.unions: dict[str, tuple[list[str], str | None]] = {}  # alias -> variants, tag
        self.renames: dict[str, dict[str, str]] = {}  # class -> python name -> wire name
        self.by_ref: dict[str, str] = {}
        self.whole_numbers = set(overrides.get("whole_numbers", {}).get("fields", ()))
        self.words = response_words(spec)  # schema name -> what its responses say of it
        self.defaults: dict[str, Any] = overrides.get("defaults", {}).get("fields", {})
        # generated class name -> public name
        self.names: dict[str, str] = {k: v["name"] for k, v in overrides.get("models", {}).items()}
        self.data_keys: dict[str, tuple[str, str]] = {}  # page class -> its items' key, type
        self.seen: set[str] = set()  # generated class names, before the overrides rename them
        self.reserved: set[str] = set()  # class names the services take

    def type_of(self, node: Any, hint: str) -> str:
        """The Python type of a response schema; ``hint`` names an inline object's class."""
        if "$ref" in node:
            name = ref_name(node["$ref"])
            target = self.spec.resolve(node)
            if _is_object(target):
                return self.class_for(name, target)
            return self.type_of(target, pascal(name))
        for key in ("oneOf", "anyOf"):
            variants = [v for v in node.get(key, ()) if "$ref" in v or "properties" in v]
            if variants:
                if len(variants) == 1 and not _is_object(node):
                    return self.type_of(variants[0], hint)
                if _is_object(node):
                    break  # constraints on an object (anyOf: required sets): the object itself
                return self.union(
                    [self.type_of(v, f"{hint}{i}") for i, v in enumerate(variants)], hint
                )
        if "allOf" in node or _is_object(node):
            if node.get("properties") or node.get("allOf"):
                return self.class_for(hint, node, inline=True)
            return "dict[str, Any]"
        kind = node.get("type")
        if kind == "array":
            return f"list[{self.type_of(node.get('items', {}), hint + 'Item')}]"
        return scalar_type(node)

    def union(self, members: list[str], hint: str) -> str:
        unique = list(dict.fromkeys(members))
        if len(unique) == 1:
            return unique[0]
        for alias, (known, _) in self.unions.items():  # one alias for one set of variants
            if known == unique:
                return alias
        alias = hint
        if alias not in self.unions:
            tags = [self._tag_of(m) for m in unique]
            tag = (
                "object"
                if all(t is not None for t in tags) and len(set(tags)) == len(tags)
                else None
            )
            self.unions[alias] = (unique, tag)
        return alias

    def _tag_of(self, cls: str) -> str | None:
        model = self.classes.get(cls)
        return model.tag_of() if model else None

    def properties(self, node: Any) -> tuple[dict[str, Any], set[str]]:
        return properties(self.spec, node)

    def class_for(self, name: str, node: Any, *, inline: bool = False) -> str:
        if not inline and name in self.by_ref:
            return self.by_ref[name]
        cls = pascal(name)
        if cls in self.reserved:  # a service class has this name: the model is the list
            cls += "List"
        base = cls  # inline schemas inside are named after it (the overrides' keys)
        self.seen.add(base)
        public = self.names.get(cls)  # overrides: the public name, shared by equal schemas
        if public is not None:
            cls = public
        elif inline and cls in self.classes:
            return cls
        if not inline:
            self.by_ref[name] = cls
        merging = cls in self.classes
        if not merging:
            self.classes[cls] = ModelClass(cls, node.get("description"), name)
        model = self.classes[cls]
        props, required = self.properties(node)
        kind = self.spec.resolve(props.get("object") or {}).get("enum") or [""]
        owner = f"{name} {kind[0]}"  # the secrets rule: is it a token, an invitation, a task?
        about = f"{node.get('description') or ''} {self.words.get(name, '')}"
        fields: dict[str, ModelField] = {}
        for wire, prop in props.items():
            prop = prop or {}
            target = self.spec.resolve(prop)
            field = identifier(wire)
            if field != wire:
                self.renames.setdefault(cls, {})[field] = wire
            tp = self.type_of(prop, base + pascal(wire))
            if tp == "float" and wire in self.whole_numbers:
                tp = "WholeNumber"
            enum = target.get("enum") if isinstance(target, dict) else None
            nullable = bool(target.get("nullable") or prop.get("nullable"))
            tag = enum[0] if wire == "object" and enum and len(enum) == 1 else None
            fields[field] = ModelField(
                field,
                tp,
                wire in required and not nullable,
                is_secret(self.spec, wire, prop, owner, about, nested=False),
                tag,
                optional=wire not in required and not _null_allowed(prop, target),
            )
            words = prop.get("description") or (
                not _is_object(target) and target.get("description")
            )
            fields[field].description = description(words or None)
        model.merge(fields, first=not merging)
        if not merging:
            self.order.append(cls)  # after the classes it refers to, as a reader expects
        return cls


def _null_allowed(*schemas: Any) -> bool:
    """Whether a value may be null by OpenAPI 3.0.3's letter: ``nullable`` beside a ``type``
    (beside only an ``allOf``, as a user's ``scim``, validators refuse null)."""
    return any(isinstance(s, dict) and s.get("nullable") and "type" in s for s in schemas)


class ModelField:
    """``required``: a value is always there (no default); ``optional``: Clerk may leave the
    key out (not in the schema's ``required``), so ``to_dict`` leaves out its None, where a
    required but nullable field is written as null."""

    def __init__(
        self, name: str, tp: str, required: bool, secret: bool, tag: str | None, *, optional: bool
    ) -> None:
        self.name, self.tp, self.required, self.secret, self.tag = name, tp, required, secret, tag
        self.optional = optional
        self.description = ""  # the spec's, one line (see description())


class ModelClass:
    """One response class; the schemas the overrides give one name are merged into it."""

    def __init__(self, name: str, description: str | None, schema: str) -> None:
        self.name, self.description, self.schema = name, description, schema
        self.fields: dict[str, ModelField] = {}

    def merge(self, fields: dict[str, ModelField], *, first: bool) -> None:
        """A field is required only where every merged schema requires it; the types of a
        field must agree (else the overrides name two different objects alike)."""
        if first:
            self.fields = fields
            return
        for name, field in fields.items():
            known = self.fields.get(name)
            if known is None:
                field.required, field.optional = False, True
                self.fields[name] = field
                continue
            merged = merge_types(known.tp, field.tp)
            if merged is None or known.tag != field.tag:
                raise SystemExit(f"overrides: {self.name}.{name} is {known.tp} and {field.tp}")
            known.tp = merged
            known.required = known.required and field.required
            known.optional = known.optional or field.optional
            known.secret = known.secret or field.secret
            known.description = known.description or field.description
        for name, known in self.fields.items():
            if name not in fields:
                known.required, known.optional = False, True

    def tag_of(self) -> str | None:
        field = self.fields.get("object")
        return field.tag if field else None


def properties(spec: Spec, node: Any) -> tuple[dict[str, Any], set[str]]:
    """An object schema's properties and required names, allOf parts merged."""
    props: dict[str, Any] = {}
    required: set[str] = set(node.get("required", ()))
    for part in node.get("allOf", ()):
        part_props, part_required = properties(spec, spec.resolve(part))
        props.update(part_props)
        required |= part_required
    props.update(node.get("properties", {}))
    return props, required


def _is_object(node: Any) -> bool:
    return isinstance(node, dict) and (
        node.get("type") == "object" or "properties" in node or "allOf" in node
    )


# --- operations ----------------------------------------------------------------------------


class Field:
    def __init__(self, name: str, wire: str, where: str, schema: Any, required: bool) -> None:
        self.name, self.wire, self.where, self.schema, self.required = (
            name,
            wire,
            where,
            schema,
            required,
        )
        self.values: list[str] = []  # the spec's enum (of the items, for an array)
        self.alias: str | None = None  # the name of a long enum's Literal (``GetUserListOrderBy``)


# A Literal of more values than this is named once in its module (``GetUserListOrderBy``,
# 30 values), not spelled out in the params class and every signature.
LONG_ENUM = 8


class Operation:
    def __init__(self, op_id: str, method: str, path: str, op: dict[str, Any]) -> None:
        self.op_id, self.method, self.path, self.op = op_id, method.upper(), path, op
        self.service = ""
        self.name = ""
        self.fields: list[Field] = []
        self.response = "None"
        self.page_item: str | None = None  # set for list operations paged by AsyncPager
        self.page_shape = ""  # "page" ({data, total_count}), "model" (other key) or "array"
        self.max_limit = 500
        self.idempotent: bool | None = None
        self.replacement: str | None = None
        self.deprecated = bool(op.get("deprecated"))
        self.params_class = pascal(op_id) + "Params"
        self.positional: str | None = None  # a non-path field that may come first, by position
        self.machine_auth: str | None = None  # "required" or "optional"
        self.checks: list[str] = []  # cross-field checks, run after the field validators
        self.errors: list[tuple[int, str]] = []  # the documented error answers: status, words


def collect(spec: Spec, models: Models, overrides: dict[str, Any]) -> list[Operation]:
    operations = []
    for path, item in spec.data["paths"].items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            operation = Operation(op["operationId"], method, path, op)
            named = overrides["names"].get(operation.op_id)
            if named:
                operation.service, operation.name = named["service"], named["method"]
            else:
                operation.service = snake(op["x-speakeasy-group"])
                operation.name = snake(op["x-speakeasy-name-override"])
            renames = overrides["arguments"].get(operation.op_id, {})
            for raw in shared + op.get("parameters", []):
                prm = spec.resolve(raw)
                # the parameter's words, for the secrets rule and _bool_text
                words = {"description": prm.get("description")}
                name = renames.get(prm["name"], {}).get("name") or identifier(prm["name"])
                operation.fields.append(
                    Field(
                        name,
                        prm["name"],
                        prm["in"],
                        {**words, **spec.resolve(prm.get("schema", {}))},
                        bool(prm.get("required")) or prm["in"] == "path",
                    )
                )
            _body_fields(spec, operation, renames)
            _response(spec, models, operation)
            operation.errors = _errors(spec, op)
            operation.params_class = (
                overrides["params"].get(operation.op_id, {}).get("name", operation.params_class)
            )
            operation.positional = overrides["positional"].get(operation.op_id, {}).get("field")
            auth = overrides["machine_auth"]["operations"].get(operation.op_id)
            operation.machine_auth = auth["auth"] if auth else None
            operation.checks = [c["check"] for c in overrides["checks"].get(operation.op_id, [])]
            for wire, extra in overrides["constraints"].get(operation.op_id, {}).items():
                found = next(f for f in operation.fields if f.wire == wire)
                found.schema = {**found.schema, **{k: v for k, v in extra.items() if k != "reason"}}
            for found in operation.fields:
                items = spec.resolve(found.schema.get("items", {}))
                array = found.schema.get("type") == "array"
                found.values = enum_values(items) if array else enum_values(found.schema)
                if len(found.values) > LONG_ENUM:
                    stem = operation.params_class.removesuffix("Params")
                    found.alias = stem + pascal(found.name)
            integers = overrides["integers"]["fields"]
            for found in operation.fields:
                counted = found.where == "query" and found.wire in integers
                if counted and found.schema.get("type") == "number":
                    found.schema = {**found.schema, "type": "integer"}
            if operation.op_id in overrides["idempotent_posts"]:
                operation.idempotent = True
            if operation.deprecated:
                operation.replacement = (
                    overrides["replacements"].get(operation.op_id, {}).get("use")
                )
            operations.append(operation)
    return operations


def _body_fields(spec: Spec, operation: Operation, renames: dict[str, Any]) -> None:
    body = spec.resolve(operation.op.get("requestBody"))
    if not body:
        return
    for content_type, media in body["content"].items():
        schema = spec.resolve(media.get("schema", {}))
        where = "form" if content_type.startswith("multipart/") else "body"
        if schema.get("type") == "array":
            operation.fields.append(Field("request_body", "request_body", "whole", schema, True))
            return
        props, required = properties(spec, schema)
        taken = {f.name for f in operation.fields}
        for wire, prop in props.items():
            name = renames.get(wire, {}).get("name") or identifier(wire)
            if name in taken:
                name = f"{name}_body"
            operation.fields.append(Field(name, wire, where, spec.resolve(prop), wire in required))
        return


def _response(spec: Spec, models: Models, operation: Operation) -> None:
    for code, answer in operation.op["responses"].items():
        if not str(code).startswith("2"):
            continue
        answer = spec.resolve(answer)
        content = answer.get("content") or {}
        media = content.get("application/json")
        if not media or not media.get("schema"):
            operation.response = "None"
            return
        hint = pascal(operation.op_id) + "Response"
        schema = media["schema"]
        operation.response = models.type_of(schema, hint)
        names = {f.wire for f in operation.fields}
        if operation.method == "GET" and {"limit", "offset"} <= names:
            target = spec.resolve(schema)
            limit = next(f for f in operation.fields if f.wire == "limit")
            operation.max_limit = int(limit.schema.get("maximum", 500))
            if target.get("type") == "array":
                operation.page_item = operation.response[len("list[") : -1]
                operation.page_shape = "array"
            else:
                props, _ = models.properties(target)
                arrays = [k for k, p in props.items() if spec.resolve(p).get("type") == "array"]
                key = "data" if "data" in props else arrays[0] if len(arrays) == 1 else None
                if key is not None and "total_count" in props:
                    item = models.type_of(props[key], hint + pascal(key))[len("list[") : -1]
                    operation.page_item = item
                    operation.page_shape = "page" if key == "data" else "model"
                    if key != "data":  # e.g. ``m2m_tokens``: the model exposes them as ``data``
                        models.data_keys[operation.response] = (key, item)
        return


_GENERIC = re.compile(r"^(Request was not successful|\d{3} [A-Za-z ]+)$")
# Python 3.13 renamed these phrases (RFC 9110: "Content Too Large"...); the generated code must
# not depend on the Python that runs the generator, so they keep the 3.10-3.12 wording.
_PHRASES = {
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
}


def _errors(spec: Spec, op: dict[str, Any]) -> list[tuple[int, str]]:
    """The error answers the spec documents for one operation, by status: what it says of
    each, or the HTTP phrase where it says nothing more ("Request was not successful")."""
    errors = []
    for code, answer in op["responses"].items():
        if not str(code).isdigit() or int(code) < 400:
            continue
        words = (spec.resolve(answer).get("description") or "").strip().rstrip(".")
        if not words or _GENERIC.match(words):
            words = _PHRASES.get(int(code), HTTPStatus(int(code)).phrase).capitalize()
        errors.append((int(code), words))
    return sorted(errors)


def _groups(spec: Spec) -> set[str]:
    return {
        op["x-speakeasy-group"]
        for item in spec.data["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS and "x-speakeasy-group" in op
    }


def _check_overrides(overrides: dict[str, Any], op_ids: set[str], models: Models) -> None:
    """An entry that names no operation or class would be silently ignored: refuse it."""
    by_operation = ["names", "params", "positional", "checks", "idempotent_posts", "constraints"]
    by_operation += ["replacements", "arguments"]
    unknown = [f"{k}.{op}" for k in by_operation for op in overrides[k] if op not in op_ids]
    unknown += [
        f"machine_auth.{op}" for op in overrides["machine_auth"]["operations"] if op not in op_ids
    ]
    unknown += [f"models.{m}" for m in overrides["models"] if m not in models.seen]
    if unknown:
        raise SystemExit(f"codegen/overrides.yaml names nothing in the spec: {unknown}")


class Declarations(NamedTuple):
    """Everything the renderers need: the spec, the overrides, the models, the operations."""

    spec: Spec
    overrides: dict[str, Any]
    models: Models
    operations: list[Operation]


def declarations() -> Declarations:
    """Read the spec and the overrides, and declare every model and operation."""
    spec, overrides = load()
    models = Models(spec, overrides)
    models.reserved = (
        {pascal(snake(g)) for g in _groups(spec)}
        | {pascal(n["service"]) for n in overrides["names"].values()}
        | set(SERVICE_CLASSES.values())
    )
    operations = collect(spec, models, overrides)
    _check_overrides(overrides, {op.op_id for op in operations}, models)
    return Declarations(spec, overrides, models, operations)
