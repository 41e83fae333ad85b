"""The JSON codec: orjson when it is installed (the `speedups` extra), else the stdlib.

Set ``CLERK_ASYNC_PURE_JSON=1`` to force the stdlib codec even when orjson is present
(the benchmarks use it to measure the default install).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

__all__ = ["CODEC", "dumps", "loads"]

dumps: Callable[[Any], bytes]
loads: Callable[[bytes | str], Any]


def _not_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# The C encoder json.dumps would build on every call, built once. Without a markers dict
# it does not look for cycles: request bodies are validated params, which have none.
# Not in typeshed: the C accelerator's own names (None where it is missing).
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_str: Any = getattr(json.encoder, "c_encode_basestring", None)
_c_encode = (
    _make_encoder(
        None,  # markers
        _not_json,  # default
        _encode_str,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan: NaN is not JSON
    )
    if _make_encoder is not None and _encode_str is not None
    else None
)
_py_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _stdlib_dumps(value: Any) -> bytes:
    if _c_encode is None:  # an interpreter without the C accelerator
        return _py_encoder.encode(value).encode()
    return "".join(_c_encode(value, 0)).encode()


if os.environ.get("CLERK_ASYNC_PURE_JSON"):
    dumps, loads, CODEC = _stdlib_dumps, json.loads, "json"
else:
    try:
        import orjson
    except ImportError:  # the default install: no extra dependency
        dumps, loads, CODEC = _stdlib_dumps, json.loads, "json"
    else:
        dumps, loads, CODEC = orjson.dumps, orjson.loads, "orjson"
