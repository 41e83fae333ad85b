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

_stdlib_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _stdlib_dumps(value: Any) -> bytes:
    return _stdlib_encoder.encode(value).encode()


if os.environ.get("CLERK_ASYNC_PURE_JSON"):
    dumps, loads, CODEC = _stdlib_dumps, json.loads, "json"
else:
    try:
        import orjson
    except ImportError:  # the default install: no extra dependency
        dumps, loads, CODEC = _stdlib_dumps, json.loads, "json"
    else:
        dumps, loads, CODEC = orjson.dumps, orjson.loads, "orjson"
