"""The sync client's services (``clerk_async.sync``) from the same declarations.

A sync method has the async method's exact parameters, overloads and docstring (the
builders of :mod:`codegen.render`, with ``def`` for ``async def``) and returns the plain
answer; its body hands the async method's coroutine to the client's private loop
(``self._run``). List methods return a ``SyncPager`` over the async pager. So there is
one request path: validation, retries, pacing and errors are the async client's.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from codegen.render import HEADER, _arguments, _docstring, _overloads, _signature
from codegen.spec import ROOT, Declarations, Operation, service_class

# The async client's request authentication, mirrored with its overloads (the answer's
# type follows ``accepts_token``); the sync bodies are ``clerk_async/sync/_verify.py``.
MIRRORED = ("verify_token", "authenticate_request")
AUTH_IMPORTS = [
    "from collections.abc import Iterable, Mapping, Sequence",
    "from typing import Literal",
    "",
    "import aiohttp",
    "from yarl import URL",
    "",
    "from clerk_async._ratelimit import RateLimit",
    "from clerk_async._retry import RetryPolicy",
    "from clerk_async.hooks import Hooks",
    "from clerk_async.auth import APIKeyAuth, Auth, M2MAuth, OAuthAuth, RequestState, SessionAuth",
    "from clerk_async.auth._request import HasHeaders",
    "from clerk_async.auth._types import (",
    "    AcceptsAPIKeyOrOAuth,",
    "    AcceptsM2MOrAPIKey,",
    "    AcceptsM2MOrOAuth,",
    "    AcceptsSessionOrAPIKey,",
    "    AcceptsSessionOrM2M,",
    "    AcceptsSessionOrOAuth,",
    "    AcceptsToken,",
    "    TokenType,",
    ")",
]

# Sync services with extras written by hand (machines.update_many as a sync iterator)
# subclass the generated class in clerk_async/sync/_machines.py.
SYNC_HAND_WRITTEN = {"machines"}


def render_sync_method(op: Operation) -> list[str]:
    """One sync method: the async one's overloads and signature, a blocking body."""
    arguments = _arguments(op)
    lead, path_fields, others = arguments
    paged = op.page_item is not None
    returns = f"SyncPager[{op.page_item}]" if paged else op.response
    lines = _overloads(op, op.params_class, *arguments, returns, "def")
    lines += [f"    def {op.name}(", *[f"        {s}," for s in _signature(op, arguments)]]
    lines += [f"    ) -> {returns}:", _docstring(op)]
    passed = []
    if lead is not None:
        passed.append(lead.name)
    elif op.fields:
        passed.append("params")
    passed += [f"{f.name}={f.name}" for f in [*path_fields[1:], *others]]
    call = f"self._service().{op.name}({', '.join([*passed, '**options'])})"
    if paged:
        lines.append(f"        return SyncPager(self._client, {call})")
    else:
        lines.append(f"        return self._run({call})")
    return [*lines, ""]


def render_sync_service(service: str, operations: list[Operation], model_names: set[str]) -> str:
    cls = service_class(service)
    methods: list[str] = []
    # ``list`` last: a method of that name shadows the builtin in annotations below it.
    for op in sorted(operations, key=lambda o: o.name == "list"):
        methods += render_sync_method(op)
    text = "\n".join(methods)
    names = set(re.findall(r"\b[A-Z]\w*\b", text))
    models = sorted(names & model_names)
    aliases = {f.alias for op in operations for f in op.fields if f.alias is not None}
    params = sorted(({op.params_class for op in operations if op.fields} | aliases) & names)
    typing = ["Any"] + [n for n in ("BinaryIO", "Literal", "overload") if n in text]
    lines = [
        HEADER,
        '# mypy: disable-error-code="no-any-return"\n',
        f'"""``clerk.{service}`` of the sync client: {len(operations)} operations."""\n',
        "from __future__ import annotations\n",
        "from collections.abc import Mapping",
        f"from typing import TYPE_CHECKING, {', '.join(typing)}",
        "",
        "from clerk_async._convert import UNSET, Unset",
        "from clerk_async.sync._base import SyncService",
        *(["from clerk_async.sync._pager import SyncPager"] if "SyncPager" in text else []),
        "",
        "if TYPE_CHECKING:",
        "    import sys",
        "",
        "    from clerk_async._transport import CallOptions",
        *([f"    from clerk_async.models.spec import {', '.join(models)}"] if models else []),
        *(
            [f"    from clerk_async.services.spec.{service} import {', '.join(params)}"]
            if params
            else []
        ),
        "",
        "    if sys.version_info >= (3, 11):",
        "        from typing import Unpack",
        "    else:",
        "        from typing_extensions import Unpack",
        "",
        f'__all__ = ["{cls}"]',
        "",
        "",
        f"class {cls}(SyncService):",
        f'    """``clerk.{service}`` (sync: each call blocks until its answer)."""',
        "",
        "    __slots__ = ()",
        "",
    ]
    return "\n".join([*lines, *methods]) + "\n"


