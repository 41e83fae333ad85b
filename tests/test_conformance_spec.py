"""Conformance of all 249 operations: each is called through clerk_async with its
required arguments (values from the spec's examples and constraints), Prism validates
the request against Clerk's spec, and its answers (static, then dynamic draws) must
structure into the generated models. Operations Prism itself cannot serve are listed in
``PRISM_FAILS`` (``PRISM_STATIC_FAILS``: static answers only) with the reason;
tests/PRISM.md explains them.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest
import yaml

from clerk_async import Clerk, ClerkError
from clerk_async.pagination import AsyncPager
from clerk_async.services.spec import OPERATIONS
from tests.test_codegen import SPEC

pytestmark = pytest.mark.prism

DYNAMIC_RUNS = 15  # per operation, as issue 12 asks
# operationId -> why Prism cannot validate or answer it (see tests/PRISM.md).
PRISM_FAILS: dict[str, str] = {}
# Only Prism's static answers fail here; its dynamic ones are checked like any other.
_STATIC_SAML = "Prism's static sampler answers {} for SAMLConnection (its anyOf drops the rest)"
PRISM_STATIC_FAILS: dict[str, str] = {
    "CreateSAMLConnection": _STATIC_SAML,
    "GetSAMLConnection": _STATIC_SAML,
    "ListSAMLConnections": _STATIC_SAML,
    "UpdateSAMLConnection": _STATIC_SAML,
}


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def sample(schema: Any) -> Any:
    """A value that fits ``schema``: its example, else the least its constraints allow."""
    schema = _resolve(schema)
    if "example" in schema and schema["example"] is not None:
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(schema.get("minimum", 0)) + 1
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(schema.get("items", {}))] * int(schema.get("minItems", 1))
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = [*schema.get("required", ())]
        choices = [_resolve(a).get("required", []) for a in schema.get("anyOf", ())]
        current = [c for c in choices if not any(props.get(n, {}).get("deprecated") for n in c)]
        required += (current or choices or [[]])[0]  # domain or domains: domains (not deprecated)
        return {name: sample(props[name]) for name in required if name in props}
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if schema.get("pattern") == "^[A-Z]{2}$":  # a country code
        return "US"
    found = _ID_PATTERN.fullmatch(schema.get("pattern", ""))
    if found:  # Clerk's ids: prefix_ and a run of hex or word characters
        return found.group(1).split("|")[0] + "_" + "a" * int(found.group(2))
    return "value"


# Values for the string formats Prism checks (a bare "value" fails "uri" and "email").
_FORMATS: dict[str, Any] = {
    "binary": b"\x89PNG\r\n",
    "uri": "https://example.com/",
    "email": "user@example.com",
}
_ID_PATTERN = re.compile(r"\^?\(?([a-z_|]+?)\)?_(?:\[[^\]]+\]|\\w)\{(\d+)\}\$?")


def _operation(op_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == op_id:
                return path, method, op
    raise KeyError(op_id)


def required_arguments(op_id: str) -> dict[str, Any]:
    """The keyword arguments of an operation's required fields."""
    module = __import__(OPERATIONS[op_id].module, fromlist=["_"])
    params_cls = getattr(module, OPERATIONS[op_id].params)
    import attrs

    fields = {a.metadata.get("clerk_async.wire", a.name): a for a in attrs.fields(params_cls)}
    path, _method, op = _operation(op_id)
    values: dict[str, Any] = {}
    for prm in [*SPEC["paths"][path].get("parameters", []), *op.get("parameters", [])]:
        prm = _resolve(prm)
        if prm.get("required") or prm["in"] == "path":
            schema = _resolve(prm.get("schema", {}))
            values[fields[prm["name"]].name] = prm.get("example") or sample(schema)
    body = _resolve(op.get("requestBody"))
    if body:
        for media in body["content"].values():
            schema = _resolve(media["schema"])
            if schema.get("type") == "array":
                values["request_body"] = sample(schema)
                continue
            given = sample(schema)
            if not given and _method == "patch" and schema.get("properties"):
                first = next(iter(schema["properties"]))  # a PATCH must change something
                given = {first: sample(schema["properties"][first])}
            for name, value in given.items():
                values[fields[name].name] = value
    return values


async def call(clerk: Clerk, op_id: str) -> Any:
    operation = OPERATIONS[op_id]
    method = getattr(getattr(clerk, operation.service), operation.method)
    kwargs = required_arguments(op_id)
    if op_id == "createM2MToken":
        kwargs["machine_secret_key"] = "ak_prism"
    result = method(**kwargs)
    if isinstance(result, AsyncPager):
        return await result
    assert inspect.isawaitable(result)
    return await result


def _clerk(prism_url: str, headers: dict[str, str] | None = None) -> Clerk:
    return Clerk(
        "sk_test_prism", base_url=prism_url, rate_limit=None, max_retries=0, default_headers=headers
    )


async def _run_all(clerk: Clerk, runs: int) -> dict[str, str]:
    failures: dict[str, str] = {}
    gate = asyncio.Semaphore(16)

    async def one(op_id: str) -> None:
        async with gate:
            for _ in range(runs):
                try:
                    await call(clerk, op_id)
                except (ClerkError, AssertionError, KeyError, TypeError) as exc:
                    failures[op_id] = f"{type(exc).__name__}: {str(exc)[:300]}"
                    return

    await asyncio.gather(*(one(op_id) for op_id in OPERATIONS))
    return failures


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_every_operation_passes_prisms_request_validation(prism_url: str) -> None:
    async with _clerk(prism_url) as clerk:
        failures = await _run_all(clerk, 1)
    known = PRISM_FAILS.keys() | PRISM_STATIC_FAILS.keys()
    assert {k: v for k, v in failures.items() if k not in known} == {}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_dynamic_answers_structure_into_the_generated_models(prism_url: str) -> None:
    async with _clerk(prism_url, {"Prefer": "dynamic=true"}) as clerk:
        failures = await _run_all(clerk, DYNAMIC_RUNS)
    assert {k: v for k, v in failures.items() if k not in PRISM_FAILS} == {}


def test_the_known_prism_failures_are_real_operations() -> None:
    assert set(PRISM_FAILS) | set(PRISM_STATIC_FAILS) <= set(OPERATIONS)
    assert yaml is not None
