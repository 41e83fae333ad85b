"""Generate clerk_async's declarations from Clerk's vendored OpenAPI spec.

    .venv/bin/python -m codegen.generate [--out DIR]      (or: make generate)

Reads ``spec/clerk-bapi-2026-05-12.yml`` and ``codegen/overrides.yaml`` (:mod:`codegen.spec`:
the declarations) and writes (:mod:`codegen.render`: the client's source):

- ``clerk_async/models/spec.py``: attrs response models, one class per object schema;
- ``clerk_async/services/spec/<service>.py``: for each service (the operation's
  ``x-speakeasy-group`` in snake_case), one params class per operation (each field's
  location and constraints) and a thin service class, one short method per operation;
- ``clerk_async/services/spec/__init__.py``: the services as lazy properties, and the
  table of every operation (operationId -> service, method, HTTP method, path, params);
- ``clerk_async/sync/services/``: the sync client's services, the same methods
  (:mod:`codegen.render_sync`).

FakeClerk's tables (``clerk_async/testing/_spec.py``) are rendered apart, by
``codegen/fake_tables.py``.

The output is formatted with ruff and committed; tests/test_codegen.py fails when a fresh
generation differs. The runtime it calls (transport, converter, validators, pager) is
hand-written. Nothing here ships in the wheel.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from codegen.render import (
    HAND_WRITTEN,
    HEADER,
    ModelsBody,
    param_type,
    render_client,
    render_method,
    render_model_class,
    render_models,
    render_models_body,
    render_params,
    render_registry,
    render_service,
    validator,
)
from codegen.render_sync import render_sync
from codegen.spec import (
    HTTP_METHODS,
    OVERRIDES,
    ROOT,
    SERVICE_CLASSES,
    SPEC,
    Declarations,
    Field,
    ModelClass,
    ModelField,
    Models,
    Operation,
    Spec,
    collect,
    declarations,
    doc_text,
    identifier,
    is_secret,
    load,
    pascal,
    properties,
    ref_name,
    service_class,
    snake,
)
from codegen.spec import _is_object as _is_object  # for fake_tables.py

__all__ = [  # the names other generators (webhooks.py, fake_tables.py) take from here
    "HAND_WRITTEN",
    "HEADER",
    "HTTP_METHODS",
    "OVERRIDES",
    "ROOT",
    "SERVICE_CLASSES",
    "SPEC",
    "Declarations",
    "Field",
    "ModelClass",
    "ModelField",
    "Models",
    "ModelsBody",
    "Operation",
    "Spec",
    "collect",
    "declarations",
    "doc_text",
    "format_files",
    "generate",
    "identifier",
    "is_secret",
    "load",
    "param_type",
    "pascal",
    "properties",
    "ref_name",
    "render_client",
    "render_method",
    "render_model_class",
    "render_models",
    "render_models_body",
    "render_params",
    "render_registry",
    "render_service",
    "service_class",
    "snake",
    "validator",
]


def generate(out: Path) -> list[Path]:
    declared = declarations()
    rendered = {**render_client(declared), **render_sync(declared)}
    files = {out / path: text for path, text in rendered.items()}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    paths = sorted(files)
    format_files(paths)
    return paths


def format_files(paths: list[Path]) -> None:
    """ruff format, drop unused imports, format again: the committed style."""
    ruff = Path(sys.executable).with_name("ruff")
    names = list(map(str, paths))
    subprocess.run([str(ruff), "format", "-q", *names], check=True)
    subprocess.run([str(ruff), "check", "--fix-only", "-q", "--exit-zero", *names], check=True)
    subprocess.run([str(ruff), "format", "-q", *names], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "clerk_async")
    args = parser.parse_args()
    for path in generate(args.out):
        print(path.relative_to(args.out.parent) if args.out.parent in path.parents else path)


if __name__ == "__main__":
    main()