def mirrored_methods(source: str) -> list[str]:
    """``verify_token`` and ``authenticate_request`` of the async ``Clerk`` (its source
    text), as sync methods: the same overloads and docstring, ``def`` for ``async def``;
    the body hands every argument to ``clerk_async.sync._verify``."""
    tree = ast.parse(source)
    lines = source.splitlines()
    clerk = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Clerk")
    out: list[str] = []
    for node in clerk.body:
        if not isinstance(node, ast.AsyncFunctionDef) or node.name not in MIRRORED:
            continue
        first = min([d.lineno for d in node.decorator_list] or [node.lineno]) - 1
        overload = any(isinstance(d, ast.Name) and d.id == "overload" for d in node.decorator_list)
        if overload:
            text = lines[first : node.end_lineno]
        else:
            doc = node.body[0]
            assert isinstance(doc, ast.Expr), node.name  # the docstring
            args = [a.arg for a in [*node.args.args[1:], *node.args.kwonlyargs]]
            text = lines[first : doc.end_lineno]
            text.append(f"        return _verify.{node.name}(self, {', '.join(args)})")
        out += [line.replace("async def ", "def ", 1) for line in text] + [""]
    return out


def options_class(source: str) -> list[str]:
    """``ClerkOptions``: the async ``Clerk.__init__``'s keyword-only parameters (its source
    text) but ``session`` (an event loop's), for the sync client's ``**options``."""
    tree = ast.parse(source)
    clerk = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Clerk")
    init = next(n for n in clerk.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    lines = [
        "class ClerkOptions(TypedDict, total=False):",
        '    """The keywords of ``clerk_async.Clerk`` a sync client takes (not ``session``)."""',
        "",
    ]
    for arg in init.args.kwonlyargs:
        if arg.arg != "session":
            assert arg.annotation is not None, arg.arg
            lines.append(f"    {arg.arg}: {ast.get_source_segment(source, arg.annotation)}")
    return [*lines, "", ""]


def render_sync_registry(services: list[str]) -> str:
    lines = [
        HEADER,
        '"""Every service of the sync client as a lazy property (imported on first use), and\n'
        "the async client's request authentication with the same overloads.\n"
        '"""\n',
        "from __future__ import annotations\n",
        "from functools import cached_property",
        "from typing import TYPE_CHECKING, TypedDict, overload\n",
        "from clerk_async.sync import _verify\n",
        "if TYPE_CHECKING:",
        *[f"    {line}" if line else "" for line in AUTH_IMPORTS],
    ]
    client_source = (ROOT / "clerk_async" / "client.py").read_text()
    generated = [s for s in services if s not in SYNC_HAND_WRITTEN]
    for service in generated:
        lines.append(
            f"    from clerk_async.sync.services.{service} import {service_class(service)}"
        )
    lines += [
        "",
        '__all__ = ["ClerkOptions", "SyncSpecServices"]',
        "",
        "",
        *options_class(client_source),
        "class SyncSpecServices:",
        '    """The services generated from the spec, as properties of the sync ``Clerk``,',
        '    and its request authentication."""',
        "",
    ]
    for service in generated:
        cls = service_class(service)
        lines += [
            "    @cached_property",
            f"    def {service}(self) -> {cls}:",
            f"        from clerk_async.sync.services.{service} import {cls}",
            "",
            f'        return {cls}(self, "{service}")',
            "",
        ]
    lines += mirrored_methods(client_source)
    return "\n".join(lines) + "\n"


def render_sync(declared: Declarations) -> dict[str, str]:
    """The sync client's generated files (paths relative to ``clerk_async/``)."""
    _, _, models, operations = declared
    by_service: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        by_service[op.service].append(op)
    model_names = set(models.classes) | set(models.unions)
    files = {
        f"sync/services/{service}.py": render_sync_service(service, ops, model_names)
        for service, ops in sorted(by_service.items())
    }
    files["sync/services/__init__.py"] = render_sync_registry(sorted(by_service))
    return files
