"""Every event type of the vendored webhooks spec as a payload: the spec's own example
where it has one, and one built from the schema (every property filled) for all 45."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[1] / "spec" / "clerk-webhooks-2025-04-15.yml"


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def instance(node: Any, depth: int = 0) -> Any:
    """A value of the schema ``node`` with every property present (objects cut at depth 16)."""
    node = resolve(node)
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            value = instance(part, depth)
            if isinstance(value, dict):
                merged.update(value)
        if "properties" in node:
            merged.update(instance({"properties": node["properties"]}, depth))
        return merged
    for key in ("oneOf", "anyOf"):
        if node.get(key):
            return instance(node[key][0], depth)
    if "enum" in node:
        return next(e for e in node["enum"] if e is not None)
    kind = node.get("type")
    if kind == "string":
        return "value"
    if kind == "integer":
        return 1716883200
    if kind == "number":
        return 12.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [instance(node.get("items", {}), depth + 1)] if depth < 16 else []
    if "properties" in node or kind == "object":
        if depth >= 16:
            return {}
        return {k: instance(v, depth + 1) for k, v in node.get("properties", {}).items()}
    return {"any": "value"}  # a schema without a type: any JSON value


def payloads() -> list[tuple[str, str, dict[str, Any]]]:
    """(event type, "example" or "schema", payload) for every event of the spec."""
    found = []
    for event_type, item in spec()["x-webhooks"].items():
        media = item["post"]["requestBody"]["content"]["application/json"]
        if "example" in media:
            found.append((event_type, "example", media["example"]))
        built = instance(media["schema"])
        built["type"] = event_type
        built["object"] = "event"
        found.append((event_type, "schema", built))
    return found


def example(event_type: str) -> dict[str, Any]:
    """Clerk's own example payload of ``event_type`` (a deep copy: callers may change it)."""
    media = spec()["x-webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    copied: dict[str, Any] = json.loads(json.dumps(media["example"]))
    return copied
